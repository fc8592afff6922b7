import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import { gzipBombTar, type TarEntry } from '../support/hostile-tar.js';
import { CARGO_CORPUS, PROJECT_ROOT, runCli, tempDir } from '../support/shared.js';

/**
 * `stowage sbom --vendor ARCHIVE` reads the packages' licences from the archive (each crate's
 * Cargo.toml, as its manifest lists them) and holds nothing else of it: a vendor tree that
 * inflates to far more than memory should hold costs no more than the files read.
 */

const cacheDir = tempDir('sbom-vendor-cache');
const LICENSES = ['MIT', 'Apache-2.0', 'MIT OR Apache-2.0', 'BSD-3-Clause', 'Unlicense OR MIT'];
const MiB = 1024 * 1024;

/** GNU time, which reports a command's peak resident memory; .ci/run installs it (Debian package `time`). */
const GNU_TIME = '/usr/bin/time';
function whyNoGnuTime(): string | false {
  if (existsSync(GNU_TIME)) return false;
  if (process.env.CI === 'true') throw new Error(`${GNU_TIME} is missing: .ci/run installs the Debian package "time"`);
  return `${GNU_TIME} not installed (Debian package "time")`;
}

function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

interface CycloneDx {
  components: { name: string; version: string; licenses?: { expression?: string }[] }[];
}

