import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROJECT_ROOT, runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * An advisory that names a locked package but whose versions cannot be evaluated fails the audit
 * (exit 2). The line names the record with its database, as the audit's warnings do: the
 * record's path alone is relative to a root the line did not say, and with several --db the user
 * could not tell which database to look in.
 */

const LOCKFILE = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-local-app', 'package-lock.json');

test('an advisory that cannot be evaluated is named with the database it is in', () => {
  const record = (id: string, versions: string[]): string =>
    JSON.stringify({ id, modified: '2026-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'fixture-ms' }, versions }] });
  const good = tempTree('unevaluable-good', { 'GHSA-0000-0000-0001.json': record('GHSA-0000-0000-0001', ['0.0.1']) });
  const bad = tempTree('unevaluable-bad', { 'GHSA-0000-0000-0002.json': record('GHSA-0000-0000-0002', ['not-a-version']) });
  const run = runCli(['audit', LOCKFILE, '--db', good, '--db', bad, '--format', 'json'], { cacheDir: tempDir('unevaluable-cache'), env: { STOWAGE_NOW: '2026-01-02' } });
  assert.equal(run.status, 2, run.stdout);
  assert.equal(run.stdout, '', 'no report written');
  assert.equal(
    run.stderr.trim(),
    `stowage: GHSA-0000-0000-0002.json in ${bad}: advisory GHSA-0000-0000-0002 cannot be evaluated for fixture-ms 1.0.0: ` +
      'cannot evaluate npm advisory version "not-a-version": not a semantic version',
  );
});
