import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { auditReport, type ReportFinding } from '../support/audit-report.js';
import { freshStore, storeSkips, STORE_KINDS, type TestStore } from '../support/fleet-stores.js';
import type { FleetApps } from '../support/fleet-report.js';
import { RUSTSEC_2024_12_28 } from '../support/rustsec-history.js';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, runCli, runCliAsync, tempDir } from '../support/shared.js';

/**
 * `fleet sync` against its independent reference: `stowage audit` of each application at the
 * database's old and new revisions. The findings sync reports as new (resolved) are exactly those
 * the new audit has and the old one has not (and the reverse), and afterwards every application's
 * fleet findings are the new audit's.
 */

const cacheDir = tempDir('fleet-sync-cache');
const APPS = ['kanidm-2021-08-01', 'kanidm-2023-08-01', 'kanidm-2024-08-01', 'kanidm-2026-02-01', 'ripgrep-2023-09-01'];
const LATE_APP = 'kanidm-2025-08-01';

interface SyncJson {
  schemaVersion: 1;
  databases: { source: string; previousRevision: string | null; revision: string }[];
  changes: { app: string; change: string; advisory: { id: string }; package: { name: string; version: string } }[];
  summary: { new: number; resolved: number; reevaluated: number; fullyEvaluated: number; failing: number };
}

/** A clone of the shared RustSec bundle whose work tree the test moves between revisions. */
const db = join(tempDir('fleet-sync-db'), 'advisory-db');
const appsDir = tempDir('fleet-sync-apps');
function checkout(rev: string): void {
  execFileSync('git', ['-C', db, 'checkout', '--quiet', '--detach', rev]);
}

const lockfile = (name: string): string => join(appsDir, `${name}.Cargo.lock`);
const key = (app: string, f: { advisory: { id: string }; package: { name: string; version: string } }): string =>
  `${app} ${f.advisory.id} ${f.package.name} ${f.package.version}`;

function audit(name: string): ReportFinding[] {
  const r = runCli(['audit', lockfile(name), '--db', db, '--no-fetch', '--format', 'json'], { cacheDir });
  assert.ok(r.status === 0 || r.status === 1, `audit ${name}: ${r.stderr}`);
  return auditReport(r.stdout).findings;
}

const reference = { old: new Map<string, ReportFinding[]>(), head: new Map<string, ReportFinding[]>() };

before(() => {
  execFileSync('git', ['clone', '--quiet', '--no-checkout', ADVISORY_DB_BUNDLE, db]);
  for (const name of [...APPS, LATE_APP]) {
    copyFileSync(join(CARGO_CORPUS, `${name}.Cargo.lock`), lockfile(name));
    copyFileSync(join(CARGO_CORPUS, `${name}.Cargo.toml`), join(appsDir, `${name}.Cargo.toml`));
  }
  checkout(RUSTSEC_2024_12_28);
  for (const name of APPS) reference.old.set(name, audit(name));
  checkout('origin/main');
  for (const name of [...APPS, LATE_APP]) reference.head.set(name, audit(name));
});

const skips = await storeSkips();

/** `stowage fleet SUB ...` on this store; the subcommands that open databases never fetch. */
function fleetCli(store: TestStore) {
  return (...args: string[]) =>
    runCli(['fleet', ...args, '--store', store.store, ...(['init', 'add', 'sync'].includes(args[0] ?? '') ? ['--no-fetch'] : [])], { cacheDir });
}

