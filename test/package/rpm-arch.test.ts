import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nativeCodeKinds, type NativeCode } from '../../src/package/rpm-arch.js';
import { renderRpmSpec, type RpmSpecInput } from '../../src/package/rpm-spec.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';
import { cleanEnv } from '../support/npm-vendor.js';
import { startLocalRegistry, type LocalRegistry } from '../support/npm-registry.js';
import { runCliAsync, tempDir } from '../support/shared.js';

/*
 * BuildArch: an npm application's RPM is noarch unless the application or a production package
 * has native code or a platform restriction. rpm's own spec parser says which architecture the
 * spec builds for; the decision is read from the vendored packages themselves.
 */

const scratch = tempDir('rpm-arch');
after(() => rmSync(scratch, { recursive: true, force: true }));

const NONE: NativeCode = { application: [], packages: { 'install-script': 0, 'binding-gyp': 0, 'node-addon': 0, 'machine-code': 0, platform: 0 }, packageCount: 0, compiles: false };

const npmInput: RpmSpecInput = {
  flavor: 'fedora',
  ecosystem: 'npm',
  name: 'demo',
  version: '1.0.0',
  release: '1',
  summary: 'A demo',
  description: 'A demo.',
  license: 'MIT',
  url: null,
  binaries: [],
  hasTests: false,
  packageManager: 'npm',
  licenseFiles: [],
  bundled: [{ ecosystem: 'npm', name: 'ms', version: '2.1.3', license: 'MIT' }],
  sources: { app: 'demo-1.0.0.tar.gz', vendor: 'demo-1.0.0-vendor.tar.zst', sbom: 'demo-1.0.0.cdx.json', licenses: 'l.txt' },
  sourceDateEpoch: 1700000000,
};

