import assert from 'node:assert/strict';
import { copyFileSync, cpSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import type { DependencyGraph } from '../../src/core/graph.js';
import { vendorCargo } from '../../src/vendoring/cargo.js';
import { findLockfiles, readDependencyGraph } from '../../src/inputs/lockfiles.js';
import { ContentCache } from '../../src/vendoring/content-cache.js';
import { Downloader } from '../../src/vendoring/download.js';
import type { VendorResult } from '../../src/vendoring/vendor-tree.js';
import type { ArchiveFile } from '../../src/core/untrusted-tar.js';
import { copyAppSources, createRustApp, registryConfigToml, runCargo, rustAppCrates, type RustApp } from '../support/rust-app.js';
import { commitFiles, initRepository } from '../support/git-repository.js';
import { sha256Of, tempDir, writeFiles } from '../support/shared.js';
import { type PublishedCrate, SparseRegistry, tarGz } from '../support/sparse-registry.js';

/*
 * The proof: a real Rust application, locked by cargo against a sparse registry on 127.0.0.1
 * and a local git repository, vendored by stowage; the result compared file by file with what
 * `cargo vendor` itself writes, then built and tested by cargo offline from it alone.
 */

let crates: PublishedCrate[];
let registry: SparseRegistry;
let app: RustApp;
let graph: DependencyGraph;
const cacheRoot = tempDir('cargo-vendor-cache');
const warnings: string[] = [];
let first: VendorResult;
let firstDownloads: number;

function downloader(root = cacheRoot): Downloader {
  return new Downloader({ cache: new ContentCache(root), backoffMs: 5, concurrency: 4 });
}

function vendor(projectDir: string, d: Downloader): Promise<VendorResult> {
  return vendorCargo(graph, { projectDir, downloader: d, warn: (m) => warnings.push(m), env: {} });
}

/** A directory whose `.cargo/config.toml` points crates-io at `reg` (the graph stays the app's). */
function projectFor(reg: SparseRegistry): string {
  const dir = tempDir('cargo-project');
  mkdirSync(join(dir, '.cargo'));
  writeFileSync(join(dir, '.cargo', 'config.toml'), registryConfigToml(reg.indexUrl));
  return dir;
}

/** Every regular file under `dir`, relative, with its executable bit. */
function readTree(dir: string, prefix = ''): Map<string, { data: Buffer; executable: boolean }> {
  const out = new Map<string, { data: Buffer; executable: boolean }>();
  for (const name of readdirSync(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = lstatSync(join(dir, rel));
    if (st.isDirectory()) for (const [k, v] of readTree(dir, rel)) out.set(k, v);
    else out.set(rel, { data: readFileSync(join(dir, rel)), executable: (st.mode & 0o100) !== 0 });
  }
  return out;
}

before(async () => {
  crates = rustAppCrates();
  registry = await SparseRegistry.start(crates);
  app = await createRustApp(registry.indexUrl);
  const [location] = findLockfiles(app.dir);
  assert.ok(location);
  graph = await readDependencyGraph(location);
  // Vendored once here; the tests that read it pass run alone.
  first = await vendor(app.dir, downloader());
  firstDownloads = registry.crateDownloads.length;
});

after(async () => {
  await registry.close();
  // The application's copy holds cargo's build of it; the rest is small.
  rmSync(dirname(app.dir), { recursive: true, force: true });
  rmSync(app.cargoHome, { recursive: true, force: true });
});

test('vendor/ and .cargo/config.toml are what `cargo vendor` writes, byte for byte', async () => {
  assert.equal(firstDownloads, crates.length, 'each .crate fetched once');
  const ours = new Map(first.files.map((f) => [f.path, f]));

  const cargo = await runCargo(['vendor', '--respect-source-config', '--locked', 'vendor'], { cwd: app.dir, cargoHome: app.cargoHome });
  const theirs = readTree(join(app.dir, 'vendor'));

  // The configuration cargo prints for the vendored sources, exactly.
  assert.equal(ours.get('.cargo/config.toml')?.data.toString('utf8'), cargo.stdout);
  assert.match(cargo.stdout, /\[source\."git\+file:\/\/.*\?branch=main"\]\ngit = "file:\/\/.*"\nbranch = "main"\n/);

  const ourVendor = [...ours.keys()].filter((p) => p.startsWith('vendor/')).map((p) => p.slice('vendor/'.length));
  assert.deepEqual(ourVendor.sort(), [...theirs.keys()].sort(), 'the same files');

  // cargo ≥ 1.8x rewrites a git crate's Cargo.toml into its normalized form (as `cargo
  // package` does); stowage keeps the repository's own manifest. Everything else is equal.
  const gitCrates = new Set(first.packages.filter((p) => p.checksum === null).map((p) => p.path.slice('vendor/'.length)));
  assert.deepEqual([...gitCrates].sort(), ['greeting', 'shouty']);
  for (const [path, file] of theirs) {
    const mine = ours.get(`vendor/${path}`) as ArchiveFile;
    const crate = path.slice(0, path.indexOf('/'));
    const rel = path.slice(crate.length + 1);
    assert.equal(mine.mode === 0o755, file.executable, `${path}: executable bit`);
    if (gitCrates.has(crate) && rel === 'Cargo.toml') {
      assert.deepEqual(mine.data, readFileSync(join(app.git.dir, crate, 'Cargo.toml')), `${path}: the repository's manifest`);
    } else if (gitCrates.has(crate) && rel === '.cargo-checksum.json') {
      const a = JSON.parse(mine.data.toString('utf8')) as { files: Record<string, string>; package: null };
      const b = JSON.parse(file.data.toString('utf8')) as { files: Record<string, string>; package: null };
      assert.equal(a.package, null);
      assert.equal(b.package, null);
      assert.deepEqual(Object.keys(a.files), Object.keys(b.files), `${path}: same files`);
      for (const key of Object.keys(b.files)) if (key !== 'Cargo.toml') assert.equal(a.files[key], b.files[key], `${path}: ${key}`);
    } else {
      assert.ok(mine.data.equals(file.data), `${path}: bytes differ from cargo vendor's`);
    }
  }

  // What a reader of the tree checks: both itoa versions, the highest unsuffixed; git's files
  // and cargo's unpack marker left out; modes kept.
  assert.ok(ours.has('vendor/itoa/.cargo-checksum.json') && ours.has('vendor/itoa-0.4.8/.cargo-checksum.json'));
  assert.equal(ours.get('vendor/fnv/ci/run.sh')?.mode, 0o755);
  assert.equal(ours.get('vendor/shouty/run.sh')?.mode, 0o755);
  assert.ok(!ours.has('vendor/fnv/src/.gitignore') && !ours.has('vendor/fnv/docs/.cargo-ok'));
  assert.ok(ours.has('vendor/fnv/src/debug.log') && ours.has('vendor/fnv/Cargo.toml.orig'));
  const itoa = JSON.parse((ours.get('vendor/itoa/.cargo-checksum.json') as ArchiveFile).data.toString('utf8')) as { package: string };
  assert.equal(itoa.package, registry.crate('itoa', '1.0.1').cksum);

  assert.deepEqual(
    first.packages.map((p) => `${p.name} ${p.version} ${p.path}`),
    [
      'cfg-if 1.0.0 vendor/cfg-if',
      'either 1.6.1 vendor/either',
      'fnv 1.0.7 vendor/fnv',
      'greeting 0.3.0 vendor/greeting',
      'hex 0.4.3 vendor/hex',
      'itertools 0.10.3 vendor/itertools',
      'itoa 0.4.8 vendor/itoa-0.4.8',
      'itoa 1.0.1 vendor/itoa',
      'shouty 0.2.1 vendor/shouty',
    ],
  );
  assert.ok(first.packages.find((p) => p.name === 'shouty')?.source.endsWith(`#${app.git.rev}`));
  assert.deepEqual(warnings, []);
});

test('a second run downloads no .crate and produces the same files', async () => {
  const before = registry.crateDownloads.length;
  const second = await vendor(app.dir, downloader());
  assert.equal(registry.crateDownloads.length, before, 'no .crate requested again');
  assert.deepEqual(
    second.files.map((f) => [f.path, f.mode, f.data.toString('base64')]),
    first.files.map((f) => [f.path, f.mode, f.data.toString('base64')]),
  );
});

test('the vendored application builds and passes its tests offline, from vendor/ alone', async () => {
  // A fresh copy of the sources, the lockfile and stowage's files: no registry, no git repo,
  // an empty CARGO_HOME.
  const dir = copyAppSources(app.git);
  copyFileSync(app.lockfile, join(dir, 'Cargo.lock'));
  writeFiles(dir, first.files);
  await registry.close();
  const hidden = `${app.git.dir}.hidden`;
  renameSync(app.git.dir, hidden);
  try {
    const cargoHome = join(dirname(dir), 'cargo-home');
    mkdirSync(cargoHome);
    await runCargo(['build', '--offline', '--frozen'], { cwd: dir, cargoHome });
    const tested = await runCargo(['test', '--offline', '--frozen'], { cwd: dir, cargoHome });
    assert.match(tested.stdout, /test tests::summary_counts_sorts_and_greets \.\.\. ok/);
    const run = await runCargo(['run', '--offline', '--frozen', '--quiet'], { cwd: dir, cargoHome });
    assert.match(run.stdout, /HELLO, STOWAGE! brown=1\/1,dog=1\/1,fox=1\/1.*the=2\/2/);
    assert.deepEqual(readdirSync(cargoHome).filter((n) => n === 'registry' || n === 'git'), [], 'nothing was fetched into CARGO_HOME');
  } finally {
    renameSync(hidden, app.git.dir);
    rmSync(dirname(dir), { recursive: true, force: true });
  }
});

test('a tampered .crate is refused, naming the crate and both checksums', async () => {
  const reg = await SparseRegistry.start(crates);
  try {
    const real = reg.crate('itertools', '0.10.3');
    const evil = Buffer.from(crates.find((c) => c.name === 'either')?.bytes ?? Buffer.alloc(0));
    reg.tamper('itertools', '0.10.3', evil);
    const actual = sha256Of(evil);
    await assert.rejects(
      vendor(projectFor(reg), downloader(tempDir('cache-tamper'))),
      (err: unknown) =>
        err instanceof StowageError &&
        err.message.startsWith('itertools 0.10.3: checksum mismatch') &&
        err.message.includes(`expected sha256:${real.cksum}`) &&
        err.message.includes(`got sha256:${actual}`),
    );
  } finally {
    await reg.close();
  }
});

test('a lockfile checksum that differs from the index cksum is refused before that crate is downloaded', async () => {
  const reg = await SparseRegistry.start(crates);
  try {
    const forged = 'f'.repeat(64);
    reg.overrideIndexCksum('hex', '0.4.3', forged);
    const locked = reg.crate('hex', '0.4.3').cksum;
    await assert.rejects(
      vendor(projectFor(reg), downloader(tempDir('cache-forged'))),
      (err: unknown) =>
        err instanceof StowageError &&
        err.message.startsWith('hex 0.4.3: the Cargo.lock checksum') &&
        err.message.includes(locked) &&
        err.message.includes(forged),
    );
    // Other crates may be fetched (and verified against their own checksums) meanwhile; the
    // one whose published checksum disagrees with the lockfile is never downloaded.
    assert.deepEqual(reg.crateDownloads.filter((r) => r.path.includes('/hex/')), [], 'hex not downloaded');
  } finally {
    await reg.close();
  }
});

test('server errors are retried; a 404 is a clear error', async () => {
  const reg = await SparseRegistry.start(crates);
  try {
    const download = SparseRegistry.downloadPath('either', '1.6.1');
    reg.failNext(download, 500, 2);
    reg.failNext('/index/ei/th/either', 502, 1);
    const result = await vendor(projectFor(reg), downloader(tempDir('cache-retry')));
    assert.ok(result.files.some((f) => f.path === 'vendor/either/src/lib.rs'));
    assert.deepEqual(reg.requests.filter((r) => r.path === download).map((r) => r.status), [500, 500, 200]);
    assert.deepEqual(reg.requests.filter((r) => r.path === '/index/ei/th/either').map((r) => r.status), [502, 200]);

    reg.failNext(SparseRegistry.downloadPath('fnv', '1.0.7'), 404, 1);
    await assert.rejects(
      vendor(projectFor(reg), downloader(tempDir('cache-404'))),
      (err: unknown) => err instanceof StowageError && /^fnv 1\.0\.7: cannot download http:\/\/127\.0\.0\.1:\d+\/api\/v1\/crates\/fnv\/1\.0\.7\/download: HTTP 404/.test(err.message),
    );
  } finally {
    await reg.close();
  }
});

test('a git crate that inherits from its workspace is refused with the key it inherits', async () => {
  const repo = join(tempDir('git-inherit'), 'repo');
  cpSync(app.git.dir, repo, { recursive: true, filter: (src) => !src.endsWith('/.git') });
  writeFileSync(join(repo, 'Cargo.toml'), '[workspace]\nmembers = ["greeting", "shouty"]\n[workspace.package]\nversion = "0.2.1"\n');
  writeFileSync(join(repo, 'shouty', 'Cargo.toml'), '[package]\nname = "shouty"\nversion.workspace = true\nedition = "2021"\n');
  initRepository(repo);
  const rev = commitFiles(repo, {}, 'inherit');
  const url = pathToFileURL(repo).href;
  const shouty = graph.packages.find((p) => p.name === 'shouty');
  assert.ok(shouty);
  const only: DependencyGraph = { ...graph, packages: [{ ...shouty, source: { ...shouty.source, url: `${url}?branch=main`, rev } }], edges: [] };
  await assert.rejects(
    vendorCargo(only, { projectDir: app.dir, downloader: downloader(), warn: () => undefined, env: {} }),
    (err: unknown) => err instanceof StowageError && /^shouty 0\.2\.1 \(git file:.*\): shouty\/Cargo\.toml inherits `package\.version` from its workspace/.test(err.message),
  );
});

/** Vendors one crate, `sneaky 1.0.0`, published by a local registry with these entries. */
async function vendorSneaky(entries: readonly { path: string; data: string }[]): Promise<VendorResult> {
  const bytes = tarGz(entries.map((e) => ({ path: e.path, data: Buffer.from(e.data), mode: 0o644 })));
  const cksum = sha256Of(bytes);
  const sneaky: PublishedCrate = {
    name: 'sneaky',
    version: '1.0.0',
    bytes,
    cksum,
    entry: { name: 'sneaky', vers: '1.0.0', deps: [], cksum, features: {}, yanked: false, links: null, v: 1 },
  };
  const reg = await SparseRegistry.start([sneaky]);
  try {
    const template = graph.packages.find((p) => p.name === 'itoa');
    assert.ok(template);
    const only: DependencyGraph = { ...graph, packages: [{ ...template, id: 'sneaky', name: 'sneaky', version: '1.0.0', checksum: cksum }], edges: [] };
    return await vendorCargo(only, { projectDir: projectFor(reg), downloader: downloader(tempDir('cache-sneaky')), warn: () => undefined, env: {} });
  } finally {
    await reg.close();
  }
}

const SNEAKY_TOML = '[package]\nname = "sneaky"\nversion = "1.0.0"\n';

test('a .crate with a file outside its name-version/ directory is refused, though its checksum matches', async () => {
  // cargo 1.95 refuses each: "invalid tarball downloaded, contains a file at ... which isn't under "sneaky-1.0.0"".
  const outside: Array<[string, RegExp]> = [
    ['itoa-1.0.1/src/lib.rs', /^sneaky 1\.0\.0 \(\.crate\): entry "itoa-1\.0\.1\/src\/lib\.rs": not under "sneaky-1\.0\.0\/", the archive's own directory; refusing to unpack it$/],
    ['./sneaky-1.0.0/src/lib.rs', /^sneaky 1\.0\.0 \(\.crate\): entry "\.\/sneaky-1\.0\.0\/src\/lib\.rs": not under "sneaky-1\.0\.0\/".*a leading "\.\/" is outside it/],
    ['sneaky-1.0.0.orig/src/lib.rs', /entry "sneaky-1\.0\.0\.orig\/src\/lib\.rs": not under "sneaky-1\.0\.0\/"/],
  ];
  for (const [path, reason] of outside) {
    await assert.rejects(
      vendorSneaky([{ path: 'sneaky-1.0.0/Cargo.toml', data: SNEAKY_TOML }, { path, data: '// would land outside the crate\n' }]),
      (err: unknown) => err instanceof StowageError && reason.test(err.line),
      path,
    );
  }
});

test('a .crate whose Cargo.toml is another crate or version than the lockfile locks is refused, though its checksum matches', async () => {
  // cargo 1.95 builds none of them from the registry ("failed to find sneaky v1.0.0 (registry
  // `local-sparse`) in path source"), nor from a vendored directory, which offers the crate its
  // Cargo.toml says; stowage vendored each into an archive `cargo build --offline --frozen` refused.
  const others: Array<[string, RegExp]> = [
    ['[package]\nname = "sneaky"\nversion = "0.9.0"\n', /^sneaky 1\.0\.0 \(\.crate\): sneaky-1\.0\.0\/Cargo\.toml is sneaky 0\.9\.0, not the crate the lockfile locks; cargo refuses to build it$/],
    ['[package]\nname = "itoa"\nversion = "1.0.0"\n', /: sneaky-1\.0\.0\/Cargo\.toml is itoa 1\.0\.0, not the crate the lockfile locks/],
    ['[package]\nname = "Sneaky"\nversion = "1.0.0"\n', /: sneaky-1\.0\.0\/Cargo\.toml is Sneaky 1\.0\.0, not the crate/],
    // No version: cargo reads 0.0.0.
    ['[package]\nname = "sneaky"\n', /: sneaky-1\.0\.0\/Cargo\.toml is sneaky 0\.0\.0, not the crate/],
    ['[project]\nname = "sneaky"\nversion = "1.0.1"\n', /: sneaky-1\.0\.0\/Cargo\.toml is sneaky 1\.0\.1, not the crate/],
  ];
  for (const [manifest, reason] of others) {
    await assert.rejects(
      vendorSneaky([{ path: 'sneaky-1.0.0/Cargo.toml', data: manifest }, { path: 'sneaky-1.0.0/src/lib.rs', data: '// old code\n' }]),
      (err: unknown) => err instanceof StowageError && reason.test(err.line),
      manifest,
    );
  }
});

test('a .crate holding a file twice is vendored as cargo unpacks it: the last entry wins, in the files and their checksums', async () => {
  // cargo 1.95 unpacks `sneaky-1.0.0/./src/lib.rs` over `sneaky-1.0.0/src/lib.rs`, and the
  // second Cargo.toml over the first.
  const result = await vendorSneaky([
    { path: 'sneaky-1.0.0/Cargo.toml', data: `${SNEAKY_TOML}license = "MIT"\n` },
    { path: 'sneaky-1.0.0/src/lib.rs', data: '// first\n' },
    { path: 'sneaky-1.0.0/./src/lib.rs', data: '// last\n' },
    { path: 'sneaky-1.0.0//Cargo.toml', data: `${SNEAKY_TOML}license = "GPL-3.0-only"\n` },
  ]);
  const files = new Map(result.files.map((f) => [f.path, f.data.toString()]));
  assert.equal(files.get('vendor/sneaky/src/lib.rs'), '// last\n');
  assert.match(files.get('vendor/sneaky/Cargo.toml') ?? '', /GPL-3\.0-only/);
  const checksums = JSON.parse(files.get('vendor/sneaky/.cargo-checksum.json') ?? '{}') as { files: Record<string, string> };
  assert.deepEqual(Object.keys(checksums.files).sort(), ['Cargo.toml', 'src/lib.rs']);
  assert.equal(checksums.files['src/lib.rs'], sha256Of('// last\n'));
});
