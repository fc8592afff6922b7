#!/usr/bin/env node
// What writing findings costs SQLite, by schema variant, apart from the rest of a sync.
//
//   node scripts/findings-write-bench.mjs STORE SCRATCH_DIR VARIANT...
//
// STORE is a fleet store (opened read-only, never written). For each VARIANT, a scratch store in
// SCRATCH_DIR gets the findings table in that shape with STORE's findings, then one transaction
// does what a large sync does to it: per round of 2,500 findings (two thirds of the fleet's), a
// fifth deleted by key and all of them inserted again under another alias group (a sync of
// 10,000 applications deletes 33,918 rows and inserts 168,656). Prints the CPU time
// (process.cpuUsage: this thread and SQLite's) of the deletes, the inserts and the COMMIT.
// CPU time, not wall: compare variants in alternated runs on a loaded machine.
//
// Variants:
//   main      the findings table as the store has it (key index + findings_group + findings_counts)
//   nogroup   without findings_group (group_key)
//   nocounts  without findings_counts (revision_id, level, open, fails_policy)
//   noindex   without either
//   groupid   findings_group on an integer alias-group id in place of the text group_key
//   narrow    rows without what the columns and packages hold (target, package) or every row repeats (databases)
//   norowid   WITHOUT ROWID (the key's index is the table)
import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');

const [store, scratch, ...variants] = process.argv.slice(2);
const KNOWN = ['main', 'nogroup', 'nocounts', 'noindex', 'groupid', 'narrow', 'norowid'];
if (store === undefined || scratch === undefined || variants.length === 0 || variants.some((v) => !KNOWN.includes(v))) {
  console.error(`usage: node scripts/findings-write-bench.mjs STORE SCRATCH_DIR VARIANT... (${KNOWN.join(', ')})`);
  process.exit(2);
}

const source = new Database(store, { readonly: true, fileMustExist: true });
const stored = source
  .prepare(`SELECT revision_id, target, package_id, group_key, advisory_id, finding, fails_policy, level, open FROM findings ORDER BY rowid`)
  .all();
source.close();

function narrowed(text) {
  const f = JSON.parse(text);
  delete f.target;
  delete f.databases;
  delete f.package;
  return JSON.stringify(f);
}

const cpu = (since) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

for (const variant of variants) {
  const file = join(scratch, `findings-${variant}.sqlite`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const groupIds = new Map();
  const gid = (key) => {
    let id = groupIds.get(key);
    if (id === undefined) groupIds.set(key, (id = groupIds.size + 1));
    return id;
  };
  db.exec(`CREATE TABLE findings (revision_id BIGINT NOT NULL, target TEXT NOT NULL, package_id BIGINT NOT NULL,
    group_key TEXT NOT NULL, advisory_id TEXT NOT NULL, finding TEXT NOT NULL, fails_policy INTEGER NOT NULL DEFAULT 0,
    level TEXT NOT NULL DEFAULT 'informational', open INTEGER NOT NULL DEFAULT 1, group_id INTEGER NOT NULL,
    PRIMARY KEY (revision_id, target, package_id, group_key))${variant === 'norowid' ? ' WITHOUT ROWID' : ''}`);
  if (!['nogroup', 'noindex', 'groupid'].includes(variant)) db.exec(`CREATE INDEX findings_group ON findings (group_key)`);
  if (variant === 'groupid') db.exec(`CREATE INDEX findings_group ON findings (group_id)`);
  if (!['nocounts', 'noindex'].includes(variant)) db.exec(`CREATE INDEX findings_counts ON findings (revision_id, level, open, fails_policy)`);
  const text = variant === 'narrow' ? narrowed : (t) => t;
  const values = (r, groupKey) => [r.revision_id, r.target, r.package_id, groupKey, r.advisory_id, text(r.finding), r.fails_policy, r.level, r.open, gid(groupKey)];
  db.exec('BEGIN');
  for (let j = 0; j < stored.length; j += 500) {
    const batch = stored.slice(j, j + 500);
    db.prepare(`INSERT INTO findings VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`).run(batch.flatMap((r) => values(r, r.group_key)));
  }
  db.exec('COMMIT');
  db.pragma('wal_checkpoint(TRUNCATE)');
  // The rows a sync rewrites: two thirds of the fleet's, by revision; their texts made before the clock starts.
  const rows = stored.filter((r) => r.revision_id % 3 !== 0).sort((a, b) => a.revision_id - b.revision_id);
  const texts = new Map(rows.map((r) => [r, text(r.finding)]));
  const moved = (r) => ({ ...r, finding: texts.get(r) });
  let deleting = 0;
  let inserting = 0;
  const start = process.cpuUsage();
  db.exec('BEGIN');
  for (let i = 0; i < rows.length; i += 2500) {
    const round = rows.slice(i, i + 2500);
    const removed = round.filter((_, k) => k % 5 === 0);
    let at = process.cpuUsage();
    for (let j = 0; j < removed.length; j += 500) {
      const batch = removed.slice(j, j + 500);
      const revisions = [...new Set(batch.map((r) => r.revision_id))];
      db.prepare(
        `DELETE FROM findings WHERE revision_id IN (${revisions.map(() => '?').join(', ')})
         AND (revision_id, target, package_id, group_key) IN (VALUES ${batch.map(() => '(?, ?, ?, ?)').join(', ')})`,
      ).run([...revisions, ...batch.flatMap((r) => [r.revision_id, r.target, r.package_id, r.group_key])]);
    }
    deleting += cpu(at);
    at = process.cpuUsage();
    // Texts narrowed before the clock started.
    const plain = round.map(moved);
    for (let j = 0; j < plain.length; j += 500) {
      const batch = plain.slice(j, j + 500);
      db.prepare(`INSERT INTO findings VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`).run(
        batch.flatMap((r) => {
          const groupKey = `${r.group_key} X`;
          return [r.revision_id, r.target, r.package_id, groupKey, r.advisory_id, r.finding, r.fails_policy, r.level, r.open, gid(groupKey)];
        }),
      );
    }
    inserting += cpu(at);
  }
  const at = process.cpuUsage();
  db.exec('COMMIT');
  const committing = cpu(at);
  const total = cpu(start);
  db.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  console.log(
    `${variant.padEnd(9)} rows ${rows.length}  delete ${deleting.toFixed(0)} ms  insert ${inserting.toFixed(0)} ms  commit ${committing.toFixed(0)} ms  total ${total.toFixed(0)} ms CPU`,
  );
}
