import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { ADVISORY_RECORDS_VERSION, MATCHING_RULES_VERSION, migrate, REVISION_GRAPHS_VERSION, REVISION_PACKAGES_WITHOUT_ROWID_VERSION, SCHEMA_VERSION } from '../../src/fleet/store/migrations.js';
import { SqliteDriver } from '../../src/fleet/store/sqlite-driver.js';
import { SqlFleetStore } from '../../src/fleet/store/sql-store.js';
import type { FleetStore, PackageKey } from '../../src/fleet/store/store.js';
import { PostgresDriver } from '../../src/fleet/store/postgres-driver.js';
import type { SqlDriver } from '../../src/fleet/store/sql.js';
import { decodeGraphs, encodeGraphs } from '../../src/fleet/revision.js';
import { readApplication } from '../../src/inputs/application.js';
import { numberedPlaceholders } from '../../src/fleet/store/sql.js';
import { resolveRevision } from '../../src/fleet/lookup.js';
import { freshStore, storeSkips, STORE_KINDS, withStore, type TestStore } from '../support/fleet-stores.js';
import type { FleetApps } from '../support/fleet-report.js';
import { advisoryDbCheckout, CARGO_CORPUS, PROJECT_ROOT, runCli, runCliAsync, tempDir } from '../support/shared.js';

const cacheDir = tempDir('fleet-store-cache');
const RUSTSEC = advisoryDbCheckout();
const ripgrep = (year: number): string => join(CARGO_CORPUS, `ripgrep-${year}-09-01.Cargo.lock`);
const skips = await storeSkips();

