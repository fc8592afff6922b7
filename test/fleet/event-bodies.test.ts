/**
 * An event's body is kept zstd-compressed in the store (migration 14, events.body_zstd) and
 * given back as the very text recorded, to the webhook's delivery and to the event feed; an
 * event recorded before that migration (its text in `body`) reads as it was.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recordEventText } from '../../src/fleet/events.js';
import { EVENT_BODIES_COMPRESSED_VERSION, migrate } from '../../src/fleet/store/migrations.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { PostgresDriver } from '../../src/fleet/store/postgres-driver.js';
import type { SqlDriver } from '../../src/fleet/store/sql.js';
import { SqliteDriver } from '../../src/fleet/store/sqlite-driver.js';
import { deliverDueEvents } from '../../src/fleet/webhooks.js';
import { freshStore, storeSkips, STORE_KINDS, type TestStore } from '../support/fleet-stores.js';

const skips = await storeSkips();
const AT = '2026-12-01T00:00:00.000Z';
const HOOK = 'http://127.0.0.1:9/hook';

const openDriver = async (store: TestStore): Promise<SqlDriver> => (store.kind === 'sqlite' ? SqliteDriver.open(store.store) : PostgresDriver.open(store.store));

/** A sync's event as text: many changes alike, names no terminal should get raw, characters of every UTF-8 length. */
const syncText = JSON.stringify({
  schemaVersion: 1,
  changes: Array.from({ length: 300 }, (_, i) => ({ app: `app-${i} é\u202e😀\u0000`, change: 'new', advisory: { id: 'RUSTSEC-2026-0001', title: 'déjà vu\u2028' } })),
});
const olderText = JSON.stringify({ schemaVersion: 1, apps: [{ name: 'from before ✓' }] });

for (const kind of STORE_KINDS) {
  test(`an event's body is stored compressed and read back byte for byte; one recorded before reads as it was (${kind})`, { skip: skips[kind] }, async () => {
    const fresh = await freshStore(kind);
    try {
      // The store as the stowage before compressed bodies left it, holding one event for the webhook.
      const older = await openDriver(fresh);
      try {
        await migrate(older, fresh.store, EVENT_BODIES_COMPRESSED_VERSION - 1);
        await older.transaction(async (tx) => {
          const [row] = await tx.query<{ id: number }>(`INSERT INTO events (at, type, body) VALUES (?, 'add', ?) RETURNING id`, [AT, olderText]);
          await tx.run(`INSERT INTO outbox (event_id, target, attempts, next_attempt_at) VALUES (?, ?, 0, ?)`, [Number(row?.id), HOOK, AT]);
        });
      } finally {
        await older.close();
      }

      const store = await openFleetStore(fresh.store);
      try {
        await store.putSettings({ databases: [], webhook: { url: HOOK, secretFile: null }, failOn: null }, AT);
        const settings = await store.settings();
        await store.transaction((tx) => recordEventText(tx, settings, 'sync', syncText, AT));

        assert.deepEqual(
          (await store.eventsAfter(0, 10)).map((e) => [e.type, e.body]),
          [
            ['add', olderText],
            ['sync', syncText],
          ],
        );
        // Read within a budget of stored bytes (the event stream's pages): the first event whatever its size, then only what fits.
        const [first, second] = await store.eventsAfter(0, 10);
        assert.deepEqual((await store.eventsAfter(0, 10, 1)).map((e) => [e.id, e.body]), [[first?.id, olderText]]);
        assert.deepEqual((await store.eventsAfter(first?.id ?? 0, 10, 1)).map((e) => [e.id, e.body]), [[second?.id, syncText]]);
        assert.deepEqual((await store.eventsAfter(0, 10, 1_000_000)).map((e) => e.type), ['add', 'sync']);
        assert.deepEqual(await store.eventsAfter(second?.id ?? 0, 10, 1), []);
        assert.deepEqual(
          (await store.deliveries()).map((d) => d.body),
          [olderText, syncText],
        );
        // What the webhook is sent: the text recorded, byte for byte.
        const posted: string[] = [];
        const fetchImpl = (async (_url: string, init: { body: string }) => {
          posted.push(init.body);
          return new Response(null, { status: 204 });
        }) as unknown as typeof fetch;
        assert.deepEqual(await deliverDueEvents(store, { fetchImpl, now: () => new Date(AT) }), { delivered: 2, failures: [] });
        assert.deepEqual(posted, [olderText, syncText]);
      } finally {
        await store.close();
      }

      // As stored: the new event's text compressed (a sync's changes are much alike), the older one's as it was.
      const after = await openDriver(fresh);
      try {
        const rows = await after.query<{ body: string; body_zstd: Buffer | null }>(`SELECT body, body_zstd FROM events ORDER BY id`);
        assert.deepEqual(
          rows.map((r) => [r.body, r.body_zstd === null]),
          [
            [olderText, true],
            ['', false],
          ],
        );
        assert.ok((rows[1]?.body_zstd?.length ?? Infinity) * 10 < Buffer.byteLength(syncText), 'compressed to under a tenth');
      } finally {
        await after.close();
      }
    } finally {
      await fresh.dispose();
    }
  });
}