/** The architecture rpmbuild builds the spec's binary package for, as rpmspec reads it. */
function specArch(spec: string, name: string): string {
  const file = join(scratch, `${name}.spec`);
  writeFileSync(file, spec);
  return execFileSync('rpmspec', ['--query', '--queryformat', '%{ARCH}', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const noRpmspec = spawnSync('rpmspec', ['--version']).status === 0 ? false : 'rpmspec is not installed (Debian package rpm)';
const hostArch = noRpmspec ? '' : execFileSync('rpm', ['--eval', '%{_arch}'], { encoding: 'utf8' }).trim();

test('what makes a package architecture-specific: install scripts, binding.gyp, .node files, os/cpu/libc', () => {
  assert.deepEqual(nativeCodeKinds(['package.json', 'index.js', 'README.md'], { name: 'a', scripts: { test: 'x', prepare: 'tsc', build: 'tsc' } }), []);
  assert.deepEqual(nativeCodeKinds(['package.json'], { scripts: { postinstall: 'node fetch-binary.js' } }), ['install-script']);
  assert.deepEqual(nativeCodeKinds(['package.json'], { scripts: { preinstall: 'x' } }), ['install-script']);
  assert.deepEqual(nativeCodeKinds(['package.json', 'binding.gyp', 'src/addon.cc'], {}), ['binding-gyp']);
  // A binding.gyp below the package's root is not one npm builds.
  assert.deepEqual(nativeCodeKinds(['package.json', 'deps/binding.gyp'], {}), []);
  assert.deepEqual(nativeCodeKinds(['package.json', 'prebuilds/linux-x64/addon.node'], {}), ['node-addon']);
  // A prebuilt executable under any name, found by its first bytes (a .node file is an addon already).
  assert.deepEqual(nativeCodeKinds(['package.json', 'fallbacks/linux/xsel'], {}, ['fallbacks/linux/xsel']), ['machine-code']);
  assert.deepEqual(nativeCodeKinds(['package.json', 'addon.node'], {}, ['addon.node']), ['node-addon']);
  assert.deepEqual(nativeCodeKinds(['package.json'], { os: ['linux'] }), ['platform']);
  assert.deepEqual(nativeCodeKinds(['package.json'], { cpu: ['x64'] }), ['platform']);
  assert.deepEqual(nativeCodeKinds(['package.json'], { libc: ['glibc'] }), ['platform']);
  assert.deepEqual(nativeCodeKinds(['package.json'], { os: [] }), []);
  assert.deepEqual(nativeCodeKinds(['package.json', 'binding.gyp', 'build/Release/a.node'], { scripts: { install: 'node-gyp rebuild' }, os: ['!win32'] }), [
    'install-script',
    'binding-gyp',
    'node-addon',
    'platform',
  ]);
});

describe('the spec says BuildArch: noarch only when nothing installed has native code', { skip: noRpmspec }, () => {
  test('no native code: noarch, with the reason in a comment', () => {
    const spec = renderRpmSpec({ ...npmInput, nativeCode: NONE });
    assert.match(spec, /^# noarch: .*\nBuildArch: +noarch$/m);
    assert.equal(specArch(spec, 'noarch'), 'noarch');
  });

  test("native code: the build machine's architecture, and why in a comment of counts", () => {
    const native: NativeCode = { application: ['binding-gyp'], packages: { 'install-script': 2, 'binding-gyp': 1, 'node-addon': 0, 'machine-code': 0, platform: 1 }, packageCount: 3, compiles: true };
    const spec = renderRpmSpec({ ...npmInput, nativeCode: native });
    assert.doesNotMatch(spec, /BuildArch/);
    assert.match(
      spec,
      /^# Architecture-specific: the application has binding\.gyp; 3 bundled packages have native code or a platform restriction \(install scripts: 2, binding\.gyp: 1, os\/cpu restrictions: 1\)\.$/m,
    );
    assert.equal(specArch(spec, 'native'), hostArch);
  });
});

describe('package rpm reads native code from the vendored production packages', { skip: noRpmspec }, () => {
  let registry: LocalRegistry;

  /** Fixture packages published on the test registry: name -> files. */
  const published: Record<string, Record<string, string>> = {
    'plain-lib': { 'package.json': JSON.stringify({ name: 'plain-lib', version: '1.0.0', license: 'MIT', scripts: { prepare: 'true' } }) },
    'gyp-addon': {
      'package.json': JSON.stringify({ name: 'gyp-addon', version: '1.0.0', license: 'MIT', scripts: { install: 'node-gyp rebuild' } }),
      'binding.gyp': '{"targets": []}\n',
    },
    'prebuilt-addon': { 'package.json': JSON.stringify({ name: 'prebuilt-addon', version: '1.0.0', license: 'MIT' }), 'build/Release/addon.node': '\x7fELF' },
    'linux-only': { 'package.json': JSON.stringify({ name: 'linux-only', version: '1.0.0', license: 'MIT', os: ['linux'], cpu: ['x64'] }) },
    // Installed for the build and pruned at %install: it does not make the RPM architecture-specific.
    'dev-native': { 'package.json': JSON.stringify({ name: 'dev-native', version: '1.0.0', license: 'MIT', scripts: { postinstall: 'node build.js' } }) },
  };

  before(async () => {
    const fixtures = join(scratch, 'registry');
    for (const [name, files] of Object.entries(published)) {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(join(fixtures, name, path, '..'), { recursive: true });
        writeFileSync(join(fixtures, name, path), text);
      }
    }
    registry = await startLocalRegistry(fixtures);
  });
  after(() => registry.close());

  /** An application depending on `deps` (and on dev-native for development), with the package-lock v3 npm writes. */
  function app(dir: string, deps: string[]): string {
    mkdirSync(dir, { recursive: true });
    const dependencies = Object.fromEntries(deps.map((d) => [d, '^1.0.0']));
    const manifest = { name: 'arch-app', version: '1.0.0', license: 'MIT', dependencies, devDependencies: { 'dev-native': '^1.0.0' } };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
    writeFileSync(join(dir, 'index.js'), "console.log('ok');\n");
    const packages: Record<string, unknown> = { '': { name: 'arch-app', version: '1.0.0', license: 'MIT', dependencies, devDependencies: manifest.devDependencies } };
    for (const name of [...deps, 'dev-native']) {
      const pkg = registry.packages.find((p) => p.name === name);
      assert.ok(pkg);
      packages[`node_modules/${name}`] = {
        version: '1.0.0',
        resolved: `${registry.url}${name}/-/${name}-1.0.0.tgz`,
        integrity: pkg.integrity,
        license: 'MIT',
        ...(name === 'dev-native' ? { dev: true, hasInstallScript: true } : {}),
      };
    }
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'arch-app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
    return dir;
  }

  async function spec(dir: string): Promise<string> {
    const out = join(dir, 'rpm');
    const made = await runCliAsync(['package', 'rpm', dir, '--db', unrelatedNpmAdvisoryDb(join(dir, 'db')), '--no-fetch', '-o', out], {
      cacheDir: join(scratch, 'cache'),
      env: cleanEnv({ SOURCE_DATE_EPOCH: '1700000000' }),
    });
    assert.equal(made.status, 0, made.stderr);
    return readFileSync(join(out, 'arch-app.spec'), 'utf8');
  }

  test('only plain packages (and a native one for development only): noarch', async () => {
    const text = await spec(app(join(scratch, 'plain'), ['plain-lib']));
    assert.match(text, /^BuildArch: +noarch$/m);
    assert.equal(specArch(text, 'plain-app'), 'noarch');
  });

  test('an install script, a binding.gyp, a .node file, an os/cpu restriction: architecture-specific, counted without names', async () => {
    const text = await spec(app(join(scratch, 'native'), ['plain-lib', 'gyp-addon', 'prebuilt-addon', 'linux-only']));
    assert.doesNotMatch(text, /BuildArch/);
    const comment = text.split('\n').find((line) => line.startsWith('# Architecture-specific:'));
    assert.equal(comment, '# Architecture-specific: 3 bundled packages have native code or a platform restriction (install scripts: 1, binding.gyp: 1, .node files: 1, os/cpu restrictions: 1).');
    assert.equal(specArch(text, 'native-app'), hostArch);
  });
});