test('sbom --vendor: licences from the archive, the rest of a 768 MiB vendor tree never held', { skip: whyNoGnuTime() }, async () => {
  const app = tempDir('sbom-vendor-app');
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.lock'), join(app, 'Cargo.lock'));
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.toml'), join(app, 'Cargo.toml'));
  const lock = parse(readFileSync(join(app, 'Cargo.lock'), 'utf8')) as { package: { name: string; version: string; source?: string; checksum?: string }[] };
  const crates = lock.package.filter((p) => p.source !== undefined);
  assert.ok(crates.length > 20);
  const expected = new Map(crates.map((p, i) => [`${p.name}@${p.version}`, LICENSES[i % LICENSES.length] as string]));
  const packages = crates.map((p) => ({ ecosystem: 'cargo', name: p.name, version: p.version, source: p.source, checksum: p.checksum ?? null, path: `vendor/${p.name}-${p.version}` }));
  const manifest = { schemaVersion: 1, sourceDateEpoch: 315532800, lockfiles: [{ path: 'Cargo.lock', sha256: sha256Of(join(app, 'Cargo.lock')) }], packages, audit: {} };
  const entries: TarEntry[] = [{ header: { name: 'stowage-manifest.json', mode: 0o644 }, data: JSON.stringify(manifest) }];
  for (const p of packages) {
    entries.push({ header: { name: `${p.path}/Cargo.toml`, mode: 0o644 }, data: `[package]\nname = "${p.name}"\nversion = "${p.version}"\nlicense = "${expected.get(`${p.name}@${p.version}`)}"\n` });
  }
  // The sources: one file of zeros, 768 MiB inflated, in an archive of under a megabyte.
  const archive = join(tempDir('sbom-vendor-archive'), 'vendor.tar.gz');
  writeFileSync(archive, await gzipBombTar(entries, { name: `${packages[0]?.path}/src/data.rs`, size: 768 * MiB }));

  const out = join(app, 'sbom.cdx.json');
  const run = spawnSync(GNU_TIME, ['-f', 'peak-rss-kib=%M', process.execPath, join(PROJECT_ROOT, 'bin', 'stowage.cjs'), 'sbom', app, '--vendor', archive, '-o', out], {
    env: { ...process.env, NO_COLOR: '1', STOWAGE_CACHE_DIR: cacheDir },
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const sbom = JSON.parse(readFileSync(out, 'utf8')) as CycloneDx;
  const shown = new Map(sbom.components.map((c) => [`${c.name}@${c.version}`, c.licenses?.[0]?.expression]));
  for (const [key, license] of expected) assert.equal(shown.get(key), license, key);
  const peak = Number(/peak-rss-kib=(\d+)/.exec(run.stderr)?.[1]);
  // Holding the tree would take its 768 MiB; the lockfile, the manifest and the Cargo.toml files take a fraction.
  assert.ok(peak > 0 && peak * 1024 < 384 * MiB, `peak resident memory ${peak} KiB`);
});

test('sbom --vendor and audit of a vendor archive refuse links as vendor verify does, naming the entry', async () => {
  const app = tempDir('sbom-vendor-links');
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.lock'), join(app, 'Cargo.lock'));
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.toml'), join(app, 'Cargo.toml'));
  const manifest = { schemaVersion: 1, sourceDateEpoch: 315532800, lockfiles: [], packages: [], audit: {} };
  const archive = join(app, 'linked.tar.gz');
  writeFileSync(
    archive,
    await gzipBombTar(
      [
        { header: { name: 'sbom.json', mode: 0o644 }, data: '{}' },
        { header: { name: 'stowage-manifest.json', mode: 0o644 }, data: JSON.stringify(manifest) },
        { header: { name: 'stowage-sbom.cdx.json', type: 'link', linkname: 'sbom.json' } },
      ],
      { name: 'zeros', size: 1024 },
    ),
  );
  for (const args of [['sbom', app, '--vendor', archive, '-o', join(app, 'out.json')], ['audit', archive, '--db', join(app, 'nothing')]]) {
    const run = runCli(args, { cacheDir });
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /linked\.tar\.gz: entry "stowage-sbom\.cdx\.json": hard link to "sbom\.json": a vendored tree needs no links/);
  }
  assert.equal(existsSync(join(app, 'out.json')), false, 'nothing written');
});

test('sbom --vendor refuses an archive made for another lockfile: it would state the licences of other packages, or none', async () => {
  const app = tempDir('sbom-vendor-stale');
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.lock'), join(app, 'Cargo.lock'));
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.toml'), join(app, 'Cargo.toml'));
  const lock = parse(readFileSync(join(app, 'Cargo.lock'), 'utf8')) as { package: { name: string; version: string; source?: string; checksum?: string }[] };
  // The archive of an older lockfile: half the crates, one of them another build of its version.
  const crates = lock.package.filter((p) => p.source !== undefined).slice(0, 10);
  const packages = crates.map((p, i) => ({ ecosystem: 'cargo', name: p.name, version: p.version, source: p.source, checksum: i === 0 ? 'f'.repeat(64) : (p.checksum ?? null), path: `vendor/${p.name}-${p.version}` }));
  const entries = (lockfiles: unknown[]): TarEntry[] => [
    { header: { name: 'stowage-manifest.json', mode: 0o644 }, data: JSON.stringify({ schemaVersion: 1, sourceDateEpoch: 315532800, lockfiles, packages, audit: {} }) },
    ...packages.map((p) => ({ header: { name: `${p.path}/Cargo.toml`, mode: 0o644 }, data: `[package]\nname = "${p.name}"\nversion = "${p.version}"\nlicense = "MIT"\n` })),
  ];
  const cases: [unknown[], RegExp][] = [
    [[{ path: 'Cargo.lock', sha256: 'a'.repeat(64) }], new RegExp(`Cargo\\.lock: changed since the archive was made \\(sha256 ${sha256Of(join(app, 'Cargo.lock'))}, archive records a{64}\\)`)],
    [[{ path: 'other/Cargo.lock', sha256: sha256Of(join(app, 'Cargo.lock')) }], /Cargo\.lock: the archive was made without it/],
  ];
  for (const [i, [lockfiles, reason]] of cases.entries()) {
    const archive = join(app, `stale-${i}.tar.gz`);
    writeFileSync(archive, await gzipBombTar(entries(lockfiles), { name: 'zeros', size: 16 }));
    const out = join(app, 'sbom.cdx.json');
    const run = runCli(['sbom', app, '--vendor', archive, '-o', out], { cacheDir });
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`stale-${i}\\.tar\\.gz`));
    assert.match(run.stderr, /was not made for this application's lockfile/);
    assert.match(run.stderr, reason);
    assert.equal(existsSync(out), false, 'no SBOM written');
  }
});
