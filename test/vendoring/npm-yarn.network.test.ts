import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { YARN_MIRROR_DIR } from '../../src/vendoring/npm-yarn.js';
import type { VendorResult } from '../../src/vendoring/vendor-tree.js';
import { DEAD, NPM_APP, NPM_APP_OUTPUT, cleanEnv, installFromRegistry, vendorDir, whyNoRegistry } from '../support/npm-vendor.js';
import { sha256Of, tempDir, writeFiles } from '../support/shared.js';

/*
 * yarn classic's offline mirror, proven with yarn itself: yarn 1 is installed from the public
 * npm registry (no copy of it is on the machine), so this test needs the network. It fails,
 * rather than skips, under CI=true.
 */

const APP = NPM_APP;
const EXPECTED_OUTPUT = NPM_APP_OUTPUT;
/** The yarn classic release the end-to-end test installs with (from the npm registry). */
const YARN_VERSION = '1.22.22';

const scratch = tempDir('yarn-vendor-network');
after(() => rmSync(scratch, { recursive: true, force: true }));

function appWith(parent: string, name: string, lockfile: string, yarnrc?: string): string {
  const dir = join(parent, name);
  cpSync(APP, dir, { recursive: true });
  writeFileSync(join(dir, 'yarn.lock'), lockfile);
  if (yarnrc !== undefined) writeFileSync(join(dir, '.yarnrc'), yarnrc);
  return dir;
}

const noRegistry = await whyNoRegistry();
const mustRun = process.env.CI === 'true';

describe('yarn v1 vendoring against the real registry (network)', { skip: noRegistry !== null && !mustRun ? `${noRegistry}: network test skipped` : false }, () => {
  let work: string;
  let yarn: string;
  let lockfile: string;

  const runYarn = (args: string[], cwd: string, env: NodeJS.ProcessEnv): { status: number; output: string } => {
    const r = spawnSync(process.execPath, [yarn, ...args], { cwd, env, encoding: 'utf8', timeout: 300_000 });
    return { status: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}` };
  };

  before(() => {
    if (noRegistry !== null) assert.fail(`${noRegistry}, and CI=true: this network test must run`);
    work = join(scratch, 'registry');
    mkdirSync(work, { recursive: true });
    // yarn classic itself, from the npm registry, and a lockfile made by it.
    const tools = join(work, 'tools');
    installFromRegistry(tools, `yarn@${YARN_VERSION}`, join(work, 'npm-home'));
    yarn = join(tools, 'node_modules', 'yarn', 'bin', 'yarn.js');
    const gen = join(work, 'gen');
    cpSync(APP, gen, { recursive: true });
    const made = runYarn(['install', '--ignore-scripts', '--non-interactive', '--no-progress'], gen, cleanEnv({ HOME: join(work, 'gen-home'), YARN_CACHE_FOLDER: join(work, 'gen-cache') }));
    assert.equal(made.status, 0, made.output);
    lockfile = readFileSync(join(gen, 'yarn.lock'), 'utf8');
    assert.match(lockfile, /^# yarn lockfile v1$/m);
  });

  /**
   * A fresh copy of the application (source, yarn.lock, vendored files), installed by plain
   * `yarn install` with an empty yarn cache, a new HOME and every request sent to a dead proxy.
   */
  function installOfflineAndRun(name: string, lock: string, result: VendorResult, yarnrc?: string): string {
    const dir = appWith(work, name, lock, yarnrc);
    writeFiles(dir, result.files);
    const cache = join(work, `${name}-cache`);
    const env = cleanEnv({ HOME: join(work, `${name}-home`), YARN_CACHE_FOLDER: cache, HTTP_PROXY: DEAD, HTTPS_PROXY: DEAD, http_proxy: DEAD, https_proxy: DEAD });
    const install = runYarn(['install', '--non-interactive', '--no-progress'], dir, env);
    assert.equal(install.status, 0, `yarn install failed:\n${install.output}`);
    assert.ok(existsSync(join(dir, 'node_modules', '.bin', 'semver')), 'bin links are made (semver has one)');
    const run = spawnSync(process.execPath, ['index.mjs'], { cwd: dir, encoding: 'utf8', env });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout.trim();
  }

  test('a yarn v1 app installs offline with plain `yarn install` from the vendored mirror', async () => {
    const yarnrc = 'network-timeout 600000\n';
    const { result, warnings } = await vendorDir(appWith(work, 'src', lockfile, yarnrc), join(work, 'downloads'));
    assert.deepEqual(warnings, []);
    const names = result.packages.map((p) => p.name);
    for (const name of ['ms', 'debug', 'chalk', 'semver', 'is-number', 'ansi-styles', 'supports-color']) assert.ok(names.includes(name), name);
    assert.ok(result.packages.every((p) => p.checksum?.startsWith('sha512-') && p.path.startsWith(`${YARN_MIRROR_DIR}/`)));
    assert.ok(result.packages.every((p) => p.source.startsWith('https://registry.npmjs.org/')), 'yarnpkg.com URLs are fetched from the npm registry');
    assert.match(result.files.find((f) => f.path === '.yarnrc')?.data.toString() ?? '', /^network-timeout 600000$/m);
    assert.equal(installOfflineAndRun('install', lockfile, result, yarnrc), EXPECTED_OUTPUT);
  });

  test('a missing mirror file makes the offline install fail, not fetch', async () => {
    const { result } = await vendorDir(appWith(work, 'partial-src', lockfile), join(work, 'downloads'));
    const dropped = { ...result, files: result.files.filter((f) => !f.path.endsWith('/ms-2.1.3.tgz')) };
    assert.notEqual(dropped.files.length, result.files.length);
    assert.throws(() => installOfflineAndRun('partial', lockfile, dropped), /Can't make a request in offline mode/);
  });

  test("an old lockfile with only the sha1 in the URL is verified by it and installs", async () => {
    const sha1Only = lockfile.replace(/^ {2}integrity .*\n/gm, '');
    assert.notEqual(sha1Only, lockfile);
    const { result } = await vendorDir(appWith(work, 'sha1-src', sha1Only), join(work, 'downloads-sha1'));
    assert.ok(result.packages.every((p) => p.checksum?.startsWith('sha1-')));
    assert.equal(installOfflineAndRun('sha1-install', sha1Only, result), EXPECTED_OUTPUT);
  });

  test('the vendored files are byte-identical across runs', async () => {
    const first = await vendorDir(appWith(work, 'same-a', lockfile), join(work, 'same-a-cache'));
    const second = await vendorDir(appWith(work, 'same-b', lockfile), join(work, 'same-b-cache'));
    const digest = (r: VendorResult): string[] => r.files.map((f) => `${f.path} ${f.mode} ${sha256Of(f.data)}`);
    assert.deepEqual(digest(second.result), digest(first.result));
    assert.deepEqual(second.result.packages, first.result.packages);
  });
});
