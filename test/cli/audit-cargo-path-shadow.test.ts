import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADVISORY_DB_BUNDLE, runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * A Cargo.lock entry without a `source` is a path package to Cargo only when the workspace has
 * a path package of that name (a member, or a path dependency); otherwise Cargo drops the entry
 * (`into_resolve`: "path dependency now missing"). A dependency string `rsa 0.9.10` then means
 * the crates.io rsa 0.9.10 beside it. Checked with cargo 1.95: with the lockfile below,
 * `cargo build --offline --locked` compiles crates.io's rsa 0.9.10 as a normal dependency of
 * app and leaves the lockfile unchanged, while the source-less "rsa" took its edge in
 * stowage's reading, so crates.io's rsa looked reachable only through the dev-dependency w and
 * `--omit dev` passed it.
 */

const cacheDir = tempDir('cli-cargo-shadow-cache');
const DB = ['--db', ADVISORY_DB_BUNDLE];
const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';

const APP_MANIFEST = '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nrsa = "0.9"\n\n[dev-dependencies]\nw = "1"\n';

function entry(name: string, version: string, source: string | null, deps: string[] = []): string {
  const lines = ['[[package]]', `name = "${name}"`, `version = "${version}"`];
  if (source !== null) lines.push(`source = "${source}"`, `checksum = "${'ab'.repeat(32)}"`);
  if (deps.length > 0) lines.push('dependencies = [', ...deps.map((d) => ` "${d}",`), ']');
  return `${lines.join('\n')}\n`;
}

/** app -> "rsa 0.9.10" (normal), app -> w (dev), w -> crates.io rsa; plus a source-less rsa 0.9.10. */
function shadowLock(appDep = 'rsa 0.9.10', shadowSource: string | null = null): string {
  return [
    'version = 4\n',
    entry('app', '0.1.0', null, [appDep, 'w']),
    entry('rsa', '0.9.10', shadowSource),
    entry('rsa', '0.9.10', CRATES_IO),
    entry('w', '1.0.0', CRATES_IO, [`rsa 0.9.10 (${CRATES_IO})`]),
  ].join('\n');
}

function audit(path: string, ...extra: string[]): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, ...DB, '--format', 'json', ...extra], { cacheDir });
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line !== '' && !line.includes('days old'));
}

before(() => {
  const warm = audit(tempTree('warm', { 'Cargo.lock': shadowLock(`rsa 0.9.10 (${CRATES_IO})`) }));
  assert.equal(warm.status, 1, warm.stderr);
});

const EXPECTED_REFUSAL = (path: string): string =>
  `stowage: ${path}:7: package app 0.1.0: dependency "rsa 0.9.10" is ambiguous: rsa 0.9.10 is listed without a source and from ${CRATES_IO}; Cargo takes the one without a source only when the workspace has a path package rsa, and nothing here says it has`;

test('a source-less entry shadowing crates.io rsa, with a manifest that has no path package rsa: refused, not read as the path one', () => {
  const root = tempTree('shadow', { 'Cargo.toml': APP_MANIFEST, 'Cargo.lock': shadowLock() });
  for (const extra of [[], ['--omit', 'dev']]) {
    const result = audit(root, ...extra);
    assert.equal(result.status, 2, result.stdout);
    assert.deepEqual(errorLines(result.stderr), [EXPECTED_REFUSAL(join(root, 'Cargo.lock'))]);
  }
});

test('the same without any manifest: refused', () => {
  const root = tempTree('shadow-bare', { 'Cargo.lock': shadowLock() });
  const result = audit(join(root, 'Cargo.lock'), '--omit', 'dev');
  assert.equal(result.status, 2, result.stdout);
  assert.deepEqual(errorLines(result.stderr), [EXPECTED_REFUSAL(join(root, 'Cargo.lock'))]);
});

test('the bare name "rsa" is ambiguous anyway (two entries): refused as before', () => {
  const root = tempTree('shadow-name', { 'Cargo.toml': APP_MANIFEST, 'Cargo.lock': shadowLock('rsa') });
  const result = audit(root, '--omit', 'dev');
  assert.equal(result.status, 2, result.stdout);
});

/** The findings when only crates.io's rsa is matched. */
const CRATES_IO_RSA = ['RUSTSEC-2023-0071 rsa 0.9.10 https://github.com/rust-lang/crates.io-index'];

