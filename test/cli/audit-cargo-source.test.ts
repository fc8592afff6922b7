import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { ADVISORY_DB_BUNDLE, runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * Cargo.lock inputs that Cargo reads one way and an auditor could read another: crates.io
 * spelled differently, sources, names and versions Cargo refuses. Every spelling below was run
 * through cargo 1.95 (`cargo metadata --offline --locked` on a project whose crates-io is
 * replaced by a local directory): "crates.io" spellings build from crates.io, `--locked`.
 */

const cacheDir = tempDir('cli-cargo-source-cache');
const DB = ['--db', ADVISORY_DB_BUNDLE];
const work = tempDir('cli-cargo-source');

/** rsa 0.9.10 has RUSTSEC-2023-0071 and no patched version. */
function lockfile(name: string, source: string, version = '0.9.10'): string {
  const path = join(work, `${name}.Cargo.lock`);
  const text = [
    'version = 4',
    '',
    '[[package]]',
    'name = "app"',
    'version = "0.1.0"',
    'dependencies = [',
    ' "rsa",',
    ']',
    '',
    '[[package]]',
    'name = "rsa"',
    `version = ${JSON.stringify(version)}`,
    `source = ${JSON.stringify(source)}`,
    '',
  ].join('\n');
  writeFileSync(path, text);
  return path;
}

function audit(path: string): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, ...DB, '--format', 'json'], { cacheDir });
}

/** The report's warnings about the lockfile (not the database's age). */
function warnings(stdout: string): string[] {
  return auditReport(stdout).warnings.filter((w) => w.startsWith(work));
}

/** The warning that a finding on another registry's crate rests on its name and version. */
function otherRegistryWarning(path: string, listed: string): string {
  return (
    `${path}: 1 crate from a registry other than crates.io matched against advisories by name and version ` +
    `(advisories name crates.io's crates; a crate of the same name and version from another registry is usually crates.io's, mirrored: ` +
    `ignore an advisory that does not apply with --ignore ID=REASON): ${listed}`
  );
}

function findingIds(stdout: string): string[] {
  const report = auditReport(stdout);
  return report.findings.map((f) => `${f.advisory.id} ${f.package.name}`);
}

before(() => {
  // One clone of the database for the whole file.
  const warm = audit(lockfile('warm', 'registry+https://github.com/rust-lang/crates.io-index'));
  assert.equal(warm.status, 1, warm.stderr);
});

/** Cargo identifies each of these with crates.io (`CanonicalUrl`): it builds them from crates.io. */
const CRATES_IO_TO_CARGO = [
  'registry+https://github.com/rust-lang/crates.io-index',
  'registry+https://github.com/rust-lang/crates.io-index/',
  'registry+https://github.com/rust-lang/crates.io-index.git',
  'registry+https://github.com/rust-lang/crates.io-index.git/',
  'registry+https://github.com/rust-lang/crates.io-index.GIT',
  'registry+https://github.com/Rust-Lang/Crates.io-Index',
  'registry+HTTPS://GITHUB.COM/rust-lang/crates.io-index',
  'registry+http://github.com/rust-lang/crates.io-index',
  'registry+git://github.com/rust-lang/crates.io-index',
  'registry+https://github.com:443/rust-lang/crates.io-index',
  'registry+https://github.com/rust-lang/x/../crates.io-index',
  'registry+https://%67ithub.com/rust-lang/crates.io-index',
  'registry+https:github.com/rust-lang/crates.io-index',
  'registry+ https://github.com/rust-lang/crates.io-index',
  'registry+https://git\thub.com/rust-lang/crates.io-index',
  'sparse+https://index.crates.io/',
  'sparse+HTTPS://index.crates.io/',
  'sparse+https://index.crates.io//',
  'sparse+https://index.crates.io/x/..',
];