function fleetCli(store: TestStore) {
  return (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
}

/** Runs SQL on the store directly, as an older or newer stowage (or a damaged file) would have left it. */

test('placeholders are numbered for PostgreSQL outside quoted text', () => {
  assert.equal(numberedPlaceholders(`SELECT '?' AS q, "a?" FROM t WHERE a = ? AND b IN (?, ?)`), `SELECT '?' AS q, "a?" FROM t WHERE a = $1 AND b IN ($2, $3)`);
});

for (const kind of STORE_KINDS) {
  const skip = skips[kind];

  test(`a store whose schema is newer than this stowage is refused, unchanged (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
      // Numbers from the code, not written here: each branch that adds a migration moves them.
      const newer = SCHEMA_VERSION + 1;
      await withStore(store, (tx) => tx.run(`UPDATE fleet_meta SET value = '${newer}' WHERE key = 'schema_version'`));
      const status = fleet('status');
      assert.equal(status.status, 2);
      assert.match(
        status.stderr,
        new RegExp(`^stowage: .*: the fleet store has schema version ${newer}, newer than this stowage knows \\(${SCHEMA_VERSION}\\): upgrade stowage; nothing was changed\n$`),
      );
      const add = fleet('add', ripgrep(2019));
      assert.equal(add.status, 2);
      await withStore(store, (tx) => tx.run(`UPDATE fleet_meta SET value = '${SCHEMA_VERSION}' WHERE key = 'schema_version'`));
      assert.deepEqual((JSON.parse(fleet('status', '--format', 'json').stdout) as FleetApps).apps, [], 'the refused add wrote nothing');
    } finally {
      await store.dispose();
    }
  });

  test(`a store from before revision_graphs keeps every revision's graph through the upgrade (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      // The store as the stowage before that migration left it: the graph a column of revisions.
      const driver: SqlDriver = kind === 'sqlite' ? SqliteDriver.open(store.store) : await PostgresDriver.open(store.store);
      const graphs = new Map<string, Buffer>();
      try {
        await migrate(driver, store.store, REVISION_GRAPHS_VERSION - 1);
        for (const year of [2019, 2020]) {
          const name = `ripgrep-${year}`;
          const graph = encodeGraphs((await readApplication([ripgrep(year)])).graphs);
          graphs.set(name, graph);
          await driver.transaction(async (tx) => {
            const [app] = await tx.query<{ id: number }>(`INSERT INTO apps (name, current_revision, source_kind, created_at) VALUES (?, NULL, 'lockfile', '2026-01-01T00:00:00.000Z') RETURNING id`, [name]);
            const [rev] = await tx.query<{ id: number }>(
              `INSERT INTO revisions (app_id, digest, seq, created_at, origin, documents, graph, evaluated_against)
               VALUES (?, ?, 1, '2026-01-01T00:00:00.000Z', 'add', '[]', ?, '{}') RETURNING id`,
              [Number(app?.id), `sha256:${String(year).repeat(16)}`, graph],
            );
            await tx.run(`UPDATE apps SET current_revision = ? WHERE id = ?`, [Number(rev?.id), Number(app?.id)]);
          });
        }
      } finally {
        await driver.close();
      }
      const fleet = await openFleetStore(store.store);
      try {
        for (const [name, graph] of graphs) {
          const app = await fleet.app(name);
          assert.ok(app?.currentRevision != null, name);
          const kept = await fleet.revisionGraph(app.currentRevision);
          assert.deepEqual(decodeGraphs(kept), decodeGraphs(graph), name);
          const [toEvaluate] = await fleet.revisionsToEvaluate([app.currentRevision]);
          assert.deepEqual(toEvaluate?.graph, kept, name);
        }
      } finally {
        await fleet.close();
      }
    } finally {
      await store.dispose();
    }
  });

  test(`a store from before git and other registries' crates were matched: its next sync evaluates every application in full, its findings then the audit's (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
      assert.equal(fleet('add', ripgrep(2019), ripgrep(2020)).status, 1);
      const sync = (): { status: number | null; fullyEvaluated: number } => {
        const run = fleet('sync', '--no-fetch', '--format', 'json');
        return { status: run.status, fullyEvaluated: (JSON.parse(run.stdout) as { summary: { fullyEvaluated: number } }).summary.fullyEvaluated };
      };
      // The same databases: nothing to evaluate again.
      assert.deepEqual(sync(), { status: 1, fullyEvaluated: 0 });
      // The store as the stowage before that migration left it (its findings computed by the matching before).
      await withStore(store, (tx) => tx.run(`UPDATE fleet_meta SET value = '${MATCHING_RULES_VERSION - 1}' WHERE key = 'schema_version'`));
      assert.deepEqual(sync(), { status: 1, fullyEvaluated: 2 });
      assert.deepEqual(sync(), { status: 1, fullyEvaluated: 0 }, 'once');
      const audit = runCli(['audit', ripgrep(2019), '--db', RUSTSEC, '--no-fetch', '--format', 'json'], { cacheDir });
      const shown = (JSON.parse(fleet('show', 'ripgrep-2019-09-01', '--format', 'json').stdout) as FleetApps).apps[0]?.findings ?? [];
      const ids = (findings: readonly { advisory: { id: string }; package: { name: string; version: string } }[]): string[] => findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.version}`).sort();
      assert.deepEqual(ids(shown), ids((JSON.parse(audit.stdout) as FleetApps['apps'][number]).findings));
    } finally {
      await store.dispose();
    }
  });

  test(`a store from before advisory records shows the same findings after the upgrade, each advisory kept once (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
      // Exit 1: the findings fail the default policy.
      assert.equal(fleet('add', ripgrep(2019), ripgrep(2020)).status, 1);
      const shown = (app: string): string => {
        const out = fleet('show', app, '--format', 'json');
        assert.equal(out.status, 1, out.stderr);
        return out.stdout;
      };
      const findings = (JSON.parse(shown('ripgrep-2019-09-01')) as FleetApps).apps[0]?.findings ?? [];
      assert.ok(findings.length > 0);
      const id = findings[0]?.advisory.id as string;
      const outputs = () => ({ r2019: shown('ripgrep-2019-09-01'), r2020: shown('ripgrep-2020-09-01'), affected: fleet('affected', id, '--format', 'json').stdout });
      const before = outputs();

      // The store as the stowage before that migration left it: each row the whole finding's JSON.
      const driver: SqlDriver = kind === 'sqlite' ? SqliteDriver.open(store.store) : await PostgresDriver.open(store.store);
      let description = '';
      try {
        await driver.transaction(async (tx) => {
          const records = new Map((await tx.query<{ digest: string; record: string }>(`SELECT digest, record FROM advisories`)).map((r) => [r.digest, r.record]));
          description = (JSON.parse([...records.values()][0] as string) as { description: string }).description;
          const rows = await tx.query<{ revision_id: number; target: string; package_id: number; group_key: string; finding: string }>(
            `SELECT revision_id, target, package_id, group_key, finding FROM findings`,
          );
          for (const r of rows) {
            const digest = (JSON.parse(r.finding) as { advisory: string }).advisory;
            const whole = r.finding.replace(`"advisory":${JSON.stringify(digest)}`, `"advisory":${records.get(digest) as string}`);
            await tx.run(`UPDATE findings SET finding = ? WHERE revision_id = ? AND target = ? AND package_id = ? AND group_key = ?`, [whole, r.revision_id, r.target, r.package_id, r.group_key]);
          }
          await tx.run(`DROP TABLE advisories`);
          // And before the later migrations (they run again in the upgrade).
          await tx.run(`DROP TABLE advisory_aliases`);
          await tx.run(`ALTER TABLE events DROP COLUMN body_zstd`);
          await tx.run(`CREATE INDEX findings_advisory ON findings (advisory_id)`);
          if (kind === 'sqlite') {
            await tx.run(`DROP INDEX findings_counts`);
            await tx.run(`CREATE INDEX findings_level ON findings (level, revision_id)`);
          }
          await tx.run(`DROP INDEX campaign_apps_candidate`);
          await tx.run(`DROP INDEX triage_app`);
          await tx.run(`ALTER TABLE revisions DROP COLUMN not_audited`);
          await tx.run(`DROP INDEX campaign_jobs_app`);
          await tx.run(`UPDATE fleet_meta SET value = ? WHERE key = 'schema_version'`, [String(ADVISORY_RECORDS_VERSION - 1)]);
        });
        const whole = await driver.query<{ n: number }>(`SELECT COUNT(*) AS n FROM findings WHERE finding LIKE ?`, [`%${description.slice(0, 40)}%`]);
        assert.ok(Number(whole[0]?.n) > 0, 'the old rows hold their advisory');
      } finally {
        await driver.close();
      }

      assert.deepEqual(outputs(), before);
      const upgraded = await openFleetStore(store.store);
      try {
        const app = await upgraded.app('ripgrep-2019-09-01');
        assert.equal((await upgraded.findings(app?.currentRevision as number)).length, findings.length);
      } finally {
        await upgraded.close();
      }
      const after: SqlDriver = kind === 'sqlite' ? SqliteDriver.open(store.store) : await PostgresDriver.open(store.store);
      try {
        const whole = await after.query<{ n: number }>(`SELECT COUNT(*) AS n FROM findings WHERE finding LIKE ?`, [`%${description.slice(0, 40)}%`]);
        assert.equal(Number(whole[0]?.n), 0, 'no row holds an advisory any more');
        // The two revisions share advisories: each record is kept once.
        const [counts] = await after.query<{ records: number; referred: number }>(
          `SELECT (SELECT COUNT(*) FROM advisories) AS records, (SELECT COUNT(DISTINCT advisory_id) FROM findings) AS referred`,
        );
        assert.equal(Number(counts?.records), Number(counts?.referred));
      } finally {
        await after.close();
      }
    } finally {
      await store.dispose();
    }
  });

  test(`an abbreviated revision that names two revisions is ambiguous (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    const fleet = await openFleetStore(store.store);
    try {
      const app = await fleet.transaction(async (tx) => {
        const created = await tx.createApp('twins', 'lockfile', '2026-01-01T00:00:00.000Z');
        for (const last of ['1', '2']) {
          await tx.addRevision({ appId: created.id, digest: `sha256:${'ab'.repeat(31)}a${last}`, origin: 'add', documents: [], graph: Buffer.alloc(0), evaluatedAgainst: {}, at: '2026-01-01T00:00:00.000Z' });
        }
        return created;
      });
      await assert.rejects(resolveRevision(fleet, app, 'ab'.repeat(6)), /revision abababababab of "twins" is ambiguous/);
      assert.equal((await resolveRevision(fleet, app, `${'ab'.repeat(31)}a2`)).seq, 2);
      assert.equal((await resolveRevision(fleet, app, `sha256:${'AB'.repeat(31)}A1`)).seq, 1);
      // `_` and `%` are no wildcards: a prefix is compared as text.
      await assert.rejects(resolveRevision(fleet, app, 'ab_bababababa'), /expected sha256:HEX/);
    } finally {
      await fleet.close();
      await store.dispose();
    }
  });

  test(`a fleet add killed inside its transaction leaves the store as it was (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    const dir = tempDir('fleet-killed');
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
      const app = join(dir, 'rg.Cargo.lock');
      copyFileSync(ripgrep(2019), app);
      assert.ok([0, 1].includes(fleet('add', app).status));
      const before = fleet('status', '--format', 'json').stdout;
      const historyBefore = fleet('history', 'rg', '--format', 'json').stdout;

      copyFileSync(ripgrep(2023), app);
      const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'stowage.cjs'), 'fleet', 'add', app, ripgrep(2024), '--store', store.store], {
        env: { ...process.env, STOWAGE_CACHE_DIR: cacheDir, STOWAGE_TEST_PAUSE_BEFORE_COMMIT: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      await new Promise<void>((resolve, reject) => {
        let err = '';
        child.stderr.on('data', (chunk: Buffer) => {
          err += chunk.toString();
          if (err.includes('paused before commit')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`fleet add ended (${code}) before pausing: ${err}`)));
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGKILL');
      await exited;

      assert.equal(fleet('status', '--format', 'json').stdout, before, 'status as before the killed add');
      assert.equal(fleet('history', 'rg', '--format', 'json').stdout, historyBefore, 'history as before');
      // The store is not left locked or damaged: the same add now lands.
      const again = fleet('add', app, ripgrep(2024), '--format', 'json');
      assert.ok([0, 1].includes(again.status), again.stderr);
      assert.deepEqual((JSON.parse(again.stdout) as { apps: { change: string }[] }).apps.map((a) => a.change), ['changed', 'added']);
    } finally {
      await store.dispose();
    }
  });

  test(`two fleet add at once both land: nothing lost, nothing duplicated (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    const dir = tempDir('fleet-concurrent');
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
      const place = (name: string, year: number): string => {
        const path = join(dir, `${name}.Cargo.lock`);
        copyFileSync(ripgrep(year), path);
        return path;
      };
      const shared = place('shared', 2021);
      const first = [place('a1', 2017), place('a2', 2018), place('a3', 2019), shared];
      const second = [place('b1', 2020), place('b2', 2022), place('b3', 2023), shared];
      const runs = await Promise.all(
        [first, second].map((paths) => runCliAsync(['fleet', 'add', ...paths, '--store', store.store, '--format', 'json'], { cacheDir })),
      );
      for (const r of runs) assert.ok([0, 1].includes(r.status), r.stderr);
      const changes = runs.flatMap((r) => (JSON.parse(r.stdout) as { apps: { name: string; change: string }[] }).apps.filter((a) => a.name === 'shared').map((a) => a.change));
      assert.deepEqual(changes.sort(), ['added', 'unchanged'], 'one process added "shared", the other found it unchanged');
      const status = JSON.parse(fleet('status', '--format', 'json').stdout) as FleetApps;
      assert.deepEqual(status.apps.map((a) => [a.name, a.seq]), [['a1', 1], ['a2', 1], ['a3', 1], ['b1', 1], ['b2', 1], ['b3', 1], ['shared', 1]]);
      const history = JSON.parse(fleet('history', 'shared', '--format', 'json').stdout) as { history: unknown[] };
      assert.equal(history.history.length, 1);
    } finally {
      await store.dispose();
    }
  });
}

