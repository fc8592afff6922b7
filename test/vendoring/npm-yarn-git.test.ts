import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import { licenseKey, vendoredLicenses } from '../../src/vendoring/vendored-licenses.js';
import { bareRepository, serveRepositories } from '../support/git-repository.js';
import { assertVendoredArchiveAudits, cleanEnv, offline, packageManager, vendorDir } from '../support/npm-vendor.js';
import { tempDir, writeFiles } from '../support/shared.js';

/*
 * yarn v1 git dependencies, with yarn 1.22 from STOWAGE_TEST_PACKAGE_MANAGERS. The
 * repository is served on 127.0.0.1 over git's dumb HTTP protocol, yarn 1.22 locks the
 * application against it, and the vendored application installs with plain `yarn install`
 * (the archive's .yarnrc: offline, frozen lockfile) with the network cut, an empty yarn cache
 * and HOME, and the server stopped. Without yarn 1 it skips, and fails instead under CI=true.
 */

const scratch = tempDir('yarn1-git');
after(() => rmSync(scratch, { recursive: true, force: true }));
const REPOS = join(scratch, 'repos');

const LEFT_FILES = {
  'package.json': JSON.stringify({ name: 'left', version: '1.2.3', main: 'index.js', license: 'MIT' }),
  'index.js': "module.exports = (s, n) => String(s).padStart(n, '.');\n",
};

const repository = (name: string, files: Readonly<Record<string, string>>): string => bareRepository(scratch, REPOS, name, files);

const mustRun = process.env.CI === 'true';
const yarnClassic = packageManager('yarn-classic');

describe('yarn v1 git dependencies install offline from the vendored mirror', { skip: 'missing' in yarnClassic && !mustRun ? `${yarnClassic.missing}: skipped` : false }, () => {
  let yarn: string;
  let host: { url: string; server: Server };
  let left: string;

  /** yarn 1 without blocking this process (the git server the online run fetches from lives here). */
  async function runYarn(args: string[], cwd: string, home: string): Promise<string> {
    mkdirSync(home, { recursive: true });
    const cut = args.includes('--offline-test') ? offline([process.execPath, yarn, ...args.filter((a) => a !== '--offline-test')]) : { argv: [process.execPath, yarn, ...args], env: {}, how: 'online' };
    const child = spawn(cut.argv[0] as string, cut.argv.slice(1), { cwd, env: cleanEnv({ HOME: home, YARN_CACHE_FOLDER: join(home, 'cache'), ...cut.env }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(status, 0, `yarn ${args.join(' ')} (${cut.how}) failed:\n${output}`);
    return output;
  }

  before(async () => {
    if ('missing' in yarnClassic) assert.fail(`${yarnClassic.missing}, and CI=true: this test must run`);
    yarn = yarnClassic.path;
    left = repository('left', LEFT_FILES);
    host = await serveRepositories(REPOS);
  });
  after(() => host?.server.close());

  test('a git repository locked at a commit: git archive of it in the mirror; yarn install with the network cut', async () => {
    const src = join(scratch, 'src');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, license: 'MIT', dependencies: { left: `git+${host.url}/someone/left.git#${left}` } }, null, 2));
    writeFileSync(join(src, 'index.js'), "console.log(require('left')('x', 4));\n");
    await runYarn(['install', '--non-interactive', '--no-progress'], src, join(scratch, 'lock-home'));
    rmSync(join(src, 'node_modules'), { recursive: true, force: true });
    const lockfile = readFileSync(join(src, 'yarn.lock'), 'utf8');
    assert.match(lockfile, new RegExp(`resolved "git\\+http://127\\.0\\.0\\.1:\\d+/someone/left\\.git#${left}"`));

    const { result, warnings } = await vendorDir(src, join(scratch, 'downloads'));
    await assertVendoredArchiveAudits(src, scratch);
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      result.packages.map((p) => [p.name, p.version, p.source, p.path]),
      [['left', '1.2.3', `${host.url}/someone/left.git#${left}`, `vendor/yarn-offline-mirror/left.git-${left}`]],
    );
    const archive = result.files.find((f) => f.path === `vendor/yarn-offline-mirror/left.git-${left}`);
    const expected = spawnSync('git', ['archive', left], { cwd: join(REPOS, 'someone', 'left.git') }).stdout;
    assert.ok(archive?.data.equals(expected), 'the mirror file is git archive of the commit');
    // What packaging reads of it: the licence of the package's own package.json.
    const licences = await vendoredLicenses(result.files, result.packages);
    assert.equal(licences.get(licenseKey('npm', 'left', '1.2.3'))?.license, 'MIT');

    const dir = join(scratch, 'install');
    cpSync(src, dir, { recursive: true });
    writeFiles(dir, result.files);
    // The network namespace's loopback is down: the server here is out of reach.
    await runYarn(['install', '--non-interactive', '--no-progress', '--offline-test'], dir, join(scratch, 'install-home'));
    assert.equal(readFileSync(join(dir, 'yarn.lock'), 'utf8'), lockfile);
    const run = spawnSync(process.execPath, ['index.js'], { cwd: dir, encoding: 'utf8' });
    assert.equal(run.stdout, '...x\n', run.stderr);
  });

  test('a package yarn would prepare, and a version the commit does not have, are refused naming the entry', async () => {
    const built = repository('built', { ...LEFT_FILES, 'package.json': JSON.stringify({ name: 'built', version: '2.0.0', scripts: { prepare: 'tsc' } }) });
    const entry = (name: string, commit: string, version: string): string =>
      `# yarn lockfile v1\n\n\n"${name}@git+${host.url}/someone/${name}.git#${commit}":\n  version "${version}"\n  resolved "git+${host.url}/someone/${name}.git#${commit}"\n`;
    const cases: Array<[string, string, RegExp]> = [
      ['built', entry('built', built, '2.0.0'), /built@2\.0\.0 \(yarn\.lock line \d+\) .*: yarn prepares this git dependency at install time \(for its prepare script\)/],
      ['left', entry('left', left, '9.9.9'), /left@9\.9\.9 .*: the lockfile records left@9\.9\.9 but the commit's package\.json says "left"@"1\.2\.3"/],
    ];
    for (const [what, text, message] of cases) {
      const dir = join(scratch, `refused-${what}`);
      mkdirSync(dir, { recursive: true });
      const commit = what === 'built' ? built : left;
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { [what]: `git+${host.url}/someone/${what}.git#${commit}` } }));
      writeFileSync(join(dir, 'yarn.lock'), text);
      await assert.rejects(vendorDir(dir, join(scratch, 'downloads')), (err: unknown) => {
        assert.ok(err instanceof StowageError, `${what}: ${String(err)}`);
        assert.match(err.line, message, what);
        return true;
      });
    }
  });
});
