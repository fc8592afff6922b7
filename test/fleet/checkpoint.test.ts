import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteDriver } from '../../src/fleet/store/sqlite-driver.js';
import { tempDir } from '../support/shared.js';

/** A page-sized row: every row inserted is a page or more of WAL. */
const ROW = 'x'.repeat(4000);

async function insertRows(driver: SqliteDriver, rows: number, bulk: boolean): Promise<void> {
  await driver.transaction(async (tx) => {
    for (let i = 0; i < rows; i++) await tx.run(`INSERT INTO t (v) VALUES (?)`, [ROW]);
  }, { bulk });
}

function openDriver(name: string, backgroundCheckpointFrom?: number): { driver: SqliteDriver; file: string } {
  const file = join(tempDir(`fleet-checkpoint-${name}`), 'store.sqlite');
  const driver = SqliteDriver.open(file, backgroundCheckpointFrom === undefined ? {} : { backgroundCheckpointFrom });
  return { driver, file };
}

function rowsIn(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM t`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

test('a bulk transaction is checkpointed whole by a thread of its own; close waits for it, and the store file then holds every row, its WAL gone', async () => {
  const { driver, file } = openDriver('bulk', 0);
  await driver.run(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`);
  await insertRows(driver, 300, true);
  const result = await driver.checkpointed();
  assert.ok(result !== null, 'checkpointed in a thread');
  assert.ok(result.frames >= 300, `the bulk commit's frames in the WAL (${result.frames})`);
  assert.equal(result.checkpointed, result.frames, 'every frame copied into the database file');
  assert.equal(result.busy, 0);
  // The store goes on as before, and a bulk transaction after that one is checkpointed too.
  await insertRows(driver, 10, false);
  await insertRows(driver, 20, true);
  assert.ok(await driver.checkpointed());
  assert.deepEqual(await driver.query(`SELECT COUNT(*) AS n FROM t`), [{ n: 330 }]);
  await driver.close();
  assert.equal(existsSync(`${file}-wal`), false, 'the WAL deleted by the last connection to close');
  assert.equal(rowsIn(file), 330);
});

test('close waits for the checkpoint of a bulk transaction committed just before', async () => {
  const { driver, file } = openDriver('close', 0);
  await driver.run(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`);
  await insertRows(driver, 500, true);
  await driver.close();
  assert.equal(existsSync(`${file}-wal`), false, 'no WAL left after close');
  assert.equal(rowsIn(file), 500);
});

test('a small bulk transaction, or one rolled back, is checkpointed by its commit as any other (no thread)', async () => {
  const { driver, file } = openDriver('small');
  await driver.run(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`);
  await insertRows(driver, 5, true);
  assert.equal(await driver.checkpointed(), null, 'a WAL of 5 pages: no thread');
  await assert.rejects(
    driver.transaction(async (tx) => {
      await tx.run(`INSERT INTO t (v) VALUES (?)`, [ROW]);
      throw new Error('rolled back');
    }, { bulk: true }),
    /rolled back/,
  );
  assert.equal(await driver.checkpointed(), null);
  await driver.close();
  assert.equal(rowsIn(file), 5);
});

test("after a bulk transaction's checkpoint, commits checkpoint the WAL again: a long-lived process's WAL stays bounded", async () => {
  const { driver, file } = openDriver('bounded', 0);
  await driver.run(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`);
  await insertRows(driver, 10, true);
  assert.ok(await driver.checkpointed());
  // 4,000 pages in commits of 100: SQLite's autocheckpoint (1,000 pages) keeps the WAL to about 1,100 of them.
  for (let i = 0; i < 40; i++) await insertRows(driver, 100, false);
  const wal = statSync(`${file}-wal`).size;
  assert.ok(wal < 2000 * 4096, `WAL of ${wal} bytes: checkpointed by the commits`);
  await driver.close();
  assert.equal(rowsIn(file), 4010);
});

test('once a bulk transaction has grown the WAL, small ones after it start no thread (the WAL file is truncated when it starts over)', async () => {
  const { driver, file } = openDriver('small-after-large');
  await driver.run(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`);
  // A first add: past the 1,000 pages from which a thread checkpoints.
  await insertRows(driver, 1200, true);
  const large = await driver.checkpointed();
  assert.ok(large !== null && large.frames >= 1200, 'the large one is checkpointed in a thread');
  // Two pushes of a few pages each, as `fleet serve` records them: the commits checkpoint them, no thread.
  await insertRows(driver, 3, true);
  await insertRows(driver, 3, true);
  assert.equal(await driver.checkpointed(), large, 'no thread after the large one');
  assert.ok(statSync(`${file}-wal`).size < 1000 * 4096, 'the WAL file truncated below the threshold');
  await driver.close();
  assert.equal(rowsIn(file), 1206);
});
