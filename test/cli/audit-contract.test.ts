import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import cvss from 'ae-cvss-calculator';
import { parse as parseToml } from 'smol-toml';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { FIXTURE_TIME, rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, PROJECT_ROOT, advisoryDbCheckout, runCli, tempDir } from '../support/shared.js';

/**
 * Promises of `stowage audit` that a user relies on and reads in the README, each shown at the
 * command line: what is matched and what is not, what --omit leaves out, and that an advisory
 * stowage cannot evaluate stops the audit instead of passing it.
 */

const CARGO_FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'cargo');
const KANIDM = join(CARGO_CORPUS, 'kanidm-2026-08-20.Cargo.lock');
const cacheDir = tempDir('audit-contract-cache');

function audit(args: string[]): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', '--no-fetch', ...args], { cacheDir });
}

test('a crate from another registry is matched by a crates.io advisory of the same name and version, each copy under its own source', () => {
  const db = rustsecAdvisoryDb(tempDir('contract-registry-db'), [
    { id: 'RUSTSEC-2099-0101', package: 'serde' },
    { id: 'RUSTSEC-2099-0102', package: 'corp-auth' },
  ]);
  // serde 1.0.210 is locked twice: from crates.io and from a corporate sparse registry (a mirror
  // serves crates.io's serde); corp-auth from a corporate git index.
  const lockfile = join(CARGO_FIXTURES, 'sources.Cargo.lock');
  const r = audit([lockfile, '--db', db, '--format', 'json']);
  assert.equal(r.status, 1, r.stderr);
  const report = auditReport(r.stdout);
  const findings = report.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version} ${f.package.source}`).sort();
  assert.deepEqual(findings, [
    'RUSTSEC-2099-0101 serde@1.0.210 https://github.com/rust-lang/crates.io-index',
    'RUSTSEC-2099-0101 serde@1.0.210 sparse+https://cargo.corp.example/index/',
    'RUSTSEC-2099-0102 corp-auth@2.3.0 https://git.corp.example/crates-index.git',
  ]);
  // What the other registries' findings rest on is said, naming both crates and their registries.
  assert.ok(
    report.warnings.some((w) => w.startsWith(`${lockfile}: 2 crates from a registry other than crates.io matched against advisories by name and version`) &&
      w.endsWith('corp-auth 2.3.0 (https://git.corp.example/crates-index.git), serde 1.0.210 (sparse+https://cargo.corp.example/index/)')),
    report.warnings.join('\n'),
  );
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
      modified: FIXTURE_TIME,
      published: FIXTURE_TIME,
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

test('SARIF: security-severity is the CVSS base score of the advisory vector; an ignored finding is an accepted suppression', () => {
  const r = runCli(
    ['audit', KANIDM, '--db', ADVISORY_DB_BUNDLE, '--format', 'sarif', '--ignore', 'CVE-2023-49092=RSA only verifies signatures'],
    { cacheDir, env: { STOWAGE_NOW: '2026-09-01' } },
  );
  assert.equal(r.status, 1, r.stderr);
  const run = (JSON.parse(r.stdout) as SarifLog).runs[0];
  assert.ok(run);
  // The scores, computed from each advisory file's own `cvss` vector by a CVSS library.
  const checkout = advisoryDbCheckout('origin/main');
  let scored = 0;
  for (const rule of run.tool.driver.rules) {
    const file = advisoryFileOf(checkout, rule.id);
    const front = /^```toml\n([\s\S]*?)\n```/m.exec(readFileSync(file, 'utf8'))?.[1] ?? '';
    const vector = (parseToml(front).advisory as { cvss?: string }).cvss;
    if (vector === undefined) {
      // Unscored: code scanning must rank it as the policy does (unscored = critical by default),
      // in GitHub's bands (critical >= 9.0, high >= 7.0, medium >= 4.0, low > 0).
      const severity = rule.properties['security-severity'];
      if (severity !== undefined) assert.ok(Number(severity) >= 9.0, `${rule.id} (${file}) has no vector and is critical under the policy, not ${severity}`);
      continue;
    }
    assert.equal(Number(rule.properties['security-severity']), cvss.fromVector(vector)?.calculateScores().base, rule.id);
    scored++;
  }
  assert.equal(scored, 1, 'RUSTSEC-2023-0071 (rsa) has a CVSS 3.1 vector');
  const rsa = run.results.filter((x) => x.ruleId === 'RUSTSEC-2023-0071');
  assert.deepEqual(rsa.map((x) => x.suppressions), [[{ kind: 'external', status: 'accepted', justification: 'RSA only verifies signatures' }]]);
  assert.ok(run.results.filter((x) => x.ruleId !== 'RUSTSEC-2023-0071').every((x) => x.suppressions === undefined), 'only the ignored finding is suppressed');
});

interface SarifLog {
  runs: {
    tool: { driver: { rules: { id: string; properties: { 'security-severity'?: string } }[] } };
    results: { ruleId: string; suppressions?: unknown }[];
  }[];
}

/** Where the advisory with this id lives in a RustSec checkout. */
function advisoryFileOf(checkout: string, id: string): string {
  for (const dir of readdirSync(join(checkout, 'crates'))) {
    const file = join(checkout, 'crates', dir, `${id}.md`);
    if (existsSync(file)) return file;
  }
  throw new Error(`${id} is not in ${checkout}`);
}
