import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { readJsonSchema, schemaValidator } from '../support/json-schema.js';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, PROJECT_ROOT, advisoryDbCheckout, runCli, tempDir } from '../support/shared.js';
import { findingLines, rustsecFindings } from '../support/second-reading.js';

const KANIDM = join(CARGO_CORPUS, 'kanidm-2026-08-20.Cargo.lock');
const RIPGREP_CLEAN = join(CARGO_CORPUS, 'ripgrep-2026-08-04.Cargo.lock');
const cacheDir = tempDir('cli-cache');
const DB = ['--db', ADVISORY_DB_BUNDLE];

function audit(args: string[], cwd?: string): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', ...args], { cacheDir, ...(cwd ? { cwd } : {}) });
}

before(() => {
  // Clone and index once; every test after this is a warm audit.
  const warm = audit([RIPGREP_CLEAN, ...DB, '--format', 'json']);
  assert.equal(warm.status, 0, warm.stderr);
});

test('JSON report: the schema the README documents, with exact findings for kanidm', () => {
  const { status, stdout } = audit([KANIDM, ...DB, '--format', 'json']);
  assert.equal(status, 1, 'vulnerabilities fail the audit');
  const report = auditReport(stdout);
  assert.equal(report.schemaVersion, 1);
  assert.equal(report.tool.name, 'stowage');
  assert.deepEqual(
    report.databases.map((d) => [d.source, d.revision, d.advisories]),
    [[ADVISORY_DB_BUNDLE, 'bf5c0d245a92671908518d7e765914d437954ed6', 1205]],
  );
  assert.deepEqual(report.targets.map((t) => [t.path, t.ecosystem, t.format, t.packages]), [[KANIDM, 'cargo', 'Cargo.lock v4', 774]]);
  const got = report.findings.map((f) => `${f.advisory.kind} ${f.advisory.id} ${f.package.name}@${f.package.version}`);
  // Derived independently: the advisory files' own ranges against the lockfile, read a second
  // way (test/support/second-reading.ts), at the revision the report names.
  const checkout = advisoryDbCheckout(report.databases[0]?.revision as string);
  assert.deepEqual([...got].sort(), findingLines(rustsecFindings(checkout, KANIDM)));
  // Ordered vulnerabilities first (most severe first), then the informational kinds.
  assert.deepEqual(got, [
    'vulnerability RUSTSEC-2026-0258 h2@0.4.15',
    'vulnerability RUSTSEC-2023-0071 rsa@0.9.10',
    'unsound RUSTSEC-2026-0253 lru@0.16.4',
    'unmaintained RUSTSEC-2024-0436 paste@1.0.15',
    'unmaintained RUSTSEC-2021-0127 serde_cbor@0.11.2',
    'unmaintained RUSTSEC-2026-0249 smartstring@1.0.1',
  ]);
  const rsa = report.findings.find((f) => f.advisory.id === 'RUSTSEC-2023-0071');
  assert.ok(rsa);
  assert.ok(rsa.advisory.aliases.includes('CVE-2023-49092'));
  assert.deepEqual(rsa.advisory.severity?.level, 'medium');
  assert.equal(rsa.advisory.severity?.score, 5.9);
  assert.equal(rsa.advisory.url, 'https://rustsec.org/advisories/RUSTSEC-2023-0071.html');
  assert.deepEqual(rsa.advisory.patched, []);
  assert.equal(rsa.package.source, 'https://github.com/rust-lang/crates.io-index');
  assert.equal(rsa.failsPolicy, true);
  assert.ok(rsa.paths.length > 0);
  for (const path of rsa.paths) {
    assert.equal(path.at(-1), 'rsa@0.9.10');
    assert.match(path[0] ?? '', /^kanidm/, 'paths start at a workspace member');
  }
  const h2 = report.findings.find((f) => f.package.name === 'h2');
  assert.deepEqual(h2?.advisory.patched, ['>= 0.4.16']);
  assert.equal(report.summary.failing, 2);
});

test('a clean lockfile exits 0; an informational kind fails only when denied', () => {
  const clean = audit([RIPGREP_CLEAN, ...DB]);
  assert.equal(clean.status, 0, clean.stderr);
  assert.match(clean.stdout, /summary: \d+ packages, 0 vulnerabilities\nresult: ok, nothing fails the policy\n$/);
  const unsound = join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.lock');
  assert.equal(audit([unsound, ...DB]).status, 0);
  assert.equal(audit([unsound, ...DB, '--deny', 'unsound']).status, 1);
});

