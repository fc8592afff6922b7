import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StowageError } from '../../src/core/errors.js';
import type { Package } from '../../src/core/package.js';
import { writeArchive } from '../../src/core/archive.js';
import { readApplicationManifest } from '../../src/inputs/application-manifest.js';
import { bundledPackages, decideLicenses, MissingLicenses, parseLicenseOverrides } from '../../src/package/rpm-package.js';
import { bundledProvide, changelogDate, renderRpmSpec, rpmName, rpmVersion, type RpmSpecInput } from '../../src/package/rpm-spec.js';
import { licenseKey, vendoredLicenses } from '../../src/vendoring/vendored-licenses.js';
import { applicationSourceFiles } from '../../src/package/srpm.js';
import { findLockfiles, readDependencyGraph } from '../../src/inputs/lockfiles.js';
import { PROJECT_ROOT, tempDir } from '../support/shared.js';

const cargoInput: RpmSpecInput = {
  flavor: 'fedora',
  ecosystem: 'cargo',
  name: 'demo',
  version: '1.2.0-rc.1',
  release: '3',
  summary: 'Counts 100% of words',
  description: 'Counts words.',
  license: 'MIT AND (Apache-2.0 OR MIT)',
  url: 'https://example.invalid/demo',
  binaries: [
    { name: 'demo', path: 'src/main.rs' },
    { name: 'demo-tool', path: 'src/bin/demo-tool.rs' },
  ],
  hasTests: true,
  licenseFiles: ['LICENSE'],
  bundled: [
    { ecosystem: 'cargo', name: 'itoa', version: '1.0.1', license: 'Apache-2.0 OR MIT' },
    { ecosystem: 'cargo', name: 'cfg-if', version: '1.0.0', license: 'Apache-2.0 OR MIT' },
  ],
  sources: { app: 'demo-1.2.0~rc.1.tar.gz', vendor: 'demo-1.2.0~rc.1-vendor.tar.zst', sbom: 'demo-1.2.0~rc.1.cdx.json', licenses: 'l.txt', depV0: 'demo-1.2.0~rc.1.dep-v0' },
  sourceDateEpoch: 1700000000,
};

