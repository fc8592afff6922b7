import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordEvent } from '../../src/fleet/events.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { deliverDueEvents } from '../../src/fleet/webhooks.js';
import type { FleetStore } from '../../src/fleet/store/store.js';
import { STORE_KINDS, freshStore, skipUnless } from '../support/fleet-stores.js';
import { tempDir } from '../support/shared.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

function listen(port: number, received: Received[]): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

for (const kind of STORE_KINDS) {
  test(`${kind}: an event waits in the outbox while the webhook is down, then is delivered once, signed`, { skip: await skipUnless(kind) }, async () => {
    const received: Received[] = [];
    // A port that was just free: nothing listens on it until the server comes up below.
    const probe = await listen(0, received);
    const port = (probe.address() as { port: number }).port;
    await close(probe);

    const fresh = await freshStore(kind);
    const store = await openFleetStore(fresh.store);
    try {
      const secretFile = join(tempDir('webhook-secret'), 'hook.key');
      writeFileSync(secretFile, 'correct horse battery staple');
      const url = `http://127.0.0.1:${port}/hook`;
      await store.putSettings({ databases: [], webhook: { url, secretFile }, failOn: null }, '2026-12-01T00:00:00.000Z');
      const settings = await store.settings();
      const body = { schemaVersion: 1, changes: [{ app: 'web', change: 'new' }] };
      await store.transaction((tx) => recordEvent(tx, settings, 'sync', body, '2026-12-01T00:00:00.000Z'));

      let clock = new Date('2026-12-01T00:00:01.000Z');
      const now = (): Date => clock;
      const down = await deliverDueEvents(store, { now, timeoutMs: 2000 });
      assert.equal(down.delivered, 0);
      assert.equal(down.failures.length, 1);
      assert.match(down.failures[0] as string, /ECONNREFUSED/);
      // Backing off: not tried again before its time, even once the webhook is up.
      const server = await listen(port, received);
      try {
        assert.deepEqual(await deliverDueEvents(store, { now, timeoutMs: 2000 }), { delivered: 0, failures: [] });
        assert.equal(received.length, 0);
        clock = new Date('2026-12-01T00:01:00.000Z');
        assert.deepEqual(await deliverDueEvents(store, { now, timeoutMs: 2000 }), { delivered: 1, failures: [] });
        // Delivered: never sent again.
        clock = new Date('2026-12-02T00:00:00.000Z');
        assert.deepEqual(await deliverDueEvents(store, { now, timeoutMs: 2000 }), { delivered: 0, failures: [] });
      } finally {
        await close(server);
      }
      assert.equal(received.length, 1);
      const [got] = received as [Received];
      assert.deepEqual(JSON.parse(got.body), body);
      const expected = createHmac('sha256', 'correct horse battery staple').update(got.body).digest('hex');
      assert.equal(got.headers['x-stowage-signature'], `sha256=${expected}`);
      assert.equal(got.headers['x-stowage-event'], 'sync');
      assert.equal(got.headers['content-type'], 'application/json');
      const [delivery] = await store.deliveries();
      assert.equal(delivery?.attempts, 2);
      assert.equal(delivery?.deliveredAt, '2026-12-01T00:01:00.000Z');
    } finally {
      await store.close();
      await fresh.dispose();
    }
  });

  test(`${kind}: a delivered event's outbox row is deleted a week after its delivery, an undelivered one and the events never`, { skip: await skipUnless(kind) }, async () => {
    const fresh = await freshStore(kind);
    const store = await openFleetStore(fresh.store);
    try {
      await store.putSettings({ databases: [], webhook: { url: 'http://127.0.0.1:9/hook', secretFile: null }, failOn: null }, '2026-12-01T00:00:00.000Z');
      const settings = await store.settings();
      let up = true;
      const fetchImpl = (async () => new Response(null, { status: up ? 204 : 503 })) as unknown as typeof fetch;
      const deliver = (at: string): ReturnType<typeof deliverDueEvents> => deliverDueEvents(store, { fetchImpl, now: () => new Date(at) });
      const record = (part: number, at: string): Promise<number> => store.transaction((tx) => recordEvent(tx, settings, 'sync', { schemaVersion: 1, part }, at));
      const outbox = async (): Promise<string[]> => (await store.deliveries()).map((d) => `${(JSON.parse(d.body) as { part: number }).part} ${d.deliveredAt ?? 'queued'}`);

      await record(1, '2026-12-01T00:00:00.000Z');
      assert.equal((await deliver('2026-12-01T00:00:01.000Z')).delivered, 1);
      // Down: the second event stays queued, however long.
      up = false;
      await record(2, '2026-12-01T01:00:00.000Z');
      assert.equal((await deliver('2026-12-01T01:00:01.000Z')).failures.length, 1);
      up = true;
      // Six days on: the first delivery is kept.
      await record(3, '2026-12-07T00:00:00.000Z');
      assert.equal((await deliver('2026-12-07T00:00:01.000Z')).delivered, 2);
      assert.deepEqual(await outbox(), ['1 2026-12-01T00:00:01.000Z', '2 2026-12-07T00:00:01.000Z', '3 2026-12-07T00:00:01.000Z']);
      // Past a week after it: deleted as the next delivery is recorded; the later ones are kept.
      up = false;
      await record(4, '2026-12-09T00:00:00.000Z');
      assert.equal((await deliver('2026-12-09T00:00:01.000Z')).failures.length, 1, 'a failed delivery prunes nothing');
      assert.equal((await outbox()).length, 4);
      up = true;
      assert.equal((await deliver('2026-12-09T00:01:00.000Z')).delivered, 1);
      assert.deepEqual(await outbox(), ['2 2026-12-07T00:00:01.000Z', '3 2026-12-07T00:00:01.000Z', '4 2026-12-09T00:01:00.000Z']);
      // Every event is still there for GET /events to resume from.
      assert.deepEqual((await store.eventsAfter(0, 100)).map((e) => (JSON.parse(e.body) as { part: number }).part), [1, 2, 3, 4]);
    } finally {
      await store.close();
      await fresh.dispose();
    }
  });

  test(`${kind}: large events are read for delivery a few at a time (about 1 MiB of stored bodies), every one still posted once, in order`, { skip: await skipUnless(kind) }, async () => {
    const fresh = await freshStore(kind);
    const store = await openFleetStore(fresh.store);
    try {
      const at = '2026-12-01T00:00:00.000Z';
      await store.putSettings({ databases: [], webhook: { url: 'http://127.0.0.1:9/hook', secretFile: null }, failOn: null }, at);
      const settings = await store.settings();
      // A sync's or a first add's parts at 10,000 applications: tens of megabytes each (here ~600 KB stored, incompressible).
      const bodies = Array.from({ length: 4 }, (_, i) => ({ schemaVersion: 1, part: i, noise: randomBytes(600_000).toString('base64') }));
      for (const body of bodies) await store.transaction((tx) => recordEvent(tx, settings, 'sync', body, at));
      const held: number[] = [];
      const watched = new Proxy(store, {
        get(target, key, receiver) {
          if (key !== 'dueDeliveries') return Reflect.get(target, key, receiver) as unknown;
          return async (...args: Parameters<typeof store.dueDeliveries>) => {
            const due = await target.dueDeliveries(...args);
            held.push(due.length);
            return due;
          };
        },
      });
      const posted: string[] = [];
      const fetchImpl = (async (_url: string, init: { body: string }) => {
        posted.push(init.body);
        return new Response(null, { status: 204 });
      }) as unknown as typeof fetch;
      assert.deepEqual(await deliverDueEvents(watched, { fetchImpl, now: () => new Date('2026-12-01T00:00:01.000Z') }), { delivered: 4, failures: [] });
      assert.deepEqual(posted.map((b) => (JSON.parse(b) as { part: number }).part), [0, 1, 2, 3]);
      assert.ok(Math.max(...held) <= 1, `read ${JSON.stringify(held)} deliveries at a time: all their bodies were held at once`);
    } finally {
      await store.close();
      await fresh.dispose();
    }
  });
}

