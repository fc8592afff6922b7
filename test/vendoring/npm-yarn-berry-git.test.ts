import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import { licenseKey, vendoredLicenses } from '../../src/vendoring/vendored-licenses.js';
import { bareRepository, serveRepositories } from '../support/git-repository.js';
import { assertVendoredArchiveAudits, cleanEnv, offline, packageManager, vendorDir } from '../support/npm-vendor.js';
import { tempDir, writeFiles } from '../support/shared.js';

/*
 * yarn berry (yarn 4) git dependencies: the repositories are served on 127.0.0.1 over git's dumb
 * HTTP protocol (yarn's git resolver takes no file:// URL), yarn 4 itself locks and packs the
 * dependency online, and stowage's zip of the commit must be yarn's, byte for byte (the
 * lockfile's checksum says so). The vendored application then installs with `yarn install
 * --immutable` with the network cut, an empty HOME and the server stopped.
 */

const scratch = tempDir('yarn-berry-git');
after(() => rmSync(scratch, { recursive: true, force: true }));

const yarn = packageManager('yarn-berry');
const REPOS = join(scratch, 'repos');

const LEFT_FILES = {
  'package.json': JSON.stringify({ name: 'left', version: '1.2.3', main: 'index.js', license: 'MIT' }),
  'index.js': "module.exports = (s, n) => String(s).padStart(n, '.');\n",
  '.npmignore': 'test/\n',
  'test/left.test.js': "require('assert')\n",
};

const repository = (name: string, files: Readonly<Record<string, string>>): string => bareRepository(scratch, REPOS, name, files);

