import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import type { DependencyGraph } from '../../src/core/graph.js';
import {
  PUBLIC_REGISTRY_CONFIG,
  downloadUrlOfResolved,
  packumentUrl,
  readNpmrcRegistries,
  registryFor,
  requestedTarballUrl,
} from '../../src/ecosystems/npm/registry.js';
import { vendorNpm } from '../../src/vendoring/npm.js';
import { NPM_CACHE_DIR } from '../../src/inputs/vendor-layout.js';
import { ContentCache } from '../../src/vendoring/content-cache.js';
import { Downloader } from '../../src/vendoring/download.js';
import type { VendorResult } from '../../src/vendoring/vendor-tree.js';
import { DEAD, cleanEnv, npmCiOffline, vendorDir } from '../support/npm-vendor.js';
import { LOCAL_APP, LOCAL_APP_OUTPUT, LOCAL_APP_V1_LOCKFILE, startLocalRegistry, type LocalRegistry } from '../support/npm-registry.js';
import { sha256Of, tempDir, writeFiles } from '../support/shared.js';

const APP = LOCAL_APP;
const EXPECTED_OUTPUT = LOCAL_APP_OUTPUT;

/** A copy of the application's source with this lockfile (and .npmrc), as an archive user has it. */
function appWith(parent: string, name: string, lockfile: string, npmrc?: string): string {
  const dir = join(parent, name);
  cpSync(APP, dir, { recursive: true });
  writeFileSync(join(dir, 'package-lock.json'), lockfile);
  if (npmrc !== undefined) writeFileSync(join(dir, '.npmrc'), npmrc);
  return dir;
}

const OLD_LOCKFILE_BANNER = new Set([
  '',
  'The package-lock.json file was created with an old version of npm,',
  'so supplemental metadata must be fetched from the registry.',
  'This is a one-time fix-up, please be patient...',
]);

/**
 * Installs a fresh copy of the application (source + lockfile + vendored files only) with
 * `npm ci --offline`, a new HOME (so an empty ~/.npm) and the network cut (the local registry
 * with it), then runs it. Returns the application's output.
 */
function installOfflineAndRun(parent: string, name: string, lockfile: string, result: VendorResult, env: NodeJS.ProcessEnv, npmrc?: string): string {
  const dir = appWith(parent, name, lockfile, npmrc);
  writeFiles(dir, result.files);
  const output = npmCiOffline(dir, join(parent, `${name}-home`), env);
  // npm announces the one-time upgrade of a v1 lockfile; any other warning (such as "Could not
  // fetch metadata", which loses bin links) is a failure of the layout.
  const warnings = output.split('\n').filter((l) => /^npm warn/i.test(l) && !OLD_LOCKFILE_BANNER.has(l.replace(/^npm warn old lockfile ?/, '')));
  assert.deepEqual(warnings, [], output);
  assert.doesNotMatch(output, /Could not fetch metadata/);
  assert.ok(existsSync(join(dir, 'node_modules', '.bin', 'fixture-semver')), 'bin links are made (fixture-semver has one)');
  const run = spawnSync(process.execPath, ['index.mjs'], { cwd: dir, encoding: 'utf8', env: cleanEnv({}) });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim();
}