test('the Cargo spec: sources, offline build and tests, binaries, bundled crates sorted, changelog from SOURCE_DATE_EPOCH', () => {
  const spec = renderRpmSpec(cargoInput);
  // rpm's own spec parser reads the header as rpmbuild will: an outside reference, not our regexes.
  const specFile = join(tempDir('rpm-spec-query'), 'demo.spec');
  writeFileSync(specFile, spec);
  const query = (format: string, ...which: string[]): string =>
    execFileSync('rpmspec', ['--query', ...which, '--queryformat', format, specFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(query('%{NAME}|%{VERSION}|%{RELEASE}|%{LICENSE}|%{SUMMARY}|%{URL}', '--srpm'), 'demo|1.2.0~rc.1|3|MIT AND (Apache-2.0 OR MIT)|Counts 100% of words|https://example.invalid/demo');
  assert.deepEqual(query('[%{PROVIDES}=%{PROVIDEVERSION}\\n]').trim().split('\n').filter((l) => l.startsWith('bundled(')), [
    'bundled(crate(cfg-if))=1.0.0',
    'bundled(crate(itoa))=1.0.1',
  ]);
  assert.match(spec, /^Version: +1\.2\.0~rc\.1$/m);
  assert.match(spec, /^Release: +3%\{\?dist\}$/m);
  assert.match(spec, /^Summary: +Counts 100%% of words$/m, '% is escaped');
  assert.match(spec, /^License: +MIT AND \(Apache-2\.0 OR MIT\)$/m);
  assert.match(spec, /^Provides: +bundled\(crate\(cfg-if\)\) = 1\.0\.0\nProvides: +bundled\(crate\(itoa\)\) = 1\.0\.1$/m);
  assert.match(spec, /^%autosetup -n demo-%\{version\}\n#.*\ntar --zstd -xf %\{SOURCE1\}$/m);
  assert.match(spec, /^%build\n(export .*\n)+cargo build --release --offline --frozen$/m);
  assert.match(spec, /^%check\n%if %\{with check\}\n(export .*\n)+cargo test --release --offline --frozen\n%endif$/m);
  assert.match(spec, /^install -Dpm 0755 target\/release\/demo-tool %\{buildroot\}%\{_bindir\}\/demo-tool$/m);
  assert.match(spec, /^Source4: +demo-1\.2\.0~rc\.1\.dep-v0$/m);
  assert.match(spec, /^BuildRequires: +binutils$/m);
  assert.match(spec, /^objcopy --add-section \.dep-v0=%\{SOURCE4\} %\{buildroot\}%\{_bindir\}\/demo\nobjcopy --add-section \.dep-v0=%\{SOURCE4\} %\{buildroot\}%\{_bindir\}\/demo-tool$/m);
  assert.match(spec, /^%files\n%license LICENSE\n%license bundled-licenses\.txt\n%\{_bindir\}\/demo\n%\{_bindir\}\/demo-tool\n/m);
  assert.match(spec, /^%changelog\n\* Tue Nov 14 2023 stowage <stowage@localhost> - 1\.2\.0~rc\.1-3$/m);
});

test('flavours: bundled npm packages are nodejs-NAME on Fedora, npm(NAME) on openSUSE; crates are crate(NAME) in both', () => {
  const lib = { ecosystem: 'npm' as const, name: '@scope/pkg', version: '2.0.0-beta.2' };
  assert.equal(bundledProvide('fedora', lib), 'bundled(nodejs-@scope/pkg) = 2.0.0~beta.2');
  assert.equal(bundledProvide('opensuse', lib), 'bundled(npm(@scope/pkg)) = 2.0.0~beta.2');
  assert.equal(bundledProvide('opensuse', { ecosystem: 'cargo', name: 'cfg-if', version: '1.0.0' }), 'bundled(crate(cfg-if)) = 1.0.0');
  assert.equal(rpmName('@scope/pkg'), 'scope-pkg');
  assert.equal(rpmVersion('1.0.0-alpha.1+build.5'), '1.0.0~alpha.1+build.5');
  assert.equal(changelogDate(0), 'Thu Jan 01 1970');

  const npmSpec = renderRpmSpec({
    ...cargoInput,
    flavor: 'opensuse',
    ecosystem: 'npm',
    binaries: [{ name: 'demo', path: './bin/demo.js' }],
    hasTests: false,
    bundled: [{ ecosystem: 'npm', name: 'ms', version: '2.1.3', license: 'MIT' }],
  });
  assert.match(npmSpec, /^BuildRequires: +nodejs-default$/m);
  assert.match(npmSpec, /^Provides: +bundled\(npm\(ms\)\) = 2\.1\.3$/m);
  assert.match(npmSpec, /^npm ci --offline --no-audit --no-fund$/m);
  assert.match(npmSpec, /npm prune --omit=dev --offline/);
  assert.match(npmSpec, /^ln -s \.\.\/lib\/node_modules\/demo\/bin\/demo\.js %\{buildroot\}%\{_bindir\}\/demo$/m);
  assert.doesNotMatch(npmSpec, /^%check$/m, 'no npm test defined, no %check');
});

test('licences come from the vendored Cargo.toml (`/` as OR, license-file as LicenseRef) and the npm tarball package.json', async () => {
  const npmTarball = await writeArchive(
    [{ path: 'package/package.json', mode: 0o644, data: Buffer.from(JSON.stringify({ name: 'old', version: '1.0.0', licenses: [{ type: 'MIT' }, { type: 'GPL-2.0-only' }] })) }],
    { compression: 'gz', mtime: 0 },
  );
  const files = [
    { path: 'vendor/a/Cargo.toml', mode: 0o644 as const, data: Buffer.from('[package]\nname = "a"\nversion = "1.0.0"\nlicense = "MIT/Apache-2.0"\n') },
    { path: 'vendor/b/Cargo.toml', mode: 0o644 as const, data: Buffer.from('[package]\nname = "b_c"\nversion = "0.1.0"\nlicense-file = "LICENSE.txt"\n') },
    { path: 'vendor/c/Cargo.toml', mode: 0o644 as const, data: Buffer.from('[package]\nname = "c"\nversion = "2.0.0"\nlicense = "BSD"\n') },
    { path: 'vendor/npm-cache/_cacache/content-v2/sha512/aa/bb', mode: 0o644 as const, data: npmTarball },
  ];
  const vendored = await vendoredLicenses(files, [
    { ecosystem: 'cargo', name: 'a', version: '1.0.0', source: '', checksum: null, path: 'vendor/a' },
    { ecosystem: 'cargo', name: 'b_c', version: '0.1.0', source: '', checksum: null, path: 'vendor/b' },
    { ecosystem: 'cargo', name: 'c', version: '2.0.0', source: '', checksum: null, path: 'vendor/c' },
    { ecosystem: 'npm', name: 'old', version: '1.0.0', source: '', checksum: null, path: 'vendor/npm-cache/_cacache/content-v2/sha512/aa/bb' },
  ]);
  assert.equal(vendored.get(licenseKey('cargo', 'a', '1.0.0'))?.license, 'MIT OR Apache-2.0');
  assert.equal(vendored.get(licenseKey('cargo', 'b_c', '0.1.0'))?.license, 'LicenseRef-b-c');
  assert.equal(vendored.get(licenseKey('cargo', 'c', '2.0.0'))?.license, null, '`BSD` is not guessed');
  assert.equal(vendored.get(licenseKey('npm', 'old', '1.0.0'))?.license, 'MIT OR GPL-2.0-only');

  const pkg = (name: string, version: string): Package => ({
    id: `${name}@${version}`,
    ecosystem: 'cargo',
    name,
    version,
    source: { kind: 'registry', url: 'https://github.com/rust-lang/crates.io-index', isDefaultRegistry: true },
    checksum: null,
  });
  const packages = [pkg('a', '1.0.0'), pkg('c', '2.0.0')];
  const missing = decideLicenses(packages, vendored, new Map());
  assert.deepEqual(missing.missing, ['c 2.0.0 ("BSD" is not SPDX)']);
  const given = decideLicenses(packages, vendored, parseLicenseOverrides(['c@2.0.0=BSD-3-Clause']));
  assert.deepEqual(given.missing, []);
  assert.deepEqual(given.bundled.map((b) => b.license), ['MIT OR Apache-2.0', 'BSD-3-Clause']);
  assert.match(new MissingLicenses(missing.missing).message, /^no SPDX licence for 1 package: c 2\.0\.0/);
  assert.throws(() => parseLicenseOverrides(['c']), StowageError);
  assert.throws(() => parseLicenseOverrides(['c=NOT A LICENCE']), /not a valid SPDX licence expression/);
});

test('bundled packages: not the application itself, not path dependencies, not npm dev-only packages', () => {
  const base = { ecosystem: 'npm' as const, checksum: null };
  const packages: Package[] = [
    { ...base, id: '', name: 'app', version: '1.0.0', source: { kind: 'workspace', url: null, isDefaultRegistry: false } },
    { ...base, id: 'node_modules/ms', name: 'ms', version: '2.1.3', source: { kind: 'registry', url: 'https://registry.npmjs.org/', isDefaultRegistry: true } },
    { ...base, id: 'node_modules/tap', name: 'tap', version: '18.0.0', source: { kind: 'registry', url: 'https://registry.npmjs.org/', isDefaultRegistry: true }, flags: { dev: true } },
    { ...base, id: 'node_modules/local', name: 'local', version: '0.0.1', source: { kind: 'path', url: './local', isDefaultRegistry: false } },
  ];
  const bundled = bundledPackages([{ ecosystem: 'npm', path: 'package-lock.json', format: 'package-lock.json v3', packages, edges: [], roots: [''] }]);
  assert.deepEqual(bundled.map((p) => p.name), ['ms']);
});

test('bundled crates: what only dev-dependencies (built for %check) or build-dependencies (for the build script) bring in is not bundled', async () => {
  const [location] = findLockfiles(join(PROJECT_ROOT, 'test', 'fixtures', 'cargo', 'dev-kinds'));
  assert.ok(location);
  const bundled = bundledPackages([await readDependencyGraph(location)]);
  // cfg-if is the application's build-dependency: its build script's, not linked.
  assert.deepEqual(bundled.map((p) => p.name).sort(), ['fnv', 'itoa']);
});

test('the application manifest: Cargo [[bin]] and auto-discovered binaries, npm bin and test script', () => {
  const dir = tempDir('app-manifest');
  mkdirSync(join(dir, 'src', 'bin'), { recursive: true });
  const manifest = (extra: string): void =>
    writeFileSync(join(dir, 'Cargo.toml'), `[package]\nname = "tool"\nversion = "0.3.0"\nlicense = "MIT"\n${extra}\n[[bin]]\nname = "special"\npath = "src/special.rs"\n`);
  manifest('edition = "2021"\n');
  writeFileSync(join(dir, 'src', 'main.rs'), 'fn main() {}\n');
  writeFileSync(join(dir, 'src', 'bin', 'helper.rs'), 'fn main() {}\n');
  const cargo = readApplicationManifest(dir);
  assert.deepEqual(cargo.binaries.map((b) => b.name), ['helper', 'special', 'tool']);
  assert.equal(cargo.license, 'MIT');
  // Edition 2015 (no `edition`) discovers nothing once a [[bin]] is declared, unless autobins is
  // set (cargo 1.95's `cargo metadata` lists `special` alone, then all three).
  manifest('');
  assert.deepEqual(readApplicationManifest(dir).binaries.map((b) => b.name), ['special']);
  manifest('autobins = true\n');
  assert.deepEqual(readApplicationManifest(dir).binaries.map((b) => b.name), ['helper', 'special', 'tool']);

  const npmDir = tempDir('app-manifest-npm');
  writeFileSync(join(npmDir, 'package.json'), JSON.stringify({ name: '@me/cli', version: '1.0.0', bin: 'cli.js', scripts: { test: 'echo "Error: no test specified" && exit 1' } }));
  const npm = readApplicationManifest(npmDir);
  assert.deepEqual(npm.binaries, [{ name: 'cli', path: 'cli.js' }]);
  assert.equal(npm.hasTests, false, "npm init's placeholder is no test suite");
  assert.throws(() => readApplicationManifest(tempDir('app-manifest-none')), /no Cargo\.toml or package\.json/);
});

test("the packaged sources are the application's tracked files, even with GIT_DIR set by a hook", async () => {
  const git = (cwd: string, ...args: string[]): void => {
    execFileSync('git', args, { cwd, stdio: 'ignore', env: { ...process.env, GIT_DIR: undefined } as NodeJS.ProcessEnv });
  };
  const app = tempDir('srpm-app');
  const other = tempDir('srpm-other');
  for (const [dir, file] of [[app, 'main.rs'], [other, 'unrelated.txt']] as const) {
    writeFileSync(join(dir, file), 'x\n');
    git(dir, 'init', '--quiet');
    git(dir, 'add', file);
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@example.org', 'commit', '--quiet', '--no-gpg-sign', '-m', 'one');
  }
  const saved = process.env.GIT_DIR;
  process.env.GIT_DIR = join(other, '.git');
  try {
    const { files, fromGit } = await applicationSourceFiles(app);
    assert.equal(fromGit, true);
    assert.deepEqual(files.map((f) => f.path), ['main.rs']);
  } finally {
    if (saved === undefined) delete process.env.GIT_DIR;
    else process.env.GIT_DIR = saved;
  }
});

test("a directory's `.git` file naming a repository of its own: its fsmonitor never runs, and a `.git` file is never packaged", async () => {
  const app = tempDir('srpm-gitfile');
  const ran = join(tempDir('srpm-gitfile-ran'), 'ran.txt');
  const repo = tempDir('srpm-gitfile-repo');
  execFileSync('git', ['init', '--quiet', repo], { stdio: 'ignore', env: { ...process.env, GIT_DIR: undefined } as NodeJS.ProcessEnv });
  // Shipped in the application's tree as plain files: the repository, and the `.git` file that names it.
  cpSync(join(repo, '.git'), join(app, 'repository'), { recursive: true });
  writeFileSync(join(app, 'repository', 'config'), `[core]\n\trepositoryformatversion = 0\n\tfsmonitor = "echo fsmonitor ran >> ${ran}; false"\n`);
  writeFileSync(join(app, '.git'), 'gitdir: repository\n');
  writeFileSync(join(app, 'main.rs'), 'fn main() {}\n');
  // Its index tracks nothing: nothing to package.
  await assert.rejects(applicationSourceFiles(app), /no source files to package/);
  assert.equal(existsSync(ran) ? readFileSync(ran, 'utf8') : 'nothing ran', 'nothing ran');

  // A `.git` file outside a work tree is VCS data, as a `.git` directory is: left out of the source.
  writeFileSync(join(app, '.git'), 'gitdir: /nonexistent\n');
  const { files, fromGit } = await applicationSourceFiles(app);
  assert.equal(fromGit, false);
  assert.deepEqual(files.filter((f) => !f.path.startsWith('repository/')).map((f) => f.path), ['main.rs']);
});