for (const source of CRATES_IO_TO_CARGO) {
  test(`crates.io spelled ${JSON.stringify(source)} is audited as crates.io`, () => {
    const { status, stdout, stderr } = audit(lockfile('spelled', source));
    assert.equal(status, 1, stderr);
    assert.deepEqual(findingIds(stdout), ['RUSTSEC-2023-0071 rsa']);
    assert.deepEqual(warnings(stdout), []);
  });
}

/**
 * Cargo calls these another registry (it needs a `[registries]` entry spelled the same way), but
 * they fetch from crates.io's own index host: crates.io's crates, so matched as crates.io.
 */
const CRATES_IO_HOST = [
  'sparse+https://INDEX.crates.io/',
  'sparse+http://index.crates.io/',
  'sparse+https://index.crates.io:443/',
  'registry+ssh://git@github.com/rust-lang/crates.io-index',
  'registry+git://GitHub.com/rust-lang/crates.io-index',
  'registry+https://github.com./rust-lang/crates.io-index',
];

for (const source of CRATES_IO_HOST) {
  test(`crates.io's index host spelled ${JSON.stringify(source)} is audited as crates.io`, () => {
    const { status, stdout, stderr } = audit(lockfile('host', source));
    assert.equal(status, 1, stderr);
    assert.deepEqual(findingIds(stdout), ['RUSTSEC-2023-0071 rsa']);
    assert.deepEqual(warnings(stdout), [
      `${join(work, 'host.Cargo.lock')}: source ${JSON.stringify(source)} is another registry to Cargo, but it fetches from crates.io's index: its crates are audited as crates.io's`,
    ]);
  });
}

/**
 * Cargo calls these another registry (`--locked` refuses the lockfile of a crates.io dependency
 * locked from one), and none fetches crates.io's index: a query or fragment rides along on the
 * fetch (libgit2 and git ask for `/rust-lang/crates.io-index?x/info/refs?service=…`, which is
 * not the index), and a sparse URL with a query is refused by Cargo. A sparse URL's fragment
 * too: Cargo appends each path to the URL as written, so `sparse+http://HOST/#x` is refused
 * ("sparse registry url must end in a slash") and `sparse+http://HOST/#/` fetches `/` for
 * `config.json` and every index file (checked with cargo 1.95 against a sparse index on
 * 127.0.0.1): neither reaches crates.io's index. Another registry is most often a mirror of
 * crates.io (Artifactory, Cloudsmith, `[registries.corp]`) serving crates.io's own crates, so
 * its crates are matched by name and version, and the report says what the finding rests on.
 */
const OTHER_REGISTRIES = [
  'registry+https://github.com/rust-lang/crates.io-index2',
  'registry+https://github.com/rust-lang/crates.io-index?x',
  'registry+https://github.com/rust-lang/crates.io-index?x=1',
  'registry+https://github.com/rust-lang/crates.io-index/?x=1',
  'registry+https://github.com/rust-lang/crates.io-index.git?x',
  'registry+https://github.com/rust-lang/crates.io-index#x',
  'registry+https://github.com/rust-lang/crates.io-index%2F',
  'registry+https://gitlab.com/rust-lang/crates.io-index',
  'sparse+https://index.crates.io.example/',
  'sparse+https://index.crates.io/sub/',
  'sparse+https://index.crates.io/?x',
  'sparse+https://index.crates.io/#x',
  'sparse+https://index.crates.io/#/',
  'sparse+https://artifactory.example/artifactory/api/cargo/crates-io-remote/index/',
];

for (const source of OTHER_REGISTRIES) {
  test(`another registry ${JSON.stringify(source)} stays another registry, its rsa matched by name and version with a warning that says so`, () => {
    const path = lockfile('other', source);
    const { status, stdout, stderr } = audit(path);
    assert.equal(status, 1, `${source}: ${stderr}`);
    assert.deepEqual(findingIds(stdout), ['RUSTSEC-2023-0071 rsa'], source);
    const label = source.startsWith('sparse+') ? source : source.slice('registry+'.length);
    assert.deepEqual(auditReport(stdout).findings.map((f) => f.package.source), [label], source);
    assert.deepEqual(warnings(stdout), [otherRegistryWarning(path, `rsa 0.9.10 (${label})`)]);
  });
}

