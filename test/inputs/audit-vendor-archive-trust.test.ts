/**
 * The audit of a vendor archive (`stowage audit ARCHIVE`, a source RPM carrying one, `fleet add
 * ARCHIVE`) reads the archive's SBOM; what cargo and the npm package managers build from is the
 * vendored code. Real archives are made here by `stowage vendor` (a Rust application locked
 * against a sparse registry on 127.0.0.1, and an npm application locked by npm, pnpm, yarn berry
 * and yarn 1 against an npm registry on 127.0.0.1), then tampered with as someone who can edit
 * the archive on its way would: a crate's Cargo.toml of another version, a crate the SBOM does not
 * list, an SBOM or a manifest that leaves a package out, a tarball, mirror file, zip or stored
 * package.json of another version. Each is refused in one line naming the archive and the first
 * disagreement; the archives as made audit as they always did.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { readArchive, writeArchive } from '../../src/core/archive.js';
import type { ArchiveFile } from '../../src/core/untrusted-tar.js';
import { buildSourceRpm } from '../../src/package/srpm.js';
import { auditReport } from '../support/audit-report.js';
import { FIXTURE_TIME, rustsecAdvisoryDb, unrelatedNpmAdvisoryDb, unrelatedRustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { packTar, type TarEntry } from '../support/hostile-tar.js';
import { cleanEnv } from '../support/npm-vendor.js';
import { LOCAL_APP, LOCAL_APP_PNPM_LOCKFILE, LOCAL_APP_YARN_BERRY_LOCKFILE, LOCAL_APP_YARN_V1_LOCKFILE, startLocalRegistry } from '../support/npm-registry.js';
import { createRustApp, rustAppCrates } from '../support/rust-app.js';
import { SparseRegistry } from '../support/sparse-registry.js';
import { runCliAsync, tempDir } from '../support/shared.js';
import { rewrite, rewriteText, tamperedArchive as tamperedCopy } from '../support/tampered-archive.js';

const scratch = tempDir('vendor-trust');
const cacheDir = join(scratch, 'cache');
/** What the Rust application's helpers make outside the scratch directory. */
const outside: string[] = [];
after(() => {
  for (const dir of [scratch, ...outside]) rmSync(dir, { recursive: true, force: true });
});

type Layout = 'cargo' | 'npm' | 'pnpm' | 'yarn berry' | 'yarn 1';
const archives = new Map<Layout, string>();
/** A tampered copy of an archive, in this file's scratch directory. */
const tamperedArchive = (archive: string, edit: (files: ArchiveFile[]) => ArchiveFile[]): Promise<string> => tamperedCopy(archive, edit, scratch);
/** The Rust application's directory: `package rpm` makes its SRPM. */
let rustApp: string;

/** Databases with one made-up advisory each, against a package every archive vendors. */
const RUST_DB = rustsecAdvisoryDb(join(scratch, 'rustsec'), [{ id: 'RUSTSEC-2099-0001', package: 'itoa', patched: ['>= 1.0.0'] }]);
const NPM_DB = join(scratch, 'osv');
mkdirSync(NPM_DB, { recursive: true });
writeFileSync(
  join(NPM_DB, 'GHSA-0000-0000-0201.json'),
  JSON.stringify({
    schema_version: '1.3.0',
    id: 'GHSA-0000-0000-0201',
    modified: FIXTURE_TIME,
    published: FIXTURE_TIME,
    summary: 'fixture-ms before 2.0.0 is made up to be vulnerable',
    details: 'Made up.',
    affected: [{ package: { ecosystem: 'npm', name: 'fixture-ms' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }] }],
  }),
);
const dbOf = (layout: Layout): string => (layout === 'cargo' ? RUST_DB : NPM_DB);

