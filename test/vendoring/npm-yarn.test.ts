import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import { ContentCache } from '../../src/vendoring/content-cache.js';
import { vendorGraphs } from '../../src/vendoring/vendor-app.js';
import { findLockfiles, readDependencyGraph } from '../../src/inputs/lockfiles.js';
import { YARN_MIRROR_DIR, mirrorFileName, yarnrcWithMirror } from '../../src/vendoring/npm-yarn.js';
import type { VendorResult } from '../../src/vendoring/vendor-tree.js';
import { DEAD, NPM_APP, NPM_APP_OUTPUT, cleanEnv, installFromRegistry, vendorDir, whyNoRegistry, writeFiles } from '../support/npm-vendor.js';
import { tempDir } from '../support/shared.js';

const APP = NPM_APP;
const EXPECTED_OUTPUT = NPM_APP_OUTPUT;
/** The yarn classic release the end-to-end test installs with (from the npm registry). */
const YARN_VERSION = '1.22.22';

const scratch = tempDir('yarn-vendor');
after(() => rmSync(scratch, { recursive: true, force: true }));

function appWith(parent: string, name: string, lockfile: string, yarnrc?: string): string {
  const dir = join(parent, name);
  cpSync(APP, dir, { recursive: true });
  writeFileSync(join(dir, 'yarn.lock'), lockfile);
  if (yarnrc !== undefined) writeFileSync(join(dir, '.yarnrc'), yarnrc);
  return dir;
}

describe("yarn's offline mirror file names", () => {
  test('as yarn 1.22 names them: registry tarballs, scoped ones, anything else by its last segment', () => {
    assert.equal(mirrorFileName('https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz'), 'ms-2.1.3.tgz');
    assert.equal(mirrorFileName('https://registry.yarnpkg.com/@babel/core/-/core-7.24.0.tgz'), '@babel-core-7.24.0.tgz');
    assert.equal(mirrorFileName('https://registry.npmjs.org/@types%2fnode/-/node-20.1.0.tgz'), '@types-node-20.1.0.tgz');
    assert.equal(mirrorFileName('https://npm.example.org/repository/npm/@s/x/-/@s/x-1.0.0.tgz'), '@s-x-1.0.0.tgz');
    assert.equal(mirrorFileName('https://codeload.example.org/owner/repo/tar.gz/abc123'), 'abc123');
  });

  test('a URL that gives no safe file name is refused', () => {
    assert.throws(() => mirrorFileName('https://example.org/'), StowageError);
  });
});