function lockfileWithout(lockfile: string, field: 'resolved'): string {
  const doc = JSON.parse(lockfile) as { packages: Record<string, Record<string, unknown>> };
  for (const entry of Object.values(doc.packages)) delete entry[field];
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Every installed package of a v3 lockfile, read from its `packages` map: `name@version`, sorted. */
function lockedPackages(lockfile: string): string[] {
  const doc = JSON.parse(lockfile) as { packages: Record<string, { version?: string }> };
  return Object.entries(doc.packages)
    .filter(([location]) => location !== '')
    .map(([location, entry]) => `${location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${entry.version ?? ''}`)
    .sort();
}

/** Everything this file writes, removed at the end. */
const scratch = tempDir('npm-vendor');
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('npm vendoring from a real npm registry on 127.0.0.1, lockfiles committed', () => {
  let registry: LocalRegistry;
  let work: string;
  let lockV3: string;
  let lockV1: string;
  let downloads: string;
  /** The application's own .npmrc: the local registry, as a project using a mirror has it. */
  let npmrc: string;

  before(async () => {
    registry = await startLocalRegistry();
    work = join(scratch, 'registry');
    downloads = join(work, 'downloads');
    // Made once by npm against this registry (test/support/npm-registry.ts says how), committed.
    lockV3 = registry.lockfileFor(readFileSync(join(APP, 'package-lock.json'), 'utf8'));
    lockV1 = registry.lockfileFor(readFileSync(LOCAL_APP_V1_LOCKFILE, 'utf8'));
    npmrc = `registry=${registry.url}\n`;
  });

  after(() => registry.close());

  test('the committed lockfiles lock exactly the tarballs the fixture packages pack to', () => {
    const packed = new Map(registry.packages.map((p) => [`${p.name}@${p.version}`, p.integrity]));
    const v3 = JSON.parse(lockV3) as { packages: Record<string, { version?: string; integrity?: string }> };
    for (const [location, entry] of Object.entries(v3.packages)) {
      if (location === '') continue;
      const name = location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
      assert.equal(entry.integrity, packed.get(`${name}@${entry.version}`), `${location}: a changed fixture or zlib: run npm install --package-lock-only against the local registry again`);
    }
  });

  test('a package-lock v3 app installs with npm ci --offline from the vendored files alone', async () => {
    // The app's own .npmrc: its settings survive, except the one that would bypass the cache.
    const withSettings = `fund=false\nprefer-online=true\n${npmrc}`;
    const { result, warnings } = await vendorDir(appWith(work, 'v3-src', lockV3, withSettings), downloads);
    assert.deepEqual(
      result.packages.map((p) => `${p.name}@${p.version}`),
      ['@fixture/color@1.0.0', 'fixture-debug@4.3.4', 'fixture-devtool@1.0.0', 'fixture-ms@1.0.0', 'fixture-ms@2.1.3', 'fixture-semver@7.5.4'],
    );
    assert.deepEqual(result.packages.map((p) => `${p.name}@${p.version}`), [...new Set(lockedPackages(lockV3).map((p) => p.replace(/^.*node_modules\//, '')))].sort());
    assert.ok(result.packages.every((p) => p.checksum?.startsWith('sha512-') && p.path.startsWith(`${NPM_CACHE_DIR}/`)));
    assert.ok(warnings.some((w) => w.includes('prefer-online')), warnings.join('\n'));
    const written = result.files.find((f) => f.path === '.npmrc')?.data.toString();
    assert.match(written ?? '', /^fund=false$/m);
    assert.doesNotMatch(written ?? '', /^prefer-online/m);

    // The registry itself is made unreachable too.
    const output = installOfflineAndRun(work, 'v3-install', lockV3, result, { npm_config_registry: DEAD }, withSettings);
    assert.equal(output, EXPECTED_OUTPUT);
  });

  test('a lockfile without resolved fields installs offline (npm looks packages up by name)', async () => {
    const lockfile = lockfileWithout(lockV3, 'resolved');
    const { result, warnings } = await vendorDir(appWith(work, 'bare-src', lockfile, npmrc), downloads);
    assert.deepEqual(warnings, []);
    // npm asks the configured registry by name here: the packuments are filed under its URL.
    assert.equal(installOfflineAndRun(work, 'bare-install', lockfile, result, {}, npmrc), EXPECTED_OUTPUT);
  });

  test('a v1 lockfile installs offline, bin links included', async () => {
    const { result } = await vendorDir(appWith(work, 'v1-src', lockV1, npmrc), downloads);
    assert.equal(installOfflineAndRun(work, 'v1-install', lockV1, result, {}, npmrc), EXPECTED_OUTPUT);
  });

  test('the vendored files are byte-identical across runs', async () => {
    for (const [label, lockfile] of [
      ['v3', lockV3],
      ['no resolved', lockfileWithout(lockV3, 'resolved')],
      ['v1', lockV1],
    ] as const) {
      // Separate content caches: the second run downloads everything again.
      const first = await vendorDir(appWith(work, `same-a-${label}`, lockfile, npmrc), join(work, `same-a-${label}-cache`));
      const second = await vendorDir(appWith(work, `same-b-${label}`, lockfile, npmrc), join(work, `same-b-${label}-cache`));
      const digest = (r: VendorResult): string[] => r.files.map((f) => `${f.path} ${f.mode} ${sha256Of(f.data)}`);
      assert.deepEqual(digest(second.result), digest(first.result), label);
      assert.deepEqual(second.result.packages, first.result.packages, label);
    }
  });

  test('a lockfile whose integrity was altered is refused by the downloader', async () => {
    const doc = JSON.parse(lockV3) as { packages: Record<string, { version?: string; integrity?: string }> };
    const ms = doc.packages['node_modules/fixture-ms'];
    assert.ok(ms?.integrity);
    ms.integrity = `sha512-${createHash('sha512').update('not the fixture-ms tarball').digest('base64')}`;
    const dir = appWith(work, 'altered', `${JSON.stringify(doc, null, 2)}\n`, npmrc);
    await assert.rejects(vendorDir(dir, downloads), (err: unknown) => {
      assert.ok(err instanceof StowageError);
      assert.match(err.message, new RegExp(`^fixture-ms@2\\.1\\.3: checksum mismatch for ${registry.url.replaceAll('.', '\\.')}fixture-ms/-/fixture-ms-2\\.1\\.3\\.tgz`));
      return true;
    });
  });
});

// ---- without the network ------------------------------------------------------------------

function graphOf(path: string, format: string): DependencyGraph {
  return { ecosystem: 'npm', path, format, packages: [], edges: [], roots: [] };
}

async function vendorLockfile(lockfile: object | string, npmrc?: string): Promise<{ result: VendorResult; warnings: string[] }> {
  const dir = mkdtempSync(join(scratch, 'local-'));
  writeFileSync(join(dir, 'package.json'), '{"name":"app","version":"1.0.0"}\n');
  writeFileSync(join(dir, 'package-lock.json'), typeof lockfile === 'string' ? lockfile : JSON.stringify(lockfile));
  if (npmrc !== undefined) writeFileSync(join(dir, '.npmrc'), npmrc);
  return vendorDir(dir, join(dir, 'downloads'));
}

describe('npm vendoring refuses what it cannot vendor', () => {
  test('a lockfile format npm vendoring does not know is refused with a clear message', async () => {
    const downloader = new Downloader({ cache: new ContentCache(join(scratch, 'unused')) });
    for (const [file, format] of [
      ['/app/bun.lock', 'bun.lock 1'],
    ] as const) {
      await assert.rejects(
        vendorNpm(graphOf(file, format), { projectDir: '/app', downloader, warn: () => {}, env: {} }),
        (err: unknown) =>
          err instanceof StowageError && err.line.startsWith(`${file}: vendoring ${format.split(' (')[0]} is not supported yet`) && err.line.includes("yarn's yarn.lock (v1 and berry)"),
      );
    }
  });

  test('a git dependency npm would clone at install time is refused before anything is fetched, naming the package', async () => {
    const lockfile = {
      name: 'app',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'app', dependencies: { left: 'git+ssh://git@git.example.org/left.git' } },
        'node_modules/left': { version: '1.0.0', resolved: 'git+ssh://git@git.example.org/left.git#0123456789abcdef0123456789abcdef01234567' },
      },
    };
    await assert.rejects(vendorLockfile(lockfile), /left \(node_modules\/left\): npm clones git\+ssh:\/\/git@git\.example\.org\/left\.git with git at install time/);
  });

  test('a local package outside the application is refused', async () => {
    const lockfile = {
      name: 'app',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'app', dependencies: { lib: 'file:../lib' } },
        '../lib': { name: 'lib', version: '1.0.0' },
        'node_modules/lib': { resolved: '../lib', link: true },
      },
    };
    await assert.rejects(vendorLockfile(lockfile), /\.\.\/lib: the local package \.\.\/lib lies outside the application/);
  });
});

describe('npm vendoring from a registry on 127.0.0.1', () => {
  const tarball = Buffer.from('tarball bytes: vendoring does not unpack them');
  const sri = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
  let server: Server;
  let registry: string;

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/left-pad') {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            name: 'left-pad',
            'dist-tags': { latest: '1.3.0' },
            versions: {
              '1.3.0': { name: 'left-pad', version: '1.3.0', deprecated: 'use String.prototype.padStart()', dist: { tarball: `${registry}left-pad/-/left-pad-1.3.0.tgz`, integrity: sri } },
            },
          }),
        );
      } else if (req.url === '/left-pad/-/left-pad-1.3.0.tgz') {
        res.end(tarball);
      } else {
        res.statusCode = 404;
        res.end('{"error":"Not found"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test("an entry without integrity is verified against the registry's, with a warning", async () => {
    const lockfile = {
      name: 'app',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'app', dependencies: { 'left-pad': '^1.3.0' } },
        'node_modules/left-pad': { version: '1.3.0', resolved: `${registry}left-pad/-/left-pad-1.3.0.tgz` },
      },
    };
    const { result, warnings } = await vendorLockfile(lockfile, `registry=${registry}\n`);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /^left-pad@1\.3\.0: the lockfile records no integrity; verifying against the registry's sha512-/);
    assert.deepEqual(
      result.packages.map((p) => [p.name, p.version, p.checksum, p.source]),
      [['left-pad', '1.3.0', sri, `${registry}left-pad/-/left-pad-1.3.0.tgz`]],
    );
    const stored = result.files.find((f) => f.path === result.packages[0]?.path);
    assert.deepEqual(stored?.data, tarball);
    // npm fetches it by URL at install time: the cache has an entry under that URL.
    const entry = result.files.find((f) => f.path.includes('/index-v5/') && f.data.toString().includes(`request-cache:${registry}left-pad/-/left-pad-1.3.0.tgz`));
    assert.ok(entry, 'an index entry for the tarball URL');
  });

  test('a v1 tree 5,000 levels deep is vendored: one tarball, its packument, no stack overflow', async () => {
    // Written as text: JSON.stringify itself recurses, and would overflow first.
    const fields = `"version":"1.3.0","resolved":"${registry}left-pad/-/left-pad-1.3.0.tgz","integrity":"${sri}"`;
    let tree = `{"left-pad":{${fields}}}`;
    for (let i = 1; i < 5_000; i++) tree = `{"left-pad":{${fields},"dependencies":${tree}}}`;
    const { result } = await vendorLockfile(`{"name":"app","lockfileVersion":1,"requires":true,"dependencies":${tree}}`, `registry=${registry}\n`);
    assert.deepEqual(result.packages.map((p) => `${p.name}@${p.version}`), ['left-pad@1.3.0']);
    assert.ok(result.files.some((f) => f.data.toString().includes('"name":"left-pad"')), 'the packument npm reads for a v1 lockfile');
  });

  test('entries whose resolved tarball contradicts their version or name are refused before anything is fetched', async () => {
    // Read from `packages` although lockfileVersion is 1: npm installs from them.
    for (const [entry, message] of [
      [{ version: '1.4.0', resolved: `${registry}left-pad/-/left-pad-1.3.0.tgz`, integrity: sri }, /"version" is 1\.4\.0 but "resolved" is the tarball of left-pad@1\.3\.0/],
      [{ name: 'right-pad', version: '1.3.0', resolved: `${registry}left-pad/-/left-pad-1.3.0.tgz`, integrity: sri }, /"resolved" is a tarball of left-pad, not of right-pad/],
    ] as const) {
      const lockfile = { name: 'app', lockfileVersion: 1, packages: { '': { name: 'app' }, 'node_modules/left-pad': entry } };
      await assert.rejects(vendorLockfile(lockfile, `registry=${DEAD}\n`), message);
    }
  });

  test('a package the registry does not have is reported by name', async () => {
    const lockfile = {
      name: 'app',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: 'app', dependencies: { ghost: '1.0.0' } }, 'node_modules/ghost': { version: '1.0.0', integrity: sri } },
    };
    await assert.rejects(vendorLockfile(lockfile, `registry=${registry}\n`), /^StowageError: ghost: cannot read the registry's record http:\/\/127\.0\.0\.1:\d+\/ghost: HTTP 404/);
  });
});

