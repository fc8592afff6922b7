import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshStore, queuedEvents, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import { api, startServer } from '../support/fleet-server.js';
import { advisoryDbCheckout, CARGO_CORPUS, runCliAsync, tempDir } from '../support/shared.js';

/**
 * An upload is read from a temporary directory of the server: the answer names it `upload`, and
 * so must the `add` event it records, which every reader of GET /events and the webhook's
 * receiver gets. The temporary directory is a path of the server's disk, which none of them needs.
 */

const cacheDir = tempDir('server-upload-event-cache');
const RUSTSEC = advisoryDbCheckout();
const skips = await storeSkips();

for (const kind of STORE_KINDS) {
  test(`a push's add event names the application's path as its answer does, "upload", never the server's temporary directory (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      // A webhook no one receives: the outbox keeps what it would be sent.
      const init = await runCliAsync(['fleet', 'init', '--db', RUSTSEC, '--webhook', 'http://127.0.0.1:9/hook', '--store', store.store], { cacheDir });
      assert.equal(init.status, 0, init.stderr);
      const server = await startServer(store.store, cacheDir);
      const abort = new AbortController();
      try {
        const writer = await server.token('ci');
        const reader = await server.token('dashboard', true);
        const form = new FormData();
        form.append('document', new Blob([readFileSync(join(CARGO_CORPUS, 'kanidm-2023-08-01.Cargo.lock'))]), 'Cargo.lock');
        const pushed = await api<{ apps: { path: string }[] }>(server, 'POST', '/apps/web/revisions', { token: writer, body: form });
        assert.equal(pushed.status, 201);
        assert.equal(pushed.body.apps[0]?.path, 'upload');

        const events = await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${reader}`, 'last-event-id': '0' }, signal: abort.signal });
        assert.equal(events.status, 200);
        const stream = (events.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let text = '';
        let match: RegExpExecArray | null = null;
        while ((match = /event: add\ndata: (.*)\n/.exec(text)) === null) {
          const chunk = await stream.read();
          assert.equal(chunk.done, false, "the stream ended before the push's event");
          text += decoder.decode(chunk.value, { stream: true });
        }
        const streamed = JSON.parse(match[1] as string) as { apps: { name: string; path: string }[] };
        assert.deepEqual(streamed.apps.map((a) => [a.name, a.path]), [['web', 'upload']]);
        assert.ok(!text.includes('stowage-upload-'), `the event names the upload's temporary directory:\n${text.slice(0, 400)}`);

        const queued = (await queuedEvents(store)).filter((e) => e.type === 'add');
        assert.equal(queued.length, 1);
        // Kept as recorded (a database on the server's disk is renamed when it is posted): the upload's path is not a database's.
        const posted = queued[0]?.body as { apps: { name: string; path: string }[] };
        assert.deepEqual(posted.apps.map((a) => [a.name, a.path]), [['web', 'upload']]);
        assert.ok(!JSON.stringify(posted).includes('stowage-upload-'), "the webhook's body names the upload's temporary directory");
      } finally {
        abort.abort();
        await server.close();
      }
    } finally {
      await store.dispose();
    }
  });
}