for (const kind of STORE_KINDS) {
  test(`sync reports exactly what the audits at the old and new revision differ by, and an add during it loses nothing (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      checkout(RUSTSEC_2024_12_28);
      assert.equal(fleet('init', '--db', db).status, 0);
      const add = fleet('add', ...APPS.map(lockfile));
      assert.equal(add.status, 1, add.stderr);
      // The first sync starts from the state the add evaluated against: nothing moved, nothing changes.
      const first = fleet('sync', '--format', 'json');
      assert.equal(first.status, 1, first.stderr);
      const firstJson = JSON.parse(first.stdout) as SyncJson;
      assert.deepEqual(firstJson.changes, []);
      assert.deepEqual(firstJson.databases, [{ source: db, previousRevision: RUSTSEC_2024_12_28, revision: RUSTSEC_2024_12_28 }]);
      assert.equal(firstJson.summary.fullyEvaluated + firstJson.summary.reevaluated, 0);

      checkout('origin/main');
      const head = execFileSync('git', ['-C', db, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
      // An application added while the sync runs, from another process.
      const [sync, late] = await Promise.all([
        runCliAsync(['fleet', 'sync', '--format', 'json', '--store', store.store, '--no-fetch'], { cacheDir }),
        runCliAsync(['fleet', 'add', lockfile(LATE_APP), '--store', store.store, '--no-fetch'], { cacheDir }),
      ]);
      assert.equal(sync.status, 1, sync.stderr);
      assert.equal(late.status, 1, late.stderr);
      const synced = JSON.parse(sync.stdout) as SyncJson;
      assert.deepEqual(synced.databases, [{ source: db, previousRevision: RUSTSEC_2024_12_28, revision: head }]);

      const expectedNew: string[] = [];
      const expectedResolved: string[] = [];
      for (const name of APPS) {
        const before = new Set((reference.old.get(name) ?? []).map((f) => key(name, f)));
        const after = new Set((reference.head.get(name) ?? []).map((f) => key(name, f)));
        expectedNew.push(...[...after].filter((k) => !before.has(k)));
        expectedResolved.push(...[...before].filter((k) => !after.has(k)));
      }
      const reported = (change: string): string[] =>
        synced.changes
          .filter((c) => c.change === change && c.app !== LATE_APP)
          .map((c) => key(c.app, c))
          .sort();
      assert.ok(expectedNew.length > 50, `${expectedNew.length} new findings: a real move`);
      assert.deepEqual(reported('new'), expectedNew.sort());
      assert.deepEqual(reported('resolved'), expectedResolved.sort());
      assert.equal(synced.summary.fullyEvaluated + synced.summary.reevaluated <= APPS.length + 1, true);

      // Whatever the order the two ran in, a further sync leaves every application with its audit's findings.
      const again = fleet('sync', '--format', 'json');
      assert.equal(again.status, 1, again.stderr);
      for (const name of [...APPS, LATE_APP]) {
        const show = fleet('show', name, '--format', 'json');
        const expected = reference.head.get(name) ?? [];
        assert.equal(show.status, expected.some((f) => f.failsPolicy) ? 1 : 0, show.stderr);
        assert.deepEqual((JSON.parse(show.stdout) as FleetApps).apps[0]?.findings, expected, name);
      }
      // Nothing left to do.
      const idle = JSON.parse(fleet('sync', '--format', 'json').stdout) as SyncJson;
      assert.deepEqual(idle.changes, []);
      assert.equal(idle.summary.reevaluated + idle.summary.fullyEvaluated, 0);
    } finally {
      await store.dispose();
    }
  });
}

for (const kind of STORE_KINDS) {
  test(`the first sync after fleet add is incremental: it diffs from the database state the add evaluated against (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      checkout(RUSTSEC_2024_12_28);
      assert.equal(fleet('init', '--db', db).status, 0);
      assert.equal(fleet('add', ...APPS.map(lockfile)).status, 1);
      checkout('origin/main');
      const sync = fleet('sync', '--format', 'json');
      assert.equal(sync.status, 1, sync.stderr);
      const synced = JSON.parse(sync.stdout) as SyncJson;
      assert.equal(synced.databases[0]?.previousRevision, RUSTSEC_2024_12_28);
      // Re-matched on the names the moved advisories touch, none evaluated in full.
      assert.equal(synced.summary.fullyEvaluated, 0);
      assert.ok(synced.summary.reevaluated > 0 && synced.summary.reevaluated <= APPS.length, String(synced.summary.reevaluated));
      const expected = { new: [] as string[], resolved: [] as string[] };
      for (const name of APPS) {
        const before = new Set((reference.old.get(name) ?? []).map((f) => key(name, f)));
        const after = new Set((reference.head.get(name) ?? []).map((f) => key(name, f)));
        expected.new.push(...[...after].filter((k) => !before.has(k)));
        expected.resolved.push(...[...before].filter((k) => !after.has(k)));
      }
      const reported = (change: string): string[] => synced.changes.filter((c) => c.change === change).map((c) => key(c.app, c)).sort();
      assert.deepEqual(reported('new'), expected.new.sort());
      assert.deepEqual(reported('resolved'), expected.resolved.sort());
      for (const name of APPS) {
        assert.deepEqual((JSON.parse(fleet('show', name, '--format', 'json').stdout) as FleetApps).apps[0]?.findings, reference.head.get(name), name);
      }
    } finally {
      await store.dispose();
    }
  });
}

