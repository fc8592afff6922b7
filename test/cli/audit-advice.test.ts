import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { CARGO_CORPUS, GHSA_NPM, NPM_CORPUS, advisoryDbCheckout, runCli, tempDir, tempTree } from '../support/shared.js';
import { FIXTURE_DATE, FIXTURE_TIME } from '../support/advisory-fixtures.js';

const cacheDir = tempDir('cli-advice-cache');
const JELLYFIN = join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package-lock.json');

/** The human report with wrapped lines joined again, so a test reads each line whole. */
function unwrapped(text: string): string {
  return text.replace(/\n {5,}/g, ' ');
}

test('npm advice: fixed versions of the installed line first, then the other lines in semver order; the direct dependency to update; the GHSA page', () => {
  const json = runCli(['audit', '--format', 'json', JELLYFIN, '--db', GHSA_NPM], { cacheDir });
  assert.equal(json.status, 1, json.stderr);
  const finding = auditReport(json.stdout).findings.find((f) => f.advisory.id === 'GHSA-p9pc-299p-vxgp');
  // GHSA-p9pc-299p-vxgp.json: fixed 13.1.2, 15.0.1, 18.1.1 and 5.0.1; none in 10.x, where 10.1.0 is.
  assert.deepEqual(finding?.fixedVersions, { line: '10.x', inLine: [], otherLines: ['5.0.1', '13.1.2', '15.0.1', '18.1.1'] });
  assert.deepEqual(finding?.advisory.pages, ['https://github.com/advisories/GHSA-p9pc-299p-vxgp']);
  assert.deepEqual(finding?.advisory.functions, []);
  // What to update is one of the application's own direct dependencies, as its package.json says.
  const manifest = JSON.parse(readFileSync(join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package.json'), 'utf8')) as Record<string, Record<string, string>>;
  const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})]);
  assert.ok((finding?.directDependencies ?? []).length > 0);
  for (const direct of finding?.directDependencies ?? []) assert.ok(declared.has(direct.slice(0, direct.lastIndexOf('@'))), `${direct} is declared in package.json`);

  const human = unwrapped(runCli(['audit', JELLYFIN, '--db', GHSA_NPM], { cacheDir }).stdout);
  assert.match(human, /error: GHSA-p9pc-299p-vxgp yargs-parser 10\.1\.0[^\n]*\n(?:.*\n)*? {2}fixed: none in 10\.x, the installed line; other lines: 5\.0\.1, 13\.1\.2, 15\.0\.1, 18\.1\.1\n {2}update: \S+@\S+ \(the direct dependency bringing it in\)\n {2}more: https:\/\/github\.com\/advisories\/GHSA-p9pc-299p-vxgp https:\/\/nvd\.nist\.gov\/vuln\/detail\/CVE-2020-7608\n/);
});

test('cargo advice: the installed line first, RustSec and GHSA pages, and the affected functions', () => {
  const db = advisoryDbCheckout('origin/main');
  const lockfile = join(CARGO_CORPUS, 'kanidm-2020-08-01.Cargo.lock');
  const json = runCli(['audit', '--format', 'json', '--no-fetch', '--db', db, lockfile], { cacheDir });
  assert.equal(json.status, 1, json.stderr);
  const finding = auditReport(json.stdout).findings.find((f) => f.advisory.id === 'RUSTSEC-2020-0091');
  // crates/arc-swap/RUSTSEC-2020-0091.md: patched ">= 0.4.8, < 1.0.0-0" and ">= 1.1.0"; installed 0.4.7.
  assert.equal(finding?.package.version, '0.4.7');
  assert.deepEqual(finding?.fixedVersions, { line: '0.4.x', inLine: ['0.4.8'], otherLines: ['1.1.0'] });
  assert.deepEqual(finding?.advisory.pages, ['https://rustsec.org/advisories/RUSTSEC-2020-0091.html', 'https://github.com/advisories/GHSA-9pqx-g3jh-qpqq']);
  assert.deepEqual(finding?.advisory.functions, [{ path: 'arc_swap::access::MapGuard::deref', versions: ['< 1.1.0'] }]);

  const human = unwrapped(runCli(['audit', '--no-fetch', '--db', db, lockfile], { cacheDir }).stdout);
  const block = human.split('\n\n').find((b) => b.includes('RUSTSEC-2020-0091 arc-swap')) ?? '';
  assert.match(block, /\n {2}fixed: 0\.4\.8 \(in 0\.4\.x, the installed line\); other lines: 1\.1\.0\n/);
  assert.match(block, /\n {2}functions: arc_swap::access::MapGuard::deref \(< 1\.1\.0\)\n/);
  // The advisory's own URL is its RustSec page: listed once.
  assert.match(block, /\n {2}more: https:\/\/rustsec\.org\/advisories\/RUSTSEC-2020-0091\.html https:\/\/github\.com\/advisories\/GHSA-9pqx-g3jh-qpqq\n/);
});

