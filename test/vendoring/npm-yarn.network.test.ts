import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { YARN_MIRROR_DIR } from '../../src/inputs/vendor-layout.js';
import { NPM_APP, NPM_APP_OUTPUT, cleanEnv, offline, packageManager, vendorDir, whyNoRegistry } from '../support/npm-vendor.js';
import { tempDir, writeFiles } from '../support/shared.js';

/*
 * NETWORK TEST: what only the public registry can show for yarn classic. yarn 1 locks against
 * its default registry, registry.yarnpkg.com, and writes those URLs into yarn.lock; stowage
 * fetches them from registry.npmjs.org (which yarnpkg.com serves) and the mirror it makes
 * installs offline. Every other yarn 1 proof runs against the registry on 127.0.0.1:
 * npm-yarn.test.ts, test/cli/vendor-js-managers.test.ts, test/cli/package-js-managers.test.ts.
 *
 * yarn 1 comes from STOWAGE_TEST_PACKAGE_MANAGERS (see .ci/run). Skipped without it or the
 * registry, except with CI=true, where that is a failure.
 */

const scratch = tempDir('yarn-vendor-network');
after(() => rmSync(scratch, { recursive: true, force: true }));

const yarn = packageManager('yarn-classic');
const why = (await whyNoRegistry()) ?? ('missing' in yarn ? yarn.missing : null);
const mustRun = process.env.CI === 'true';

describe('yarn v1 vendoring against the public registry (network)', { skip: why !== null && !mustRun ? `${why}: network test skipped` : false }, () => {
  test('a lockfile yarn 1 wrote against registry.yarnpkg.com is vendored from registry.npmjs.org and installs offline', { timeout: 900_000 }, async () => {
    if (why !== null || 'missing' in yarn) assert.fail(`${why ?? ''}, and CI=true: this network test must run`);
    const src = join(scratch, 'src');
    cpSync(NPM_APP, src, { recursive: true });
    const locked = spawnSync(yarn.path, ['install', '--ignore-scripts', '--non-interactive', '--no-progress'], {
      cwd: src,
      env: cleanEnv({ HOME: join(scratch, 'gen-home'), YARN_CACHE_FOLDER: join(scratch, 'gen-cache') }),
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(locked.status, 0, `${locked.stdout}${locked.stderr}`);
    rmSync(join(src, 'node_modules'), { recursive: true, force: true });
    const lockfile = readFileSync(join(src, 'yarn.lock'), 'utf8');
    const resolved = [...lockfile.matchAll(/^ {2}resolved "([^"#]+)#[0-9a-f]{40}"$/gm)].map((m) => m[1] as string);
    assert.ok(resolved.length > 0 && resolved.every((u) => u.startsWith('https://registry.yarnpkg.com/')), lockfile);

    const { result, warnings } = await vendorDir(src, join(scratch, 'downloads'));
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      result.packages.map((p) => p.source).sort(),
      [...new Set(resolved.map((u) => u.replace('https://registry.yarnpkg.com/', 'https://registry.npmjs.org/')))].sort(),
    );
    assert.ok(result.packages.every((p) => p.checksum?.startsWith('sha512-') && p.path.startsWith(`${YARN_MIRROR_DIR}/`)));

    const app = join(scratch, 'app');
    cpSync(src, app, { recursive: true });
    writeFiles(app, result.files);
    const home = join(scratch, 'home');
    mkdirSync(home);
    const cut = offline([yarn.path, 'install', '--non-interactive', '--no-progress']);
    const env = cleanEnv({ HOME: home, YARN_CACHE_FOLDER: join(home, 'yarn-cache'), ...cut.env });
    const [command, ...args] = cut.argv;
    const install = spawnSync(command as string, args, { cwd: app, env, encoding: 'utf8', timeout: 300_000 });
    assert.equal(install.status, 0, `yarn install (network cut with ${cut.how}) failed:\n${install.stdout}${install.stderr}`);
    const run = spawnSync(process.execPath, ['index.mjs'], { cwd: app, env, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), NPM_APP_OUTPUT);
  });
});