/** A fetch that records each post (its URL, headers and body) and answers `status`, or throws `refuse`. */
function recordingFetch(posts: { url: string; headers: Record<string, string>; body: string }[], answer: { status: number } | { refuse: Error } = { status: 204 }): typeof fetch {
  return (async (url: string, init: { headers: Record<string, string>; body: string }) => {
    posts.push({ url, headers: init.headers, body: init.body });
    if ('refuse' in answer) throw new TypeError('fetch failed', { cause: answer.refuse });
    return new Response(null, { status: answer.status });
  }) as unknown as typeof fetch;
}

async function withStore(kind: (typeof STORE_KINDS)[number], body: (store: FleetStore) => Promise<void>): Promise<void> {
  const fresh = await freshStore(kind);
  const store = await openFleetStore(fresh.store);
  try {
    await body(store);
  } finally {
    await store.close();
    await fresh.dispose();
  }
}

const AT = '2026-12-01T00:00:00.000Z';
const header = (headers: Record<string, string>, name: string): string | undefined => Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];

for (const kind of STORE_KINDS) {
  test(`${kind}: an event queued for a webhook that was since changed or removed is not posted to it`, { skip: await skipUnless(kind) }, async () => {
    await withStore(kind, async (store) => {
      // The old receiver was retired (or handed to someone else): the fleet's findings must stop going there.
      await store.putSettings({ databases: [], webhook: { url: 'http://127.0.0.1:9/old-hook', secretFile: null }, failOn: null }, AT);
      await store.transaction(async (tx) => recordEvent(tx, await tx.settings(), 'sync', { schemaVersion: 1, part: 'queued for the old hook' }, AT));
      await store.putSettings({ databases: [], webhook: { url: 'http://127.0.0.1:9/new-hook', secretFile: null }, failOn: null }, AT);
      await store.transaction(async (tx) => recordEvent(tx, await tx.settings(), 'sync', { schemaVersion: 1, part: 'queued for the new hook' }, AT));
      const posts: { url: string; headers: Record<string, string>; body: string }[] = [];
      const now = (): Date => new Date('2026-12-01T00:00:01.000Z');
      assert.deepEqual(await deliverDueEvents(store, { fetchImpl: recordingFetch(posts), now }), { delivered: 1, failures: [] });
      assert.deepEqual(
        posts.map((p) => [p.url, (JSON.parse(p.body) as { part: string }).part]),
        [['http://127.0.0.1:9/new-hook', 'queued for the new hook']],
      );
      // Removed: nothing at all is posted.
      await store.putSettings({ databases: [], webhook: null, failOn: null }, AT);
      await store.transaction(async (tx) => recordEvent(tx, await tx.settings(), 'sync', { schemaVersion: 1, part: 'after removal' }, AT));
      assert.deepEqual(await deliverDueEvents(store, { fetchImpl: recordingFetch(posts), now }), { delivered: 0, failures: [] });
      assert.equal(posts.length, 1);
    });
  });

  test(`${kind}: while the webhook is down a run tries one post, not one per queued event (a command waits out one timeout)`, { skip: await skipUnless(kind) }, async () => {
    await withStore(kind, async (store) => {
      await store.putSettings({ databases: [], webhook: { url: 'http://127.0.0.1:9/hook', secretFile: null }, failOn: null }, AT);
      for (let i = 0; i < 5; i++) await store.transaction(async (tx) => recordEvent(tx, await tx.settings(), 'add', { schemaVersion: 1, part: i }, AT));
      const posts: { url: string; headers: Record<string, string>; body: string }[] = [];
      const now = (): Date => new Date('2026-12-01T00:00:01.000Z');
      const down = await deliverDueEvents(store, { fetchImpl: recordingFetch(posts, { refuse: new Error('connect ETIMEDOUT 127.0.0.1:9') }), now });
      assert.equal(posts.length, 1);
      assert.equal(down.delivered, 0);
      assert.equal(down.failures.length, 1);
      assert.match(down.failures[0] as string, /event 1 \(add\) not delivered: connect ETIMEDOUT/);
      // Back up: the others are posted at once, in order; the one that failed when its backoff is over.
      const up = await deliverDueEvents(store, { fetchImpl: recordingFetch(posts), now });
      assert.deepEqual(up, { delivered: 4, failures: [] });
      assert.deepEqual(posts.slice(1).map((p) => (JSON.parse(p.body) as { part: number }).part), [1, 2, 3, 4]);
      assert.deepEqual(await deliverDueEvents(store, { fetchImpl: recordingFetch(posts), now: () => new Date('2026-12-01T00:01:00.000Z') }), { delivered: 1, failures: [] });
    });
  });

  test(`${kind}: a webhook event names the fleet's databases as the API does, never by a path of the server`, { skip: await skipUnless(kind) }, async () => {
    await withStore(kind, async (store) => {
      const db = '/srv/stowage/private/advisory-db';
      await store.putSettings({ databases: [db], webhook: { url: 'http://127.0.0.1:9/hook', secretFile: null }, failOn: null }, AT);
      const body = { schemaVersion: 1, databases: [{ source: db, revision: 'abc' }], changes: [{ app: 'web', findings: [{ databases: [db] }] }] };
      await store.transaction(async (tx) => recordEvent(tx, await tx.settings(), 'sync', body, AT));
      const posts: { url: string; headers: Record<string, string>; body: string }[] = [];
      assert.equal((await deliverDueEvents(store, { fetchImpl: recordingFetch(posts), now: () => new Date('2026-12-01T00:00:01.000Z') })).delivered, 1);
      const [post] = posts;
      assert.ok(post !== undefined && !post.body.includes('/srv/stowage'), post?.body);
      assert.deepEqual(JSON.parse(post.body), { ...body, databases: [{ source: 'advisory-db', revision: 'abc' }], changes: [{ app: 'web', findings: [{ databases: ['advisory-db'] }] }] });
    });
  });

  test(`${kind}: the delivery id and the time of the post are signed with the body, so a captured post cannot be replayed later or under another id`, { skip: await skipUnless(kind) }, async () => {
    await withStore(kind, async (store) => {
      const secretFile = join(tempDir('webhook-secret'), 'hook.key');
      writeFileSync(secretFile, 'correct horse battery staple');
      await store.putSettings({ databases: [], webhook: { url: 'http://127.0.0.1:9/hook', secretFile }, failOn: null }, AT);
      await store.transaction(async (tx) => recordEvent(tx, await tx.settings(), 'triage', { schemaVersion: 1 }, AT));
      const posts: { url: string; headers: Record<string, string>; body: string }[] = [];
      const sent = new Date('2026-12-01T00:00:05.000Z');
      assert.equal((await deliverDueEvents(store, { fetchImpl: recordingFetch(posts), now: () => sent })).delivered, 1);
      const [post] = posts as [(typeof posts)[number]];
      const timestamp = header(post.headers, 'x-stowage-timestamp');
      const delivery = header(post.headers, 'x-stowage-delivery');
      assert.equal(timestamp, String(sent.getTime() / 1000));
      assert.equal(delivery, '1');
      const expected = createHmac('sha256', 'correct horse battery staple').update(`${delivery}.${timestamp}.${post.body}`).digest('hex');
      assert.equal(header(post.headers, 'x-stowage-signature-v2'), `sha256=${expected}`);
      // The body-only signature is still sent, for receivers that check it.
      assert.equal(header(post.headers, 'x-stowage-signature'), `sha256=${createHmac('sha256', 'correct horse battery staple').update(post.body).digest('hex')}`);
    });
  });
}

