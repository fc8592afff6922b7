import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCliAsync, tempDir, sha256OfFile } from '../support/shared.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';
import { cleanEnv, rpmbuildOffline } from '../support/npm-vendor.js';
import { LOCAL_APP, LOCAL_APP_OUTPUT, startLocalRegistry, type LocalRegistry } from '../support/npm-registry.js';

/**
 * The proof of `stowage package rpm` for an npm application: the local-registry fixture (its
 * lockfile committed, made by npm against the registry test/support/npm-registry.ts serves on
 * 127.0.0.1, with one development-only dependency) is packaged as a source RPM; `rpmbuild
 * --rebuild` then builds, tests and installs it with every request sent to a dead proxy and an
 * empty HOME, from the SRPM alone. Needs the Debian packages `rpm` (rpmbuild, rpm2archive),
 * `zstd`, and node with npm.
 */

const APP = LOCAL_APP;
const NAME = 'stowage-npm-local-app';
const EXPECTED_OUTPUT = LOCAL_APP_OUTPUT;
/** Installed for the build and `npm test` only: it must be neither in the RPM nor declared bundled. */
const DEV_ONLY = 'fixture-devtool';
const epoch = '1700000000';

/** Why these tests cannot run here, or null when they can (or must: CI=true, where a missing tool fails them). */
function whyNot(): string | null {
  if (process.env.CI === 'true') return null;
  if (spawnSync('rpmbuild', ['--version']).status !== 0) return 'rpmbuild is not installed (Debian package rpm): npm RPM packaging skipped';
  if (spawnSync('npm', ['--version']).status !== 0) return 'npm is not installed: npm RPM packaging skipped';
  return null;
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  link?: boolean;
}

