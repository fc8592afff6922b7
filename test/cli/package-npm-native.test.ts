import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';
import { cleanEnv, rpmbuildOffline } from '../support/npm-vendor.js';
import { startLocalRegistry, type LocalRegistry } from '../support/npm-registry.js';
import { PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';

/**
 * An npm application whose build compiles: its development dependency has a binding.gyp, which
 * `npm ci` builds with node-gyp. node-gyp needs node's headers and downloads them from nodejs.org
 * unless told where they are; the spec's %build points it at node's own (npm_config_nodedir) and
 * declares what it compiles with. `rpmbuild --rebuild` then builds it with every request sent to a
 * dead proxy and an empty HOME, and the %check loads the compiled addon.
 */

const NAME = 'stowage-npm-native-app';
const NATIVE_REGISTRY = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-native-registry');
const epoch = '1700000000';

function whyNot(): string | null {
  if (process.env.CI === 'true') return null;
  for (const [tool, args] of [['rpmbuild', ['--version']], ['npm', ['--version']], ['make', ['--version']], ['g++', ['--version']], ['python3', ['--version']]] as const) {
    if (spawnSync(tool, [...args]).status !== 0) return `${tool} is not installed: the native npm build is skipped`;
  }
  const prefix = dirname(dirname(realpathSync(process.execPath)));
  if (!existsSync(join(prefix, 'include', 'node', 'common.gypi'))) return `node's headers are not under ${prefix}/include/node: the native npm build is skipped`;
  return null;
}

const skip = whyNot();
const scratch = tempDir('package-npm-native');
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('stowage package rpm for an npm application whose build compiles', { skip: skip ?? false }, () => {
  let registry: LocalRegistry;
  let out: string;

  before(async () => {
    registry = await startLocalRegistry(NATIVE_REGISTRY);
    const appDir = join(scratch, NAME);
    mkdirSync(appDir);
    const manifest = {
      name: NAME,
      version: '1.0.0',
      private: true,
      license: 'MIT',
      main: 'index.js',
      scripts: { test: `node -e "if (require('fixture-native').answer() !== 42) process.exit(1); console.log('native-app test: ok')"` },
      devDependencies: { 'fixture-native': '1.0.0' },
    };
    writeFileSync(join(appDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(join(appDir, 'index.js'), "console.log('native app');\n");
    // Asynchronously: the registry answers from this process.
    await promisify(execFile)('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--registry', registry.url], {
      cwd: appDir,
      env: cleanEnv({ HOME: join(scratch, 'lock-home'), npm_config_cache: join(scratch, 'lock-cache'), npm_config_update_notifier: 'false' }),
    });
    out = join(scratch, 'out');
    const made = await runCliAsync(['package', 'rpm', appDir, '--db', unrelatedNpmAdvisoryDb(join(scratch, 'db')), '--no-fetch', '--srpm', '-o', out], {
      cacheDir: join(scratch, 'cache'),
      env: cleanEnv({ SOURCE_DATE_EPOCH: epoch }),
    });
    assert.equal(made.status, 0, made.stderr);
  });

  after(() => registry.close());

  test('the spec declares what node-gyp builds with; the package itself stays noarch (the addon is development-only)', () => {
    const spec = readFileSync(join(out, `${NAME}.spec`), 'utf8');
    for (const req of ['gcc-c++', 'make', 'python3', 'nodejs-devel']) assert.match(spec, new RegExp(`^BuildRequires: +${req.replace(/\+/g, '\\+')}$`, 'm'));
    assert.match(spec, /^BuildArch: +noarch$/m);
  });

  test('rpmbuild --rebuild compiles the addon offline, with node\'s own headers, and %check loads it', () => {
    const top = join(scratch, 'rpmbuild');
    const home = join(scratch, 'rpmbuild-home');
    // Nothing may be fetched: node-gyp's header download goes to a dead proxy, as every other request.
    const build = rpmbuildOffline(join(out, `${NAME}-1.0.0-1.src.rpm`), top, home, epoch);
    const output = `${build.stdout}\n${build.stderr}`;
    assert.equal(build.status, 0, output);
    assert.match(output, /native-app test: ok/);
    assert.doesNotMatch(output, /ECONNREFUSED|gyp http GET/i, 'node-gyp fetched nothing');
    assert.ok(!existsSync(join(home, '.cache', 'node-gyp')), 'no headers were put in the user cache');
    assert.deepEqual(readdirSync(join(top, 'RPMS')), ['noarch']);
  });
});
