/**
 * NETWORK TEST: yarn 4 locks a patched package beside the package it patches, and makes the
 * patched zip itself at install, offline, from that package's zip and the patch: yarn's own
 * compatibility patches (`fsevents@patch:…#optional!builtin<compat/fsevents>`, `resolve` too,
 * which yarn 4 adds to every application depending on them) and the application's patch files
 * (`yarn patch`, `~/.yarn/patches/…`). test/fixtures/yarn-berry-patched-app's yarn.lock was
 * written by yarn 4.9.2 for fsevents 2.3.2, resolve 1.22.8 and ms 2.1.3 with a patch of its own.
 * stowage vendored none of it ('patched packages cannot be vendored for yarn berry yet').
 * It needs the public registry: skipped when unreachable, except with CI=true, where that is a
 * failure; the offline install needs yarn 4 from STOWAGE_TEST_PACKAGE_MANAGERS.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readArchive } from '../../src/core/archive.js';
import { cleanEnv, offline, packageManager, whyNoRegistry } from '../support/npm-vendor.js';
import { PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';

const APP = join(PROJECT_ROOT, 'test', 'fixtures', 'yarn-berry-patched-app');
const noRegistry = await whyNoRegistry();
const mustRun = process.env.CI === 'true';
const yarnBerry = packageManager('yarn-berry');
const scratch = tempDir('yarn-berry-patches');
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('yarn berry patched packages vendored (network)', { skip: noRegistry !== null && !mustRun ? `${noRegistry}: network test skipped` : false }, () => {
  test('the packages they patch are vendored, and yarn 4 installs the patched ones from the archive with the network cut', { timeout: 600_000 }, async () => {
    if (noRegistry !== null) assert.fail(`${noRegistry}, and CI=true: this network test must run`);
    if ('missing' in yarnBerry && mustRun) assert.fail(`${yarnBerry.missing}, and CI=true: this test must run`);
    const src = join(scratch, 'src');
    cpSync(APP, src, { recursive: true });
    const archive = join(scratch, 'patched.tar.zst');
    const cacheDir = join(scratch, 'cache');
    const env = cleanEnv({ NO_COLOR: '1' });
    const run = await runCliAsync(['vendor', src, '--db', unrelatedNpmAdvisoryDb(join(scratch, 'db')), '-o', archive], { cacheDir, env });
    assert.equal(run.status, 0, `stowage vendor failed:\n${run.stdout}${run.stderr}`);
    const files = await readArchive(readFileSync(archive), archive);
    const zips = files.filter((f) => f.path.startsWith('.yarn/cache/')).map((f) => f.path);
    for (const base of ['fsevents-npm-2.3.2-', 'resolve-npm-1.22.8-', 'ms-npm-2.1.3-']) {
      assert.ok(zips.some((p) => p.startsWith(`.yarn/cache/${base}`)), `${base}: ${zips.join(', ')}`);
    }
    assert.ok(!zips.some((p) => p.includes('-patch-')), 'the patched zips are yarn\'s to make');

    // The archive audits (its SBOM agrees with what it vendors) and a rebuild reproduces it.
    const audited = await runCliAsync(['audit', archive, '--db', unrelatedNpmAdvisoryDb(join(scratch, 'db'))], { cacheDir, env });
    assert.equal(audited.status, 0, `${audited.stdout}${audited.stderr}`);
    const verified = await runCliAsync(['vendor', 'verify', archive, src], { cacheDir, env });
    assert.equal(verified.status, 0, `${verified.stdout}${verified.stderr}`);

    if ('missing' in yarnBerry) return;
    const app = join(scratch, 'app');
    cpSync(APP, app, { recursive: true });
    for (const file of files) {
      mkdirSync(dirname(join(app, file.path)), { recursive: true });
      writeFileSync(join(app, file.path), file.data, { mode: file.mode });
    }
    const home = join(scratch, 'home');
    mkdirSync(home);
    const cut = offline([process.execPath, yarnBerry.path, 'install', '--immutable']);
    const installEnv = cleanEnv({ HOME: home, XDG_CACHE_HOME: join(home, '.cache'), ...cut.env });
    const installed = spawnSync(cut.argv[0] as string, cut.argv.slice(1), { cwd: app, env: installEnv, encoding: 'utf8', timeout: 300_000 });
    assert.equal(installed.status, 0, `yarn install --immutable (network cut with ${cut.how}) failed:\n${installed.stdout}${installed.stderr}`);
    // yarn made the patched zips, each checked against the lockfile's checksum, and installed them.
    const made = readdirSync(join(app, '.yarn', 'cache')).filter((f) => f.includes('-patch-'));
    assert.equal(made.length, 3, made.join(', '));
    assert.match(readFileSync(join(app, 'node_modules', 'ms', 'index.js'), 'utf8'), /patched by the application/);
    assert.equal((JSON.parse(readFileSync(join(app, 'node_modules', 'resolve', 'package.json'), 'utf8')) as { version: string }).version, '1.22.8');
  });
});
