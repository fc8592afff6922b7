/**
 * `stowage package rpm` of a workspace application: the root's command imports a workspace member
 * (`packages/lib`, `@app/lib`), which the production install links into node_modules
 * (`node_modules/@app/lib -> ../packages/lib`) and which has a registry dependency of its own.
 * Locked here by npm 11 and by pnpm 9 against the local test registry
 * (test/support/npm-registry.ts), packaged, rebuilt with `rpmbuild --rebuild` with the network cut
 * and an empty HOME, unpacked: the installed command must run, so the member (its files, and its
 * node_modules for pnpm) is in the RPM and no installed link dangles.
 *
 * Needs rpmbuild and rpm2archive (Debian package rpm); pnpm from STOWAGE_TEST_PACKAGE_MANAGERS.
 * Skipped without them, except with CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanEnv, commandDirectory, offline, packageManager } from '../support/npm-vendor.js';
import { startLocalRegistry, type LocalRegistry } from '../support/npm-registry.js';
import { runCliAsync, tempDir } from '../support/shared.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';

const execFileAsync = promisify(execFile);
const NAME = 'stowage-ws-app';
const OUTPUT = 'two days=172800000';
const noRpmbuild = spawnSync('rpmbuild', ['--version']).status === 0 ? null : 'rpmbuild is not installed (Debian package rpm)';
const mustRun = process.env.CI === 'true';
const scratch = tempDir('package-npm-workspace');
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The application's files; `member` is how the root names its workspace dependency. */
function workspaceApp(dir: string, member: string, extra: Record<string, unknown>): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'packages', 'lib', 'test'), { recursive: true });
  const root = {
    name: NAME,
    version: '1.0.0',
    description: 'A workspace application whose command imports its workspace member',
    license: 'MIT',
    bin: { [NAME]: 'bin/ws-app.mjs' },
    files: ['bin'],
    dependencies: { '@app/lib': member },
    ...extra,
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(root, null, 2)}\n`);
  writeFileSync(join(dir, 'bin', 'ws-app.mjs'), "#!/usr/bin/env node\nimport { days } from '@app/lib';\nconsole.log(`two days=${days(2)}`);\n");
  const lib = { name: '@app/lib', version: '1.0.0', license: 'MIT', type: 'module', main: 'index.mjs', files: ['index.mjs'], dependencies: { 'fixture-ms': '^2.1.3' } };
  writeFileSync(join(dir, 'packages', 'lib', 'package.json'), `${JSON.stringify(lib, null, 2)}\n`);
  writeFileSync(join(dir, 'packages', 'lib', 'index.mjs'), "import ms from 'fixture-ms';\nexport const days = (n) => ms(`${n} days`);\n");
  // Not in the member's `files`: npm pack leaves it out, so must the RPM.
  writeFileSync(join(dir, 'packages', 'lib', 'test', 'lib.test.mjs'), 'throw new Error("not shipped");\n');
}

/** Every symbolic link under `dir` whose target does not exist, relative to `dir`. */
function danglingLinks(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, entry);
    if (!lstatSync(path).isSymbolicLink()) continue;
    try {
      realpathSync(path);
    } catch {
      out.push(relative(dir, path));
    }
  }
  return out;
}

interface Case {
  label: string;
  /** Writes the application and its lockfile into `dir` (asynchronously: the registry answers from this process). */
  make: (dir: string, registry: LocalRegistry) => Promise<void>;
  why: () => string | null;
  /** The package manager the build runs, on PATH, when not npm. */
  command?: { name: string; path: () => string };
}

function pnpmPath(): string {
  const tool = packageManager('pnpm');
  return 'missing' in tool ? '' : tool.path;
}

const cases: Case[] = [
  {
    label: 'npm 11 (workspaces)',
    why: () => null,
    make: async (dir, registry) => {
      workspaceApp(dir, '1.0.0', { workspaces: ['packages/*'] });
      writeFileSync(join(dir, '.npmrc'), registry.npmrc);
      await execFileAsync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, env: cleanEnv({ HOME: join(dir, '..', 'npm-home') }) });
    },
  },
  {
    label: 'pnpm 9 (pnpm-workspace.yaml)',
    why: () => {
      const tool = packageManager('pnpm');
      return 'missing' in tool ? tool.missing : null;
    },
    make: async (dir, registry) => {
      workspaceApp(dir, 'workspace:*', {});
      writeFileSync(join(dir, 'pnpm-workspace.yaml'), 'packages:\n  - "packages/*"\n');
      writeFileSync(join(dir, '.npmrc'), registry.npmrc);
      await execFileAsync(process.execPath, [pnpmPath(), 'install', '--lockfile-only'], { cwd: dir, env: cleanEnv({ HOME: join(dir, '..', 'pnpm-home') }) });
    },
    command: { name: 'pnpm', path: pnpmPath },
  },
];

describe('package rpm installs the workspace members a workspace application links to', () => {
  let registry: LocalRegistry;
  before(async () => {
    registry = await startLocalRegistry();
  });
  after(() => registry.close());

  for (const [i, c] of cases.entries()) {
    const why = noRpmbuild ?? c.why();
    test(`${c.label}: the rebuilt RPM holds the member and the installed command runs`, { skip: why !== null && !mustRun ? `${why}: skipped` : false, timeout: 900_000 }, async () => {
      if (why !== null) assert.fail(`${why}, and CI=true: this test must run`);
      const work = join(scratch, `case-${i}`);
      const src = join(work, 'src');
      mkdirSync(src, { recursive: true });
      await c.make(src, registry);

      const out = join(work, 'rpm');
      const packaged = await runCliAsync(['package', 'rpm', src, '--srpm', '-o', out, '--db', unrelatedNpmAdvisoryDb(join(work, 'db'))], {
        cacheDir: join(work, 'cache'),
        env: cleanEnv({ NO_COLOR: '1', SOURCE_DATE_EPOCH: '1700000000' }),
      });
      assert.equal(packaged.status, 0, `${packaged.stdout}${packaged.stderr}`);

      const top = join(work, 'rpmbuild');
      const home = join(work, 'home');
      mkdirSync(home);
      const cut = offline(['rpmbuild', '--rebuild', '--nodeps', '--define', `_topdir ${top}`, join(out, `${NAME}-1.0.0-1.src.rpm`)]);
      const path = c.command ? `${commandDirectory(join(work, 'bin'), c.command.name, c.command.path())}:${process.env.PATH ?? ''}` : (process.env.PATH ?? '');
      const env = cleanEnv({ HOME: home, PATH: path, SOURCE_DATE_EPOCH: '1700000000', ...cut.env });
      const [command, ...args] = cut.argv;
      const build = spawnSync(command as string, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
      assert.equal(build.status, 0, `rpmbuild (network cut with ${cut.how}) failed:\n${build.stdout}\n${build.stderr}`);

      const rpmDir = join(top, 'RPMS', 'noarch');
      const rpm = join(rpmDir, readdirSync(rpmDir).find((f) => f.startsWith(`${NAME}-1.0.0-1`)) as string);
      const root = join(work, 'root');
      mkdirSync(root);
      execFileSync('sh', ['-c', 'rpm2archive - < "$1" | tar -xzf - -C "$2"', 'sh', rpm, root]);
      const appDir = join(root, 'usr', 'lib', 'node_modules', NAME);
      assert.deepEqual(danglingLinks(appDir), [], 'every installed link resolves inside the package');
      assert.ok(existsSync(join(appDir, 'packages', 'lib', 'index.mjs')), 'the workspace member is installed');
      assert.ok(!existsSync(join(appDir, 'packages', 'lib', 'test')), 'what the member does not publish is not installed');
      const run = spawnSync(process.execPath, [join(root, 'usr', 'bin', NAME)], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), OUTPUT);
    });
  }
});
