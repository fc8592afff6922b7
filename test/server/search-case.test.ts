/**
 * A search by application name (`GET /apps?q=`, the dashboard's search box) ignores the case of
 * every letter on both stores. SQLite's UPPER() changes ASCII letters only: `?q=é` found
 * `École` on PostgreSQL and nothing on SQLite, `?q=É` both.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { api, startServer } from '../support/fleet-server.js';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';

const skips = await storeSkips();
const cacheDir = tempDir('fleet-search-case-cache');

const LOCKFILES = ((): string[] => {
  const dir = tempDir('fleet-search-case-apps');
  const lock = JSON.stringify({
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name: 'app', version: '1.0.0', dependencies: { minimatch: '3.0.4' } }, 'node_modules/minimatch': { version: '3.0.4' } },
  });
  return ['École', 'ÉTÉ-ASCII', 'Straße', 'plain'].map((name) => {
    const path = join(dir, `${name}.package-lock.json`);
    writeFileSync(path, lock);
    return path;
  });
})();

interface Apps {
  apps: { name: string }[];
}

for (const kind of STORE_KINDS) {
  test(`GET /apps?q= finds a name whatever the case of its letters, ASCII or not (${kind})`, { skip: skips[kind], timeout: 300_000 }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      assert.equal(fleet('init', '--db', GHSA_NPM).status, 0);
      assert.equal(fleet('add', ...LOCKFILES).status, 1);
      const server = await startServer(store.store, cacheDir, { publicRead: true });
      try {
        const found = async (q: string, view = ''): Promise<string[]> => {
          const answer = await api<Apps>(server, 'GET', `/apps?q=${encodeURIComponent(q)}${view}`);
          assert.equal(answer.status, 200);
          return answer.body.apps.map((a) => a.name);
        };
        for (const view of ['', '&view=full']) {
          assert.deepEqual(await found('é', view), ['ÉTÉ-ASCII', 'École'], `é${view}`);
          assert.deepEqual(await found('É', view), ['ÉTÉ-ASCII', 'École'], `É${view}`);
          assert.deepEqual(await found('école', view), ['École'], `école${view}`);
          assert.deepEqual(await found('STRASSE', view), [], 'ß is not SS: each letter by its own upper case');
          assert.deepEqual(await found('straße', view), ['Straße'], `straße${view}`);
          assert.deepEqual(await found('PLAIN', view), ['plain'], `PLAIN${view}`);
        }
      } finally {
        await server.close();
      }
    } finally {
      await store.dispose();
    }
  });
}
