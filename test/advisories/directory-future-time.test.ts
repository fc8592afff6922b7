import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { PROJECT_ROOT, runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * A directory database is re-indexed when its files change, told by their sizes and times. One
 * file dated in the future (a tarball or an rsync from a machine whose clock ran ahead, a
 * `touch -d 2099`) must not hide a later edit of another record: a fix version moved from
 * 1.0.0 to 2.0.0 is the same number of bytes, and the old index would pass fixture-ms 1.0.0.
 */

const LOCKFILE = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-local-app', 'package-lock.json');

function record(id: string, name: string, fixed: string): string {
  return `${JSON.stringify({
    id,
    modified: '2026-01-01T00:00:00Z',
    summary: `flaw in ${name}`,
    affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }],
  })}\n`;
}

test('a record edited after another record was dated in the future is read again, not left to the old index', () => {
  const db = tempTree('future-db', {
    'GHSA-0000-0000-0001.json': record('GHSA-0000-0000-0001', 'fixture-ms', '1.0.0'),
    'GHSA-0000-0000-0002.json': record('GHSA-0000-0000-0002', 'unrelated-package', '1.0.0'),
  });
  const future = new Date('2099-01-01T00:00:00Z');
  utimesSync(join(db, 'GHSA-0000-0000-0002.json'), future, future);
  const cacheDir = tempDir('future-cache');
  const audit = () => {
    const run = runCli(['audit', LOCKFILE, '--db', db, '--format', 'json'], { cacheDir, env: { STOWAGE_NOW: '2026-01-02' } });
    assert.ok(run.status === 0 || run.status === 1, run.stderr);
    return { status: run.status, found: auditReport(run.stdout).findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`) };
  };
  assert.deepEqual(audit(), { status: 0, found: [] }, 'fixed in 1.0.0: 1.0.0 is not affected');

  const file = join(db, 'GHSA-0000-0000-0001.json');
  const before = readFileSync(file, 'utf8');
  const after = before.replace('"fixed":"1.0.0"', '"fixed":"2.0.0"');
  assert.notEqual(after, before);
  assert.equal(after.length, before.length, 'the same number of bytes');
  writeFileSync(file, after);
  assert.deepEqual(audit(), { status: 1, found: ['GHSA-0000-0000-0001 fixture-ms@1.0.0'] });
});