test('cargo advice: a wrapped list of affected functions ends each line on its comma, never opens one with it', () => {
  const db = advisoryDbCheckout('origin/main');
  const lockfile = join(CARGO_CORPUS, 'kanidm-2022-02-01.Cargo.lock');
  // Not a terminal: 80 columns. RUSTSEC-2023-0023 (openssl 0.10.38) lists two functions, each with its range.
  const human = runCli(['audit', '--no-fetch', '--db', db, lockfile], { cacheDir }).stdout;
  const block = human.split('\n\n').find((b) => b.includes('RUSTSEC-2023-0023 openssl')) ?? '';
  assert.match(
    block,
    /\n {2}functions: openssl::x509::extension::SubjectAlternativeName::new \(< 0\.10\.48, >=0\.9\.7\),\n {13}openssl::x509::extension::ExtendedKeyUsage::other \(< 0\.10\.48, >=0\.9\.7\)\n/,
  );
  for (const line of human.split('\n')) assert.doesNotMatch(line, /^\s+,/, `a line opens on a comma: ${line}`);
});

test('a release one database calls fixed is not advised while another database of the finding still affects it', () => {
  // RustSec says 1.6.1 fixes it, GitHub (the same vulnerability, by alias) that 1.7.0 does: the
  // audit of 1.6.1 still fails on GitHub's record, so 1.6.1 is no fix to advise.
  const rustsec = tempDir('advice-rustsec');
  mkdirSync(join(rustsec, 'crates', 'smallvec'), { recursive: true });
  writeFileSync(
    join(rustsec, 'crates', 'smallvec', 'RUSTSEC-2099-0001.md'),
    `\`\`\`toml\n[advisory]\nid = "RUSTSEC-2099-0001"\npackage = "smallvec"\ndate = "${FIXTURE_DATE}"\naliases = ["GHSA-2222-3333-4444"]\n\n` +
      '[versions]\npatched = [">= 1.6.1"]\n```\n\n# smallvec overflows (made up)\n\nMade up.\n',
  );
  const ghsa = tempTree('advice-ghsa', {
    'GHSA-2222-3333-4444.json': JSON.stringify({
      id: 'GHSA-2222-3333-4444',
      modified: FIXTURE_TIME,
      aliases: ['RUSTSEC-2099-0001'],
      summary: 'smallvec overflows (made up)',
      affected: [{ package: { ecosystem: 'crates.io', name: 'smallvec' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.7.0' }] }] }],
    }),
  });
  const lockfile = (version: string): string =>
    join(tempTree('advice-app', { 'Cargo.lock': `version = 3\n\n[[package]]\nname = "smallvec"\nversion = "${version}"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n` }), 'Cargo.lock');
  const audit = (version: string) => runCli(['audit', '--format', 'json', '--db', rustsec, '--db', ghsa, lockfile(version)], { cacheDir });

  const installed = audit('1.6.0');
  assert.equal(installed.status, 1, installed.stderr);
  const [finding, ...more] = auditReport(installed.stdout).findings;
  assert.equal(more.length, 0, 'one vulnerability, one finding');
  assert.deepEqual(finding?.advisory.aliases, ['GHSA-2222-3333-4444']);
  assert.deepEqual(finding?.fixedVersions, { line: '1.x', inLine: ['1.7.0'], otherLines: [] });
  // What the advice would have led to: 1.6.1 is still reported.
  const updated = audit('1.6.1');
  assert.equal(updated.status, 1, updated.stderr);
  assert.deepEqual(auditReport(updated.stdout).findings.map((f) => f.fixedVersions), [{ line: '1.x', inLine: ['1.7.0'], otherLines: [] }]);
  assert.equal(audit('1.7.0').status, 0);
});

interface SarifLog {
  runs: {
    tool: { driver: { rules: { id: string; properties: { 'security-severity'?: string } }[] } };
    results: { ruleId: string; message: { text: string }; locations: { physicalLocation: { region: { startLine: number; startColumn?: number } } }[] }[];
  }[];
}

function sarif(args: string[]): SarifLog {
  const r = runCli(['audit', '--format', 'sarif', ...args], { cacheDir });
  assert.equal(r.status, 1, r.stderr);
  return JSON.parse(r.stdout) as SarifLog;
}

test('SARIF: an unscored vulnerability has the security-severity of the level the policy gives it', () => {
  const db = advisoryDbCheckout('origin/main');
  const lockfile = join(CARGO_CORPUS, 'kanidm-2023-02-01.Cargo.lock');
  // RUSTSEC-2026-0007 (bytes) has no cvss: critical by default (CVSS 9.0-10.0), medium (4.0-6.9) when the policy says so.
  const severityOf = (log: SarifLog): string | undefined => log.runs[0]?.tool.driver.rules.find((r) => r.id === 'RUSTSEC-2026-0007')?.properties['security-severity'];
  const byDefault = Number(severityOf(sarif(['--no-fetch', '--db', db, lockfile])));
  assert.ok(byDefault >= 9.0 && byDefault <= 10.0, `critical: ${byDefault}`);
  const dir = tempDir('cli-advice-policy');
  writeFileSync(join(dir, 'stowage.toml'), '[audit]\nunscored = "medium"\n');
  const medium = Number(severityOf(sarif(['--no-fetch', '--db', db, '--config', join(dir, 'stowage.toml'), lockfile])));
  assert.ok(medium >= 4.0 && medium < 7.0, `medium: ${medium}`);
});

/** The lines of a lockfile, 1-based. */
function lineAt(file: string, line: number, offset = 0): string {
  return readFileSync(file, 'utf8').split('\n')[line - 1 + offset] ?? '';
}

test("SARIF: each result points at the package's own entry in the lockfile, for every lockfile format", () => {
  const db = advisoryDbCheckout('origin/main');
  const cases: { file: string; args: string[]; holds: (file: string, line: number, name: string, version: string) => boolean }[] = [
    {
      file: join(CARGO_CORPUS, 'kanidm-2023-02-01.Cargo.lock'),
      args: ['--no-fetch', '--db', db],
      holds: (f, l, name, version) => lineAt(f, l) === '[[package]]' && lineAt(f, l, 1) === `name = "${name}"` && lineAt(f, l, 2) === `version = "${version}"`,
    },
    {
      file: JELLYFIN,
      args: ['--db', GHSA_NPM],
      holds: (f, l, name, version) => lineAt(f, l).trim().startsWith(`"node_modules/`) && lineAt(f, l).trim().endsWith(`/${name}": {`) && lineAt(f, l, 1).trim() === `"version": "${version}",`,
    },
    {
      file: join(NPM_CORPUS, 'prettier-2021-01-01.yarn.lock'),
      args: ['--db', GHSA_NPM],
      holds: (f, l, name, version) => new RegExp(`^"?${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}@`).test(lineAt(f, l)) && lineAt(f, l, 1) === `  version "${version}"`,
    },
    {
      file: join(NPM_CORPUS, 'prettier-2023-01-01.yarn.lock'),
      args: ['--db', GHSA_NPM],
      holds: (f, l, name, version) => lineAt(f, l).startsWith(`"${name}@`) && lineAt(f, l, 1) === `  version: ${version}`,
    },
    {
      file: join(NPM_CORPUS, 'vite-2023-09-01.pnpm-lock.yaml'),
      args: ['--db', GHSA_NPM],
      holds: (f, l, name, version) => lineAt(f, l).startsWith(`  /${name}@${version}`),
    },
  ];
  for (const { file, args, holds } of cases) {
    const log = sarif([...args, file]);
    const results = log.runs[0]?.results ?? [];
    assert.ok(results.length > 0, file);
    for (const result of results) {
      const [, name, version] = /^(\S+) (\S+) is affected by/.exec(result.message.text) ?? [];
      const region = result.locations[0]?.physicalLocation.region;
      assert.ok(region && name && version && holds(file, region.startLine, name, version), `${file}: ${result.ruleId} ${name} ${version} at line ${region?.startLine}: ${lineAt(file, region?.startLine ?? 1)}`);
    }
  }
});

test('--omit takes only dev, optional and peer: another word is one line naming the accepted values, exit 2', () => {
  for (const command of ['audit', 'vendor']) {
    const r = runCli([command, '--omit', 'banana', JELLYFIN, '--db', GHSA_NPM], { cacheDir });
    assert.equal(r.status, 2, command);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'stowage: --omit banana: expected dev, optional, peer\n', command);
  }
});

test('colour: FORCE_COLOR forces it without a terminal, --color always|never decides over both variables', () => {
  const coloured = (args: string[], env: NodeJS.ProcessEnv): boolean => runCli(['audit', JELLYFIN, '--db', GHSA_NPM, ...args], { cacheDir, env }).stdout.includes('\u001b[31merror\u001b[0m');
  assert.equal(coloured([], {}), false, 'not a terminal, NO_COLOR set');
  assert.equal(coloured([], { NO_COLOR: '', FORCE_COLOR: '1' }), true);
  assert.equal(coloured([], { NO_COLOR: '', FORCE_COLOR: '0' }), false);
  assert.equal(coloured(['--color', 'always'], {}), true);
  assert.equal(coloured(['--color', 'never'], { FORCE_COLOR: '1' }), false);
  const bad = runCli(['audit', JELLYFIN, '--db', GHSA_NPM, '--color', 'sometimes'], { cacheDir });
  assert.equal(bad.status, 2);
});
