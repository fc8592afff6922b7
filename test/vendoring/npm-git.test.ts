import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import { NPM_CACHE_DIR } from '../../src/inputs/vendor-layout.js';
import { commitFiles, git, gitUrlRewrites, initRepository } from '../support/git-repository.js';
import { DEAD, assertVendoredArchiveAudits, npmCiOffline, vendorDir } from '../support/npm-vendor.js';
import { tempDir, writeFiles } from '../support/shared.js';

/*
 * npm git dependencies on a git host, without the host: the repositories live in a local
 * directory, and git is told to fetch `https://github.com/` from there (`url.<base>.insteadOf`,
 * as a mirror is configured). npm itself never reaches the host: it installs offline.
 */

const scratch = tempDir('npm-git');
after(() => rmSync(scratch, { recursive: true, force: true }));

const REPOS = join(scratch, 'repos');
const HOST_ENV = gitUrlRewrites([
  ['https://github.com/', `${pathToFileURL(REPOS).href}/`],
  ['ssh://git@github.com/', `${pathToFileURL(REPOS).href}/`],
]);

/** A bare repository `someone/<name>.git` served as github.com/someone/<name>; the commits made, in order. */
function hostedRepository(name: string, commits: ReadonlyArray<Readonly<Record<string, string>>>): string[] {
  const work = initRepository(join(scratch, 'work', name));
  const ids = commits.map((files, i) => commitFiles(work, files, `commit ${i + 1}`));
  git(['clone', '--quiet', '--bare', work, join(REPOS, 'someone', `${name}.git`)], scratch);
  return ids;
}

const LEFT_FILES = {
  'package.json': JSON.stringify({ name: 'left', version: '1.2.3', main: 'index.js', license: 'MIT' }, null, 2),
  'index.js': "module.exports = (s, n) => String(s).padStart(n, '.');\n",
  // GitHub's tarballs leave out export-ignore paths (git archive's rule): so does the vendored one.
  '.gitattributes': 'notes/ export-ignore\n',
  'notes/design.md': 'not shipped\n',
};

interface GitDep {
  name: string;
  /** What package.json says, e.g. `github:someone/left#<commit>`. */
  spec: string;
  version: string;
  resolved: string;
}

/** An application depending on `deps`, with the package-lock v3 npm writes for it. */
function appWith(dir: string, deps: readonly GitDep[]): string {
  mkdirSync(dir, { recursive: true });
  const dependencies = Object.fromEntries(deps.map((d) => [d.name, d.spec]));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies }, null, 2));
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0', dependencies } };
  for (const d of deps) packages[`node_modules/${d.name}`] = { version: d.version, resolved: d.resolved, license: 'MIT' };
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
  writeFileSync(join(dir, 'index.js'), "console.log(require('left')('x', 4));\n");
  return dir;
}

const githubDep = (name: string, commit: string, version: string): GitDep => ({
  name,
  spec: `github:someone/${name}#${commit}`,
  version,
  resolved: `git+ssh://git@github.com/someone/${name}.git#${commit}`,
});

