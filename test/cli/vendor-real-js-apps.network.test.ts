/**
 * NETWORK TEST: vendors small applications locked by the real package managers (their
 * lockfiles are committed fixtures: test/fixtures/pnpm-app with pnpm 9's pnpm-lock.yaml 9.0,
 * the same app with pnpm 8's 6.0 lockfile from test/fixtures/pnpm-lock-v6, and
 * test/fixtures/yarn-berry-app with yarn 4's yarn.lock) from the public npm registry, then
 * proves that the package manager itself (pnpm 9, yarn 4) installs each from the archive alone:
 * the network cut, a new HOME, an empty global store or cache.
 *
 * pnpm and yarn come from STOWAGE_TEST_PACKAGE_MANAGERS (see .ci/run). Skipped when the
 * registry or the package managers are missing, except with CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readArchive } from '../../src/core/archive.js';
import type { ArchiveFile } from '../../src/core/untrusted-tar.js';
import { NPM_APP_OUTPUT, cleanEnv, offline, packageManager, whyNoRegistry } from '../support/npm-vendor.js';
import { PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';

const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures');
/** The fixtures' dependencies and their licences, as their registry pages state them. */
const LICENSES: Record<string, string> = {
  '@tootallnate/once': 'MIT',
  chalk: 'MIT',
  debug: 'MIT',
  'is-number': 'MIT',
  ms: 'MIT',
  semver: 'ISC',
};
/** Distinct packages each fixture locks: the six above and five they depend on. */
const PACKAGES = 11;

const noRegistry = await whyNoRegistry();
const mustRun = process.env.CI === 'true';
const pnpm = packageManager('pnpm');
const yarn = packageManager('yarn');
const scratch = tempDir('real-js-apps');
after(() => rmSync(scratch, { recursive: true, force: true }));

function skipUnless(tool: { path: string } | { missing: string }): string | false {
  const why = noRegistry ?? ('missing' in tool ? tool.missing : null);
  return why !== null && !mustRun ? `${why}: network test skipped` : false;
}

function toolPath(tool: { path: string } | { missing: string }): string {
  if (noRegistry !== null) assert.fail(`${noRegistry}, and CI=true: this network test must run`);
  if ('missing' in tool) assert.fail(`${tool.missing}, and CI=true: this network test must run`);
  return tool.path;
}

/** The application's source in `dir`, with `lockfile` in place of its own when given. */
function copyApp(fixture: string, dir: string, lockfile?: { name: string; from: string }): string {
  cpSync(join(FIXTURES, fixture), dir, { recursive: true });
  if (lockfile) cpSync(lockfile.from, join(dir, lockfile.name));
  return dir;
}

/** `stowage vendor` on a copy of the application: the archive's files. */
async function vendor(name: string, fixture: string, lockfile?: { name: string; from: string }): Promise<{ archive: string; files: ArchiveFile[]; src: string }> {
  const src = copyApp(fixture, join(scratch, `${name}-src`), lockfile);
  const archive = join(scratch, `${name}.tar.zst`);
  const run = await runCliAsync(['vendor', src, '--db', unrelatedNpmAdvisoryDb(join(scratch, `${name}-db`)), '-o', archive], {
    cacheDir: join(scratch, `${name}-cache`),
    env: cleanEnv({ NO_COLOR: '1' }),
  });
  assert.equal(run.status, 0, `stowage vendor failed:\n${run.stdout}${run.stderr}`);
  assert.match(run.stdout + run.stderr, new RegExp(`: ${PACKAGES} packages, \\d+ files`));
  const files = await readArchive(readFileSync(archive), archive);
  const sbom = JSON.parse(files.find((f) => f.path === 'stowage-sbom.cdx.json')?.data.toString('utf8') ?? '{}') as {
    components?: Array<{ name: string; group?: string; licenses?: Array<{ expression?: string }> }>;
  };
  for (const [pkg, license] of Object.entries(LICENSES)) {
    // The licence is read from the vendored files (the store's package.json, the zip's).
    const component = sbom.components?.find((c) => (c.group ? `${c.group}/${c.name}` : c.name) === pkg);
    assert.deepEqual(component?.licenses, [{ expression: license }], pkg);
  }
  return { archive, files, src };
}

/**
 * A fresh copy of the application, the archive extracted into it, installed with `install` by
 * the package manager with the network cut and a new, empty HOME; then run, and its tests.
 */