/** A RustSec directory database (a copy of crates/ at the head), edited by the test. */
function directoryDatabase(): string {
  const dir = join(tempDir('fleet-sync-dirdb'), 'db');
  mkdirSync(dir);
  checkout('origin/main');
  cpSync(join(db, 'crates'), join(dir, 'crates'), { recursive: true });
  return dir;
}

test('an advisory corrected or removed resolves its findings; a database that cannot be read changes nothing', async () => {
  const store = await freshStore('sqlite');
  try {
    const dir = directoryDatabase();
    const fleet = fleetCli(store);
    assert.equal(fleet('init', '--db', dir).status, 0);
    assert.equal(fleet('add', lockfile('kanidm-2023-08-01')).status, 1);
    assert.deepEqual((JSON.parse(fleet('sync', '--format', 'json').stdout) as SyncJson).changes, []);
    // RUSTSEC-2026-0009 (time, DoS) affects time 0.3.24 of this lockfile: mark every version it does not call unaffected patched.
    const timeAdvisory = join(dir, 'crates', 'time', 'RUSTSEC-2026-0009.md');
    const text = readFileSync(timeAdvisory, 'utf8');
    assert.match(text, /\npatched = \[[^\]]*\]/);
    writeFileSync(timeAdvisory, text.replace(/\npatched = \[[^\]]*\]/, '\npatched = [">= 0.3.6"]'));
    // RUSTSEC-2025-0056 (adler, unmaintained) removed from the database.
    rmSync(join(dir, 'crates', 'adler', 'RUSTSEC-2025-0056.md'));
    const sync = fleet('sync', '--format', 'json');
    assert.equal(sync.status, 1, sync.stderr);
    const synced = JSON.parse(sync.stdout) as SyncJson;
    assert.deepEqual(
      synced.changes.map((c) => `${c.change} ${key(c.app, c)}`),
      ['resolved kanidm-2023-08-01 RUSTSEC-2025-0056 adler 1.0.2', 'resolved kanidm-2023-08-01 RUSTSEC-2026-0009 time 0.3.24'],
    );
    assert.equal(synced.summary.reevaluated, 1);

    // A broken advisory file: exit 2, one line naming it, and the store as it was.
    const statusRun = fleet('status', '--format', 'json');
    assert.equal(statusRun.status, 1, statusRun.stderr);
    const status = statusRun.stdout;
    writeFileSync(join(dir, 'crates', 'time', 'RUSTSEC-2026-0009.md'), 'not an advisory');
    const broken = fleet('sync');
    assert.equal(broken.status, 2);
    assert.match(broken.stderr, /RUSTSEC-2026-0009\.md/);
    assert.equal(broken.stderr.trim().split('\n').length, 1, broken.stderr);
    assert.equal(fleet('status', '--format', 'json').stdout, status);
  } finally {
    await store.dispose();
  }
});