/** Runs yarn without blocking this process: the git server the online run fetches from lives here. */
async function runYarn(tool: string, args: string[], cwd: string, home: string): Promise<string> {
  mkdirSync(home, { recursive: true });
  const cut = args.includes('--immutable') ? offline([tool, ...args]) : { argv: [tool, ...args], env: {}, how: 'online' };
  const child = spawn(cut.argv[0] as string, cut.argv.slice(1), { cwd, env: cleanEnv({ HOME: home, YARN_ENABLE_TELEMETRY: '0', ...cut.env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(status, 0, `yarn ${args.join(' ')} (${cut.how}) failed:\n${output}`);
  return output;
}

describe('yarn berry git dependencies install offline from the vendored cache', { skip: 'missing' in yarn ? yarn.missing : false }, () => {
  let tool: string;
  let host: { url: string; server: Server };
  let left: string;
  let prepared: string;

  before(async () => {
    tool = 'path' in yarn ? yarn.path : '';
    left = repository('left', LEFT_FILES);
    prepared = repository('built', { ...LEFT_FILES, 'package.json': JSON.stringify({ name: 'built', version: '2.0.0', scripts: { prepack: 'tsc' } }) });
    host = await serveRepositories(REPOS);
  });
  after(() => host.server.close());

  /** An application depending on `left` at `commit`, locked (and its cache filled) by yarn 4 itself. */
  async function lockedApp(dir: string, name: string, commit: string): Promise<{ lockfile: string; zips: Map<string, Buffer> }> {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, license: 'MIT', dependencies: { [name]: `git+${host.url}/someone/${name}.git#commit=${commit}` } }, null, 2));
    writeFileSync(join(dir, '.yarnrc.yml'), 'nodeLinker: node-modules\nenableGlobalCache: false\n');
    writeFileSync(join(dir, 'yarn.lock'), '');
    writeFileSync(join(dir, 'index.js'), `console.log(require('${name}')('x', 4));\n`);
    // Locking writes the lockfile: under CI=true yarn 4 would default to --immutable and refuse.
    await runYarn(tool, ['install', '--no-immutable'], dir, join(dir, '..', `${name}-lock-home`));
    const cache = join(dir, '.yarn', 'cache');
    const zips = new Map(readdirSync(cache).filter((f) => f.endsWith('.zip')).map((f) => [f, readFileSync(join(cache, f))]));
    for (const made of ['.yarn', 'node_modules', '.pnp.cjs', '.pnp.loader.mjs']) rmSync(join(dir, made), { recursive: true, force: true });
    return { lockfile: readFileSync(join(dir, 'yarn.lock'), 'utf8'), zips };
  }

  test("a git repository locked at a commit: yarn's own zip, byte for byte; yarn install --immutable with the network cut", async () => {
    const src = join(scratch, 'app-src');
    const { lockfile, zips } = await lockedApp(src, 'left', left);
    assert.match(lockfile, new RegExp(`resolution: "left@git\\+http://127\\.0\\.0\\.1:\\d+/someone/left\\.git#commit=${left}"`));

    const { result, warnings } = await vendorDir(src, join(scratch, 'downloads'));
    await assertVendoredArchiveAudits(src, scratch);
    assert.deepEqual(warnings, []);
    const vendoredZips = result.files.filter((f) => f.path.startsWith('.yarn/cache/') && f.path.endsWith('.zip'));
    assert.deepEqual(
      vendoredZips.map((f) => [f.path.slice('.yarn/cache/'.length), f.data.toString('base64')]),
      [...zips].map(([name, data]) => [name, data.toString('base64')]),
      "the zip yarn made, under yarn's name",
    );
    assert.deepEqual(
      result.packages.map((p) => [p.name, p.version, p.source]),
      [['left', '1.2.3', `${host.url}/someone/left.git#${left}`]],
    );
    // What packaging reads of it: the licence of the package's own package.json.
    assert.equal((await vendoredLicenses(result.files, result.packages)).get(licenseKey('npm', 'left', '1.2.3'))?.license, 'MIT');

    const dir = join(scratch, 'app-install');
    cpSync(src, dir, { recursive: true });
    writeFiles(dir, result.files);
    await runYarn(tool, ['install', '--immutable'], dir, join(scratch, 'install-home'));
    assert.equal(readFileSync(join(dir, 'yarn.lock'), 'utf8'), lockfile, 'the lockfile is unchanged');
    assert.ok(!existsSync(join(dir, 'node_modules', 'left', 'test')), 'what .npmignore names is not installed');
    const run = spawnSync(process.execPath, ['index.js'], { cwd: dir, encoding: 'utf8' });
    assert.equal(run.stdout, '...x\n', run.stderr);
  });

  test('what yarn packs by running scripts, or what does not match the lockfile, is refused naming the package', async () => {
    const src = join(scratch, 'refused-src');
    const { lockfile } = await lockedApp(src, 'left', left);
    const checksum = /checksum: (10c0\/[0-9a-f]{128})/.exec(lockfile)?.[1] as string;
    const entry = (name: string, commit: string, version: string, sum = checksum): string =>
      [
        '__metadata:',
        '  version: 8',
        '  cacheKey: 10c0',
        '',
        `"${name}@git+${host.url}/someone/${name}.git#commit=${commit}":`,
        `  version: ${version}`,
        `  resolution: "${name}@git+${host.url}/someone/${name}.git#commit=${commit}"`,
        `  checksum: ${sum}`,
        '  languageName: node',
        '  linkType: hard',
        '',
      ].join('\n');
    const cases: Array<[string, string, RegExp]> = [
      ['a package yarn packs by running its scripts', entry('built', prepared, '2.0.0'), /built@2\.0\.0 \(git http:\S+#[0-9a-f]{8}\): yarn packs this git dependency by running `yarn install` and its prepack script in it/],
      ['a version the commit does not have', entry('left', left, '9.9.9'), /left@9\.9\.9 .*: the lockfile records left@9\.9\.9 but the commit's package\.json says "left"@"1\.2\.3"/],
      ['a checksum that is not of the commit', entry('left', left, '1.2.3', `10c0/${'ab'.repeat(64)}`), /left@1\.2\.3 .*: the zip made from the commit as yarn packs it does not have the lockfile's checksum/],
      ['a branch, not a commit', entry('left', 'main', '1.2.3').replaceAll('#commit=main', '#head=main'), /the lockfile locks no full commit id|a git reference with head=/],
    ];
    for (const [what, text, message] of cases) {
      const dir = join(scratch, `refused-${what.replace(/\W+/g, '-')}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{"name":"app","version":"1.0.0"}\n');
      writeFileSync(join(dir, 'yarn.lock'), text);
      await assert.rejects(vendorDir(dir, join(scratch, 'downloads')), (err: unknown) => {
        assert.ok(err instanceof StowageError, `${what}: ${String(err)}`);
        assert.match(err.line, message, what);
        assert.ok(err.line.startsWith(join(dir, 'yarn.lock')), err.line);
        return true;
      });
    }
  });
});