describe('npm registry addresses', () => {
  test('placeholder and mirror hosts in resolved stand for the public registry', () => {
    assert.equal(downloadUrlOfResolved('https://registry.invalid/@s/p/-/p-1.0.0.tgz'), 'https://registry.npmjs.org/@s/p/-/p-1.0.0.tgz');
    assert.equal(downloadUrlOfResolved('https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz'), 'https://registry.npmjs.org/ms/-/ms-2.1.3.tgz');
    assert.equal(downloadUrlOfResolved('https://npm.corp.internal/ms/-/ms-2.1.3.tgz'), 'https://npm.corp.internal/ms/-/ms-2.1.3.tgz');
  });

  test('the URL npm requests follows the configured registry as npm rewrites it', () => {
    const config = readNpmrcRegistries('/app/.npmrc', 'registry=${REG}\n@corp:registry = "https://npm.corp.internal/"\n', { REG: 'https://mirror.internal/npm' });
    assert.equal(config.registry, 'https://mirror.internal/npm/');
    assert.equal(registryFor(config, '@corp/tool'), 'https://npm.corp.internal/');
    assert.equal(registryFor(config, '@other/tool'), 'https://mirror.internal/npm/');
    // A lockfile's public-registry URL moves onto the configured registry, path prefix kept.
    assert.equal(requestedTarballUrl('https://registry.npmjs.org/ms/-/ms-2.1.3.tgz', true, config, 'ms'), 'https://mirror.internal/npm/ms/-/ms-2.1.3.tgz');
    // Other hosts are requested as written.
    assert.equal(requestedTarballUrl('https://registry.invalid/ms/-/ms-2.1.3.tgz', true, config, 'ms'), 'https://registry.invalid/ms/-/ms-2.1.3.tgz');
    assert.equal(requestedTarballUrl('https://registry.npmjs.org/ms/-/ms-2.1.3.tgz', true, PUBLIC_REGISTRY_CONFIG, 'ms'), 'https://registry.npmjs.org/ms/-/ms-2.1.3.tgz');
    assert.equal(packumentUrl('https://registry.npmjs.org/', '@types/node'), 'https://registry.npmjs.org/@types%2fnode');
  });

  test('an .npmrc naming an unset variable is refused at its line', () => {
    assert.throws(
      () => readNpmrcRegistries('/app/.npmrc', '; comment\nregistry=${NOT_SET_FOR_STOWAGE}\n', {}),
      (err: unknown) => err instanceof StowageError && err.line === '/app/.npmrc:2: ${NOT_SET_FOR_STOWAGE} is not set in the environment',
    );
  });
});