test('a crate from another registry that no advisory affects passes, and no warning is said about it', () => {
  // smallvec 1.13.2: no advisory names it (RUSTSEC-2021-0003 is about 1.x before 1.6.1).
  const path = lockfile('other-safe', 'sparse+https://cargo.corp.example/index/', '1.13.2');
  writeFileSync(path, readFileSync(path, 'utf8').replaceAll('rsa', 'smallvec'));
  const { status, stdout, stderr } = audit(path);
  assert.equal(status, 0, stderr);
  assert.deepEqual(findingIds(stdout), []);
  assert.deepEqual(warnings(stdout), []);
  assert.equal(auditReport(stdout).targets[0]?.audited, 1);
});

test('a private crate of another registry that shares a crates.io name is accepted by its advisory, with a reason', () => {
  const path = lockfile('other-ignored', 'sparse+https://cargo.corp.example/index/');
  const human = runCli(['audit', path, ...DB], { cacheDir });
  assert.equal(human.status, 1, human.stderr);
  assert.match(human.stdout + human.stderr, /1 crate from a registry other than crates\.io matched against advisories by name and version .*--ignore ID=REASON\): rsa 0\.9\.10 \(sparse\+https:\/\/cargo\.corp\.example\/index\/\)/);
  const ignored = runCli(['audit', path, ...DB, '--ignore', 'RUSTSEC-2023-0071=our registry\'s own rsa, not crates.io\'s'], { cacheDir });
  assert.equal(ignored.status, 0, ignored.stdout + ignored.stderr);
});

test("rsa locked from another registry while the manifest names crates.io as a registry (registry = \"crates-io\", a crates.io registry-index): cargo build builds crates.io's rsa, so the warning says the lockfile is stale", () => {
  // Checked with cargo 1.95: each declaration is locked as crates.io's rsa, and a lockfile that
  // says another registry is resolved anew from crates.io by `cargo build` (`--locked` refuses it).
  const declarations = [
    '{ version = "0.9", registry = "crates-io" }',
    '{ version = "0.9", registry-index = "https://github.com/rust-lang/crates.io-index" }',
    '{ version = "0.9", registry-index = "sparse+https://index.crates.io/" }',
  ];
  for (const declaration of declarations) {
    const path = lockfile('named', 'registry+https://example.org/index');
    writeFileSync(join(work, 'named.Cargo.toml'), `[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\nrsa = ${declaration}\n`);
    const run = audit(path);
    assert.equal(run.status, 1, run.stderr);
    assert.deepEqual(findingIds(run.stdout), ['RUSTSEC-2023-0071 rsa'], declaration);
    assert.deepEqual(warnings(run.stdout), [
      otherRegistryWarning(path, 'rsa 0.9.10 (https://example.org/index)'),
      `${join(work, 'named.Cargo.toml')}: app declares rsa (from crates.io, locked from registry+https://example.org/index), which ${path} does not lock as declared: the lockfile is older than the manifest; cargo build without --locked resolves them anew (--locked refuses), and the audit covers only what the lockfile locks`,
    ], declaration);
  }
  // Another registry, named or by its index, is not crates.io: its rsa is locked as declared.
  for (const declaration of ['{ version = "0.9", registry = "my-registry" }', '{ version = "0.9", registry-index = "https://example.org/index" }']) {
    const path = lockfile('named', 'registry+https://example.org/index');
    writeFileSync(join(work, 'named.Cargo.toml'), `[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\nrsa = ${declaration}\n`);
    const run = audit(path);
    assert.equal(run.status, 1, run.stderr);
    assert.deepEqual(warnings(run.stdout).filter((w) => w.includes('does not lock as declared')), [], declaration);
  }
});

