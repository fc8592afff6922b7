import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/advisories/database.js';
import { parseDatabaseSpec } from '../../src/advisories/source.js';
import { runAudit } from '../../src/audit/audit.js';
import { DEFAULT_POLICY } from '../../src/audit/policy.js';
import { findLockfiles, readDependencyGraph } from '../../src/ecosystems/lockfiles.js';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, corpusFiles, tempDir } from '../support/shared.js';

/**
 * The same database read in RustSec's native form (main) and from RustSec's own OSV export
 * (osv branch) must give the same findings for every package of every real lockfile: two
 * readers and two range evaluators that agree on 24 lockfiles, 2017 to 2026.
 */
test('native RustSec and its OSV export give identical findings on every shared Cargo lockfile', async () => {
  const cacheRoot = tempDir('native-vs-osv');
  const native = await openDatabase(parseDatabaseSpec(ADVISORY_DB_BUNDLE), { cacheRoot, fetch: 'auto' });
  const osv = await openDatabase(parseDatabaseSpec(`${ADVISORY_DB_BUNDLE}#osv`), { cacheRoot, fetch: 'auto' });
  const policy = { ...DEFAULT_POLICY, ignores: [], maxDatabaseAgeDays: 100_000 };
  const now = new Date('2026-08-22T00:00:00Z');
  const lockfiles = corpusFiles(CARGO_CORPUS, '.Cargo.lock');
  assert.equal(lockfiles.length, 24);
  let packages = 0;
  let findings = 0;
  for (const file of lockfiles) {
    const [location] = findLockfiles(file);
    assert.ok(location);
    const graph = await readDependencyGraph(location);
    packages += graph.packages.length;
    const describe = async (db: typeof native): Promise<string[]> =>
      (await runAudit({ graphs: [graph], databases: [db], policy, now })).findings
        .map((f) =>
          [
            f.package.id,
            f.advisory.id,
            f.advisory.kind,
            f.advisory.severity?.level ?? 'unscored',
            f.advisory.title,
            f.advisory.url,
            f.paths.map((p) => p.join('>')).join('|'),
          ].join(' '),
        )
        .sort();
    const fromNative = await describe(native);
    const fromOsv = await describe(osv);
    assert.deepEqual(fromOsv, fromNative, file);
    findings += fromNative.length;
  }
  // Not a vacuous agreement: thousands of packages, hundreds of findings.
  assert.ok(packages > 8000, `${packages} packages`);
  assert.ok(findings > 500, `${findings} findings`);
  native.index.close();
  osv.index.close();
});
