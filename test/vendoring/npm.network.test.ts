import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DEAD, NPM_APP, NPM_APP_OUTPUT, cleanEnv, npmCiOffline, vendorDir, whyNoRegistry } from '../support/npm-vendor.js';
import { tempDir, writeFiles } from '../support/shared.js';

/*
 * What only the public registry can show: a `resolved` on a placeholder host (what some tools
 * write) stands for registry.npmjs.org, so the tarballs come from there. Everything else about
 * npm vendoring is proven against the local registry (npm.test.ts). Fails, rather than skips,
 * under CI=true.
 */

const noRegistry = await whyNoRegistry();
const mustRun = process.env.CI === 'true';
const scratch = tempDir('npm-vendor-network');
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('npm vendoring and the public registry (network)', { skip: noRegistry !== null && !mustRun ? `${noRegistry}: network test skipped` : false }, () => {
  test('a resolved on a placeholder host is downloaded from the public registry, and installs offline', async () => {
    if (noRegistry !== null) assert.fail(`${noRegistry}, and CI=true: this network test must run`);
    const src = join(scratch, 'src');
    cpSync(NPM_APP, src, { recursive: true });
    const env = cleanEnv({ HOME: join(scratch, 'lock-home'), npm_config_cache: join(scratch, 'lock-cache'), npm_config_update_notifier: 'false' });
    const made = spawnSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: src, env, encoding: 'utf8', timeout: 300_000 });
    assert.equal(made.status, 0, `${made.stdout}${made.stderr}`);
    const locked = readFileSync(join(src, 'package-lock.json'), 'utf8');
    const lockfile = locked.replaceAll('https://registry.npmjs.org/', 'https://registry.invalid/');
    assert.notEqual(lockfile, locked);
    writeFileSync(join(src, 'package-lock.json'), lockfile);
    const { result } = await vendorDir(src, join(scratch, 'downloads'));
    assert.ok(result.packages.length >= 7 && result.packages.every((p) => p.source.startsWith('https://registry.npmjs.org/')));

    const dir = join(scratch, 'install');
    cpSync(src, dir, { recursive: true });
    writeFiles(dir, result.files);
    npmCiOffline(dir, join(scratch, 'install-home'), { npm_config_registry: DEAD });
    const run = spawnSync(process.execPath, ['index.mjs'], { cwd: dir, encoding: 'utf8' });
    assert.equal(run.stdout.trim(), NPM_APP_OUTPUT, run.stderr);
  });
});
