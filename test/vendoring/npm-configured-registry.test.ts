/**
 * pnpm's and yarn berry's lockfiles name no registry for a package from the configured one: the
 * application's `.npmrc` (pnpm) or `.yarnrc.yml` (yarn) says where it comes from, per scope
 * too, and vendoring downloads it from there, as the package manager would. Two registries on
 * 127.0.0.1 (test/support/npm-registry.ts) serve the same fixture packages: which one each
 * tarball was asked of is what these tests read.
 */
import assert from 'node:assert/strict';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import { DEAD, vendorDir } from '../support/npm-vendor.js';
import { LOCAL_APP, LOCAL_APP_PNPM_LOCKFILE, LOCAL_APP_YARN_BERRY_LOCKFILE, startLocalRegistry, type LocalRegistry } from '../support/npm-registry.js';
import { tempDir } from '../support/shared.js';

const scratch = tempDir('configured-registry');
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Every tarball the application locks, as its registry serves them: the scoped one, then the others. */
const SCOPED = ['/@fixture/color/-/color-1.0.0.tgz'];
const UNSCOPED = [
  '/fixture-debug/-/fixture-debug-4.3.4.tgz',
  '/fixture-devtool/-/fixture-devtool-1.0.0.tgz',
  '/fixture-ms/-/fixture-ms-1.0.0.tgz',
  '/fixture-ms/-/fixture-ms-2.1.3.tgz',
  '/fixture-semver/-/fixture-semver-7.5.4.tgz',
];

/** A copy of the application locked by `lockfile`, with `settings` written as `settingsName`. */
function app(name: string, lockfileName: string, lockfile: string, settingsName: string, settings: string): string {
  const dir = join(scratch, name);
  cpSync(LOCAL_APP, dir, { recursive: true });
  rmSync(join(dir, 'package-lock.json'));
  cpSync(lockfile, join(dir, lockfileName));
  writeFileSync(join(dir, settingsName), settings);
  return dir;
}

describe('pnpm and yarn berry packages come from the registry the application configures', () => {
  let main: LocalRegistry;
  let scoped: LocalRegistry;

  before(async () => {
    [main, scoped] = await Promise.all([startLocalRegistry(), startLocalRegistry()]);
  });
  after(() => Promise.all([main.close(), scoped.close()]));

  function tarballsServed(): { main: string[]; scoped: string[] } {
    const tgz = (r: LocalRegistry): string[] => r.requests.filter((p) => p.endsWith('.tgz')).sort();
    const served = { main: tgz(main), scoped: tgz(scoped) };
    main.requests.length = 0;
    scoped.requests.length = 0;
    return served;
  }

  test("pnpm: `registry=` and `@scope:registry=` in the application's .npmrc", async () => {
    const dir = app('pnpm', 'pnpm-lock.yaml', LOCAL_APP_PNPM_LOCKFILE, '.npmrc', `registry=${main.url}\n@fixture:registry=${scoped.url}\n`);
    const { result } = await vendorDir(dir, join(scratch, 'pnpm-cache'));
    assert.deepEqual(tarballsServed(), { main: UNSCOPED, scoped: SCOPED });
    assert.equal(result.packages.find((p) => p.name === '@fixture/color')?.source, `${scoped.url}@fixture/color/-/color-1.0.0.tgz`);
  });

  test("yarn berry: `npmRegistryServer` and `npmScopes.<scope>.npmRegistryServer` in the application's .yarnrc.yml, ${VAR} expanded", async () => {
    const yarnrc = [
      'nodeLinker: node-modules',
      'npmRegistryServer: "${STOWAGE_TEST_MAIN_REGISTRY}"',
      'npmScopes:',
      '  fixture:',
      `    npmRegistryServer: "${scoped.url.replace(/\/$/, '')}"`,
      '',
    ].join('\n');
    const dir = app('berry', 'yarn.lock', LOCAL_APP_YARN_BERRY_LOCKFILE, '.yarnrc.yml', yarnrc);
    const { result } = await vendorDir(dir, join(scratch, 'berry-cache'), { STOWAGE_TEST_MAIN_REGISTRY: main.url });
    assert.deepEqual(tarballsServed(), { main: UNSCOPED, scoped: SCOPED });
    assert.equal(result.packages.find((p) => p.name === 'fixture-ms' && p.version === '2.1.3')?.source, `${main.url}fixture-ms/-/fixture-ms-2.1.3.tgz`);
  });

  test('yarn berry: a registry that is not an http(s) URL, or names a variable that is not set, is refused naming the file; nothing is downloaded', async () => {
    for (const [name, setting, message] of [
      ['berry-ftp', 'npmRegistryServer: "ftp://registry.example/"', 'npmRegistryServer must be an http(s) URL, found "ftp://registry.example/"'],
      ['berry-unset', 'npmRegistryServer: "${STOWAGE_TEST_UNSET_REGISTRY}"', 'npmRegistryServer: ${STOWAGE_TEST_UNSET_REGISTRY} is not set in the environment'],
      ['berry-scope', `npmRegistryServer: "${DEAD}"\nnpmScopes:\n  fixture:\n    npmRegistryServer: "not a url"`, 'npmScopes.fixture.npmRegistryServer is not a URL: "not a url"'],
    ] as const) {
      const dir = app(name, 'yarn.lock', LOCAL_APP_YARN_BERRY_LOCKFILE, '.yarnrc.yml', `${setting}\n`);
      await assert.rejects(
        vendorDir(dir, join(scratch, `${name}-cache`)),
        (err: unknown) => err instanceof StowageError && err.line === `${join(dir, '.yarnrc.yml')}: ${message}`,
        name,
      );
    }
    assert.deepEqual(tarballsServed(), { main: [], scoped: [] });
  });
});