describe('npm git dependencies on a git host', () => {
  let left: string;
  let withPrepare: string;

  before(() => {
    [left] = hostedRepository('left', [LEFT_FILES]) as [string];
    [withPrepare] = hostedRepository('built', [
      { ...LEFT_FILES, 'package.json': JSON.stringify({ name: 'built', version: '2.0.0', scripts: { prepare: 'tsc' }, devDependencies: { typescript: '^5' } }) },
    ]) as [string];
  });

  test('a GitHub dependency locked at a commit installs with npm ci, network cut, from the vendored cache alone', async () => {
    const dep = githubDep('left', left, '1.2.3');
    const { result, warnings } = await vendorDir(appWith(join(scratch, 'src'), [dep]), join(scratch, 'downloads'), HOST_ENV);
    await assertVendoredArchiveAudits(join(scratch, 'src'), scratch, HOST_ENV);
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      result.packages.map((p) => [p.name, p.version, p.source]),
      [['left', '1.2.3', dep.resolved]],
    );
    const stored = result.files.find((f) => f.path === result.packages[0]?.path);
    assert.ok(stored && stored.path.startsWith(`${NPM_CACHE_DIR}/_cacache/content-v2/sha512/`));
    // The tarball holds the commit's files under one top directory, export-ignore paths left out.
    const listing = spawnSync('tar', ['-tz'], { input: stored.data, encoding: 'utf8' });
    assert.deepEqual(listing.stdout.trim().split('\n').sort(), [`left-${left}/`, `left-${left}/.gitattributes`, `left-${left}/index.js`, `left-${left}/package.json`]);
    // Filed under the URL npm requests for it: GitHub's tarball of that commit.
    const index = result.files.filter((f) => f.path.includes('/index-v5/')).map((f) => f.data.toString());
    assert.equal(index.length, 1);
    assert.ok(index[0]?.includes(`"make-fetch-happen:request-cache:https://codeload.github.com/someone/left/tar.gz/${left}"`), index[0]);

    // Another run, another download cache: the same bytes.
    const again = await vendorDir(appWith(join(scratch, 'src-again'), [dep]), join(scratch, 'downloads-again'), HOST_ENV);
    assert.deepEqual(
      again.result.files.map((f) => [f.path, f.data.toString('base64')]),
      result.files.map((f) => [f.path, f.data.toString('base64')]),
    );

    // A fresh copy of the application, the vendored files, an empty HOME, no network.
    const dir = appWith(join(scratch, 'install'), [dep]);
    writeFiles(dir, result.files);
    const output = npmCiOffline(dir, join(scratch, 'install-home'), { npm_config_registry: DEAD });
    assert.doesNotMatch(output, /npm warn/i);
    assert.equal(JSON.parse(readFileSync(join(dir, 'node_modules', 'left', 'package.json'), 'utf8')).version, '1.2.3');
    assert.ok(!existsSync(join(dir, 'node_modules', 'left', 'notes')));
    const run = spawnSync(process.execPath, ['index.js'], { cwd: dir, encoding: 'utf8' });
    assert.equal(run.stdout, '...x\n', run.stderr);
  });

  test('a v1 lockfile (the git URL in "version") vendors the same tarball', async () => {
    const dep = githubDep('left', left, '1.2.3');
    const v3 = await vendorDir(appWith(join(scratch, 'v3'), [dep]), join(scratch, 'downloads'), HOST_ENV);
    const dir = appWith(join(scratch, 'v1'), [dep]);
    const v1 = { name: 'app', version: '1.0.0', lockfileVersion: 1, requires: true, dependencies: { left: { version: dep.resolved, from: dep.spec } } };
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(v1, null, 2));
    const { result } = await vendorDir(dir, join(scratch, 'downloads'), HOST_ENV);
    assert.deepEqual(
      result.packages.map((p) => [p.name, p.version, p.source, p.checksum]),
      [['left', '', dep.resolved, v3.result.packages[0]?.checksum]],
    );
  });

  test('what npm cannot install offline, or what does not match the lockfile, is refused naming the package', async () => {
    const cases: Array<[string, GitDep, RegExp]> = [
      [
        'a git URL on no known host: npm clones it at install time',
        { name: 'left', spec: `git+https://git.example.org/left.git#${left}`, version: '1.2.3', resolved: `git+https://git.example.org/left.git#${left}` },
        /^\S+\/package-lock\.json: left \(node_modules\/left\): npm clones git\+https:\/\/git\.example\.org\/left\.git with git at install time/,
      ],
      [
        'a branch, not a commit',
        { ...githubDep('left', 'main', '1.2.3') },
        /left \(node_modules\/left\): the lockfile locks "main", not a full commit id/,
      ],
      [
        'a package npm would prepare by running npm install in it',
        githubDep('built', withPrepare, '2.0.0'),
        /built \(node_modules\/built\) \(git https:\/\/github\.com\/someone\/built\.git#[0-9a-f]{8}\): npm prepares this git dependency at install time \(for its prepare script\)/,
      ],
      [
        'a version the commit does not have',
        githubDep('left', left, '9.9.9'),
        /left \(node_modules\/left\) .*: the lockfile records version 9\.9\.9 \(the version audited\) but the commit's package\.json says "1\.2\.3"/,
      ],
      [
        'a commit the repository does not have',
        githubDep('left', 'f'.repeat(40), '1.2.3'),
        /left \(node_modules\/left\) .*(has no commit f{40}|cannot fetch)/,
      ],
    ];
    for (const [what, dep, message] of cases) {
      const dir = appWith(join(scratch, `refused-${cases.findIndex((c) => c[0] === what)}`), [dep]);
      await assert.rejects(vendorDir(dir, join(scratch, 'downloads'), HOST_ENV), (err: Error) => {
        assert.ok(err instanceof StowageError, what);
        assert.match(err.line, message, what);
        return true;
      });
    }
  });

  test('gzip of the vendored tarball unpacks to exactly git archive of the commit', async () => {
    const dep = githubDep('left', left, '1.2.3');
    const { result } = await vendorDir(appWith(join(scratch, 'archive'), [dep]), join(scratch, 'downloads'), HOST_ENV);
    const stored = result.files.find((f) => f.path === result.packages[0]?.path);
    const expected = spawnSync('git', ['archive', '--format=tar', `--prefix=left-${left}/`, left], { cwd: join(REPOS, 'someone', 'left.git') });
    assert.deepEqual(gunzipSync(stored?.data ?? Buffer.alloc(0)), expected.stdout);
  });
});