test("another registry that .cargo/config.toml replaces with crates-io is crates.io's crates: cargo builds crates.io's rsa, so it is audited as crates.io's", () => {
  // Checked with cargo 1.95: `hex = { version = "0.4", registry = "foo" }` with `[source.foo]
  // replace-with = "crates-io"` locks `source = "sparse+http://127.0.0.1:9/index/"` and builds
  // crates.io's hex (`cargo tree --offline --locked`, crates-io itself replaced by a directory).
  const source = 'sparse+https://example.org/index/';
  const config = (replaceWith: string): string =>
    `[registries.foo]\nindex = "${source}"\n\n[source.foo]\nregistry = "${source}"\nreplace-with = "${replaceWith}"\n\n[source.mirror]\nregistry = "sparse+https://mirror.example.org/"\nreplace-with = "crates-io"\n`;
  const lock = [
    'version = 4',
    '',
    '[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "rsa",\n]',
    '',
    `[[package]]\nname = "rsa"\nversion = "0.9.10"\nsource = "${source}"`,
    '',
  ].join('\n');
  for (const [replaceWith, chain] of [['crates-io', 'foo -> crates-io'], ['mirror', 'foo -> mirror -> crates-io']] as const) {
    const root = tempTree('cli-cargo-replaced', { 'Cargo.lock': lock, '.cargo/config.toml': config(replaceWith) });
    const run = runCli(['audit', root, ...DB, '--format', 'json'], { cacheDir });
    assert.equal(run.status, 1, run.stderr);
    assert.deepEqual(findingIds(run.stdout), ['RUSTSEC-2023-0071 rsa'], replaceWith);
    assert.deepEqual(
      auditReport(run.stdout).warnings.filter((w) => w.startsWith(root)),
      [`${join(root, 'Cargo.lock')}: source "${source}" is replaced with crates.io by ${join(root, '.cargo', 'config.toml')} ([source] ${chain}): Cargo builds crates.io's crates for it, and they are audited as crates.io's`],
      replaceWith,
    );
  }
  // Replaced with another registry, it stays another registry: matched by name and version, and said.
  const root = tempTree('cli-cargo-replaced', { 'Cargo.lock': lock, '.cargo/config.toml': config('elsewhere').replace('[source.mirror]', '[source.elsewhere]\nregistry = "sparse+https://elsewhere.example.org/"\n\n[source.mirror]') });
  const run = runCli(['audit', root, ...DB, '--format', 'json'], { cacheDir });
  assert.equal(run.status, 1, run.stderr);
  assert.deepEqual(findingIds(run.stdout), ['RUSTSEC-2023-0071 rsa']);
  assert.deepEqual(auditReport(run.stdout).warnings.filter((w) => w.startsWith(root)), [otherRegistryWarning(join(root, 'Cargo.lock'), `rsa 0.9.10 (${source})`)]);
});

test('a source Cargo cannot read is refused with exit 2, naming the file, the entry and the line', () => {
  const cases: [source: string, reason: RegExp][] = [
    ['Registry+https://github.com/rust-lang/crates.io-index', /has the source protocol `Registry`, which Cargo does not support/],
    ['SPARSE+https://index.crates.io/', /has the source protocol `SPARSE`, which Cargo does not support/],
    ['crates-io+https://index.crates.io/', /has the source protocol `crates-io`/],
    ['registry', /is not a source id/],
    ['https://github.com/rust-lang/crates.io-index', /has the source protocol `https:\/\/github\.com\/rust-lang\/crates\.io-index`|is not a source id/],
    ['registry+not a url', /has an invalid URL `not a url`/],
    ['registry+https://[::1/index', /has an invalid URL/],
    ['sparse+https:index.crates.io/', /cannot-be-a-base/],
  ];
  for (const [source, reason] of cases) {
    const path = lockfile('refused', source);
    const { status, stdout, stderr } = audit(path);
    assert.equal(status, 2, `${source}: ${stdout}`);
    const lines = stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.ok(lines[0]?.startsWith(`stowage: ${path}:10: [[package]] entry 2 (rsa): \`source\` ${JSON.stringify(source)} `), stderr);
    assert.match(lines[0] ?? '', reason);
  }
});