/** The store's indexes on a table, as sqlite_master holds them (their CREATE text). */
function sqliteIndexes(file: string, table: string): { name: string; sql: string | null }[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name`).all(table) as { name: string; sql: string | null }[];
  } finally {
    db.close();
  }
}

/** A revision of application NAME with these packages, in `tx`. */
async function revisionWith(tx: FleetStore, name: string, packages: PackageKey[]): Promise<number> {
  const app = (await tx.app(name)) ?? (await tx.createApp(name, 'lockfile', '2026-01-01T00:00:00.000Z'));
  const revision = await tx.addRevision({
    appId: app.id,
    digest: `sha256:${String(packages.length).padStart(64, '0')}`,
    origin: 'add',
    documents: [],
    graph: Buffer.alloc(0),
    evaluatedAgainst: {},
    at: '2026-01-01T00:00:00.000Z',
  });
  await tx.indexPackages(revision.id, packages);
  await tx.setCurrentRevision(app.id, revision.id);
  return revision.id;
}

const npmPackages = (n: number): PackageKey[] => Array.from({ length: n }, (_, i) => ({ ecosystem: 'npm', name: `pkg-${i % 7}`, version: `1.0.${i}` }));

test('a bulk write sets revision_packages_package aside and creates it again before the commit; rolled back, the index stays (sqlite)', async () => {
  const store = await freshStore('sqlite');
  const fleet = await openFleetStore(store.store);
  const asSql = (tx: FleetStore): SqlFleetStore => {
    assert.ok(tx instanceof SqlFleetStore);
    return tx;
  };
  try {
    const indexes = sqliteIndexes(store.store, 'revision_packages');
    assert.ok(indexes.some((i) => i.name === 'revision_packages_package' && i.sql !== null), JSON.stringify(indexes));
    // A small write into the store: under the threshold, nothing is set aside.
    await fleet.transaction(async (tx) => {
      await revisionWith(tx, 'small', npmPackages(20));
      assert.deepEqual(asSql(tx).indexesSetAside(), []);
    });
    // Statistics of the index, as ANALYZE (refreshStatistics) leaves them: kept through a bulk write.
    const db = new Database(store.store);
    db.exec('ANALYZE');
    const stat = db.prepare(`SELECT stat FROM sqlite_stat1 WHERE idx = 'revision_packages_package'`).all();
    db.close();
    assert.equal(stat.length, 1);

    process.env.STOWAGE_TEST_BULK_INDEX_ROWS = '10';
    try {
      await assert.rejects(
        fleet.transaction(async (tx) => {
          await revisionWith(tx, 'bulk', npmPackages(30));
          assert.deepEqual(asSql(tx).indexesSetAside(), ['revision_packages_package']);
          throw new Error('rolled back on purpose');
        }),
        /rolled back on purpose/,
      );
      assert.deepEqual(sqliteIndexes(store.store, 'revision_packages'), indexes, 'the index as it was after a rollback');
      assert.equal(await fleet.app('bulk'), null);

      const id = await fleet.transaction(async (tx) => {
        const revision = await revisionWith(tx, 'bulk', npmPackages(30));
        assert.deepEqual(asSql(tx).indexesSetAside(), ['revision_packages_package']);
        return revision;
      });
      assert.deepEqual(sqliteIndexes(store.store, 'revision_packages'), indexes, 'the index created again, as it was');
      const check = new Database(store.store, { readonly: true });
      try {
        assert.deepEqual(check.pragma('integrity_check'), [{ integrity_check: 'ok' }], 'the index holds every row');
        assert.deepEqual(check.prepare(`SELECT stat FROM sqlite_stat1 WHERE idx = 'revision_packages_package'`).all(), stat, 'its statistics kept');
      } finally {
        check.close();
      }
      assert.equal((await fleet.revisionPackages(id)).length, 30);
      assert.deepEqual(await fleet.currentRevisionsLocking([{ ecosystem: 'npm', name: 'pkg-3' }]), [1, id].sort((a, b) => a - b));
    } finally {
      delete process.env.STOWAGE_TEST_BULK_INDEX_ROWS;
    }
  } finally {
    await fleet.close();
    await store.dispose();
  }
});

test('refreshStatistics analyses a sample of each index, not every row: its cost does not grow with the fleet (sqlite)', async () => {
  const store = await freshStore('sqlite');
  const fleet = await openFleetStore(store.store);
  try {
    const rows = 6000;
    await fleet.transaction((tx) => revisionWith(tx, 'one', npmPackages(rows)));
    await fleet.refreshStatistics();
    const db = new Database(store.store, { readonly: true });
    const stat = db.prepare(`SELECT stat FROM sqlite_stat1 WHERE idx = 'revision_packages'`).get() as { stat: string } | undefined;
    db.close();
    // "rows, rows per revision, rows per (revision, package)": every row is the one revision's. The
    // table's size is its B-tree's count; the rows per revision are what the sample saw.
    const [total, perRevision] = (stat?.stat ?? '').split(' ').map(Number);
    assert.equal(total, rows, stat?.stat);
    assert.ok(perRevision !== undefined && perRevision > 0 && perRevision < rows, `a sample, not every row: ${stat?.stat}`);
  } finally {
    await fleet.close();
    await store.dispose();
  }
});

test('fleet add stores and reports the same whether it sets the index aside or not (sqlite)', async () => {
  const stores = [await freshStore('sqlite'), await freshStore('sqlite')];
  const dir = tempDir('fleet-bulk');
  try {
    const apps = [2017, 2018, 2019, 2021, 2023].map((year) => {
      const path = join(dir, `rg${year}.Cargo.lock`);
      copyFileSync(ripgrep(year), path);
      return path;
    });
    const timeless = (text: string): string => text.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'TIME');
    const outputs = stores.map((store, i) => {
      const env = i === 0 ? {} : { STOWAGE_TEST_BULK_INDEX_ROWS: '1' };
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir, env });
      assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
      const added = fleet('add', ...apps, '--format', 'json');
      assert.ok([0, 1].includes(added.status), added.stderr);
      return [added.stdout, fleet('status', '--format', 'json').stdout, fleet('affected', 'RUSTSEC-2021-0145', '--format', 'json').stdout].map(timeless);
    });
    assert.deepEqual(outputs[1], outputs[0]);
    assert.match(outputs[0]?.[2] ?? '', /rg2019/, 'affected names applications');
    assert.deepEqual(sqliteIndexes(stores[1]?.store as string, 'revision_packages'), sqliteIndexes(stores[0]?.store as string, 'revision_packages'));
    const db = new Database(stores[1]?.store as string, { readonly: true });
    try {
      assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      assert.ok((db.prepare('SELECT COUNT(*) AS n FROM revision_packages').get() as { n: number }).n > 100);
    } finally {
      db.close();
    }
  } finally {
    await Promise.all(stores.map((s) => s.dispose()));
  }
});

for (const kind of STORE_KINDS) {
  test(`a store from before revision_packages lost its rowid locks the same packages after the upgrade, its statistics kept (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      // The store as the stowage before that migration left it, two revisions indexed and (SQLite) analysed.
      const driver: SqlDriver = kind === 'sqlite' ? SqliteDriver.open(store.store) : await PostgresDriver.open(store.store);
      const older = SqlFleetStore.over(driver, store.store);
      let ids: number[] = [];
      const before = new Map<number, PackageKey[]>();
      try {
        await migrate(driver, store.store, REVISION_PACKAGES_WITHOUT_ROWID_VERSION - 1);
        // The column this stowage's addRevision writes (schema 24 adds it only where it is missing).
        await driver.run(`ALTER TABLE revisions ADD COLUMN graph_reader INTEGER NOT NULL DEFAULT 0`);
        ids = await older.transaction(async (tx) => [await revisionWith(tx, 'one', npmPackages(30)), await revisionWith(tx, 'two', npmPackages(12))]);
        for (const id of ids) before.set(id, await older.revisionPackages(id));
        if (kind === 'sqlite') await driver.run('ANALYZE');
      } finally {
        await older.close();
      }
      const stats = (): { idx: string; stat: string }[] => {
        const db = new Database(store.store, { readonly: true });
        try {
          return db.prepare(`SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'revision_packages' ORDER BY idx`).all() as { idx: string; stat: string }[];
        } finally {
          db.close();
        }
      };
      const analysed = kind === 'sqlite' ? stats() : [];

      const fleet = await openFleetStore(store.store);
      try {
        for (const [id, packages] of before) assert.deepEqual(await fleet.revisionPackages(id), packages);
        assert.deepEqual(await fleet.currentRevisionsLocking([{ ecosystem: 'npm', name: 'pkg-3' }]), ids);
        assert.deepEqual(await fleet.currentRevisionsLockingVersions([{ ecosystem: 'npm', name: 'pkg-3', version: '1.0.10' }]), ids);
        assert.deepEqual(await fleet.currentRevisionsLockingVersions([{ ecosystem: 'npm', name: 'pkg-3', version: '1.0.24' }]), [ids[0]]);
      } finally {
        await fleet.close();
      }
      if (kind === 'sqlite') {
        const db = new Database(store.store, { readonly: true });
        try {
          const table = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'revision_packages'`).get() as { sql: string };
          assert.match(table.sql, /WITHOUT ROWID$/);
          assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
          assert.deepEqual(
            db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('revision_packages', 'findings') AND sql IS NOT NULL ORDER BY name`).all(),
            [{ name: 'findings_counts' }, { name: 'findings_group' }, { name: 'revision_packages_package' }],
          );
        } finally {
          db.close();
        }
        // The key's statistics under the table's own name (a WITHOUT ROWID table's key is the table).
        const renamed = (idx: string): string => (idx === 'sqlite_autoindex_revision_packages_1' ? 'revision_packages' : idx);
        assert.deepEqual(stats(), analysed.map((s) => ({ ...s, idx: renamed(s.idx) })).sort((a, b) => (a.idx < b.idx ? -1 : 1)));
        assert.equal(analysed.length, 2, JSON.stringify(analysed));
      } else {
        await withStore(store, async (tx) => {
          const indexes = await tx.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'findings' ORDER BY indexname`);
          assert.ok(!indexes.some((i) => i.indexname === 'findings_advisory'), JSON.stringify(indexes));
        });
      }
    } finally {
      await store.dispose();
    }
  });
}
