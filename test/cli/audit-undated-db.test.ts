import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';
import { PROJECT_ROOT, runCli, tempDir } from '../support/shared.js';

/*
 * A database none of whose records carries a date (OSV JSON without `modified` or `published`)
 * has no age: the max-db-age limit cannot be checked. It is said, and with --fail-stale (the
 * user asked for a proof of freshness) the audit is refused rather than passed in silence.
 */

const LOCKFILE = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-local-app', 'package-lock.json');

/** The one-record OSV database, its record dated `date` (both fields), or undated. */
function osvDb(prefix: string, date: string | null): string {
  const dir = unrelatedNpmAdvisoryDb(tempDir(prefix));
  const file = join(dir, 'GHSA-0000-0000-0001.json');
  const record = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete record.modified;
  delete record.published;
  if (date !== null) Object.assign(record, { modified: date, published: date });
  writeFileSync(file, JSON.stringify(record));
  return dir;
}

test('an undated database: its age is unknown, said as a warning, and --fail-stale refuses it', () => {
  const cacheDir = tempDir('undated-cache');
  const db = osvDb('undated-db', null);
  const warned = runCli(['audit', LOCKFILE, '--db', db, '--format', 'json'], { cacheDir });
  assert.equal(warned.status, 0, warned.stderr);
  const report = auditReport(warned.stdout);
  assert.deepEqual(report.databases.map((d) => [d.revisionDate, d.ageDays, d.stale]), [[null, null, false]]);
  const unknown = report.warnings.filter((w) => w.includes('age is unknown'));
  assert.equal(unknown.length, 1, report.warnings.join('\n'));
  assert.match(unknown[0] ?? '', /^advisory database .* has no date .*the 30-day limit cannot be checked$/);

  const refused = runCli(['audit', LOCKFILE, '--db', db, '--fail-stale', '--format', 'json'], { cacheDir });
  assert.equal(refused.status, 2, refused.stdout);
  assert.equal(refused.stdout, '', 'no report written');
  assert.match(refused.stderr.trim(), /^stowage: advisory database .* has no date .* cannot be checked; refusing to audit \(stale-db = "fail"\)$/);
});

test('a dated database: no warning about its age, and --fail-stale passes', () => {
  const cacheDir = tempDir('dated-cache');
  const db = osvDb('dated-db', '2026-01-01T00:00:00Z');
  const run = runCli(['audit', LOCKFILE, '--db', db, '--fail-stale', '--format', 'json'], { cacheDir, env: { STOWAGE_NOW: '2026-01-02' } });
  assert.equal(run.status, 0, run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(report.databases.map((d) => [d.ageDays, d.stale]), [[1, false]]);
  assert.deepEqual(report.warnings.filter((w) => /age|days old/.test(w)), []);
});
