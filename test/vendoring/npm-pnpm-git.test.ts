import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import { licenseKey, vendoredLicenses } from '../../src/vendoring/vendored-licenses.js';
import { depPathToFilename } from '../../src/vendoring/npm-pnpm-git.js';
import { commitFiles, git, gitUrlRewrites, initRepository } from '../support/git-repository.js';
import { assertVendoredArchiveAudits, cleanEnv, offline, packageManager, vendorDir } from '../support/npm-vendor.js';
import { tempDir, writeFiles } from '../support/shared.js';

/*
 * pnpm 9 git dependencies, both forms pnpm locks: a git repository cloned at a commit
 * (`resolution: {type: git}`, here a local bare repository by file://) and GitHub's tarball of
 * a commit (`resolution: {tarball: https://codeload.github.com/...}`, fetched here by git from
 * a local repository standing in for github.com). pnpm 9 itself makes the first lockfile, stores
 * the package online for comparison, and installs each vendored application offline, with the
 * network cut, an empty HOME and the repository out of reach.
 */

const scratch = tempDir('pnpm-git');
after(() => rmSync(scratch, { recursive: true, force: true }));

const pnpm = packageManager('pnpm');
const REPOS = join(scratch, 'repos');
const HOST_ENV = gitUrlRewrites([
  ['https://github.com/', `${pathToFileURL(REPOS).href}/`],
  ['ssh://git@github.com/', `${pathToFileURL(REPOS).href}/`],
]);

const LEFT_FILES = {
  'package.json': JSON.stringify({ name: 'left', version: '1.2.3', main: 'index.js', license: 'MIT' }, null, 2),
  'index.js': "module.exports = (s, n) => String(s).padStart(n, '.');\n",
  // npm pack's rules: what .npmignore names is not packed (nor is the .npmignore).
  '.npmignore': 'test/\n',
  'test/left.test.js': "require('assert')\n",
  // GitHub's tarball leaves out export-ignore paths; a clone has them.
  '.gitattributes': 'notes/ export-ignore\n',
  'notes/design.md': 'in a clone, not in the host tarball\n',
};

/** A bare repository `someone/<name>.git`; its commits' ids. */
function repository(name: string, commits: ReadonlyArray<Readonly<Record<string, string>>>): string[] {
  const work = initRepository(join(scratch, 'work', name));
  const ids = commits.map((files, i) => commitFiles(work, files, `commit ${i + 1}`));
  git(['clone', '--quiet', '--bare', work, join(REPOS, 'someone', `${name}.git`)], scratch);
  return ids;
}