test('human report: grouped, plain without a terminal, fits 80 columns, ends with a summary', () => {
  const { status, stdout } = audit([KANIDM, ...DB]);
  assert.equal(status, 1);
  assert.ok(!stdout.includes('\u001b['), 'no colour codes when NO_COLOR is set and stdout is not a terminal');
  for (const line of stdout.split('\n')) {
    if (line.includes('://') || line.startsWith('database:') || line.startsWith('warning:')) continue;
    assert.ok(line.length <= 80, `over 80 columns: ${line}`);
  }
  assert.match(stdout, /^error: RUSTSEC-2023-0071 rsa 0\.9\.10: vulnerability, severity medium \(5\.9\)$/m);
  assert.match(stdout, /^warning: RUSTSEC-2024-0436 paste 1\.0\.15: unmaintained$/m);
  assert.match(stdout, /\nsummary: 774 packages, 2 vulnerabilities, 1 unsound, 3 unmaintained\nresult: FAIL, 2 findings fail the policy\n$/);
});

test('SARIF 2.1.0 output validates against the OASIS schema', () => {
  const { status, stdout } = audit([KANIDM, ...DB, '--format', 'sarif']);
  assert.equal(status, 1);
  const validate = schemaValidator(readJsonSchema(join(PROJECT_ROOT, 'test', 'fixtures', 'schemas', 'sarif-schema-2.1.0.json')));
  const log = JSON.parse(stdout) as { runs: { results: { ruleId: string; level: string }[]; tool: { driver: { rules: { id: string }[] } } }[] };
  validate(log);
  const run = log.runs[0];
  assert.equal(run?.results.length, 6);
  assert.deepEqual(
    run?.results.filter((r) => r.level === 'error').map((r) => r.ruleId),
    ['RUSTSEC-2026-0258', 'RUSTSEC-2023-0071'],
  );
  assert.equal(run?.tool.driver.rules.length, 6);
});

test('policy file: accepted risks with reasons, expiry, and --ignore; the report says why', () => {
  const app = tempDir('cli-policy');
  copyFileSync(KANIDM, join(app, 'Cargo.lock'));
  writeFileSync(
    join(app, 'stowage.toml'),
    `[[audit.ignore]]
id = "CVE-2023-49092"
reason = "RSA is only used to verify signatures"
expires = 2099-12-31

[[audit.ignore]]
id = "RUSTSEC-2026-0258"
reason = "HTTP/2 is disabled"
expires = 2026-09-15
`,
  );
  // The audit is evaluated as of STOWAGE_NOW, not the day the test runs: an ignore holds through
  // its expiry day and stops the day after.
  const asOf = (day: string) => runCli(['audit', app, ...DB, '--format', 'json'], { cacheDir, env: { STOWAGE_NOW: day } });
  for (const day of ['2026-09-14', '2026-09-15']) {
    const held = asOf(day);
    assert.equal(held.status, 0, `${day}: ${held.stderr}`);
    assert.equal(auditReport(held.stdout).findings.find((f) => f.package.name === 'h2')?.ignored?.expires, '2026-09-15', day);
  }
  const expired = asOf('2026-09-16');
  assert.equal(expired.status, 1, 'the day after its expiry, the ignore of the h2 advisory no longer applies');
  const report = auditReport(expired.stdout);
  assert.deepEqual(report.findings.find((f) => f.package.name === 'rsa')?.ignored?.reason, 'RSA is only used to verify signatures');
  assert.equal(report.findings.find((f) => f.package.name === 'h2')?.ignored, null);
  assert.match(expired.stderr, /ignore of RUSTSEC-2026-0258 .* expired on 2026-09-15/);

  const badClock = runCli(['audit', app, ...DB], { cacheDir, env: { STOWAGE_NOW: 'yesterday' } });
  assert.equal(badClock.status, 2);
  assert.equal(badClock.stderr, 'stowage: STOWAGE_NOW must be a date (2026-12-31) or a UTC time (2026-12-31T12:00:00Z), found "yesterday"\n');

  const accepted = runCli(['audit', app, ...DB, '--ignore', 'RUSTSEC-2026-0258=HTTP/2 server is not built'], { cacheDir, env: { STOWAGE_NOW: '2026-09-01' } });
  assert.equal(accepted.status, 0, accepted.stdout);
  assert.match(accepted.stdout, /accepted until 2099-12-31: RSA is only used to verify signatures/);

  const noReason = audit([app, ...DB, '--ignore', 'RUSTSEC-2026-0258']);
  assert.equal(noReason.status, 2);
  assert.match(noReason.stderr, /a reason is required/);
});

test('--output writes the report atomically; --help teaches with examples', () => {
  const out = join(tempDir('cli-out'), 'report.json');
  const { status, stdout } = audit([RIPGREP_CLEAN, ...DB, '--format', 'json', '--output', out]);
  assert.equal(status, 0);
  assert.equal(stdout, '');
  assert.equal(auditReport(readFileSync(out, 'utf8')).schemaVersion, 1);
  const help = runCli(['audit', '--help'], { cacheDir });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Examples:/);
  assert.match(help.stdout, /--format <format>/);
  assert.match(help.stdout, /Exit codes: 0 .* 1 .* 2/);
  const top = runCli(['--help'], { cacheDir });
  assert.equal(top.status, 0);
  assert.match(top.stdout, /audit/);
  // A reader that stops early (`| head`) is not an error: no EPIPE trace, exit 0.
  const piped = spawnSync('bash', ['-c', `set -o pipefail; node ${JSON.stringify(join(PROJECT_ROOT, 'bin', 'stowage.cjs'))} audit --help | head -1`], { encoding: 'utf8' });
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(piped.stderr, '');
  assert.equal(runCli([], { cacheDir }).status, 2, 'no command: usage, exit 2');
});