test('a version that is not SemVer is refused with exit 2, as Cargo refuses the lockfile', () => {
  for (const version of ['0.9', 'v0.9.10', '0.09.10', '0.9.10-', '0.9.10 ', '0.9.10\n', '0.9.10.1', '*']) {
    const path = lockfile('version', 'registry+https://github.com/rust-lang/crates.io-index', version);
    const { status, stderr } = audit(path);
    assert.equal(status, 2, JSON.stringify(version));
    const lines = stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.ok(
      lines[0]?.startsWith(`stowage: ${path}:10: [[package]] entry 2 (rsa): \`version\` ${JSON.stringify(version)} is not a SemVer version, as Cargo requires: `),
      stderr,
    );
  }
});

test('two spellings of one source for one package are one package to Cargo: refused as listed twice', () => {
  const path = join(work, 'twice.Cargo.lock');
  writeFileSync(
    path,
    [
      'version = 4',
      '[[package]]',
      'name = "rsa"',
      'version = "0.9.10"',
      'source = "registry+https://github.com/rust-lang/crates.io-index"',
      '[[package]]',
      'name = "rsa"',
      'version = "0.9.10"',
      'source = "registry+https://github.com/rust-lang/crates.io-index.git"',
      '',
    ].join('\n'),
  );
  const { status, stderr } = audit(path);
  assert.equal(status, 2);
  assert.equal(stderr, `stowage: ${path}:6: package rsa 0.9.10 (registry+https://github.com/rust-lang/crates.io-index.git) is listed twice\n`);
});

test('a crate name Cargo never accepts is refused with exit 2 and one line, the name escaped', () => {
  for (const name of ['rs a', '1rsa', 'rsa.x', 'rsa\n%post', 'rsa\u001b[2K']) {
    const path = join(work, 'name.Cargo.lock');
    writeFileSync(path, `version = 4\n\n[[package]]\nname = ${JSON.stringify(name)}\nversion = "0.9.10"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n`);
    const { status, stdout, stderr } = audit(path);
    assert.equal(status, 2, `${JSON.stringify(name)}: ${stdout}`);
    assert.ok(stderr.startsWith(`stowage: ${path}:3: [[package]] entry 1: \`name\` ${JSON.stringify(name)} is not a package name Cargo accepts: `), stderr);
    assert.equal(stderr.split('\n').length, 2, 'one line');
    assert.ok(!stderr.includes('\u001b'), 'no escape sequence reaches the terminal');
  }
});

test('rsa locked from another registry while the manifest declares crates.io\'s: cargo build (without --locked) builds crates.io\'s rsa, so the warning says the lockfile is stale', () => {
  const path = lockfile('hidden', 'registry+https://example.org/index');
  writeFileSync(join(work, 'hidden.Cargo.toml'), '[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\nrsa = "0.9"\n');
  const run = audit(path);
  // What the lockfile locks is audited as it is (another registry's rsa, matched by name and version) ...
  assert.equal(run.status, 1, run.stderr);
  assert.deepEqual(findingIds(run.stdout), ['RUSTSEC-2023-0071 rsa']);
  // ... and what Cargo would build instead is named.
  assert.deepEqual(warnings(run.stdout), [
    otherRegistryWarning(path, 'rsa 0.9.10 (https://example.org/index)'),
    `${join(work, 'hidden.Cargo.toml')}: app declares rsa (from crates.io, locked from registry+https://example.org/index), which ${path} does not lock as declared: the lockfile is older than the manifest; cargo build without --locked resolves them anew (--locked refuses), and the audit covers only what the lockfile locks`,
  ]);
  const human = runCli(['audit', path, ...DB], { cacheDir });
  assert.equal(human.status, 1);
  assert.match(human.stderr + human.stdout, /app declares rsa \(from crates\.io, locked from registry\+https:\/\/example\.org\/index\)/);
});