const skip = whyNot();
const scratch = tempDir('package-npm');
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('stowage package rpm for an npm application', { skip: skip ?? false }, () => {
  let appDir: string;
  let db: string;
  let lock: { packages: Record<string, LockEntry> };
  let srpm: string;
  let built: { dir: string; stderr: string };

  let registry: LocalRegistry;

  before(async () => {
    registry = await startLocalRegistry();
    appDir = join(scratch, 'app');
    cpSync(APP, appDir, { recursive: true });
    // What a checkout carries beside the application: never installed, as npm pack leaves it out.
    writeFileSync(join(appDir, '.gitignore'), 'node_modules/\n*.log\n');
    writeFileSync(join(appDir, 'debug.log'), 'a log the .gitignore keeps out of npm pack\n');
    const lockText = registry.lockfileFor(readFileSync(join(APP, 'package-lock.json'), 'utf8'));
    writeFileSync(join(appDir, 'package-lock.json'), lockText);
    lock = JSON.parse(lockText) as typeof lock;
    db = unrelatedNpmAdvisoryDb(join(scratch, 'db'));
    // The SRPM both tests read, made here: each test passes run alone.
    const made1 = await packageRpm(join(scratch, 'out-a'), join(scratch, 'cache-a'));
    assert.equal(made1.status, 0, made1.stderr);
    built = { dir: join(scratch, 'out-a'), stderr: made1.stderr };
    srpm = join(built.dir, `${NAME}-1.0.0-1.src.rpm`);
  });

  after(() => registry.close());

  function packageRpm(out: string, cache: string): Promise<{ status: number; stdout: string; stderr: string }> {
    return runCliAsync(['package', 'rpm', appDir, '--db', db, '--no-fetch', '--srpm', '-o', out], {
      cacheDir: cache,
      env: cleanEnv({ SOURCE_DATE_EPOCH: epoch }),
    });
  }

  test('package rpm --srpm writes the spec, its sources and a source RPM, byte-identical on a second run', async () => {
    const first = built.dir;
    const second = join(scratch, 'out-b');
    // Separate download caches: the second run fetches every tarball again.
    const b = await packageRpm(second, join(scratch, 'cache-b'));
    assert.equal(b.status, 0, b.stderr);
    assert.doesNotMatch(built.stderr, /warning/, built.stderr);

    const files = readdirSync(first).sort();
    assert.deepEqual(files, [
      `${NAME}-1.0.0-1.src.rpm`,
      `${NAME}-1.0.0-bundled-licenses.txt`,
      `${NAME}-1.0.0-vendor.tar.zst`,
      `${NAME}-1.0.0.cdx.json`,
      `${NAME}-1.0.0.tar.gz`,
      `${NAME}.spec`,
    ]);
    for (const f of files) assert.equal(sha256OfFile(join(first, f)), sha256OfFile(join(second, f)), `${f} reproduces`);

    const spec = readFileSync(join(first, `${NAME}.spec`), 'utf8');
    assert.match(spec, /^BuildRequires: +nodejs$/m);
    assert.match(spec, /^Requires: +nodejs$/m);
    // Fedora's debuginfo step would fail on a package with nothing compiled.
    assert.match(spec, /^%global debug_package %\{nil\}$/m);
    assert.match(spec, /^npm ci --offline/m);
    assert.match(spec, /^npm test$/m);
    // No bundled package has native code: the same RPM for every architecture.
    assert.match(spec, /^# noarch: .*\nBuildArch: +noarch$/m);
    assert.doesNotMatch(spec, new RegExp(`bundled\\(nodejs-${DEV_ONLY}\\)`));
    assert.doesNotMatch(spec, /\/tmp\/|registry\.npmjs\.org|127\.0\.0\.1/, 'no host paths or registry URLs');

    const listing = execFileSync('tar', ['-tzf', join(first, `${NAME}-1.0.0.tar.gz`)], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(listing, [
      `${NAME}-1.0.0/`,
      `${NAME}-1.0.0/.gitignore`,
      `${NAME}-1.0.0/bin/`,
      `${NAME}-1.0.0/bin/stowage-npm-local-app.mjs`,
      `${NAME}-1.0.0/debug.log`,
      `${NAME}-1.0.0/index.mjs`,
      `${NAME}-1.0.0/package-lock.json`,
      `${NAME}-1.0.0/package.json`,
      `${NAME}-1.0.0/test.mjs`,
    ]);
    const licences = readFileSync(join(first, `${NAME}-1.0.0-bundled-licenses.txt`), 'utf8');
    assert.match(licences, /^npm fixture-semver 7\.5\.4: ISC$/m);
    assert.match(licences, /^npm fixture-ms 2\.1\.3: MIT$/m);
    assert.doesNotMatch(licences, new RegExp(`^npm ${DEV_ONLY} `, 'm'));
  });

  test('rpmbuild --rebuild builds, tests and installs it offline; the RPM declares the runtime packages and the combined licence', () => {
    const top = join(scratch, 'rpmbuild');
    const home = join(scratch, 'rpmbuild-home');
    const started = Date.now();
    // No `debug_package %{nil}` here: the spec says it.
    const build = rpmbuildOffline(srpm, top, home, epoch);
    const output = `${build.stdout}\n${build.stderr}`;
    assert.equal(build.status, 0, output);
    assert.match(output, /Executing\(%check\)/);
    assert.match(output, /npm-local-app test: ok/);
    assert.doesNotMatch(output, /ECONNREFUSED|ENOTCACHED|npm warn/i, 'npm fetched nothing and warned of nothing');
    assert.ok(!existsSync(join(home, '.npm', '_cacache')), 'the user cache was not used');
    console.log(`rpmbuild --rebuild: ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const rpmDir = join(top, 'RPMS');
    assert.deepEqual(readdirSync(rpmDir), ['noarch']);
    const rpmFile = join(rpmDir, 'noarch', readdirSync(join(rpmDir, 'noarch')).find((f) => f.startsWith(`${NAME}-1.0.0-1`)) as string);
    assert.equal(execFileSync('rpm', ['-qp', '--qf', '%{ARCH}', rpmFile], { encoding: 'utf8' }), 'noarch');

    // Every runtime package of the lockfile, and no development-only one.
    const runtime = Object.entries(lock.packages)
      .filter(([location, entry]) => location !== '' && entry.dev !== true && entry.link !== true)
      .map(([location, entry]) => `bundled(nodejs-${location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length)}) = ${entry.version ?? ''}`);
    const provides = execFileSync('rpm', ['-qp', '--provides', rpmFile], { encoding: 'utf8' }).trim().split('\n');
    const bundled = provides.filter((p) => p.startsWith('bundled(')).sort();
    assert.deepEqual(bundled, [...new Set(runtime)].sort());
    for (const name of ['@fixture/color', 'fixture-debug', 'fixture-ms', 'fixture-semver']) {
      assert.ok(bundled.some((p) => p.startsWith(`bundled(nodejs-${name}) = `)), `${name} is declared`);
    }
    assert.ok(lock.packages[`node_modules/${DEV_ONLY}`]?.dev, `${DEV_ONLY} is dev-only in the lockfile`);
    assert.ok(!bundled.some((p) => p.startsWith(`bundled(nodejs-${DEV_ONLY})`)), `${DEV_ONLY} is not declared`);

    const requires = execFileSync('rpm', ['-qp', '--requires', rpmFile], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(requires.includes('nodejs'), `the system node is required:\n${requires.join('\n')}`);

    const license = execFileSync('rpm', ['-qp', '--qf', '%{LICENSE}', rpmFile], { encoding: 'utf8' });
    assert.equal(license, 'Apache-2.0 AND ISC AND MIT');

    const appDirInRpm = `/usr/lib/node_modules/${NAME}`;
    const files = execFileSync('rpm', ['-qpl', rpmFile], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(files.includes(`/usr/bin/${NAME}`), files.join('\n'));
    assert.ok(files.includes(`${appDirInRpm}/node_modules/@fixture/color/package.json`), 'runtime packages are installed');
    assert.ok(!files.some((f) => f.startsWith(`${appDirInRpm}/node_modules/${DEV_ONLY}`)), `${DEV_ONLY} was pruned`);
    for (const buildOnly of ['vendor/', '.npmrc', '.npm-home', 'stowage-manifest.json', 'stowage-sbom.cdx.json']) {
      assert.ok(!files.some((f) => f.startsWith(`${appDirInRpm}/${buildOnly}`)), `${buildOnly} is not installed`);
    }
    assert.ok(files.includes(`${appDirInRpm}/bin/stowage-npm-local-app.mjs`) && files.includes(`${appDirInRpm}/index.mjs`));
    // The application's own files are what npm pack would publish, no more (no .gitignore,
    // package-lock.json or debug.log), no less; its dependencies are in node_modules.
    const modes = execFileSync('rpm', ['-qp', '--qf', '[%{FILEMODES:perms} %{FILENAMES}\n]', rpmFile], { encoding: 'utf8' }).trim().split('\n');
    const installedOwn = modes
      .filter((line) => !line.startsWith('d') && line.includes(` ${appDirInRpm}/`))
      .map((line) => line.slice(line.indexOf(` ${appDirInRpm}/`) + appDirInRpm.length + 2))
      .filter((path) => !path.startsWith('node_modules/'))
      .sort();
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: appDir, encoding: 'utf8', env: cleanEnv({ HOME: home }) })) as [{ files: { path: string }[] }];
    assert.deepEqual(installedOwn, packed[0].files.map((f) => f.path).sort());
    for (const left of ['.gitignore', 'package-lock.json', 'debug.log']) assert.ok(!installedOwn.includes(left), `${left} is not installed`);
    assert.ok(files.includes(`/usr/share/${NAME}/${NAME}-1.0.0.cdx.json`));
    assert.ok(files.some((f) => f.endsWith('/bundled-licenses.txt')));

    // The installed command runs with the system node, as a user would run it.
    const root = join(scratch, 'extract');
    mkdirSync(root);
    execFileSync('sh', ['-c', 'rpm2archive - < "$1" | tar -xzf -', 'sh', rpmFile], { cwd: root });
    const run = spawnSync(join(root, 'usr', 'bin', NAME), { encoding: 'utf8', env: cleanEnv({ HOME: home }) });
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
    assert.equal(run.stdout.trim(), EXPECTED_OUTPUT);
  });
});
