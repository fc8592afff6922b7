import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import { api, startServer } from '../support/fleet-server.js';
import { CARGO_CORPUS, runCli, tempDir } from '../support/shared.js';

/**
 * `fleet affected NAME@VERSION` (and GET /api/v1/packages/…?version=) for a crate locked with
 * build metadata: kanidm of 2020-08 locks openssl-src `111.10.2+1.1.1g`, the release an advisory
 * or a person names `111.10.2` (crates.io holds one release per version without metadata). The
 * question "who embeds openssl-src 111.10.2?" must name it; an answer of no application was wrong.
 */

const APP = 'kanidm-2020-08-01';
const dir = tempDir('affected-build-metadata');
copyFileSync(join(CARGO_CORPUS, `${APP}.Cargo.lock`), join(dir, `${APP}.Cargo.lock`));
const lockfile = join(dir, `${APP}.Cargo.lock`);

/** The versions the lockfile locks of `crate` whose release (the version without build metadata) is `release`. */
function lockedAt(crate: string, release: string): string[] {
  const doc = parse(readFileSync(lockfile, 'utf8')) as { package: { name: string; version: string }[] };
  return doc.package.filter((p) => p.name === crate && p.version.split('+')[0] === release).map((p) => p.version);
}

interface AffectedJson {
  apps: { name: string; packages: { name: string; version: string }[] }[];
}

const skips = await storeSkips();

for (const kind of STORE_KINDS) {
  test(`NAME@VERSION names the applications locking that release with build metadata; VERSION+METADATA is compared whole (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    const cacheDir = tempDir('affected-build-metadata-cache');
    try {
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      const db = rustsecAdvisoryDb(tempDir('affected-build-metadata-db'), [{ id: 'RUSTSEC-2099-0042', package: 'not-in-the-fleet' }]);
      assert.equal(fleet('init', '--db', db).status, 0);
      assert.equal(fleet('add', lockfile).status, 0);
      const cases: [query: string, crate: string, release: string, expected: string[]][] = [
        ['openssl-src@111.10.2', 'openssl-src', '111.10.2', ['111.10.2+1.1.1g']],
        ['openssl-src@111.10.2+1.1.1g', 'openssl-src', '111.10.2', ['111.10.2+1.1.1g']],
        ['openssl-src@111.10.2+1.1.1h', 'openssl-src', '111.10.2', []],
        ['wasi@0.9.0', 'wasi', '0.9.0', ['0.9.0+wasi-snapshot-preview1']],
      ];
      for (const [query, crate, release, expected] of cases) {
        if (expected.length > 0) assert.deepEqual(lockedAt(crate, release), expected, `${query}: the lockfile locks it`);
        const r = fleet('affected', query, '--format', 'json');
        assert.equal(r.status, 0, r.stderr);
        const got = JSON.parse(r.stdout) as AffectedJson;
        assert.deepEqual(got.apps.map((a) => [a.name, a.packages.map((p) => p.version)]), expected.length === 0 ? [] : [[APP, expected]], query);
      }

      const server = await startServer(store.store, cacheDir, { publicRead: true });
      try {
        for (const [query, , , expected] of cases) {
          const [name, version] = query.split('@') as [string, string];
          const answer = await api<AffectedJson>(server, 'GET', `/packages/cargo/${name}?version=${encodeURIComponent(version)}`);
          if (expected.length === 0) {
            assert.equal(answer.status, 200, query);
            assert.deepEqual(answer.body.apps, [], query);
            continue;
          }
          assert.equal(answer.status, 200, query);
          assert.deepEqual(answer.body.apps.map((a) => [a.name, a.packages.map((p) => p.version)]), [[APP, expected]], query);
        }
      } finally {
        await server.close();
      }
    } finally {
      await store.dispose();
    }
  });
}