function installOffline(name: string, fixture: string, files: readonly ArchiveFile[], tool: string, install: string[], lockfile?: { name: string; from: string }): { app: string; home: string } {
  const app = copyApp(fixture, join(scratch, `${name}-app`), lockfile);
  for (const file of files) {
    mkdirSync(dirname(join(app, file.path)), { recursive: true });
    writeFileSync(join(app, file.path), file.data, { mode: file.mode });
  }
  const home = join(scratch, `${name}-home`);
  mkdirSync(home);
  const cut = offline([tool, ...install]);
  const env = cleanEnv({ HOME: home, XDG_CACHE_HOME: join(home, '.cache'), XDG_DATA_HOME: join(home, '.local', 'share'), ...cut.env });
  const [command, ...args] = cut.argv;
  const installed = spawnSync(command as string, args, { cwd: app, env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(installed.status, 0, `${cut.argv.join(' ')} (network cut with ${cut.how}) failed:\n${installed.stdout}${installed.stderr}`);
  const run = spawnSync(process.execPath, ['index.mjs'], { cwd: app, env, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), NPM_APP_OUTPUT);
  const tested = spawnSync(tool, ['test'], { cwd: app, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(tested.status, 0, `${tool} test failed:\n${tested.stdout}${tested.stderr}`);
  return { app, home };
}

/** Files under `dir`, recursively (none when it does not exist). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('pnpm applications vendored from the public registry install with pnpm 9, offline (network)', { skip: skipUnless(pnpm) }, () => {
  const lockfiles: Array<[string, { name: string; from: string } | undefined]> = [
    ['pnpm-lock.yaml 9.0', undefined],
    ['pnpm-lock.yaml 6.0', { name: 'pnpm-lock.yaml', from: join(FIXTURES, 'pnpm-lock-v6', 'pnpm-lock.yaml') }],
  ];
  for (const [label, lockfile] of lockfiles) {
    test(`${label}: pnpm install --offline --frozen-lockfile from the archive alone, with an empty store`, { timeout: 600_000 }, async () => {
      const tool = toolPath(pnpm);
      const name = `pnpm-${label.split(' ')[1]}`;
      const { archive, files, src } = await vendor(name, 'pnpm-app', lockfile);
      assert.match(files.find((f) => f.path === '.npmrc')?.data.toString('utf8') ?? '', /^store-dir=vendor\/pnpm-store$/m);
      const { app, home } = installOffline(name, 'pnpm-app', files, tool, ['install', '--offline', '--frozen-lockfile'], lockfile);
      assert.deepEqual(filesUnder(join(home, '.local', 'share', 'pnpm')), [], 'no store outside the application');
      assert.ok(existsSync(join(app, 'node_modules', '.pnpm', 'semver@7.8.6', 'node_modules', 'semver', 'bin', 'semver.js')));
      // vendor verify rebuilds the same archive from the lockfile.
      const verified = await runCliAsync(['vendor', 'verify', archive, src], { cacheDir: join(scratch, `${name}-cache`), env: cleanEnv({ NO_COLOR: '1' }) });
      assert.equal(verified.status, 0, `${verified.stdout}${verified.stderr}`);
    });
  }
});

describe('a yarn berry application vendored from the public registry installs with yarn 4, offline (network)', { skip: skipUnless(yarn) }, () => {
  test('yarn install --immutable from the archive alone, with an empty global cache; every zip is the one the lockfile names', { timeout: 600_000 }, async () => {
    const tool = toolPath(yarn);
    const { archive, files, src } = await vendor('berry', 'yarn-berry-app');
    // The lockfile's checksums, written by yarn 4 when the fixture was locked, are the sha512 of
    // the zips yarn itself made: each vendored zip must be that file, byte for byte.
    const lock = readFileSync(join(FIXTURES, 'yarn-berry-app', 'yarn.lock'), 'utf8');
    const checksums = [...lock.matchAll(/^ {2}checksum: 10c0\/([0-9a-f]{128})$/gm)].map((m) => m[1] as string).sort();
    const zips = files.filter((f) => f.path.startsWith('.yarn/cache/'));
    assert.equal(checksums.length, PACKAGES);
    assert.deepEqual(zips.map((f) => createHash('sha512').update(f.data).digest('hex')).sort(), checksums);
    // Named as yarn 4 names them in a project cache (ms: its locator hash, then its checksum's).
    assert.ok(zips.some((f) => f.path === '.yarn/cache/ms-npm-2.1.3-81ff3cfac1-d924b57e73.zip'), zips.map((f) => f.path).join(', '));
    const yarnrc = files.find((f) => f.path === '.yarnrc.yml')?.data.toString('utf8') ?? '';
    assert.match(yarnrc, /^nodeLinker: node-modules$/m, "the application's own settings are kept");
    assert.match(yarnrc, /^enableNetwork: false$/m);

    const { home } = installOffline('berry', 'yarn-berry-app', files, tool, ['install', '--immutable']);
    assert.deepEqual(filesUnder(join(home, '.yarn', 'berry', 'cache')), [], 'the global cache stays empty');
    const verified = await runCliAsync(['vendor', 'verify', archive, src], { cacheDir: join(scratch, 'berry-cache'), env: cleanEnv({ NO_COLOR: '1' }) });
    assert.equal(verified.status, 0, `${verified.stdout}${verified.stderr}`);
  });
});
