import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recordEvent } from '../../src/fleet/events.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { freshStore, skipUnless, withStore } from '../support/fleet-stores.js';
import { eventStream, startServer } from '../support/fleet-server.js';
import { tempDir } from '../support/shared.js';

/**
 * GET /api/v1/events goes on from the highest event id it sent (and a client resumes from the
 * last it got), so an event must never become visible after one with a higher id. On
 * PostgreSQL identity values are handed out outside transactions: a command that recorded its
 * event and was still writing when a quicker one (a triage, a push) committed a later id had
 * its event skipped by every stream, and by every client resuming after the later id. (SQLite
 * has one writer at a time: its ids are in commit order already.)
 */

const cacheDir = tempDir('event-order-cache');

test('an event whose transaction commits after a later event\'s is still sent to the live stream (postgres)', { skip: await skipUnless('postgres') }, async () => {
  const store = await freshStore('postgres');
  const server = await startServer(store.store, cacheDir);
  const command = await openFleetStore(store.store);
  const abort = new AbortController();
  try {
    const token = await server.token('watcher');
    const from = await server.store.lastEventId();
    const stream = eventStream(await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal }));
    await stream.readUntil(': stowage fleet events\n');

    // A long command (a sync, an add of many applications) has recorded its event and is still writing.
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let recorded = (): void => undefined;
    const hasRecorded = new Promise<void>((resolve) => (recorded = resolve));
    const long = command.transaction(async (tx) => {
      const id = await recordEvent(tx, null, 'sync', { command: 'long' }, new Date().toISOString());
      recorded();
      await held;
      return id;
    });
    await hasRecorded;
    // Meanwhile a quick one records its event: it commits, or waits for the long one to.
    let quickDone = false;
    const quick = server.store.transaction((tx) => recordEvent(tx, null, 'triage', { command: 'quick' }, new Date().toISOString())).finally(() => (quickDone = true));
    const waitingForALock = async (): Promise<boolean> =>
      withStore(store, async (tx) => (await tx.query(`SELECT 1 FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).length > 0);
    while (!quickDone && !(await waitingForALock())) await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    await Promise.all([long, quick]);

    // One more event; once the stream has sent it, it has sent everything before it.
    const last = await server.store.transaction((tx) => recordEvent(tx, null, 'triage', { command: 'last' }, new Date().toISOString()));
    await stream.readUntil(`id: ${last}\n`);
    const sent = stream.ids();
    const stored = (await server.store.eventsAfter(from, 100)).map((e) => e.id);
    assert.equal(stored.length, 3);
    assert.deepEqual(sent, stored, 'every event the store holds, in id order, none skipped');
  } finally {
    abort.abort();
    await command.close();
    await server.close();
    await store.dispose();
  }
});
