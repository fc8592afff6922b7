import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import { ContentCache } from '../../src/vendoring/content-cache.js';
import { vendorGraphs } from '../../src/vendoring/vendor-app.js';
import { findLockfiles, readDependencyGraph } from '../../src/inputs/lockfiles.js';
import { mirrorFileName, yarnrcWithMirror } from '../../src/vendoring/npm-yarn.js';
import { YARN_MIRROR_DIR } from '../../src/inputs/vendor-layout.js';
import type { VendorResult } from '../../src/vendoring/vendor-tree.js';
import { cleanEnv, offline, packageManager, vendorDir } from '../support/npm-vendor.js';
import { LOCAL_APP, LOCAL_APP_OUTPUT, LOCAL_APP_YARN_V1_LOCKFILE, startLocalRegistry, type LocalRegistry } from '../support/npm-registry.js';
import { sha256Of, tempDir, writeFiles } from '../support/shared.js';


const scratch = tempDir('yarn-vendor');
after(() => rmSync(scratch, { recursive: true, force: true }));

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
      'a git dependency on a branch',
      '"left@git+https://git.example.org/left.git#main":\n  version "1.0.0"\n  resolved "git+https://git.example.org/left.git#main"\n',
      /left@1\.0\.0 \(yarn\.lock line 5\): the lockfile locks "main", not a full commit id/,
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

/*
 * yarn classic's offline mirror, proven with yarn 1 itself: the application's packages served by
 * the npm registry on 127.0.0.1 (test/support/npm-registry.ts), its yarn.lock the one yarn 1.22.22
 * made against it (committed). yarn 1 comes from STOWAGE_TEST_PACKAGE_MANAGERS (see .ci/run);
 * the tests that run it are skipped without it, except with CI=true, where that is a failure.
 * The whole application vendored through the command line and installed by yarn 1 offline:
 * test/cli/vendor-js-managers.test.ts.
 */
describe('yarn v1 vendoring from the local registry', () => {
  const mustRun = process.env.CI === 'true';
  const yarn = packageManager('yarn-classic');
  const noYarn = 'missing' in yarn && !mustRun ? `${yarn.missing}: skipped` : false;
  const work = join(scratch, 'local-registry');
  let registry: LocalRegistry;
  let lockfile: string;

  before(async () => {
    registry = await startLocalRegistry();
    lockfile = registry.lockfileFor(readFileSync(LOCAL_APP_YARN_V1_LOCKFILE, 'utf8'));
  });
  after(() => registry.close());

  /** A copy of the application with `lock` as its yarn.lock (and no other lockfile). */
  function appWith(name: string, lock: string): string {
    const dir = join(work, name);
    cpSync(LOCAL_APP, dir, { recursive: true });
    rmSync(join(dir, 'package-lock.json'));
    writeFileSync(join(dir, 'yarn.lock'), lock);
    return dir;
  }

  /**
   * A fresh copy of the application with the vendored files, installed by plain `yarn install`
   * (the archive's .yarnrc makes it offline) with the network cut, a new HOME and an empty yarn
   * cache; what the application prints, or a failed assertion with yarn's output.
   */
  function installOfflineAndRun(name: string, lock: string, result: VendorResult): string {
    if ('missing' in yarn) assert.fail(`${yarn.missing}, and CI=true: this test must run`);
    const dir = appWith(name, lock);
    writeFiles(dir, result.files);
    const cut = offline([yarn.path, 'install', '--non-interactive', '--no-progress']);
    const env = cleanEnv({ HOME: join(work, `${name}-home`), YARN_CACHE_FOLDER: join(work, `${name}-yarn-cache`), ...cut.env });
    const [command, ...args] = cut.argv;
    const install = spawnSync(command as string, args, { cwd: dir, env, encoding: 'utf8', timeout: 300_000 });
    assert.equal(install.status, 0, `yarn install (network cut with ${cut.how}) failed:\n${install.stdout}${install.stderr}`);
    const run = spawnSync(process.execPath, ['index.mjs'], { cwd: dir, encoding: 'utf8', env });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout.trim();
  }

  test('a missing mirror file makes the offline install fail, not fetch', { skip: noYarn, timeout: 600_000 }, async () => {
    const { result } = await vendorDir(appWith('partial-src', lockfile), join(work, 'downloads'));
    const dropped = { ...result, files: result.files.filter((f) => f.path !== `${YARN_MIRROR_DIR}/fixture-ms-2.1.3.tgz`) };
    assert.equal(dropped.files.length, result.files.length - 1);
    assert.throws(() => installOfflineAndRun('partial', lockfile, dropped), /Can't make a request in offline mode/);
  });

  test('an old lockfile with only the sha1 in the URL is verified by it and installs', { skip: noYarn, timeout: 600_000 }, async () => {
    const sha1Only = lockfile.replace(/^ {2}integrity .*\n/gm, '');
    assert.notEqual(sha1Only, lockfile);
    const { result } = await vendorDir(appWith('sha1-src', sha1Only), join(work, 'downloads-sha1'));
    // The sha1 yarn 1 wrote after each URL's `#`, which the registry states as the tarball's shasum.
    const shasums = new Map(registry.packages.map((p) => [`${p.name}@${p.version}`, createHash('sha1').update(p.tarball).digest('base64')]));
    assert.deepEqual(
      result.packages.map((p) => [`${p.name}@${p.version}`, p.checksum]),
      result.packages.map((p) => [`${p.name}@${p.version}`, `sha1-${shasums.get(`${p.name}@${p.version}`) ?? ''}`]),
    );
    assert.equal(installOfflineAndRun('sha1-install', sha1Only, result), LOCAL_APP_OUTPUT);
  });

  test('the vendored files are byte-identical across runs', async () => {
    const first = await vendorDir(appWith('same-a', lockfile), join(work, 'same-a-cache'));
    const second = await vendorDir(appWith('same-b', lockfile), join(work, 'same-b-cache'));
    const digest = (r: VendorResult): string[] => r.files.map((f) => `${f.path} ${f.mode} ${sha256Of(f.data)}`);
    assert.equal(first.result.packages.length, 6);
    assert.deepEqual(digest(second.result), digest(first.result));
    assert.deepEqual(second.result.packages, first.result.packages);
  });
});