before(async () => {
  // Vendored against databases that find nothing: the vendor gate lets them through.
  const crates = await SparseRegistry.start(rustAppCrates());
  try {
    const app = await createRustApp(crates.indexUrl);
    outside.push(dirname(app.dir), app.cargoHome, dirname(app.git.dir));
    rustApp = app.dir;
    const out = join(scratch, 'cargo.tar.zst');
    const run = await runCliAsync(['vendor', app.dir, '--db', unrelatedRustsecAdvisoryDb(join(scratch, 'rustsec-unrelated')), '-o', out], { cacheDir });
    assert.equal(run.status, 0, run.stderr);
    archives.set('cargo', out);
  } finally {
    await crates.close();
  }
  const registry = await startLocalRegistry();
  try {
    const layouts: [Layout, string | null, string, string][] = [
      ['npm', null, 'package-lock.json', '.npmrc'],
      ['pnpm', LOCAL_APP_PNPM_LOCKFILE, 'pnpm-lock.yaml', '.npmrc'],
      ['yarn berry', LOCAL_APP_YARN_BERRY_LOCKFILE, 'yarn.lock', '.yarnrc.yml'],
      ['yarn 1', LOCAL_APP_YARN_V1_LOCKFILE, 'yarn.lock', '.yarnrc'],
    ];
    for (const [layout, lockfile, lockName, settingsName] of layouts) {
      const name = layout.replace(' ', '-');
      const dir = join(scratch, `${name}-app`);
      cpSync(LOCAL_APP, dir, { recursive: true });
      const committed = lockfile ?? join(LOCAL_APP, 'package-lock.json');
      if (lockfile !== null) rmSync(join(dir, 'package-lock.json'));
      writeFileSync(join(dir, lockName), registry.lockfileFor(readFileSync(committed, 'utf8')));
      const settings = settingsName === '.npmrc' ? registry.npmrc : settingsName === '.yarnrc.yml' ? registry.yarnrc : `registry "${registry.url}"\n`;
      writeFileSync(join(dir, settingsName), settings);
      const out = join(scratch, `${name}.tar.zst`);
      const run = await runCliAsync(['vendor', dir, '--db', unrelatedNpmAdvisoryDb(join(scratch, 'osv-unrelated')), '-o', out], { cacheDir, env: cleanEnv({ NO_COLOR: '1' }) });
      assert.equal(run.status, 0, run.stderr);
      archives.set(layout, out);
    }
  } finally {
    await registry.close();
  }
});

function archiveOf(layout: Layout): string {
  const archive = archives.get(layout);
  assert.ok(archive !== undefined, `no ${layout} archive`);
  return archive;
}

function audit(path: string, db: string, format: 'human' | 'json' = 'human'): Promise<{ status: number; stdout: string; stderr: string }> {
  return runCliAsync(['audit', path, '--db', db, '--no-fetch', '--format', format], { cacheDir });
}

/** The archive's manifest: which path holds which package. */
function manifestOf(files: readonly ArchiveFile[]): { packages: { ecosystem: string; name: string; version: string; path: string }[] } {
  const manifest = files.find((f) => f.path === 'stowage-manifest.json');
  assert.ok(manifest !== undefined);
  return JSON.parse(manifest.data.toString('utf8')) as { packages: { ecosystem: string; name: string; version: string; path: string }[] };
}

function pathOf(files: readonly ArchiveFile[], name: string, version: string): string {
  const pkg = manifestOf(files).packages.find((p) => p.name === name && p.version === version);
  assert.ok(pkg !== undefined, `the manifest lists no ${name} ${version}`);
  return pkg.path;
}

/** Where fixture-ms 1.0.0's bytes lie (the version the made-up advisory is about). */
const vulnerable = (files: readonly ArchiveFile[]): Buffer => (files.find((f) => f.path === pathOf(files, 'fixture-ms', '1.0.0')) as ArchiveFile).data;

/** The files with fixture-ms 2.1.3's file holding fixture-ms 1.0.0: the SBOM and the manifest still say 2.1.3. */
const swapped = (files: ArchiveFile[]): ArchiveFile[] => rewrite(files, pathOf(files, 'fixture-ms', '2.1.3'), () => vulnerable(files));

/** An npm tarball of its own (not one the registry serves) of `name@version`. */
function npmTarball(name: string, version: string): Promise<Buffer> {
  return writeArchive(
    [
      { path: 'package/package.json', mode: 0o644, data: Buffer.from(JSON.stringify({ name, version, main: 'index.js' })) },
      { path: 'package/index.js', mode: 0o644, data: Buffer.from('module.exports = () => 0;\n') },
    ],
    { compression: 'gz', mtime: 0 },
  );
}

