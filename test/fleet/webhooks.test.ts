import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordEvent } from '../../src/fleet/events.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { deliverDueEvents } from '../../src/fleet/webhooks.js';
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
