import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { PROJECT_ROOT, runCli, tempDir } from '../support/shared.js';

/**
 * Promises of `stowage audit` that a user relies on and reads in the README, each shown at the
 * command line: what is matched and what is not, what --omit leaves out, and that an advisory
 * stowage cannot evaluate stops the audit instead of passing it.
 */

const CARGO_FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'cargo');
const cacheDir = tempDir('audit-contract-cache');

function audit(args: string[]): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', '--no-fetch', ...args], { cacheDir });
}

test('a crate from another registry is not matched by a crates.io advisory of the same name', () => {
  const db = rustsecAdvisoryDb(tempDir('contract-registry-db'), [
    { id: 'RUSTSEC-2099-0101', package: 'serde' },
    { id: 'RUSTSEC-2099-0102', package: 'corp-auth' },
  ]);
  // serde 1.0.210 is locked twice: from crates.io and from a corporate sparse registry.
  const r = audit([join(CARGO_FIXTURES, 'sources.Cargo.lock'), '--db', db, '--format', 'json']);
  assert.equal(r.status, 1, r.stderr);
  const findings = auditReport(r.stdout).findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version} ${f.package.source}`);
  assert.deepEqual(findings, ['RUSTSEC-2099-0101 serde@1.0.210 https://github.com/rust-lang/crates.io-index']);
});

test('Cargo: dev-only findings are marked devOnly, and --omit dev leaves them out of the audit', () => {
  const app = tempDir('contract-dev-kinds');
  cpSync(join(CARGO_FIXTURES, 'dev-kinds'), app, { recursive: true });
  // itertools is a dev-dependency of the member app; fnv a normal one.
  const db = rustsecAdvisoryDb(tempDir('contract-dev-db'), [
    { id: 'RUSTSEC-2099-0201', package: 'itertools' },
    { id: 'RUSTSEC-2099-0202', package: 'fnv' },
  ]);
  const all = audit([app, '--db', db, '--format', 'json']);
  assert.equal(all.status, 1, all.stderr);
  const report = auditReport(all.stdout);
  assert.deepEqual(
    report.findings.map((f) => `${f.package.name} ${f.devOnly ? 'dev' : 'runtime'}`).sort(),
    ['fnv runtime', 'itertools dev'],
  );
  const runtime = audit([app, '--db', db, '--format', 'json', '--omit', 'dev']);
  assert.equal(runtime.status, 1, runtime.stderr);
  const omitted = auditReport(runtime.stdout);
  assert.deepEqual(omitted.findings.map((f) => f.package.name), ['fnv']);
  // either, hex and itertools are reached only through dev-dependencies: three fewer audited.
  assert.equal((report.targets[0]?.audited ?? 0) - (omitted.targets[0]?.audited ?? 0), 3);
  // Without the finding that remains, --omit dev passes.
  const onlyDev = rustsecAdvisoryDb(tempDir('contract-dev-only-db'), [{ id: 'RUSTSEC-2099-0203', package: 'itertools' }]);
  assert.equal(audit([app, '--db', onlyDev]).status, 1);
  assert.equal(audit([app, '--db', onlyDev, '--omit', 'dev']).status, 0);
});

test('an advisory whose range cannot be evaluated stops the audit: exit 2, one line naming it', () => {
  const app = tempDir('contract-unevaluable');
  cpSync(join(CARGO_FIXTURES, 'dev-kinds'), app, { recursive: true });
  const db = tempDir('contract-unevaluable-db');
  mkdirSync(join(db, 'osv'), { recursive: true });
  // An OSV record for a crate the app locks, whose fixed version is not a version.
  writeFileSync(
    join(db, 'osv', 'RUSTSEC-2099-0301.json'),
    JSON.stringify({
      schema_version: '1.6.0',
      id: 'RUSTSEC-2099-0301',
      modified: '2099-01-01T00:00:00Z',
      published: '2099-01-01T00:00:00Z',
      summary: 'fnv, with a range nobody can read',
      affected: [{ package: { ecosystem: 'crates.io', name: 'fnv' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0.0.0-0' }, { fixed: '1.x' }] }] }],
    }),
  );
  const r = audit([app, '--db', join(db, 'osv'), '--format', 'json']);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.equal(r.stdout, '', 'no report: an audit that could not check everything does not pass or fail, it stops');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] ?? '', /RUSTSEC-2099-0301/);
  assert.match(lines[0] ?? '', /fnv/);
  assert.match(lines[0] ?? '', /1\.x/);
});
