import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { PROJECT_ROOT, tempDir, tempTree } from '../support/shared.js';

/*
 * A hostile or broken record whose event is a long run of digits ended by a newline (a few MB of
 * JSON, under the 32 MiB a record may have) once made the OSV reader's display of fixed versions
 * backtrack over every digit for every digit: the index build ran for hours. It is no version:
 * the database loads, and the record is only ever evaluated against a package it names.
 */

const LOCKFILE = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-local-app', 'package-lock.json');

test('an event of millions of digits and a newline does not hold the index build', () => {
  const digits = `${'1'.repeat(4_000_000)}\n`;
  const db = tempTree('long-version-db', {
    'GHSA-0000-0000-0001.json': JSON.stringify({
      id: 'GHSA-0000-0000-0001',
      modified: '2026-01-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'npm', name: 'fixture-ms' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }] }],
    }),
    'GHSA-0000-0000-0002.json': JSON.stringify({
      id: 'GHSA-0000-0000-0002',
      modified: '2026-01-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'npm', name: 'unrelated-package' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: digits }, { fixed: digits }] }] }],
    }),
  });
  const cacheDir = tempDir('long-version-cache');
  // Minutes of leeway for a loaded machine; without the fix the build takes hours.
  const run = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'stowage.cjs'), 'audit', LOCKFILE, '--db', db, '--format', 'json'], {
    env: { ...process.env, STOWAGE_CACHE_DIR: cacheDir, XDG_DATA_HOME: join(cacheDir, 'data'), STOWAGE_NOW: '2026-01-02', STOWAGE_FLEET_STORE: undefined },
    encoding: 'utf8',
    timeout: 180_000,
    // SIGTERM would wait for stowage's own handler, which a busy pattern never lets run.
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(run.signal, null, 'the audit finished');
  assert.equal(run.status, 1, run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(
    report.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`),
    ['GHSA-0000-0000-0001 fixture-ms@1.0.0'],
  );
  assert.equal(report.databases[0]?.advisories, 2);
});
