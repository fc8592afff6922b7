import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { freshStore, storeSkips, STORE_KINDS, withStore, type TestStore } from '../support/fleet-stores.js';
import { runCli, tempDir } from '../support/shared.js';

/**
 * A triage decision's `--package NAME@RANGE` for an advisory that has no finding yet: the range
 * is read when it is recorded, by the syntax of the ecosystem the advisory names, so a range no
 * one can read is refused then (exit 2, nothing stored), not stored to make every later sync and
 * status fail. A decision with such a range stored by an earlier stowage covers nothing: the
 * finding it meets shows and fails as `stowage audit` says.
 */

const ID = 'RUSTSEC-2099-0041';

function app(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Cargo.toml'), '[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\nbar = "1"\n');
  writeFileSync(
    join(dir, 'Cargo.lock'),
    [
      'version = 3',
      '',
      '[[package]]',
      'name = "app"',
      'version = "0.1.0"',
      'dependencies = ["bar"]',
      '',
      '[[package]]',
      'name = "bar"',
      'version = "1.0.0"',
      'source = "registry+https://github.com/rust-lang/crates.io-index"',
      `checksum = "${'0'.repeat(64)}"`,
      '',
    ].join('\n'),
  );
  return dir;
}

const skips = await storeSkips();

for (const kind of STORE_KINDS) {
  test(`a triage range no one can read is refused before a finding exists, and never stops a sync (${kind})`, { skip: skips[kind] }, async () => {
    const store: TestStore = await freshStore(kind);
    try {
      const cacheDir = tempDir('fleet-triage-range-cache');
      const db = tempDir('fleet-triage-range-db');
      const dir = app(join(tempDir('fleet-triage-range-app'), 'app'));
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      // bar 1.0.0 is not affected yet: the advisory is known, without a finding.
      rustsecAdvisoryDb(db, [{ id: ID, package: 'bar', patched: ['>= 0.1.0'] }]);
      assert.equal(fleet('init', '--db', db).status, 0);
      assert.equal(fleet('add', dir).status, 0);

      const refused = fleet('triage', '--all', ID, '--state', 'not_affected', '--justification', 'code_not_reachable', '--reason', 'x', '--package', 'bar@!!((');
      assert.equal(refused.status, 2, refused.stderr);
      assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
      assert.match(refused.stderr, /--package range "!!\(\(" cannot be read/);
      assert.equal(await withStore(store, async (tx) => (await tx.query('SELECT id FROM triage')).length), 0, 'nothing stored');
      // A range Cargo reads is recorded as before.
      const kept = fleet('triage', '--all', ID, '--state', 'in_triage', '--reason', 'looking', '--package', 'bar@>=2');
      assert.equal(kept.status, 0, kept.stderr);

      // A decision an earlier stowage stored with such a range, then the advisory moves to affect bar 1.0.0.
      await withStore(store, (tx) =>
        tx.run(
          `INSERT INTO triage (app_id, alias_key, package_name, package_range, state, justification, reason, expires, by, at)
           VALUES (NULL, ?, 'bar', '!!((', 'not_affected', 'code_not_reachable', 'x', NULL, 'mallory', '2026-12-01T00:00:00.000Z')`,
          [ID],
        ),
      );
      rustsecAdvisoryDb(db, [{ id: ID, package: 'bar' }]);
      const audit = runCli(['audit', dir, '--db', db], { cacheDir });
      assert.equal(audit.status, 1, audit.stderr);

      const sync = fleet('sync', '--format', 'json');
      assert.equal(sync.status, 1, sync.stderr);
      const changes = (JSON.parse(sync.stdout) as { changes: { app: string; change: string; advisory: { id: string }; failsPolicy: boolean }[] }).changes;
      assert.deepEqual(changes.map((c) => [c.app, c.change, c.advisory.id, c.failsPolicy]), [['app', 'new', ID, true]]);
      const status = fleet('status', '--format', 'json');
      assert.equal(status.status, 1, status.stderr);
      const apps = (JSON.parse(status.stdout) as { apps: { findings: { advisory: { id: string }; failsPolicy: boolean; ignored: unknown }[] }[] }).apps;
      assert.deepEqual(apps[0]?.findings.map((f) => [f.advisory.id, f.failsPolicy, f.ignored]), [[ID, true, null]]);
      assert.equal(fleet('status').status, 1);
      assert.equal(fleet('show', 'app').status, 1);
    } finally {
      await store.dispose();
    }
  });
}
