import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { registryConfigToml, runCargo } from '../support/rust-app.js';
import { publishCrate, SparseRegistry, type PublishedCrate } from '../support/sparse-registry.js';
import { runCliAsync, tempDir } from '../support/shared.js';
import { unrelatedRustsecAdvisoryDb } from '../support/advisory-fixtures.js';

/**
 * `stowage package rpm` of a Cargo application whose crates' build scripts need the build root's
 * system libraries and tools: the spec declares them (BuildRequires), so `rpmbuild --rebuild` in
 * a clean build root (mock, koji, OBS) finds OpenSSL, GTK's pkg-config modules, libclang. Before,
 * the spec named cargo, rust, binutils, tar and zstd only, and such an application's build
 * stopped in its first build script. The crates are locked by cargo against a registry on
 * 127.0.0.1; what the spec says is read from the vendored Cargo.toml files and the lockfile.
 */

const crate = (name: string, version: string, extra = '', files: string[] = []): PublishedCrate =>
  publishCrate([
    { path: 'Cargo.toml', data: Buffer.from(`[package]\nname = "${name}"\nversion = "${version}"\nedition = "2018"\nlicense = "MIT"\n${extra}`) },
    { path: 'src/lib.rs', data: Buffer.from('pub fn f() {}\n') },
    ...files.map((path) => ({ path, data: Buffer.from('/* C */\n') })),
  ]);

const GUI_SYS_METADATA = [
  '[package.metadata.system-deps."gtk+_3_0"]',
  'name = "gtk+-3.0"',
  'version = "3.18"',
  '[package.metadata.system-deps."gtk+_3_0".v3_24]',
  'version = "3.24"',
  '[package.metadata.system-deps]',
  'plain = "1.2"',
  'optional-lib = { version = "1", optional = true }',
  'featured = { version = "2", feature = "featured" }',
  '',
].join('\n');

const CRATES = [
  crate('openssl-sys', '0.9.99', 'links = "openssl"\n'),
  crate('openssl-src', '300.3.1+3.3.1'),
  crate('demo-gui-sys', '0.1.0', `links = "gtk-3"\n${GUI_SYS_METADATA}`),
  crate('evil-sys', '0.1.0', '[package.metadata.system-deps]\n"x11" = { name = "x11) >= 1\\n%post\\necho pwned", version = "1" }\n'),
  crate('bindgen', '0.69.4'),
  crate('alsa-sys', '0.3.1', 'links = "alsa"\n'),
  crate('plain-lib', '1.0.0'),
  // A crate with a build script's dependency and a derive macro: only it is linked into the application.
  crate('uses-build', '1.0.0', '\n[build-dependencies]\ngen-helper = "1"\n\n[dependencies]\nderive-macro = "1"\n'),
  crate('gen-helper', '1.0.0'),
  crate('derive-macro', '1.0.0', '\n[lib]\nproc-macro = true\n\n[dependencies]\nmacro-support = "1"\n'),
  crate('macro-support', '1.0.0'),
  // Dependencies for some systems only: cargo locks them all.
  crate('cross-platform', '1.0.0', '\n[target."cfg(windows)".dependencies]\nwin-only = "1"\n\n[target."cfg(all(unix, not(target_os = \\"macos\\")))".dependencies]\nunix-only = "1"\n\n[target.x86_64-apple-darwin.dependencies]\nmac-only = "1"\n'),
  // -sys crates that build their bundled C sources when pkg-config finds nothing: libgit2-sys as
  // crates.io has it, zstd-sys and libz-sys as Debian ships them (sources stripped).
  crate('libgit2-sys', '0.14.1+1.5.0', 'links = "git2"\n', ['libgit2/src/libgit2/repository.c', 'libgit2/include/git2.h']),
  crate('zstd-sys', '2.0.9+zstd.1.5.5', 'links = "zstd"\n', ['zstd-README.txt']),
  crate('libz-sys', '1.1.8', 'links = "z"\n', ['src/smoke.c']),
  crate('win-only', '1.0.0'),
  crate('unix-only', '1.0.0'),
  crate('mac-only', '1.0.0'),
];

let registry: SparseRegistry;
const db = unrelatedRustsecAdvisoryDb(tempDir('package-sysreq-db'));

before(async () => {
  registry = await SparseRegistry.start(CRATES);
});

after(async () => {
  await registry.close();
});

