/**
 * `stowage vendor` of an application locked by pnpm (lockfiles 9.0 and 6.0), by yarn 4 (berry)
 * and by yarn 1 (classic), its packages served by the npm registry on 127.0.0.1
 * (test/support/npm-registry.ts), then the proof that the package manager itself (pnpm 9, yarn 4,
 * yarn 1) installs each from the archive alone: the network cut, a new HOME, an empty global
 * store or cache. The lockfiles are committed, made by pnpm and yarn against that registry; the
 * application's own `.npmrc`, `.yarnrc.yml` or `.yarnrc` names the registry, as a project using
 * a mirror has it (yarn 1's lockfile names it too, in every tarball URL).
 *
 * pnpm 9, yarn 4 and yarn 1 come from STOWAGE_TEST_PACKAGE_MANAGERS (see .ci/run). Skipped when
 * they are missing, except with CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readArchive } from '../../src/core/archive.js';
import type { ArchiveFile } from '../../src/core/untrusted-tar.js';
import { cleanEnv, offline, packageManager } from '../support/npm-vendor.js';
import {
  LOCAL_APP,
  LOCAL_APP_OUTPUT,
  LOCAL_APP_PNPM_LOCKFILE,
  LOCAL_APP_PNPM_V6_LOCKFILE,
  LOCAL_APP_YARN_BERRY_LOCKFILE,
  LOCAL_APP_YARN_V1_LOCKFILE,
  startLocalRegistry,
  type LocalRegistry,
} from '../support/npm-registry.js';
import { runCliAsync, tempDir } from '../support/shared.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';

/** Every package the application locks (its dependencies, a nested older fixture-ms, its development tool). */
const LOCKED = ['@fixture/color@1.0.0', 'fixture-debug@4.3.4', 'fixture-devtool@1.0.0', 'fixture-ms@1.0.0', 'fixture-ms@2.1.3', 'fixture-semver@7.5.4'];

const mustRun = process.env.CI === 'true';
const pnpm = packageManager('pnpm');
const yarnBerry = packageManager('yarn-berry');
const yarnClassic = packageManager('yarn-classic');
const scratch = tempDir('vendor-js-managers');
after(() => rmSync(scratch, { recursive: true, force: true }));

function skipUnless(tool: { path: string } | { missing: string }): string | false {
  return 'missing' in tool && !mustRun ? `${tool.missing}: skipped` : false;
}

function toolPath(tool: { path: string } | { missing: string }): string {
  if ('missing' in tool) assert.fail(`${tool.missing}, and CI=true: this test must run`);
  return tool.path;
}

/** A copy of the application with `lockfile` as its only lockfile and `settings` (`.npmrc`, `.yarnrc.yml` or `.yarnrc`) beside it. */
function copyApp(dir: string, lockfile: { name: string; text: string }, settings: { name: string; text: string }): string {
  cpSync(LOCAL_APP, dir, { recursive: true });
  rmSync(join(dir, 'package-lock.json'));
  writeFileSync(join(dir, lockfile.name), lockfile.text);
  writeFileSync(join(dir, settings.name), settings.text);
  return dir;
}