describe('the written .yarnrc', () => {
  test('a lone CR ends a line for yarn: a setting after one is seen and replaced', () => {
    const text = yarnrcWithMirror('/app/.yarnrc', 'network-timeout 600000\r--install.offline false\r\nyarn-offline-mirror-pruning true\n', () => {});
    assert.doesNotMatch(text, /\r/);
    assert.match(text, /^# stowage: replaced below: --install\.offline false$/m);
    assert.match(text, /^# stowage: replaced below: yarn-offline-mirror-pruning true$/m);
  });

  test('a string left open would swallow the settings appended after it: refused, naming the line', () => {
    for (const [rc, line] of [
      ['registry "https://r.example/\n', 1],
      ['a b\n"c\\" d\n', 2],
      ['cafile true"x\n', 1],
    ] as const) {
      assert.throws(
        () => yarnrcWithMirror('/app/.yarnrc', rc, () => {}),
        (err: unknown) => err instanceof StowageError && err.line === `/app/.yarnrc: line ${line} leaves a string open; yarn would read the vendored layout's settings after it as part of the string`,
        JSON.stringify(rc),
      );
    }
    // Quotes inside comments and words, and escaped quotes in strings, open nothing.
    const fine = yarnrcWithMirror('/app/.yarnrc', 'a "x\\"y" # "z\nb c"d\n# "e\ncafile "/etc/ssl/a#b.pem"\n', () => {});
    assert.match(fine, /^cafile "\/etc\/ssl\/a#b\.pem"$/m);
  });

  test("keeps the application's settings, replaces the ones the layout decides, and says so", () => {
    const warnings: string[] = [];
    const text = yarnrcWithMirror('/app/.yarnrc', 'network-timeout 600000\nyarn-offline-mirror "/elsewhere"\n# a comment\n', (m) => warnings.push(m));
    assert.match(text, /^network-timeout 600000$/m);
    assert.match(text, /^# stowage: replaced below: yarn-offline-mirror "\/elsewhere"$/m);
    assert.match(text, /^yarn-offline-mirror "\.\/vendor\/yarn-offline-mirror"$/m);
    assert.match(text, /^--install\.offline true$/m);
    assert.match(text, /^# a comment$/m);
    assert.deepEqual(warnings, ['/app/.yarnrc: yarn-offline-mirror replaced by the vendored layout\'s settings in the archive\'s .yarnrc']);
  });

  test("credentials are left out of the archive's .yarnrc (it ships in the SRPM)", () => {
    const warnings: string[] = [];
    const yarnrc = [
      'registry "https://ci:s3cret@npm.corp.example/"',
      '"//npm.corp.example/:_authToken" "t0ken"',
      '_auth dG9rZW4=',
      'email dev@example.com',
      'network-timeout 600000',
    ].join('\n');
    const text = yarnrcWithMirror('/app/.yarnrc', yarnrc, (m) => warnings.push(m));
    assert.ok(!text.includes('s3cret') && !text.includes('t0ken') && !text.includes('dG9rZW4=') && !text.includes('dev@example.com'), text);
    assert.match(text, /^# stowage: credential removed \(\/\/npm\.corp\.example\/:_authToken\)$/m);
    assert.match(text, /^network-timeout 600000$/m);
    assert.deepEqual(warnings, ["/app/.yarnrc: credentials (registry, //npm.corp.example/:_authToken, _auth, email) left out of the archive's .yarnrc; an offline install needs none"]);
  });
});

describe('yarn v1 lockfiles stowage cannot vendor are refused, naming the entry', () => {
  const header = '# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n';
  const cases: [string, string, RegExp][] = [
    [
      'a git dependency',
      '"left@git+https://git.example.org/left.git#abc":\n  version "1.0.0"\n  resolved "git+https://git.example.org/left.git#0123456789abcdef0123456789abcdef01234567"\n',
      /left@1\.0\.0 \(yarn\.lock line 5\): git dependencies cannot be vendored for yarn yet/,
    ],
    [
      'no integrity and no sha1',
      'ms@^2.1.3:\n  version "2.1.3"\n  resolved "https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz"\n',
      /ms@2\.1\.3 \(yarn\.lock line 5\): the lockfile records no integrity or sha1/,
    ],
    [
      'a local package outside the application',
      '"lib@file:../lib":\n  version "1.0.0"\n',
      /lib@1\.0\.0: the local package \.\.\/lib lies outside the application/,
    ],
    [
      'two tarballs under one mirror name',
      'a@^1.0.0:\n  version "1.0.0"\n  resolved "https://one.example.org/a/-/a-1.0.0.tgz#0123456789abcdef0123456789abcdef01234567"\n\n' +
        'a@^1.0.1:\n  version "1.0.0"\n  resolved "https://two.example.org/a/-/a-1.0.0.tgz#89abcdef0123456789abcdef0123456789abcdef"\n',
      /would share the offline mirror name a-1\.0\.0\.tgz/,
    ],
  ];
  for (const [what, body, message] of cases) {
    test(what, async () => {
      const dir = join(scratch, `refused-${what.replace(/\W+/g, '-')}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{"name":"app","version":"1.0.0"}\n');
      writeFileSync(join(dir, 'yarn.lock'), header + body);
      await assert.rejects(vendorDir(dir, join(dir, 'cache')), (err: unknown) => {
        assert.ok(err instanceof StowageError, String(err));
        assert.match(err.line, message);
        assert.ok(err.line.startsWith(join(dir, 'yarn.lock')), err.line);
        return true;
      });
    });
  }
});

test('a yarn.lock older than its package.json is not vendored: an install from it would fail', async () => {
  const dir = join(scratch, 'stale-lockfile');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"name":"app","version":"1.0.0","dependencies":{"foo":"^1.0.0","left-pad":"^1.3.0"}}\n');
  writeFileSync(
    join(dir, 'yarn.lock'),
    '# yarn lockfile v1\n\nfoo@^1.0.0:\n  version "1.0.0"\n  resolved "https://registry.yarnpkg.com/foo/-/foo-1.0.0.tgz#0123456789abcdef0123456789abcdef01234567"\n',
  );
  const locations = findLockfiles(dir);
  const graphs = await Promise.all(locations.map((l) => readDependencyGraph(l)));
  await assert.rejects(vendorGraphs(dir, { locations, graphs }, { cacheRoot: join(dir, 'cache'), warn: () => {}, env: {} }), (err: unknown) => {
    assert.ok(err instanceof StowageError);
    assert.equal(
      err.line,
      `${join(dir, 'yarn.lock')}: the lockfile is older than its manifest (left-pad@^1.3.0 from package.json not locked): update it before vendoring; an install from it as it is fails`,
    );
    return true;
  });
  assert.ok(!existsSync(join(dir, 'cache', 'content')), 'nothing was downloaded');
});

test('one tarball recorded with a sha512 integrity in one entry and only its sha1 in another is mirrored once', async () => {
  const dir = join(scratch, 'same-tarball-two-digests');
  mkdirSync(dir, { recursive: true });
  const bytes = Buffer.from('a tarball stowage does not unpack');
  const sha512 = createHash('sha512').update(bytes).digest('base64');
  const sha1 = createHash('sha1').update(bytes).digest('hex');
  const url = 'https://registry.yarnpkg.com/foo/-/foo-1.0.0.tgz';
  writeFileSync(join(dir, 'package.json'), '{"name":"app","version":"1.0.0"}\n');
  writeFileSync(
    join(dir, 'yarn.lock'),
    '# yarn lockfile v1\n\n' +
      `foo@^1.0.0:\n  version "1.0.0"\n  resolved "${url}#${sha1}"\n  integrity sha512-${sha512}\n\n` +
      `"bar@npm:foo@1.0.0":\n  version "1.0.0"\n  resolved "${url}#${sha1}"\n`,
  );
  // The bytes are already in the content cache: nothing is downloaded.
  const cacheDir = join(dir, 'cache');
  new ContentCache(cacheDir).put(bytes, [
    { algorithm: 'sha512', hex: Buffer.from(sha512, 'base64').toString('hex') },
    { algorithm: 'sha1', hex: sha1 },
  ]);
  const { result } = await vendorDir(dir, cacheDir);
  const mirrored = result.files.filter((f) => f.path.startsWith(`${YARN_MIRROR_DIR}/`));
  assert.deepEqual(mirrored.map((f) => f.path), [`${YARN_MIRROR_DIR}/foo-1.0.0.tgz`]);
  assert.deepEqual(mirrored[0]?.data, bytes);
});

const noRegistry = await whyNoRegistry();

describe('yarn v1 vendoring against the real registry', { skip: noRegistry === null ? false : `${noRegistry}: end-to-end yarn vendoring skipped` }, () => {
  let work: string;
  let yarn: string;
  let lockfile: string;

  const runYarn = (args: string[], cwd: string, env: NodeJS.ProcessEnv): { status: number; output: string } => {
    const r = spawnSync(process.execPath, [yarn, ...args], { cwd, env, encoding: 'utf8', timeout: 300_000 });
    return { status: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}` };
  };

  before(() => {
    work = join(scratch, 'registry');
    mkdirSync(work, { recursive: true });
    // yarn classic itself, from the npm registry, and a lockfile made by it.
    const tools = join(work, 'tools');
    installFromRegistry(tools, `yarn@${YARN_VERSION}`, join(work, 'npm-home'));
    yarn = join(tools, 'node_modules', 'yarn', 'bin', 'yarn.js');
    const gen = join(work, 'gen');
    cpSync(APP, gen, { recursive: true });
    const made = runYarn(['install', '--ignore-scripts', '--non-interactive', '--no-progress'], gen, cleanEnv({ HOME: join(work, 'gen-home'), YARN_CACHE_FOLDER: join(work, 'gen-cache') }));
    assert.equal(made.status, 0, made.output);
    lockfile = readFileSync(join(gen, 'yarn.lock'), 'utf8');
    assert.match(lockfile, /^# yarn lockfile v1$/m);
  });

  /**
   * A fresh copy of the application (source, yarn.lock, vendored files), installed by plain
   * `yarn install` with an empty yarn cache, a new HOME and every request sent to a dead proxy.
   */
  function installOfflineAndRun(name: string, lock: string, result: VendorResult, yarnrc?: string): string {
    const dir = appWith(work, name, lock, yarnrc);
    writeFiles(dir, result);
    const cache = join(work, `${name}-cache`);
    const env = cleanEnv({ HOME: join(work, `${name}-home`), YARN_CACHE_FOLDER: cache, HTTP_PROXY: DEAD, HTTPS_PROXY: DEAD, http_proxy: DEAD, https_proxy: DEAD });
    const install = runYarn(['install', '--non-interactive', '--no-progress'], dir, env);
    assert.equal(install.status, 0, `yarn install failed:\n${install.output}`);
    assert.ok(existsSync(join(dir, 'node_modules', '.bin', 'semver')), 'bin links are made (semver has one)');
    const run = spawnSync(process.execPath, ['index.mjs'], { cwd: dir, encoding: 'utf8', env });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout.trim();
  }

  test('a yarn v1 app installs offline with plain `yarn install` from the vendored mirror', async () => {
    const yarnrc = 'network-timeout 600000\n';
    const { result, warnings } = await vendorDir(appWith(work, 'src', lockfile, yarnrc), join(work, 'downloads'));
    assert.deepEqual(warnings, []);
    const names = result.packages.map((p) => p.name);
    for (const name of ['ms', 'debug', 'chalk', 'semver', 'is-number', 'ansi-styles', 'supports-color']) assert.ok(names.includes(name), name);
    assert.ok(result.packages.every((p) => p.checksum?.startsWith('sha512-') && p.path.startsWith(`${YARN_MIRROR_DIR}/`)));
    assert.ok(result.packages.every((p) => p.source.startsWith('https://registry.npmjs.org/')), 'yarnpkg.com URLs are fetched from the npm registry');
    assert.match(result.files.find((f) => f.path === '.yarnrc')?.data.toString() ?? '', /^network-timeout 600000$/m);
    assert.equal(installOfflineAndRun('install', lockfile, result, yarnrc), EXPECTED_OUTPUT);
  });

  test('a missing mirror file makes the offline install fail, not fetch', async () => {
    const { result } = await vendorDir(appWith(work, 'partial-src', lockfile), join(work, 'downloads'));
    const dropped = { ...result, files: result.files.filter((f) => !f.path.endsWith('/ms-2.1.3.tgz')) };
    assert.notEqual(dropped.files.length, result.files.length);
    assert.throws(() => installOfflineAndRun('partial', lockfile, dropped), /Can't make a request in offline mode/);
  });

  test("an old lockfile with only the sha1 in the URL is verified by it and installs", async () => {
    const sha1Only = lockfile.replace(/^ {2}integrity .*\n/gm, '');
    assert.notEqual(sha1Only, lockfile);
    const { result } = await vendorDir(appWith(work, 'sha1-src', sha1Only), join(work, 'downloads-sha1'));
    assert.ok(result.packages.every((p) => p.checksum?.startsWith('sha1-')));
    assert.equal(installOfflineAndRun('sha1-install', sha1Only, result), EXPECTED_OUTPUT);
  });

  test('the vendored files are byte-identical across runs', async () => {
    const first = await vendorDir(appWith(work, 'same-a', lockfile), join(work, 'same-a-cache'));
    const second = await vendorDir(appWith(work, 'same-b', lockfile), join(work, 'same-b-cache'));
    const digest = (r: VendorResult): string[] => r.files.map((f) => `${f.path} ${f.mode} ${createHash('sha256').update(f.data).digest('hex')}`);
    assert.deepEqual(digest(second.result), digest(first.result));
    assert.deepEqual(second.result.packages, first.result.packages);
  });
});