/** An application with these [dependencies], [build-dependencies] and [dev-dependencies], locked by cargo. */
async function lockedApp(dependencies: string[], build: string[] = [], dev: string[] = [], extra = ''): Promise<string> {
  const dir = join(tempDir('package-sysreq-app'), 'sysdemo');
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, '.cargo'));
  const section = (title: string, deps: string[]): string => `[${title}]\n${deps.map((d) => `${d} = "*"`).join('\n')}\n`;
  writeFileSync(
    join(dir, 'Cargo.toml'),
    `[package]\nname = "sysdemo"\nversion = "1.0.0"\nedition = "2021"\nlicense = "MIT"\n\n${section('dependencies', dependencies)}${section('build-dependencies', build)}${section('dev-dependencies', dev)}${extra}`,
  );
  writeFileSync(join(dir, 'src', 'main.rs'), 'fn main() {}\n');
  writeFileSync(join(dir, '.cargo', 'config.toml'), registryConfigToml(registry.indexUrl));
  await runCargo(['generate-lockfile'], { cwd: dir, cargoHome: tempDir('package-sysreq-cargo-home') });
  return dir;
}

async function packageSpec(dir: string): Promise<{ status: number; stderr: string; spec: string | null; out: string }> {
  const out = join(tempDir('package-sysreq-out'), 'out');
  const result = await runCliAsync(['package', 'rpm', dir, '--db', db, '--no-fetch', '-o', out], {
    cacheDir: tempDir('package-sysreq-cache'),
    env: { SOURCE_DATE_EPOCH: '1700000000' },
  });
  const specPath = join(out, 'sysdemo.spec');
  return { status: result.status, stderr: result.stderr, spec: existsSync(specPath) ? readFileSync(specPath, 'utf8') : null, out };
}

const buildRequires = (spec: string): string[] =>
  spec
    .split('\n')
    .filter((l) => l.startsWith('BuildRequires:'))
    .map((l) => l.slice('BuildRequires:'.length).trim());

