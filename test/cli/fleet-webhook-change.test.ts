import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recordEvent } from '../../src/fleet/events.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { deliverDueEvents } from '../../src/fleet/webhooks.js';
import { freshStore, storeSkips, STORE_KINDS, type TestStore } from '../support/fleet-stores.js';
import { advisoryDbCheckout, runCli, tempDir } from '../support/shared.js';

/**
 * Events not yet delivered follow the webhook `fleet init` sets: a new URL (the receiver moved,
 * or the old one was mistyped) gets them, due at once; with the webhook removed they are dropped.
 * Either way init says so, and nothing stays queued for a URL no run posts to.
 */

const cacheDir = tempDir('fleet-webhook-change-cache');
const RUSTSEC = advisoryDbCheckout();
const skips = await storeSkips();

const OLD = 'http://127.0.0.1:9/old-hook';
const NEW = 'http://127.0.0.1:9/new-hook';

async function queue(store: TestStore, parts: string[]): Promise<void> {
  const opened = await openFleetStore(store.store);
  try {
    for (const part of parts) await opened.transaction(async (tx) => recordEvent(tx, await tx.settings(), 'sync', { schemaVersion: 1, part }, new Date().toISOString()));
    // Tried once while the receiver is down: each is put off, with an error.
    await deliverDueEvents(opened, { fetchImpl: (() => Promise.reject(new TypeError('fetch failed'))) as typeof fetch });
  } finally {
    await opened.close();
  }
}

async function outbox(store: TestStore): Promise<{ target: string; part: string; attempts: number; delivered: boolean }[]> {
  const opened = await openFleetStore(store.store);
  try {
    return (await opened.deliveries()).map((d) => ({ target: d.target, part: (JSON.parse(d.body) as { part: string }).part, attempts: d.attempts, delivered: d.deliveredAt !== null }));
  } finally {
    await opened.close();
  }
}

for (const kind of STORE_KINDS) {
  test(`fleet init --webhook NEW moves the events not yet delivered to NEW, due at once; removing the webhook drops them (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = (...args: string[]): ReturnType<typeof runCli> => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      assert.equal(fleet('init', '--db', RUSTSEC, '--webhook', OLD).status, 0);
      await queue(store, ['first', 'second']);
      assert.deepEqual(
        (await outbox(store)).map((d) => [d.target, d.part, d.attempts]),
        [
          [OLD, 'first', 1],
          [OLD, 'second', 0],
        ],
      );

      const moved = fleet('init', '--webhook', NEW);
      assert.equal(moved.status, 0, moved.stderr);
      assert.match(moved.stdout, /^ {2}webhook: http:\/\/127\.0\.0\.1:9\/old-hook → http:\/\/127\.0\.0\.1:9\/new-hook$/m);
      assert.match(moved.stdout, /^ {2}2 webhook events not yet delivered: to be posted to http:\/\/127\.0\.0\.1:9\/new-hook$/m);
      assert.deepEqual(
        (await outbox(store)).map((d) => [d.target, d.part, d.attempts]),
        [
          [NEW, 'first', 0],
          [NEW, 'second', 0],
        ],
      );
      // Posted to the new receiver at the next run, oldest first.
      const posts: string[] = [];
      const opened = await openFleetStore(store.store);
      try {
        const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
          posts.push(`${String(url)} ${(JSON.parse(String(init?.body)) as { part: string }).part}`);
          return new Response(null, { status: 204 });
        }) as typeof fetch;
        assert.deepEqual(await deliverDueEvents(opened, { fetchImpl }), { delivered: 2, failures: [] });
      } finally {
        await opened.close();
      }
      assert.deepEqual(posts, [`${NEW} first`, `${NEW} second`]);

      // Removed: what was not delivered is dropped, and said; what was delivered stays as it was.
      await queue(store, ['third']);
      const removed = fleet('init', '--webhook', '');
      assert.equal(removed.status, 0, removed.stderr);
      assert.match(removed.stdout, /^ {2}1 webhook event not yet delivered: dropped with the webhook$/m);
      assert.deepEqual(
        (await outbox(store)).map((d) => [d.part, d.delivered]),
        [
          ['first', true],
          ['second', true],
        ],
      );
    } finally {
      await store.dispose();
    }
  });
}
