/**
 * `stowage package rpm` of an npm application with platform packages, as esbuild ships them
 * (`@esbuild/linux-x64`, `@esbuild/darwin-arm64`, ... as optional dependencies, each with `os`
 * and `cpu`): the lockfile and the vendor archive hold every platform's, but npm installs only the
 * one that matches, so the spec declares as bundled what a Linux build installs, on the
 * architectures that install it. Read as rpm reads the spec (`rpmspec -q --provides --target`).
 * Locked here by npm against the local test registry (test/support/npm-registry.ts).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { cleanEnv } from '../support/npm-vendor.js';
import { REGISTRY_FIXTURES, startLocalRegistry, type LocalRegistry } from '../support/npm-registry.js';
import { runCliAsync, tempDir } from '../support/shared.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';

const execFileAsync = promisify(execFile);
const NAME = 'stowage-platform-app';
const noRpmspec = spawnSync('rpmspec', ['--version']).status === 0 ? null : 'rpmspec is not installed (Debian package rpm)';
const scratch = tempDir('package-npm-platforms');
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The platform packages: name -> package.json fields that restrict where npm installs it. */
const PLATFORMS: Record<string, Record<string, string[]>> = {
  'fixture-native-linux-x64': { os: ['linux'], cpu: ['x64'] },
  'fixture-native-linux-arm64': { os: ['linux'], cpu: ['arm64'] },
  'fixture-native-linux-x64-musl': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
  'fixture-native-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'fixture-native-win32-x64': { os: ['win32'], cpu: ['x64'] },
  'fixture-native-not-s390x': { cpu: ['!s390x'] },
};

function fixtures(dir: string): string {
  cpSync(join(REGISTRY_FIXTURES, 'fixture-ms-2.1.3'), join(dir, 'fixture-ms-2.1.3'), { recursive: true });
  for (const [name, fields] of Object.entries(PLATFORMS)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'package.json'), `${JSON.stringify({ name, version: '1.0.0', license: 'MIT', main: 'index.js', ...fields }, null, 2)}\n`);
    writeFileSync(join(dir, name, 'index.js'), `module.exports = ${JSON.stringify(name)};\n`);
  }
  return dir;
}

/** The capabilities rpm reads from the spec when building for `target`. */
function provides(spec: string, target: string): string[] {
  const q = spawnSync('rpmspec', ['-q', '--provides', '--target', target, spec], { encoding: 'utf8' });
  assert.equal(q.status, 0, q.stderr);
  return q.stdout.trim().split('\n').filter((l) => l.startsWith('bundled('));
}

describe('package rpm declares the platform packages a Linux build installs, per architecture', { skip: noRpmspec ?? false }, () => {
  let registry: LocalRegistry;
  let spec: string;
  before(async () => {
    registry = await startLocalRegistry(fixtures(join(scratch, 'registry')));
    const app = join(scratch, 'app');
    mkdirSync(app);
    const manifest = {
      name: NAME,
      version: '1.0.0',
      license: 'MIT',
      dependencies: { 'fixture-ms': '^2.1.3' },
      optionalDependencies: Object.fromEntries(Object.keys(PLATFORMS).map((n) => [n, '1.0.0'])),
    };
    writeFileSync(join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(join(app, 'index.js'), "console.log(require('fixture-ms'));\n");
    writeFileSync(join(app, '.npmrc'), registry.npmrc);
    await execFileAsync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, env: cleanEnv({ HOME: join(scratch, 'npm-home') }) });
    const out = join(scratch, 'rpm');
    const packaged = await runCliAsync(['package', 'rpm', app, '-o', out, '--db', unrelatedNpmAdvisoryDb(join(scratch, 'db'))], {
      cacheDir: join(scratch, 'cache'),
      env: cleanEnv({ NO_COLOR: '1', SOURCE_DATE_EPOCH: '1700000000' }),
    });
    assert.equal(packaged.status, 0, `${packaged.stdout}${packaged.stderr}`);
    spec = join(out, `${NAME}.spec`);
  });
  after(() => registry.close());

  test('another OS’s or musl’s package is never declared bundled', () => {
    const text = readFileSync(spec, 'utf8');
    for (const never of ['fixture-native-darwin-arm64', 'fixture-native-win32-x64', 'fixture-native-linux-x64-musl']) assert.doesNotMatch(text, new RegExp(`bundled\\(nodejs-${never}\\)`));
  });

  test('a CPU-restricted package is declared on the architectures npm installs it on', () => {
    assert.deepEqual(provides(spec, 'x86_64-linux').sort(), [
      'bundled(nodejs-fixture-ms) = 2.1.3',
      'bundled(nodejs-fixture-native-linux-x64) = 1.0.0',
      'bundled(nodejs-fixture-native-not-s390x) = 1.0.0',
    ]);
    assert.deepEqual(provides(spec, 'aarch64-linux').sort(), [
      'bundled(nodejs-fixture-ms) = 2.1.3',
      'bundled(nodejs-fixture-native-linux-arm64) = 1.0.0',
      'bundled(nodejs-fixture-native-not-s390x) = 1.0.0',
    ]);
    assert.deepEqual(provides(spec, 's390x-linux').sort(), ['bundled(nodejs-fixture-ms) = 2.1.3']);
  });
});