describe('package rpm declares what the vendored crates build against', () => {
  test("openssl-sys, a system-deps crate and bindgen: pkg-config modules and libclang, not a dev-dependency's", async () => {
    const dir = await lockedApp(['openssl-sys', 'demo-gui-sys'], ['bindgen'], ['alsa-sys']);
    const made = await packageSpec(dir);
    assert.equal(made.status, 0, made.stderr);
    const spec = made.spec as string;
    const requires = buildRequires(spec);
    // The toolchain first, then what the crates need, in order.
    assert.deepEqual(requires.slice(-4), ['clang-devel', 'pkgconfig(gtk+-3.0) >= 3.18', 'pkgconfig(openssl)', 'pkgconfig(plain) >= 1.2']);
    assert.ok(requires.includes('cargo') && requires.includes('rust'), requires.join(', '));
    // A module behind a feature or marked optional is not known to be built; alsa-sys is a dev-dependency.
    for (const absent of ['optional-lib', 'featured', 'alsa']) assert.ok(!spec.includes(`pkgconfig(${absent})`), absent);
    // Each says which crate needs it.
    assert.match(spec, /^# pkgconfig\(openssl\) for openssl-sys 0\.9\.99$/m);
    assert.match(spec, /^# clang-devel for bindgen 0\.69\.4$/m);
    // bindgen runs in the build script: built, not bundled.
    assert.ok(!spec.includes('bundled(crate(bindgen))'), spec);
    assert.match(spec, /^Provides: +bundled\(crate\(openssl-sys\)\) = 0\.9\.99$/m);
  });

  test("what only a crate's build script or a derive macro uses is built, not declared as bundled", async () => {
    const dir = await lockedApp(['uses-build']);
    const made = await packageSpec(dir);
    assert.equal(made.status, 0, made.stderr);
    const provides = (made.spec as string).split('\n').filter((l) => l.startsWith('Provides:')).map((l) => l.slice('Provides:'.length).trim());
    // Before, every locked crate was declared: the lockfile does not say which dependency is a build script's.
    assert.deepEqual(provides, ['bundled(crate(uses-build)) = 1.0.0']);
  });

  test('what a crate depends on for Windows or macOS only is not declared; what Linux builds is', async () => {
    const dir = await lockedApp(['cross-platform']);
    assert.match(readFileSync(join(dir, 'Cargo.lock'), 'utf8'), /name = "win-only"/);
    const made = await packageSpec(dir);
    assert.equal(made.status, 0, made.stderr);
    const provides = (made.spec as string).split('\n').filter((l) => l.startsWith('Provides:')).map((l) => l.slice('Provides:'.length).trim());
    assert.deepEqual(provides, ['bundled(crate(cross-platform)) = 1.0.0', 'bundled(crate(unix-only)) = 1.0.0']);
  });

  test("what the application itself depends on for Windows only is not declared, nor in the binaries' .dep-v0", async () => {
    const targets = '\n[target."cfg(windows)".dependencies]\nwin-only = "1"\n\n[target."cfg(unix)".dependencies]\nunix-only = "1"\n\n[target."cfg(windows)".build-dependencies]\nmac-only = "1"\n';
    const dir = await lockedApp(['plain-lib'], [], [], targets);
    assert.match(readFileSync(join(dir, 'Cargo.lock'), 'utf8'), /name = "win-only"/);
    const made = await packageSpec(dir);
    assert.equal(made.status, 0, made.stderr);
    const provides = (made.spec as string).split('\n').filter((l) => l.startsWith('Provides:')).map((l) => l.slice('Provides:'.length).trim());
    // Before, win-only and mac-only were declared bundled in a Linux RPM, and counted in its License.
    assert.deepEqual(provides, ['bundled(crate(plain-lib)) = 1.0.0', 'bundled(crate(unix-only)) = 1.0.0']);
    const depV0 = readFileSync(join(made.out, 'sysdemo-1.0.0.dep-v0'));
    const listed = inflateSync(depV0).toString('utf8');
    assert.ok(listed.includes('"unix-only"') && !listed.includes('"win-only"') && !listed.includes('"mac-only"'), listed);
  });

  test('openssl-sys with openssl-src locked builds its own OpenSSL: perl and make, no system OpenSSL', async () => {
    const dir = await lockedApp(['openssl-sys', 'openssl-src']);
    const made = await packageSpec(dir);
    assert.equal(made.status, 0, made.stderr);
    const requires = buildRequires(made.spec as string);
    assert.ok(!requires.includes('pkgconfig(openssl)'), requires.join(', '));
    for (const needed of ['/usr/bin/make', 'perl(FindBin)', 'perl(IPC::Cmd)']) assert.ok(requires.includes(needed), needed);
    assert.match(made.spec as string, /^# \/usr\/bin\/make for openssl-src 300\.3\.1\+3\.3\.1$/m);
    // The OpenSSL it compiles in is declared as such, for trackers that look for bundled(openssl), not for a crate.
    assert.match(made.spec as string, /^Provides: +bundled\(openssl\) = 3\.3\.1$/m);
  });

  test('a -sys crate without the C sources it would fall back to needs the system library, and bundles none', async () => {
    const dir = await lockedApp(['libgit2-sys', 'zstd-sys', 'libz-sys']);
    const made = await packageSpec(dir);
    assert.equal(made.status, 0, made.stderr);
    const spec = made.spec as string;
    const requires = buildRequires(spec);
    // Before: no BuildRequires at all, so a clean build root stopped in zstd-sys's and libz-sys's build scripts.
    assert.ok(requires.includes('pkgconfig(libzstd)') && requires.includes('pkgconfig(zlib)'), requires.join(', '));
    assert.match(spec, /^# pkgconfig\(libzstd\) for zstd-sys 2\.0\.9\+zstd\.1\.5\.5$/m);
    // libgit2-sys carries libgit2: it builds its own when the build root has none.
    assert.ok(!requires.includes('pkgconfig(libgit2)'), requires.join(', '));
    assert.match(spec, /^Provides: +bundled\(libgit2\) = 1\.5\.0$/m);
    // Before, the RPM claimed a zstd 1.5.5 compiled in, which the build never compiles.
    assert.ok(!/bundled\(zstd\)/.test(spec), spec);
  });

  test("a crate's system-deps metadata that is spec syntax is refused, and nothing is written", async () => {
    const dir = await lockedApp(['evil-sys']);
    const made = await packageSpec(dir);
    assert.equal(made.status, 2, made.stderr);
    const errors = made.stderr.split('\n').filter((l) => l.startsWith('stowage: ') && !l.startsWith('stowage: warning: '));
    assert.equal(errors.length, 1, made.stderr);
    assert.match(errors[0] as string, /cannot be written into an RPM spec: evil-sys 0\.1\.0: package\.metadata\.system-deps "x11\) >= 1\\n%post\\necho pwned"/);
    assert.equal(existsSync(made.out), false, 'nothing written');
  });

  test('an application whose crates need nothing of the system has no such section', async () => {
    const dir = await lockedApp(['plain-lib'], [], ['alsa-sys']);
    const made = await packageSpec(dir);
    assert.equal(made.status, 0, made.stderr);
    assert.ok(!(made.spec as string).includes("build scripts need from the build root"));
    assert.deepEqual(buildRequires(made.spec as string), ['binutils', 'cargo', 'rust', 'tar', 'zstd']);
  });
});