test('bad input: one line naming the file and what is wrong, exit 2, no stack trace, nothing written', () => {
  const dir = tempDir('cli-bad');
  const truncated = join(dir, 'Cargo.lock');
  writeFileSync(truncated, readFileSync(KANIDM, 'utf8').slice(0, 5000));
  const binary = join(dir, 'bin', 'Cargo.lock');
  const badToml = join(dir, 'cfg', 'stowage.toml');
  for (const d of ['bin', 'cfg', 'empty']) mkdirSync(join(dir, d));
  writeFileSync(binary, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]));
  copyFileSync(RIPGREP_CLEAN, join(dir, 'cfg', 'Cargo.lock'));
  writeFileSync(badToml, '[audit]\nseverity_threshold = "high"\n');
  const out = join(dir, 'report.json');
  const cases: [string[], RegExp][] = [
    [[join(dir, 'missing.lock')], /missing\.lock: no such file or directory/],
    [[truncated], new RegExp(`${escape(truncated)}:\\d+:\\d+: `)],
    [[binary], /bin\/Cargo\.lock: binary data/],
    [[join(dir, 'empty')], /empty: no lockfile found/],
    [[join(dir, 'cfg')], /stowage\.toml: unknown key audit\.severity_threshold/],
    [[RIPGREP_CLEAN, '--db', join(dir, 'empty')], /not an advisory database/],
    [[RIPGREP_CLEAN, '--db', '/nonexistent/db'], /--db \/nonexistent\/db: no such file or directory/],
    [[RIPGREP_CLEAN, '--format', 'xml'], /argument 'xml' is invalid/],
    [[RIPGREP_CLEAN, '--max-db-age', 'soon'], /--max-db-age soon: expected a whole number of days/],
  ];
  for (const [args, pattern] of cases) {
    const { status, stdout, stderr } = audit([...args, ...(args.includes('--db') ? [] : DB), '--output', out]);
    assert.equal(status, 2, `${args.join(' ')}: ${stderr}`);
    assert.equal(stdout, '');
    const lines = stderr.trim().split('\n').filter((l) => !l.startsWith('(run with --help'));
    assert.equal(lines.length, 1, `one line for ${args.join(' ')}:\n${stderr}`);
    assert.match(lines[0] ?? '', /^stowage: /);
    assert.match(lines[0] ?? '', pattern);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(out), false, 'no report written');
  }
});

test('a stale database fails closed with --fail-stale, counted in whole days from its revision date', () => {
  // The bundle's head commit is dated 2026-08-21T08:28:40+02:00 (06:28:40 UTC).
  const asOf = (now: string) => runCli(['audit', RIPGREP_CLEAN, ...DB, '--max-db-age', '1', '--fail-stale', '--format', 'json'], { cacheDir, env: { STOWAGE_NOW: now } });
  const dayAfter = asOf('2026-08-22T06:28:40Z');
  assert.equal(dayAfter.status, 0, dayAfter.stderr);
  assert.deepEqual(auditReport(dayAfter.stdout).databases.map((d) => [d.ageDays, d.stale]), [[1, false]]);
  const twoDays = asOf('2026-08-23T06:28:40Z');
  assert.equal(twoDays.status, 2);
  assert.match(twoDays.stderr, /is 2 days old .* over the 1-day limit; refusing to audit/);
});

test("a stale database's age is said once in the human report: in its warning, with the limit", () => {
  const { status, stdout } = runCli(['audit', RIPGREP_CLEAN, ...DB, '--max-db-age', '1'], { cacheDir });
  assert.equal(status, 0);
  const said = stdout.split('\n').filter((line) => /\d+ days? old/.test(line));
  assert.equal(said.length, 1, stdout);
  assert.match(said[0] ?? '', /^warning: advisory database .* is \d+ days old \(revision [0-9a-f]{12} of .*\), over the 1-day limit$/);
  assert.match(stdout, /^database: .* @ [0-9a-f]{12} \(2026-08-2\d, 1205 advisories\)$/m);
});

test('a directory with several lockfiles is one application in one report', () => {
  const app = tempDir('cli-multi');
  copyFileSync(RIPGREP_CLEAN, join(app, 'Cargo.lock'));
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2026-08-04.Cargo.toml'), join(app, 'Cargo.toml'));
  const second = tempDir('cli-multi-2');
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2024-09-01.Cargo.lock'), join(second, 'Cargo.lock'));
  const { status, stdout } = audit([app, second, ...DB, '--format', 'json']);
  assert.equal(status, 1);
  const report = auditReport(stdout);
  assert.equal(report.targets.length, 2);
  assert.ok(report.findings.every((f) => f.target === join(second, 'Cargo.lock')));
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
