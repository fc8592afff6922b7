import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
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

for (const kind of STORE_KINDS) {
  test(`a pushed application's warnings (a yarn.lock older than its package.json) name its documents as uploaded, never the server's temporary directory (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const db = tempDir('server-upload-warning-db');
      const osv = { schema_version: '1.3.0', id: 'GHSA-0000-0000-0003', modified: '2024-01-01T00:00:00Z', published: '2024-01-01T00:00:00Z', summary: 'Made up', details: 'Made up.', affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '9.0.0' }] }] }] };
      writeFileSync(join(db, 'GHSA-0000-0000-0003.json'), JSON.stringify(osv));
      const init = await runCliAsync(['fleet', 'init', '--db', db, '--store', store.store], { cacheDir });
      assert.equal(init.status, 0, init.stderr);
      const server = await startServer(store.store, cacheDir);
      try {
        const writer = await server.token('ci');
        const form = new FormData();
        form.append('document', new Blob(['{"name": "web", "version": "1.0.0", "dependencies": {"log4js": "^2.5.3"}}\n']), 'package.json');
        const lock = ['# yarn lockfile v1', '', 'log4js@^2.3.9:', '  version "2.11.0"', '  resolved "https://registry.yarnpkg.com/log4js/-/log4js-2.11.0.tgz#bf3902eff65c6923d9ce9cfbd2db54160e34005a"', ''].join('\n');
        form.append('document', new Blob([lock]), 'yarn.lock');
        const pushed = await api(server, 'POST', '/apps/web/revisions', { token: writer, body: form });
        assert.equal(pushed.status, 201, JSON.stringify(pushed.body));
        const shown = await api<{ apps: { warnings?: string[] }[] }>(server, 'GET', '/apps/web', { token: writer });
        assert.equal(shown.status, 200);
        assert.deepEqual(shown.body.apps[0]?.warnings, ['package.json: log4js@^2.5.3 not locked as asked in yarn.lock: the lockfile is older than package.json; the audit covers what it locks']);
      } finally {
        await server.close();
      }
    } finally {
      await store.dispose();
    }
  });
}