/** Files under `dir`, recursively (none when it does not exist). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('pnpm, yarn berry and yarn classic applications vendored from the local registry install offline with their own package manager', () => {
  let registry: LocalRegistry;
  /** Each fixture package's licence, as its own package.json states it: `name@version` → licence. */
  let licences: Map<string, string>;

  before(async () => {
    registry = await startLocalRegistry();
    licences = new Map(registry.packages.map((p) => [`${p.name}@${p.version}`, String(p.manifest.license)]));
  });
  after(() => registry.close());

  /** `stowage vendor` on the application: the archive, its files, and the tarballs the registry served. */
  async function vendor(name: string, src: string): Promise<{ archive: string; files: ArchiveFile[]; tarballs: string[] }> {
    const archive = join(scratch, `${name}.tar.zst`);
    const served = registry.requests.length;
    const run = await runCliAsync(['vendor', src, '--db', unrelatedNpmAdvisoryDb(join(scratch, `${name}-db`)), '-o', archive], {
      cacheDir: join(scratch, `${name}-cache`),
      env: cleanEnv({ NO_COLOR: '1' }),
    });
    assert.equal(run.status, 0, `stowage vendor failed:\n${run.stdout}${run.stderr}`);
    assert.match(run.stdout + run.stderr, new RegExp(`: ${LOCKED.length} packages, \\d+ files`));
    const files = await readArchive(readFileSync(archive), archive);
    const sbom = JSON.parse(files.find((f) => f.path === 'stowage-sbom.cdx.json')?.data.toString('utf8') ?? '{}') as {
      components?: Array<{ name: string; group?: string; version: string; licenses?: Array<{ expression?: string }> }>;
    };
    const components = (sbom.components ?? []).map((c) => `${c.group ? `${c.group}/` : ''}${c.name}@${c.version}`).sort();
    assert.deepEqual(components, LOCKED);
    for (const c of sbom.components ?? []) {
      // The licence is read from the vendored files; the fixture's package.json says what it is.
      const id = `${c.group ? `${c.group}/` : ''}${c.name}@${c.version}`;
      assert.deepEqual(c.licenses, [{ expression: licences.get(id) }], id);
    }
    const tarballs = registry.requests.slice(served).filter((p) => p.endsWith('.tgz'));
    return { archive, files, tarballs };
  }

  /**
   * A fresh copy of the application, the archive extracted into it, installed with `install` by
   * the package manager with the network cut and a new, empty HOME; then run, and its tests.
   */
  function installOffline(app: string, files: readonly ArchiveFile[], tool: string, install: string[]): { home: string } {
    for (const file of files) {
      mkdirSync(dirname(join(app, file.path)), { recursive: true });
      writeFileSync(join(app, file.path), file.data, { mode: file.mode });
    }
    const home = `${app}-home`;
    mkdirSync(home);
    const cut = offline([tool, ...install]);
    const env = cleanEnv({ HOME: home, XDG_CACHE_HOME: join(home, '.cache'), XDG_DATA_HOME: join(home, '.local', 'share'), ...cut.env });
    const [command, ...args] = cut.argv;
    const installed = spawnSync(command as string, args, { cwd: app, env, encoding: 'utf8', timeout: 300_000 });
    assert.equal(installed.status, 0, `${cut.argv.join(' ')} (network cut with ${cut.how}) failed:\n${installed.stdout}${installed.stderr}`);
    const run = spawnSync(process.execPath, ['index.mjs'], { cwd: app, env, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), LOCAL_APP_OUTPUT);
    // The application's tests need its development tool: installed too.
    const tested = spawnSync(tool, ['test'], { cwd: app, env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(tested.status, 0, `${tool} test failed:\n${tested.stdout}${tested.stderr}`);
    return { home };
  }

  for (const [label, from] of [
    ['pnpm-lock.yaml 9.0 (pnpm 9)', LOCAL_APP_PNPM_LOCKFILE],
    ['pnpm-lock.yaml 6.0 (pnpm 8)', LOCAL_APP_PNPM_V6_LOCKFILE],
  ] as const) {
    test(`${label}: pnpm install --offline --frozen-lockfile from the archive alone, with an empty store`, { skip: skipUnless(pnpm), timeout: 600_000 }, async () => {
      const tool = toolPath(pnpm);
      const name = `pnpm-${label.split(' ')[1] as string}`;
      const lockfile = { name: 'pnpm-lock.yaml', text: readFileSync(from, 'utf8') };
      const settings = { name: '.npmrc', text: registry.npmrc };
      const src = copyApp(join(scratch, `${name}-src`), lockfile, settings);
      const { archive, files, tarballs } = await vendor(name, src);
      // The lockfile names no tarball URL: each came from the registry the .npmrc configures.
      assert.equal(tarballs.length, LOCKED.length, tarballs.join(', '));
      const npmrc = files.find((f) => f.path === '.npmrc')?.data.toString('utf8') ?? '';
      assert.match(npmrc, /^store-dir=vendor\/pnpm-store$/m);
      assert.match(npmrc, /^offline=true$/m);

      const app = copyApp(join(scratch, `${name}-app`), lockfile, settings);
      const { home } = installOffline(app, files, tool, ['install', '--offline', '--frozen-lockfile']);
      assert.deepEqual(filesUnder(join(home, '.local', 'share', 'pnpm')), [], 'no store outside the application');
      assert.ok(existsSync(join(app, 'node_modules', '.pnpm', 'fixture-ms@1.0.0', 'node_modules', 'fixture-ms', 'index.js')), 'the older fixture-ms is installed for @fixture/color');
      assert.ok(existsSync(join(app, 'node_modules', '.bin', 'fixture-semver')), 'the bin link is made');
      // vendor verify rebuilds the same archive from the lockfile.
      const verified = await runCliAsync(['vendor', 'verify', archive, src], { cacheDir: join(scratch, `${name}-cache`), env: cleanEnv({ NO_COLOR: '1' }) });
      assert.equal(verified.status, 0, `${verified.stdout}${verified.stderr}`);
    });
  }

  test('yarn.lock (yarn 4): yarn install --immutable from the archive alone, with an empty global cache; every zip is the one the lockfile names', { skip: skipUnless(yarnBerry), timeout: 600_000 }, async () => {
    const tool = toolPath(yarnBerry);
    const lockfile = { name: 'yarn.lock', text: readFileSync(LOCAL_APP_YARN_BERRY_LOCKFILE, 'utf8') };
    const settings = { name: '.yarnrc.yml', text: registry.yarnrc };
    const src = copyApp(join(scratch, 'berry-src'), lockfile, settings);
    const { archive, files, tarballs } = await vendor('berry', src);
    assert.equal(tarballs.length, LOCKED.length, tarballs.join(', '));
    // The lockfile's checksums, written by yarn 4 when the application was locked, are the sha512
    // of the zips yarn itself made: each vendored zip must be that file, byte for byte.
    const lock = readFileSync(LOCAL_APP_YARN_BERRY_LOCKFILE, 'utf8');
    const checksums = [...lock.matchAll(/^ {2}checksum: 10c0\/([0-9a-f]{128})$/gm)].map((m) => m[1] as string).sort();
    const zips = files.filter((f) => f.path.startsWith('.yarn/cache/'));
    assert.equal(checksums.length, LOCKED.length);
    assert.deepEqual(zips.map((f) => createHash('sha512').update(f.data).digest('hex')).sort(), checksums);
    // Named as yarn 4.9.2 names them in a project cache (its locator hash, then its checksum's),
    // read from the cache yarn made when it installed this lockfile itself.
    assert.deepEqual(
      zips.map((f) => f.path),
      [
        '.yarn/cache/@fixture-color-npm-1.0.0-71c5f33051-9f753b45db.zip',
        '.yarn/cache/fixture-debug-npm-4.3.4-066bfda0b1-7f8fbd3e9e.zip',
        '.yarn/cache/fixture-devtool-npm-1.0.0-0a43fb3f35-5b0a0f8f78.zip',
        '.yarn/cache/fixture-ms-npm-1.0.0-008178168c-77fd356b3e.zip',
        '.yarn/cache/fixture-ms-npm-2.1.3-b5cbc4e966-5762c6a199.zip',
        '.yarn/cache/fixture-semver-npm-7.5.4-9d9b7196d7-222d7b1afe.zip',
      ],
    );
    const yarnrc = files.find((f) => f.path === '.yarnrc.yml')?.data.toString('utf8') ?? '';
    assert.match(yarnrc, /^nodeLinker: node-modules$/m, "the application's own settings are kept");
    assert.match(yarnrc, /^enableNetwork: false$/m);

    const app = copyApp(join(scratch, 'berry-app'), lockfile, settings);
    const { home } = installOffline(app, files, tool, ['install', '--immutable']);
    assert.deepEqual(filesUnder(join(home, '.yarn', 'berry', 'cache')), [], 'the global cache stays empty');
    assert.ok(existsSync(join(app, 'node_modules', '@fixture', 'color', 'node_modules', 'fixture-ms', 'index.js')), 'the older fixture-ms is installed for @fixture/color');
    const verified = await runCliAsync(['vendor', 'verify', archive, src], { cacheDir: join(scratch, 'berry-cache'), env: cleanEnv({ NO_COLOR: '1' }) });
    assert.equal(verified.status, 0, `${verified.stdout}${verified.stderr}`);
  });
  test('yarn.lock (yarn 1): yarn install from the offline mirror in the archive alone, with an empty cache; every tarball is the one the lockfile names', { skip: skipUnless(yarnClassic), timeout: 600_000 }, async () => {
    const tool = toolPath(yarnClassic);
    // yarn 1 records every tarball's URL: the committed lockfile's, moved to this run's registry.
    const lockfile = { name: 'yarn.lock', text: registry.lockfileFor(readFileSync(LOCAL_APP_YARN_V1_LOCKFILE, 'utf8')) };
    assert.ok(lockfile.text.includes(`  resolved "${registry.url}fixture-ms/-/fixture-ms-2.1.3.tgz#`), lockfile.text);
    const settings = { name: '.yarnrc', text: `registry "${registry.url}"\nnetwork-timeout 600000\n` };
    const src = copyApp(join(scratch, 'classic-src'), lockfile, settings);
    const { archive, files, tarballs } = await vendor('classic', src);
    // Each tarball was fetched from the URL the lockfile records, once.
    const recorded = [...lockfile.text.matchAll(/^ {2}resolved "([^"#]+)#[0-9a-f]{40}"$/gm)].map((m) => new URL(m[1] as string).pathname).sort();
    assert.equal(recorded.length, LOCKED.length);
    assert.deepEqual([...tarballs].sort(), recorded);
    // The lockfile's integrity, written by yarn 1 when the application was locked, is the sha512
    // of each mirrored tarball; the mirror's names are the ones yarn 1.22 gives them.
    const integrities = [...lockfile.text.matchAll(/^ {2}integrity (sha512-\S+)$/gm)].map((m) => m[1] as string).sort();
    const mirrored = files.filter((f) => f.path.startsWith('vendor/yarn-offline-mirror/'));
    assert.deepEqual(mirrored.map((f) => `sha512-${createHash('sha512').update(f.data).digest('base64')}`).sort(), integrities);
    assert.deepEqual(
      mirrored.map((f) => f.path),
      [
        'vendor/yarn-offline-mirror/@fixture-color-1.0.0.tgz',
        'vendor/yarn-offline-mirror/fixture-debug-4.3.4.tgz',
        'vendor/yarn-offline-mirror/fixture-devtool-1.0.0.tgz',
        'vendor/yarn-offline-mirror/fixture-ms-1.0.0.tgz',
        'vendor/yarn-offline-mirror/fixture-ms-2.1.3.tgz',
        'vendor/yarn-offline-mirror/fixture-semver-7.5.4.tgz',
      ],
    );
    const yarnrc = files.find((f) => f.path === '.yarnrc')?.data.toString('utf8') ?? '';
    assert.match(yarnrc, /^network-timeout 600000$/m, "the application's own settings are kept");
    assert.match(yarnrc, /^--install\.offline true$/m);

    const app = copyApp(join(scratch, 'classic-app'), lockfile, settings);
    installOffline(app, files, tool, ['install', '--non-interactive', '--no-progress']);
    assert.ok(existsSync(join(app, 'node_modules', '@fixture', 'color', 'node_modules', 'fixture-ms', 'index.js')), 'the older fixture-ms is installed for @fixture/color');
    assert.ok(existsSync(join(app, 'node_modules', '.bin', 'fixture-semver')), 'the bin link is made');
    const verified = await runCliAsync(['vendor', 'verify', archive, src], { cacheDir: join(scratch, 'classic-cache'), env: cleanEnv({ NO_COLOR: '1' }) });
    assert.equal(verified.status, 0, `${verified.stdout}${verified.stderr}`);
  });
});
