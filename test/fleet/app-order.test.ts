/**
 * Every list of applications comes in one order, code points (the order of UTF-8 bytes), on
 * both stores and whatever the PostgreSQL database's collation: the store pages lists by name
 * in that order (`fleet status --summary`, `GET /apps`), so the lists made in JavaScript must
 * sort alike. Before, `fleet status --format json` sorted by UTF-16 code units (`x-😀` before
 * `x-＠`, where `--summary` put it after), and `fleet snapshot` listed a snapshot in the
 * database's collation (`alpha` before `Bravo` on a PostgreSQL made with en_US.UTF-8, after it
 * on SQLite): the same fleet gave different bytes on the two stores.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';

const skips = await storeSkips();
const cacheDir = tempDir('fleet-app-order-cache');

/** Code-point order: `B` (U+0042) < `a` (U+0061) < `x-＠` (U+FF20) < `x-😀` (U+1F600). */
const NAMES = ['Bravo', 'alpha', 'x-＠', 'x-😀'];

/** One lockfile per application (the same files for both stores: findings name them), each locking minimatch 3.0.4, which GHSA-f8q6-p94x-37v3 affects. */
const LOCKFILES = ((): string[] => {
  const dir = tempDir('fleet-app-order-apps');
  const lock = JSON.stringify({
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name: 'app', version: '1.0.0', dependencies: { minimatch: '3.0.4' } }, 'node_modules/minimatch': { version: '3.0.4' } },
  });
  // Added in neither order, so no list merely keeps the order of the add.
  return ['x-😀', 'alpha', 'x-＠', 'Bravo'].map((name) => {
    const path = join(dir, `${name}.package-lock.json`);
    writeFileSync(path, lock);
    return path;
  });
})();

const names = (list: { name: string }[] | undefined): string[] => (list ?? []).map((a) => a.name);

const outputs: Partial<Record<string, string>> = {};

for (const kind of STORE_KINDS) {
  test(`applications are listed in code-point order by status, summary, affected, snapshot and promote (${kind})`, { skip: skips[kind], timeout: 300_000 }, async () => {
    const store = await freshStore(kind, { linguisticCollation: true });
    try {
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      assert.equal(fleet('init', '--db', GHSA_NPM).status, 0);
      const added = fleet('add', ...LOCKFILES);
      assert.equal(added.status, 1, added.stderr);

      const status = fleet('status', '--format', 'json');
      assert.deepEqual(names((JSON.parse(status.stdout) as { apps: { name: string }[] }).apps), NAMES, 'fleet status');
      const summary = fleet('status', '--summary', '--format', 'json');
      assert.deepEqual(names((JSON.parse(summary.stdout) as { apps: { name: string }[] }).apps), NAMES, 'fleet status --summary');
      const affected = fleet('affected', 'GHSA-f8q6-p94x-37v3', '--format', 'json');
      assert.deepEqual(names((JSON.parse(affected.stdout) as { apps: { name: string }[] }).apps), NAMES, 'fleet affected');

      const snapshot = fleet('snapshot', 'release', '--format', 'json');
      assert.equal(snapshot.status, 0, snapshot.stderr);
      assert.deepEqual(names((JSON.parse(snapshot.stdout) as { snapshot: { apps: { name: string }[] } }).snapshot.apps), NAMES, 'fleet snapshot');
      const promote = fleet('promote', '--snapshot', 'release', '--dry-run', '--format', 'json');
      assert.deepEqual(((JSON.parse(promote.stdout) as { apps: { app: string }[] }).apps).map((a) => a.app), NAMES, 'fleet promote --snapshot');

      // The same fleet, the same bytes on both stores (but the moments they were recorded at).
      const undated = (text: string): string => text.replace(/"(createdAt|revisedAt|at)": "[^"]*"/g, '"$1": "…"');
      outputs[kind] = [status, summary, affected, snapshot].map((r) => undated(r.stdout)).join('\n');
      if (outputs.sqlite !== undefined && outputs.postgres !== undefined) assert.equal(outputs.postgres, outputs.sqlite, 'PostgreSQL answers as SQLite');
    } finally {
      await store.dispose();
    }
  });
}