const LOCAL_RSA: { what: string; files: Record<string, string>; findings?: string[] }[] = [
  {
    what: 'a path dependency of the root manifest',
    files: { 'Cargo.toml': APP_MANIFEST.replace('rsa = "0.9"', 'rsa = { path = "../rsa" }') },
  },
  {
    what: 'a path dependency under [patch.crates-io]',
    files: { 'Cargo.toml': `${APP_MANIFEST}\n[patch.crates-io]\nrsa = { path = "vendor/rsa" }\n` },
    // The patched copy is matched too, as a git fork is (audit-cargo-patch-path.test.ts).
    findings: [...CRATES_IO_RSA, 'RUSTSEC-2023-0071 rsa 0.9.10 vendor/rsa'],
  },
  {
    what: 'a workspace member (found by the members glob)',
    files: {
      'Cargo.toml': `${APP_MANIFEST}\n[workspace]\nmembers = ["crates/*"]\n`,
      'crates/rsa/Cargo.toml': '[package]\nname = "rsa"\nversion = "0.9.10"\n',
    },
  },
  {
    what: "a path dependency of a member's manifest, renamed",
    files: {
      'Cargo.toml': `${APP_MANIFEST}\n[workspace]\nmembers = ["crates/*"]\n`,
      'crates/m/Cargo.toml': '[package]\nname = "m"\nversion = "0.1.0"\n\n[dependencies]\nmy-rsa = { package = "rsa", path = "../../rsa" }\n',
    },
  },
];

for (const { what, files, findings = CRATES_IO_RSA } of LOCAL_RSA) {
  test(`a source-less rsa that the workspace has as a path package (${what}) takes the bare "rsa 0.9.10", as in Cargo`, () => {
    const root = tempTree('shadow-local', { ...files, 'Cargo.lock': shadowLock() });
    const result = audit(root);
    // crates.io's rsa is still audited (w depends on it): found, exit 1.
    assert.equal(result.status, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { findings: { advisory: { id: string }; package: { name: string; version: string; source: string }; paths: string[][] }[] };
    assert.deepEqual(report.findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.version} ${f.package.source}`).sort(), findings);
  });
}

test('an explicit crates.io source in the dependency string is never ambiguous', () => {
  const root = tempTree('shadow-explicit', { 'Cargo.toml': APP_MANIFEST, 'Cargo.lock': shadowLock(`rsa 0.9.10 (${CRATES_IO})`) });
  const result = audit(root, '--omit', 'dev');
  assert.equal(result.status, 1, result.stderr);
});

/*
 * A `[patch]` path inside the application's directory does not make the crate a workspace
 * member: Cargo makes members of the globs and of members' path dependencies only.
 * `cargo metadata` (cargo 1.95) on the project below lists `app` alone as a workspace member
 * and the patched `rsa` as a package. Read as a member, the patched crate was a root: its
 * dependencies were the application's direct ones in every finding, and `stowage sbom` left it
 * out of the application's components altogether.
 */
test('a crate [patch]ed from a path inside the application is a path package app depends on, not a workspace member', () => {
  const manifest = '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nsmallvec = "1"\n\n[patch.crates-io]\nsmallvec = { path = "patched/smallvec" }\n';
  const lock = ['version = 4\n', entry('app', '0.1.0', null, ['smallvec']), entry('rsa', '0.9.10', CRATES_IO), entry('smallvec', '1.6.0', null, ['rsa'])].join('\n');
  for (const [what, text] of [
    ['[patch.crates-io]', manifest],
    ['[workspace] and [patch.crates-io]', `${manifest}\n[workspace]\n`],
  ] as const) {
    const root = tempTree('patched-path', { 'Cargo.toml': text, 'Cargo.lock': lock, 'patched/smallvec/Cargo.toml': '[package]\nname = "smallvec"\nversion = "1.6.0"\n' });
    const result = audit(root);
    assert.equal(result.status, 1, `${what}: ${result.stderr}`);
    const report = JSON.parse(result.stdout) as { findings: { advisory: { id: string }; paths: string[][]; directDependencies: string[] }[] };
    assert.deepEqual(
      report.findings.map((f) => [f.advisory.id, f.paths, f.directDependencies]),
      [
        ['RUSTSEC-2023-0071', [['app@0.1.0', 'smallvec@1.6.0', 'rsa@0.9.10']], ['smallvec@1.6.0']],
        // The patched smallvec is a copy of crates.io's 1.6.0: matched as such (audit-cargo-patch-path.test.ts).
        ['RUSTSEC-2021-0003', [['app@0.1.0', 'smallvec@1.6.0']], ['smallvec@1.6.0']],
      ],
      what,
    );
    const sbom = runCli(['sbom', '--no-licenses', root], { cacheDir });
    assert.equal(sbom.status, 0, `${what}: ${sbom.stderr}`);
    const doc = JSON.parse(sbom.stdout) as { components: { name: string; 'bom-ref': string }[]; dependencies: { ref: string; dependsOn: string[] }[] };
    const smallvec = doc.components.find((c) => c.name === 'smallvec');
    assert.ok(smallvec !== undefined, `${what}: the patched smallvec is one of the application's components`);
    assert.ok(doc.dependencies.some((d) => d.ref.startsWith('application:app@') && d.dependsOn.includes(smallvec['bom-ref'])), `${what}: app depends on it`);
  }
});