function runPnpm(tool: string, args: string[], cwd: string, home: string, extra: NodeJS.ProcessEnv = {}): string {
  mkdirSync(home, { recursive: true });
  const cut = args.includes('--offline') ? offline([tool, ...args]) : { argv: [tool, ...args], env: {}, how: 'online' };
  const run = spawnSync(cut.argv[0] as string, cut.argv.slice(1), { cwd, env: cleanEnv({ HOME: home, ...cut.env, ...extra }), encoding: 'utf8', timeout: 300_000 });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}${run.error?.message ?? ''}`;
  assert.equal(run.status, 0, `pnpm ${args.join(' ')} (${cut.how}) failed:\n${output}`);
  return output;
}

/** The files a package's store index lists, from every `integrity.json` under `dir`. */
function storedFileLists(dir: string): string[][] {
  const out: string[][] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name === 'integrity.json') out.push(Object.keys((JSON.parse(readFileSync(join(d, e.name), 'utf8')) as { files: object }).files).sort());
    }
  };
  walk(dir);
  return out;
}

/** Runs `fn` with the bare repositories out of reach: an install that tried to clone would fail. */
function withoutRepositories<T>(fn: () => T): T {
  renameSync(REPOS, `${REPOS}.away`);
  try {
    return fn();
  } finally {
    renameSync(`${REPOS}.away`, REPOS);
  }
}

test("pnpm's store directory names for package ids (@pnpm/dependency-path 9)", () => {
  // Names read from stores pnpm 9.15.9 wrote: capitals make it cut the name and add a hash.
  assert.equal(depPathToFilename('git+file:///tmp/pkgx/repos/left.git#64eeba7d3e4033f9180a2737273132e5b6305f28', 120), 'git+file++++tmp+pkgx+repos+left.git#64eeba7d3e4033f9180a2737273132e5b6305f28');
  assert.equal(
    depPathToFilename('git+file:///tmp/pkgx/Repos/Left.git#64eeba7d3e4033f9180a2737273132e5b6305f28', 120),
    'git+file++++tmp+pkgx+Repos+Left.git#64eeba7d3e4033f9180a2737273132e5b6305f28_e5bzofstw3k3udycqoyhby4umq',
  );
});

describe('pnpm git dependencies install offline from the vendored store', { skip: 'missing' in pnpm ? pnpm.missing : false }, () => {
  let tool: string;
  let left: string;
  let prepared: string;

  before(() => {
    tool = 'path' in pnpm ? pnpm.path : '';
    [left] = repository('left', [LEFT_FILES]) as [string];
    [prepared] = repository('built', [{ ...LEFT_FILES, 'package.json': JSON.stringify({ name: 'built', version: '2.0.0', scripts: { prepare: 'tsc' } }) }]) as [string];
  });

  function app(dir: string, dependencies: Record<string, string>): string {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, license: 'MIT', dependencies }, null, 2));
    writeFileSync(join(dir, 'index.js'), "console.log(require('left')('x', 4));\n");
    return dir;
  }

  test('a git repository locked at a commit (type: git): packed as pnpm packs it, installed with the network cut', async () => {
    const spec = `git+${pathToFileURL(join(REPOS, 'someone', 'left.git')).href}#${left}`;
    const src = app(join(scratch, 'clone-src'), { left: spec });
    // pnpm 9 locks it, and stores it online: the reference for what it packs.
    const store = join(scratch, 'clone-online-store');
    runPnpm(tool, ['install', '--store-dir', store], src, join(scratch, 'clone-online-home'));
    const lockfile = readFileSync(join(src, 'pnpm-lock.yaml'), 'utf8');
    assert.match(lockfile, new RegExp(`resolution: \\{commit: ${left}, repo: file://[^,]+, type: git\\}`));
    const online = storedFileLists(store);
    rmSync(join(src, 'node_modules'), { recursive: true, force: true });

    const { result, warnings } = await vendorDir(src, join(scratch, 'downloads'));
    await assertVendoredArchiveAudits(src, scratch);
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      result.packages.map((p) => [p.name, p.version, p.source]),
      [['left', '1.2.3', `${pathToFileURL(join(REPOS, 'someone', 'left.git')).href}#${left}`]],
    );
    const vendoredStore = join(scratch, 'clone-vendored');
    writeFiles(vendoredStore, result.files);
    assert.deepEqual(storedFileLists(vendoredStore), online, 'the files pnpm stores for it');
    assert.deepEqual(online, [['.gitattributes', 'index.js', 'notes/design.md', 'package.json']]);
    // What packaging reads of it: the licence of the package's own package.json.
    assert.equal((await vendoredLicenses(result.files, result.packages)).get(licenseKey('npm', 'left', '1.2.3'))?.license, 'MIT');

    const dir = join(scratch, 'clone-install');
    cpSync(src, dir, { recursive: true });
    writeFiles(dir, result.files);
    const home = join(scratch, 'clone-install-home');
    withoutRepositories(() => runPnpm(tool, ['install', '--offline', '--frozen-lockfile'], dir, home));
    assert.equal(readFileSync(join(dir, 'pnpm-lock.yaml'), 'utf8'), lockfile, 'the lockfile is unchanged');
    assert.ok(!existsSync(join(dir, 'node_modules', 'left', 'test')), 'what .npmignore names is not installed');
    const run = spawnSync(process.execPath, ['index.js'], { cwd: dir, encoding: 'utf8' });
    assert.equal(run.stdout, '...x\n', run.stderr);
  });

  test("GitHub's tarball of a commit (codeload): the commit as git archive writes it, installed with the network cut", async () => {
    const tarball = `https://codeload.github.com/someone/left/tar.gz/${left}`;
    const src = app(join(scratch, 'hosted-src'), { left: `github:someone/left#${left}` });
    // What pnpm 9 writes for a GitHub dependency (its git resolver: the host's tarball, no integrity).
    const lockfile = [
      "lockfileVersion: '9.0'",
      '',
      'settings:',
      '  autoInstallPeers: true',
      '  excludeLinksFromLockfile: false',
      '',
      'importers:',
      '',
      '  .:',
      '    dependencies:',
      '      left:',
      `        specifier: github:someone/left#${left}`,
      `        version: ${tarball}`,
      '',
      'packages:',
      '',
      `  left@${tarball}:`,
      `    resolution: {tarball: ${tarball}}`,
      '    version: 1.2.3',
      '',
      'snapshots:',
      '',
      `  left@${tarball}: {}`,
      '',
    ].join('\n');
    writeFileSync(join(src, 'pnpm-lock.yaml'), lockfile);
    const { result } = await vendorDir(src, join(scratch, 'downloads'), HOST_ENV);
    const vendoredStore = join(scratch, 'hosted-vendored');
    writeFiles(vendoredStore, result.files);
    // export-ignore applies to the host's tarball; .npmignore to what pnpm packs of it.
    assert.deepEqual(storedFileLists(vendoredStore), [['.gitattributes', 'index.js', 'package.json']]);

    const dir = join(scratch, 'hosted-install');
    cpSync(src, dir, { recursive: true });
    writeFiles(dir, result.files);
    withoutRepositories(() => runPnpm(tool, ['install', '--offline', '--frozen-lockfile'], dir, join(scratch, 'hosted-install-home')));
    assert.equal(readFileSync(join(dir, 'pnpm-lock.yaml'), 'utf8'), lockfile);
    assert.ok(!existsSync(join(dir, 'node_modules', 'left', 'notes')));
    const run = spawnSync(process.execPath, ['index.js'], { cwd: dir, encoding: 'utf8' });
    assert.equal(run.stdout, '...x\n', run.stderr);
  });

  test('what pnpm cannot install offline, or what does not match the lockfile, is refused naming the package', async () => {
    const url = (name: string): string => pathToFileURL(join(REPOS, 'someone', `${name}.git`)).href;
    const lock = (name: string, commit: string, version: string, extra = ''): string => {
      const id = `git+${url(name)}#${commit}${extra}`;
      return [
        "lockfileVersion: '9.0'",
        'importers:',
        '  .:',
        '    dependencies:',
        `      ${name}:`,
        `        specifier: ${id}`,
        `        version: ${id}`,
        'packages:',
        `  ${name}@${id}:`,
        `    resolution: {commit: ${commit}, repo: '${url(name)}', type: git}`,
        `    version: ${version}`,
        'snapshots:',
        `  ${name}@${id}: {}`,
        '',
      ].join('\n');
    };
    const cases: Array<[string, string, RegExp]> = [
      ['a package pnpm would prepare', lock('built', prepared, '2.0.0'), /built@2\.0\.0 \(git file:\/\/\S+#[0-9a-f]{8}\): pnpm prepares this git dependency at install time \(for its prepare script\)/],
      ['a version the commit does not have', lock('left', left, '9.9.9'), /left@9\.9\.9 .*: the lockfile records left@9\.9\.9 but the commit's package\.json says "left"@"1\.2\.3"/],
      ['a commit the repository does not have', lock('left', 'f'.repeat(40), '1.2.3'), /left@1\.2\.3 .*(has no commit f{40}|cannot fetch)/],
      ['a branch, not a commit', lock('left', 'main', '1.2.3'), /left@1\.2\.3: the lockfile locks "main", not a full commit id/],
      ['a package in a subdirectory', lock('left', left, '1.2.3', '&path:/packages/left'), /left@1\.2\.3: a package in a subdirectory of a git repository/],
    ];
    for (const [what, text, message] of cases) {
      const dir = join(scratch, `refused-${what.replace(/\W+/g, '-')}`);
      app(dir, {});
      writeFileSync(join(dir, 'pnpm-lock.yaml'), text);
      await assert.rejects(vendorDir(dir, join(scratch, 'downloads')), (err: unknown) => {
        assert.ok(err instanceof StowageError, `${what}: ${String(err)}`);
        assert.match(err.line, message, what);
        assert.ok(err.line.startsWith(join(dir, 'pnpm-lock.yaml')), err.line);
        return true;
      });
    }
  });
});
