/**
 * NETWORK TEST: vendors a real npm application (test/fixtures/npm-real-app, 430 lockfile
 * entries fixed by its committed package-lock.json) from the public npm registry, then proves
 * `npm ci --offline` installs it from the archive alone, with an empty user cache and every
 * request sent to a dead proxy. Its tree holds the registry tarballs that carry a file under two
 * spellings (agent-base 7.1.4, http-proxy-agent 7.0.2, https-proxy-agent 7.0.5,
 * socks-proxy-agent 8.0.4, @rollup/pluginutils 5.1.4, @rollup/plugin-node-resolve 15.3.1).
 *
 * Skipped when the registry is unreachable, except with CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readArchive } from '../../src/core/archive.js';
import { DEAD, cleanEnv, whyNoRegistry } from '../support/npm-vendor.js';
import { PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';

const APP = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-real-app');
/** Distinct name@version pairs in the fixture's lockfile (430 entries; some repeat). */
const PACKAGES = 415;
const DOUBLE_SPELLED = ['agent-base@7.1.4', 'http-proxy-agent@7.0.2', 'https-proxy-agent@7.0.5', 'socks-proxy-agent@8.0.4', '@rollup/pluginutils@5.1.4', '@rollup/plugin-node-resolve@15.3.1'];

const noRegistry = await whyNoRegistry();
const mustRun = process.env.CI === 'true';
const scratch = tempDir('real-npm-app');
after(() => rmSync(scratch, { recursive: true, force: true }));

interface SbomComponent {
  name: string;
  version: string;
  licenses?: Array<{ expression?: string }>;
}

describe('vendoring a real npm application from the public registry (network)', { skip: noRegistry !== null && !mustRun ? `${noRegistry}: network test skipped` : false }, () => {
  test('stowage vendor reads every tarball, and npm ci --offline installs the application from the archive alone', { timeout: 900_000 }, async () => {
    if (noRegistry !== null) assert.fail(`${noRegistry}, and CI=true: this network test must run`);
    const src = join(scratch, 'src');
    cpSync(APP, src, { recursive: true });
    const archive = join(scratch, 'vendor.tar.zst');
    const vendor = await runCliAsync(['vendor', src, '--db', unrelatedNpmAdvisoryDb(join(scratch, 'db')), '-o', archive], {
      cacheDir: join(scratch, 'cache'),
      env: cleanEnv({ NO_COLOR: '1' }),
    });
    assert.equal(vendor.status, 0, `stowage vendor failed:\n${vendor.stdout}${vendor.stderr}`);
    assert.match(vendor.stdout + vendor.stderr, new RegExp(`: ${PACKAGES} packages, \\d+ files`));

    const files = await readArchive(readFileSync(archive), archive);
    const sbom = JSON.parse(files.find((f) => f.path === 'stowage-sbom.cdx.json')?.data.toString('utf8') ?? '{}') as { components?: SbomComponent[] };
    const components = new Map((sbom.components ?? []).map((c) => [`${c.name}@${c.version}`, c]));
    assert.equal(components.size, PACKAGES);
    for (const id of DOUBLE_SPELLED) {
      // The licence is read from the package.json inside the tarball that holds a file twice.
      assert.deepEqual(components.get(id)?.licenses, [{ expression: 'MIT' }], id);
    }

    // A fresh copy of the application's source, the archive extracted into it.
    const app = join(scratch, 'app');
    cpSync(APP, app, { recursive: true });
    for (const file of files) {
      mkdirSync(dirname(join(app, file.path)), { recursive: true });
      writeFileSync(join(app, file.path), file.data, { mode: file.mode });
    }
    const home = join(scratch, 'home');
    mkdirSync(home);
    const env = cleanEnv({ HOME: home, npm_config_proxy: DEAD, npm_config_https_proxy: DEAD, HTTP_PROXY: DEAD, HTTPS_PROXY: DEAD });
    const install = spawnSync('npm', ['ci', '--offline'], { cwd: app, env, encoding: 'utf8', timeout: 600_000 });
    assert.equal(install.status, 0, `npm ci --offline failed:\n${install.stdout}${install.stderr}`);
    assert.match(install.stdout, /added 429 packages/);
    assert.ok(!existsSync(join(home, '.npm')), 'the user cache was not used');
    for (const id of DOUBLE_SPELLED) {
      const name = id.slice(0, id.lastIndexOf('@'));
      const manifest = JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
      assert.equal(`${name}@${manifest.version}`, id);
    }
    const run = spawnSync(process.execPath, ['index.mjs'], { cwd: app, env, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'agents=true filter=true resolve=node-resolve express=function axios=function');
  });
});