/** Asserts an audit refused the archive: exit 2, one line, this message after the archive's name. */
async function assertRefused(path: string, layout: Layout, message: string): Promise<void> {
  const run = await audit(path, dbOf(layout));
  assert.equal(run.status, 2, `${run.stdout}${run.stderr}`);
  assert.equal(run.stdout, '', 'no report of what was not checked');
  assert.deepEqual(run.stderr.trim().split('\n'), [`stowage: ${path}: ${message}`]);
}

describe('archives as stowage vendor made them audit as before', () => {
  for (const layout of ['cargo', 'npm', 'pnpm', 'yarn berry', 'yarn 1'] as const) {
    test(layout, async () => {
      const run = await audit(archiveOf(layout), dbOf(layout), 'json');
      assert.equal(run.status, 1, run.stderr);
      const report = auditReport(run.stdout);
      assert.deepEqual(report.targets.map((t) => [t.inventory, t.packages]), [['vendor archive', layout === 'cargo' ? 10 : 7]]);
      const found = report.findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.version}`);
      assert.deepEqual(found, layout === 'cargo' ? ['RUSTSEC-2099-0001 itoa 0.4.8'] : ['GHSA-0000-0000-0201 fixture-ms 1.0.0']);
    });
  }
});

describe('a tampered Cargo archive is refused', () => {
  test("a crate's Cargo.toml of another version than the SBOM and the manifest say", async () => {
    const tampered = await tamperedArchive(archiveOf('cargo'), (files) => rewriteText(files, 'vendor/itoa/Cargo.toml', 'version = "1.0.1"', 'version = "0.4.7"'));
    await assertRefused(tampered, 'cargo', 'vendor/itoa/Cargo.toml is itoa 0.4.7, the SBOM says 1.0.1');
  });

  test('a crate directory the SBOM does not list (cargo offers every vendor/*/Cargo.toml)', async () => {
    const extra: ArchiveFile = { path: 'vendor/zz-extra/Cargo.toml', mode: 0o644, data: Buffer.from('[package]\nname = "smallvec"\nversion = "0.6.9"\n') };
    const tampered = await tamperedArchive(archiveOf('cargo'), (files) => [...files, extra]);
    await assertRefused(tampered, 'cargo', 'vendor/zz-extra/Cargo.toml is smallvec 0.6.9, which the SBOM does not list');
  });

  test('an SBOM that leaves out a vendored crate', async () => {
    const tampered = await tamperedArchive(archiveOf('cargo'), (files) =>
      rewrite(files, 'stowage-sbom.cdx.json', (data) => {
        const sbom = JSON.parse(data.toString('utf8')) as { components: { name: string }[]; dependencies: { ref: string; dependsOn: string[] }[] };
        sbom.components = sbom.components.filter((c) => c.name !== 'hex');
        sbom.dependencies = sbom.dependencies.filter((d) => !d.ref.includes('/hex@')).map((d) => ({ ...d, dependsOn: d.dependsOn.filter((r) => !r.includes('/hex@')) }));
        return Buffer.from(JSON.stringify(sbom));
      }),
    );
    await assertRefused(tampered, 'cargo', 'stowage-manifest.json lists hex 0.4.3 (vendor/hex), which the SBOM does not');
  });

  test('an SBOM listing a crate the manifest does not', async () => {
    const tampered = await tamperedArchive(archiveOf('cargo'), (files) =>
      rewrite(files, 'stowage-manifest.json', (data) => {
        const manifest = JSON.parse(data.toString('utf8')) as { packages: { name: string }[] };
        manifest.packages = manifest.packages.filter((p) => p.name !== 'hex');
        return Buffer.from(JSON.stringify(manifest));
      }),
    );
    await assertRefused(tampered, 'cargo', 'the SBOM lists hex 0.4.3, which stowage-manifest.json does not list and no vendored package bundles');
  });

  test('a manifest that moves a crate to another directory: the directory name is not what cargo reads', async () => {
    const tampered = await tamperedArchive(archiveOf('cargo'), (files) =>
      rewriteText(files, 'stowage-manifest.json', '"path": "vendor/itoa-0.4.8"', '"path": "vendor/itoa"'),
    );
    // Both itoa entries now name vendor/itoa, which holds 1.0.1; the 0.4.8 one is the first to disagree.
    await assertRefused(tampered, 'cargo', 'vendor/itoa/Cargo.toml is itoa 1.0.1, the SBOM says 0.4.8');
  });

  test('a source RPM whose vendor archive was replaced (rebuilt from the spec stowage wrote)', async () => {
    const out = join(scratch, 'rpm');
    const made = await runCliAsync(['package', 'rpm', rustApp, '--db', unrelatedRustsecAdvisoryDb(join(scratch, 'rustsec-unrelated')), '--no-fetch', '-o', out, '--srpm', '--license', 'stowage-demo=MIT'], { cacheDir });
    assert.equal(made.status, 0, made.stderr);
    const vendorArchive = join(out, 'stowage-demo-0.1.0-vendor.tar.zst');
    const srpm = join(out, 'stowage-demo-0.1.0-1.src.rpm');
    const genuine = await audit(srpm, RUST_DB);
    assert.equal(genuine.status, 1, genuine.stderr);

    const tampered = await tamperedArchive(vendorArchive, (files) => rewriteText(files, 'vendor/itoa/Cargo.toml', 'version = "1.0.1"', 'version = "0.4.7"'));
    // The spec stowage wrote and its sources, the vendor archive replaced, packed again by rpmbuild.
    const spec = readdirSync(out).find((f) => f.endsWith('.spec')) as string;
    const sources = execFileSync('sed', ['-n', 's/^Source[0-9]*: *//p', join(out, spec)], { encoding: 'utf8' }).trim().split('\n');
    const rebuilt = await buildSourceRpm(
      { name: spec, text: readFileSync(join(out, spec), 'utf8') },
      sources.map((name) => ({ name, data: readFileSync(name === 'stowage-demo-0.1.0-vendor.tar.zst' ? tampered : join(out, name)) })),
      join(scratch, 'rpmbuild'),
    );
    const tamperedSrpm = join(scratch, rebuilt.fileName);
    writeFileSync(tamperedSrpm, rebuilt.data);
    const run = await audit(tamperedSrpm, RUST_DB);
    assert.equal(run.status, 2, run.stdout + run.stderr);
    assert.deepEqual(run.stderr.trim().split('\n'), [`stowage: ${tamperedSrpm}:stowage-demo-0.1.0-vendor.tar.zst: vendor/itoa/Cargo.toml is itoa 0.4.7, the SBOM says 1.0.1`]);
  });

  test('fleet add refuses it, naming the application, and adds the others', async () => {
    const store = join(scratch, 'fleet.sqlite');
    const fleet = (...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> => runCliAsync(['fleet', ...args, '--store', store, '--no-fetch'], { cacheDir });
    assert.equal((await fleet('init', '--db', RUST_DB)).status, 0);
    const tampered = await tamperedArchive(archiveOf('cargo'), (files) => rewriteText(files, 'vendor/itoa/Cargo.toml', 'version = "1.0.1"', 'version = "0.4.7"'));
    const named = join(scratch, 'demo.tar.zst');
    writeFileSync(named, readFileSync(tampered));
    const run = await fleet('add', named, archiveOf('cargo'));
    assert.equal(run.status, 2, run.stdout + run.stderr);
    assert.deepEqual(run.stderr.trim().split('\n'), [`stowage: ${named}: vendor/itoa/Cargo.toml is itoa 0.4.7, the SBOM says 1.0.1`, 'stowage: 1 of 2 applications not added: demo']);
    assert.match(run.stdout, /^summary: 1 added, 0 changed, 0 unchanged, 1 not added$/m);
  });
});

describe('a tampered npm-family archive is refused', () => {
  test("npm's cache: a tarball of another version at the path the manifest lists", async () => {
    const files = await readArchive(readFileSync(archiveOf('npm')), 'npm');
    const tampered = await tamperedArchive(archiveOf('npm'), swapped);
    await assertRefused(tampered, 'npm', `${pathOf(files, 'fixture-ms', '2.1.3')} is fixture-ms@1.0.0, the SBOM says 2.1.3`);
  });

  test("npm's cache: a tarball the manifest does not list (npm finds one by the lockfile's integrity)", async () => {
    const tarball = await npmTarball('fixture-ms', '0.1.0');
    const hex = createHash('sha512').update(tarball).digest('hex');
    const path = `vendor/npm-cache/_cacache/content-v2/sha512/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex.slice(4)}`;
    const tampered = await tamperedArchive(archiveOf('npm'), (files) => [...files, { path, mode: 0o644, data: tarball }]);
    await assertRefused(tampered, 'npm', `${path} is fixture-ms@0.1.0, which the SBOM does not list`);
  });

  test("yarn 1's mirror: a file of another version, and a file the manifest does not list", async () => {
    const swappedArchive = await tamperedArchive(archiveOf('yarn 1'), swapped);
    await assertRefused(swappedArchive, 'yarn 1', 'vendor/yarn-offline-mirror/fixture-ms-2.1.3.tgz is fixture-ms@1.0.0, the SBOM says 2.1.3');
    const tarball = await npmTarball('fixture-ms', '0.1.0');
    const extra = await tamperedArchive(archiveOf('yarn 1'), (files) => [...files, { path: 'vendor/yarn-offline-mirror/fixture-ms-0.1.0.tgz', mode: 0o644, data: tarball }]);
    await assertRefused(extra, 'yarn 1', 'vendor/yarn-offline-mirror/fixture-ms-0.1.0.tgz is fixture-ms@0.1.0, which the SBOM does not list');
  });

  test("yarn berry's cache: a zip of another version", async () => {
    const files = await readArchive(readFileSync(archiveOf('yarn berry')), 'berry');
    const tampered = await tamperedArchive(archiveOf('yarn berry'), swapped);
    await assertRefused(tampered, 'yarn berry', `${pathOf(files, 'fixture-ms', '2.1.3')} is fixture-ms@1.0.0, the SBOM says 2.1.3`);
  });

  test("pnpm's store: a stored package.json rewritten (pnpm trusts a stored file checked after its mtime)", async () => {
    let stored = '';
    const tampered = await tamperedArchive(archiveOf('pnpm'), (files) => {
      const index = JSON.parse((files.find((f) => f.path === pathOf(files, 'fixture-ms', '2.1.3')) as ArchiveFile).data.toString('utf8')) as { files: Record<string, { integrity: string }> };
      const hex = Buffer.from((index.files['package.json'] as { integrity: string }).integrity.replace(/^sha512-/, ''), 'base64').toString('hex');
      stored = `vendor/pnpm-store/v3/files/${hex.slice(0, 2)}/${hex.slice(2)}`;
      return rewriteText(files, stored, '"version": "2.1.3"', '"version": "1.0.0"');
    });
    const run = await audit(tampered, NPM_DB);
    assert.equal(run.status, 2, run.stdout + run.stderr);
    assert.match(run.stderr, new RegExp(`^stowage: ${tampered.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${stored} does not hash to its name \\(sha512 [0-9a-f]{16}…\\): the pnpm store was altered\n$`));
  });
});

describe('a hostile archive is refused in one line, naming what is wrong', () => {
  test('two Cargo.toml for one crate directory (tar holds a path twice; which one cargo reads depends on the unpacker)', async () => {
    const files = await readArchive(readFileSync(archiveOf('cargo')), 'cargo');
    const entries: TarEntry[] = files.map((f) => ({ header: { name: f.path, mode: f.mode }, data: f.data }));
    entries.push({ header: { name: 'vendor/itoa/Cargo.toml', mode: 0o644 }, data: '[package]\nname = "itoa"\nversion = "0.4.7"\n' });
    const path = join(scratch, 'twice.tar.gz');
    writeFileSync(path, gzipSync(await packTar(entries)));
    await assertRefused(path, 'cargo', 'entry "vendor/itoa/Cargo.toml": the archive holds "vendor/itoa/Cargo.toml" twice (also as entry "vendor/itoa/Cargo.toml")');
  });

  test('a crate directory whose Cargo.toml names no package', async () => {
    const tampered = await tamperedArchive(archiveOf('cargo'), (files) => rewriteText(files, 'vendor/hex/Cargo.toml', 'name = "hex"', 'title = "hex"'));
    await assertRefused(tampered, 'cargo', 'vendor/hex/Cargo.toml: package.name is not a string');
  });

  test('a yarn zip whose package.json inflates past the cap (a zip bomb) is refused before it is inflated', async () => {
    const files = await readArchive(readFileSync(archiveOf('yarn berry')), 'berry');
    const zipPath = pathOf(files, 'fixture-ms', '2.1.3');
    const bomb = join(scratch, 'bomb.zip');
    // Python's zipfile: 48 MiB of spaces in package.json, deflated to about 48 KB.
    execFileSync('python3', ['-c', 'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:\n  z.writestr("node_modules/fixture-ms/package.json", b"{" + b" " * (48 << 20) + b"}")', bomb]);
    const tampered = await tamperedArchive(archiveOf('yarn berry'), (all) => rewrite(all, zipPath, () => readFileSync(bomb)));
    await assertRefused(tampered, 'yarn berry', `${zipPath}: entry node_modules/fixture-ms/package.json is ${(48 << 20) + 2} bytes, over the 33554432-byte limit`);
  });

  test('an archive without its manifest: what it vendors cannot be told', async () => {
    const tampered = await tamperedArchive(archiveOf('npm'), (files) => files.filter((f) => f.path !== 'stowage-manifest.json'));
    await assertRefused(tampered, 'npm', 'no stowage-manifest.json: not a stowage vendor archive, so what it vendors cannot be checked against its SBOM');
  });
});

test("npm's bundled dependencies: the SBOM lists them (a package-lock's inBundle entries), the tarball holds them, the archive audits", async () => {
  // A registry package bundling fixture-inner 3.0.0 in its tarball (node_modules/ packed with it).
  const fixtures = join(scratch, 'bundling-fixtures');
  const bundler = join(fixtures, 'fixture-bundler-1.0.0');
  mkdirSync(join(bundler, 'node_modules', 'fixture-inner'), { recursive: true });
  writeFileSync(join(bundler, 'package.json'), JSON.stringify({ name: 'fixture-bundler', version: '1.0.0', main: 'index.js', bundleDependencies: ['fixture-inner'], dependencies: { 'fixture-inner': '3.0.0' }, license: 'MIT' }));
  writeFileSync(join(bundler, 'index.js'), "module.exports = require('fixture-inner');\n");
  writeFileSync(join(bundler, 'node_modules', 'fixture-inner', 'package.json'), JSON.stringify({ name: 'fixture-inner', version: '3.0.0', main: 'index.js', license: 'MIT' }));
  writeFileSync(join(bundler, 'node_modules', 'fixture-inner', 'index.js'), 'module.exports = 3;\n');
  const registry = await startLocalRegistry(fixtures);
  try {
    const packed = registry.packages[0];
    assert.ok(packed !== undefined);
    const app = join(scratch, 'bundling-app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'bundling-app', version: '1.0.0', dependencies: { 'fixture-bundler': '1.0.0' } }));
    writeFileSync(join(app, '.npmrc'), registry.npmrc);
    // As npm 11 locks it: the bundled package is an inBundle entry under its bundler.
    const lock = {
      name: 'bundling-app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'bundling-app', version: '1.0.0', dependencies: { 'fixture-bundler': '1.0.0' } },
        'node_modules/fixture-bundler': { version: '1.0.0', resolved: `${registry.url}fixture-bundler/-/fixture-bundler-1.0.0.tgz`, integrity: packed.integrity, bundleDependencies: ['fixture-inner'], dependencies: { 'fixture-inner': '3.0.0' }, license: 'MIT' },
        'node_modules/fixture-bundler/node_modules/fixture-inner': { version: '3.0.0', inBundle: true, license: 'MIT' },
      },
    };
    writeFileSync(join(app, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
    const archive = join(scratch, 'bundling.tar.zst');
    const vendored = await runCliAsync(['vendor', app, '--db', unrelatedNpmAdvisoryDb(join(scratch, 'osv-unrelated')), '-o', archive], { cacheDir, env: cleanEnv({ NO_COLOR: '1' }) });
    assert.equal(vendored.status, 0, vendored.stderr);
    const run = await audit(archive, NPM_DB, 'json');
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(auditReport(run.stdout).targets.map((t) => [t.inventory, t.packages]), [['vendor archive', 3]]);
  } finally {
    await registry.close();
  }
});
