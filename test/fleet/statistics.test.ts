/**
 * After `fleet add` of many applications the store's planner statistics are refreshed (a
 * PostgreSQL that plans from stale statistics answered an advisory's affected list of a
 * 10,000-application fleet with a sequential scan: 182 ms instead of 11 ms). Both stores; a
 * small add leaves them alone.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { STATISTICS_AFTER } from '../../src/fleet/store/store.js';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { ADVISORY_ID, cargoLock, VULNERABLE } from '../support/campaign-fleet.js';
import { freshStore, storeSkips, STORE_KINDS, type TestStore } from '../support/fleet-stores.js';
import { runCliAsync, tempDir } from '../support/shared.js';

const skips = await storeSkips();

async function analysed(store: TestStore): Promise<boolean> {
  if (store.kind === 'sqlite') {
    const db = new Database(store.store, { readonly: true });
    try {
      const stat = db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'`).get();
      return stat !== undefined && db.prepare(`SELECT 1 FROM sqlite_stat1 WHERE tbl = 'findings'`).get() !== undefined;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: store.store });
  await client.connect();
  try {
    const rows = await client.query<{ last_analyze: Date | null }>(`SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'findings'`);
    return rows.rows[0]?.last_analyze != null;
  } finally {
    await client.end();
  }
}

for (const kind of STORE_KINDS) {
  test(`fleet add of ${STATISTICS_AFTER} applications refreshes the planner's statistics; one does not (${kind})`, { skip: skips[kind], timeout: 300_000 }, async () => {
    const scratch = tempDir('fleet-statistics');
    const db = rustsecAdvisoryDb(join(scratch, 'db'), [{ id: ADVISORY_ID, package: VULNERABLE.name, patched: [`>= ${VULNERABLE.to}`] }]);
    const apps = join(scratch, 'apps');
    mkdirSync(apps);
    const lockfiles = Array.from({ length: STATISTICS_AFTER + 1 }, (_, i) => {
      const file = join(apps, `app-${String(i).padStart(3, '0')}.Cargo.lock`);
      writeFileSync(file, cargoLock(`app-${i}`, VULNERABLE.from));
      return file;
    });
    writeFileSync(join(scratch, 'many.txt'), lockfiles.slice(1).join('\n') + '\n');
    const store = await freshStore(kind);
    try {
      const fleet = (...args: string[]) => runCliAsync(['fleet', ...args, '--store', store.store, '--no-fetch'], { cacheDir: join(scratch, 'cache') });
      assert.equal((await fleet('init', '--db', db)).status, 0);
      const one = await fleet('add', lockfiles[0] as string);
      assert.equal(one.status, 1, one.stderr);
      assert.equal(await analysed(store), false, 'one application: statistics left to the database');
      const many = await fleet('add', '--from-file', join(scratch, 'many.txt'));
      assert.equal(many.status, 1, many.stderr);
      assert.equal(await analysed(store), true);
    } finally {
      await store.dispose();
    }
  });
}