test('a webhook URL with user-info is posted with those Basic credentials, and no message or stored error shows the password', async () => {
  const received: Received[] = [];
  const probe = await listen(0, received);
  const port = (probe.address() as { port: number }).port;
  await close(probe);
  await withStore('sqlite', async (store) => {
    const url = `http://hook-user:s3cr%40t@127.0.0.1:${port}/hook?token=t0ken`;
    await store.putSettings({ databases: [], webhook: { url, secretFile: null }, failOn: null }, AT);
    await store.transaction(async (tx) => recordEvent(tx, await tx.settings(), 'sync', { schemaVersion: 1 }, AT));
    // Down: the message says which webhook, without its secrets.
    const down = await deliverDueEvents(store, { now: () => new Date('2026-12-01T00:00:01.000Z'), timeoutMs: 2000 });
    assert.equal(down.failures.length, 1);
    assert.match(down.failures[0] as string, new RegExp(`^webhook http://\\*\\*\\*@127\\.0\\.0\\.1:${port}/hook\\?token=\\*\\*\\*: event 1 \\(sync\\) not delivered: .*ECONNREFUSED`));
    const stored = JSON.stringify(await store.deliveries());
    for (const secret of ['s3cr', 't0ken']) {
      assert.ok(!down.failures[0]?.includes(secret), down.failures[0]);
      assert.ok(!stored.replaceAll(JSON.stringify(url).slice(1, -1), '').includes(secret), stored);
    }
    const server = await listen(port, received);
    try {
      assert.deepEqual(await deliverDueEvents(store, { now: () => new Date('2026-12-01T00:01:00.000Z'), timeoutMs: 2000 }), { delivered: 1, failures: [] });
    } finally {
      await close(server);
    }
  });
  assert.equal(received.length, 1);
  assert.equal(received[0]?.headers.authorization, `Basic ${Buffer.from('hook-user:s3cr@t').toString('base64')}`);
});

test('without a webhook, events are recorded and nothing is queued', async () => {
  const fresh = await freshStore('sqlite');
  const store = await openFleetStore(fresh.store);
  try {
    await store.transaction((tx) => recordEvent(tx, null, 'add', { schemaVersion: 1 }, '2026-12-01T00:00:00.000Z'));
    assert.deepEqual(await store.deliveries(), []);
  } finally {
    await store.close();
    await fresh.dispose();
  }
});
