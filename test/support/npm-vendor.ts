import assert from 'node:assert/strict';
import { execFile, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findLockfiles, readDependencyGraph } from '../../src/inputs/lockfiles.js';
import { vendorNpm } from '../../src/vendoring/npm.js';
import { ContentCache } from '../../src/vendoring/content-cache.js';
import { Downloader } from '../../src/vendoring/download.js';
import type { VendorResult } from '../../src/vendoring/vendor-tree.js';
import { PROJECT_ROOT } from './shared.js';

const execFileAsync = promisify(execFile);

/* What the npm-family vendoring tests share: the fixture app, the environment, the registry check. */

export const NPM_APP = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-app');
/** What the fixture app prints when every dependency is installed. */
export const NPM_APP_OUTPUT = 'ms=172800000 semver=true is-number=true chalk=plain debug=true';
/** Nothing listens on the discard port: a request there fails at once. */
export const DEAD = 'http://127.0.0.1:9/';
/** Every proxy setting npm (and the node-gyp it runs) and other HTTP clients read, at DEAD. */
export const DEAD_PROXIES: NodeJS.ProcessEnv = { HTTP_PROXY: DEAD, HTTPS_PROXY: DEAD, http_proxy: DEAD, https_proxy: DEAD, npm_config_proxy: DEAD, npm_config_https_proxy: DEAD };

/** The environment without npm's and yarn's own settings (`npm test` exports npm_config_*) and proxies. */
export function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm|yarn)_/i.test(key) || /^(https?|all|no)_proxy$/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Why the end-to-end tests cannot run here, or null when they can. */
export async function whyNoRegistry(): Promise<string | null> {
  if (spawnSync('npm', ['--version'], { encoding: 'utf8' }).status !== 0) return 'npm is not installed';
  try {
    const response = await fetch('https://registry.npmjs.org/ms', { method: 'HEAD', signal: AbortSignal.timeout(15_000) });
    return response.ok ? null : `the npm registry answered HTTP ${response.status}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return `the npm registry is unreachable (${cause})`;
  }
}

/**
 * An npm application in `dir` locked by npm itself at `dependencies` as given (exact versions),
 * then each requirement in `widened` loosened in package.json and the lockfile's root entry, as
 * a project that asked for `^1.2.5` before 1.2.6 came out is locked: at 1.2.5.
 */
export async function lockNpmApplication(dir: string, manifest: { dependencies: Record<string, string> } & Record<string, unknown>, widened: Record<string, string>, env: NodeJS.ProcessEnv): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  // Not spawnSync: the registry npm asks may be served by this very process (a local registry).
  try {
    await execFileAsync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, env, encoding: 'utf8' });
  } catch (err) {
    assert.fail(`npm install --package-lock-only failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
  }
  const loosened = { ...manifest, dependencies: { ...manifest.dependencies, ...widened } };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(loosened, null, 2) + '\n');
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dependencies?: Record<string, string> }> };
  Object.assign((lock.packages[''] as { dependencies: Record<string, string> }).dependencies, widened);
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2) + '\n');
}

/** Vendors the application in `dir` (its lockfile found as `stowage vendor` finds it); `env` adds to the environment. */
export async function vendorDir(dir: string, cacheDir: string, env: NodeJS.ProcessEnv = {}): Promise<{ result: VendorResult; warnings: string[] }> {
  const [location] = findLockfiles(dir);
  assert.ok(location);
  const graph = await readDependencyGraph(location);
  const warnings: string[] = [];
  const downloader = new Downloader({ cache: new ContentCache(cacheDir), attempts: 2, backoffMs: 50 });
  const result = await vendorNpm(graph, { projectDir: dir, downloader, warn: (m) => warnings.push(m), env });
  return { result, warnings };
}

/**
 * Where the end-to-end tests find pnpm 9, yarn 4 and yarn 1: a directory `npm install --prefix
 * DIR pnpm@9 @yarnpkg/cli-dist@4 yarn@1` was run in (.ci/run does it), named by this variable.
 */
export const PACKAGE_MANAGERS_ENV = 'STOWAGE_TEST_PACKAGE_MANAGERS';

export type PackageManagerName = 'pnpm' | 'yarn-berry' | 'yarn-classic';

/**
 * Each package manager's entry point under DIR/node_modules, and the major release the tests
 * prove. By path, not through node_modules/.bin: @yarnpkg/cli-dist and yarn both declare a
 * `yarn` bin, and which one npm links there is not something to rely on.
 */
const PACKAGE_MANAGERS: Record<PackageManagerName, { entry: string[]; major: number }> = {
  pnpm: { entry: ['pnpm', 'bin', 'pnpm.cjs'], major: 9 },
  'yarn-berry': { entry: ['@yarnpkg', 'cli-dist', 'bin', 'yarn.js'], major: 4 },
  'yarn-classic': { entry: ['yarn', 'bin', 'yarn.js'], major: 1 },
};

/** The command of `tool` (its entry point under the directory above, of the expected major release), or why it cannot be run. */
export function packageManager(tool: PackageManagerName): { path: string } | { missing: string } {
  const dir = process.env[PACKAGE_MANAGERS_ENV];
  if (dir === undefined || dir === '') return { missing: `${PACKAGE_MANAGERS_ENV} is not set` };
  const { entry, major } = PACKAGE_MANAGERS[tool];
  const path = join(dir, 'node_modules', ...entry);
  if (!existsSync(path)) return { missing: `${tool} ${major}.x is not installed in ${dir} (no ${path})` };
  const version = spawnSync(process.execPath, [path, '--version'], { encoding: 'utf8', env: cleanEnv({}) });
  if (version.status !== 0) return { missing: `${path} does not run (${version.error?.message ?? version.stderr.trim().split('\n').pop() ?? ''})` };
  const found = version.stdout.trim();
  return found.startsWith(`${major}.`) ? { path } : { missing: `${path} is release ${found} of ${tool}, not ${major}.x` };
}

/**
 * A directory holding only `command`, a link to `path`: put first on PATH, a build script's
 * `yarn` or `pnpm` is that very package manager, whatever else PATH holds.
 */
export function commandDirectory(dir: string, command: string, path: string): string {
  mkdirSync(dir, { recursive: true });
  symlinkSync(path, join(dir, command));
  return dir;
}

/**
 * How to run a command with the network cut: in a new network namespace (`unshare -n`, as root,
 * or `unshare -rn` in a user namespace), where nothing but a loopback that is down exists; where
 * neither is allowed, with every proxy variable pointing at a dead port instead (weaker: a tool
 * that ignores proxies could still connect), said in `how`.
 */
export function offline(argv: readonly string[]): { argv: string[]; env: NodeJS.ProcessEnv; how: string } {
  for (const flags of ['-n', '-rn']) {
    if (spawnSync('unshare', [flags, 'true']).status === 0) return { argv: ['unshare', flags, ...argv], env: {}, how: `unshare ${flags}` };
  }
  return { argv: [...argv], env: DEAD_PROXIES, how: 'a dead proxy (unshare is not allowed here)' };
}

/**
 * `rpmbuild --rebuild` of an npm application's source RPM under `top`, with `home` (made here,
 * empty) as HOME and every request, the registry's too, sent to a dead proxy: the SRPM alone must
 * build it. rpmbuild's result, its output in stdout and stderr.
 */
export function rpmbuildOffline(srpm: string, top: string, home: string, sourceDateEpoch: string): SpawnSyncReturns<string> {
  mkdirSync(home, { recursive: true });
  const env = cleanEnv({ HOME: home, ...DEAD_PROXIES, npm_config_registry: DEAD, SOURCE_DATE_EPOCH: sourceDateEpoch });
  return spawnSync('rpmbuild', ['--rebuild', '--nodeps', '--define', `_topdir ${top}`, srpm], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
}

/**
 * `npm ci --offline` in `dir` with `home` as HOME (so an empty ~/.npm), every proxy dead and the
 * network cut (see `offline`); fails the test unless npm succeeds and left the user cache
 * alone. npm's output.
 */
export function npmCiOffline(dir: string, home: string, env: NodeJS.ProcessEnv): string {
  mkdirSync(home, { recursive: true });
  const cut = offline(['npm', 'ci', '--offline']);
  const installEnv = cleanEnv({ HOME: home, npm_config_proxy: DEAD, npm_config_https_proxy: DEAD, HTTP_PROXY: DEAD, HTTPS_PROXY: DEAD, ...cut.env, ...env });
  const install = spawnSync(cut.argv[0] as string, cut.argv.slice(1), { cwd: dir, env: installEnv, encoding: 'utf8', timeout: 300_000 });
  const output = `${install.stdout ?? ''}${install.stderr ?? ''}${install.error?.message ?? ''}`;
  assert.equal(install.status, 0, `npm ci --offline (${cut.how}) failed:\n${output}`);
  assert.ok(!existsSync(join(home, '.npm', '_cacache')), 'the user cache was not used');
  return output;
}

/**
 * `stowage vendor` of the application in `dir` into an archive, then `stowage audit` of that
 * archive: exit 0 (the database is about no package it vendors), one target read from the archive.
 * What is vendored (git dependencies included) is what the archive's SBOM lists, so the audit,
 * which checks that, takes it.
 */
export async function assertVendoredArchiveAudits(dir: string, scratch: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const { runCliAsync } = await import('./shared.js');
  const { unrelatedNpmAdvisoryDb } = await import('./advisory-fixtures.js');
  const db = unrelatedNpmAdvisoryDb(join(scratch, 'archive-audit-db'));
  const cacheDir = join(scratch, 'archive-audit-cache');
  const archive = join(scratch, `${dir.split('/').pop() ?? 'app'}-vendor.tar.zst`);
  const vendored = await runCliAsync(['vendor', dir, '--db', db, '-o', archive], { cacheDir, env: cleanEnv(env) });
  assert.equal(vendored.status, 0, vendored.stderr);
  const audited = await runCliAsync(['audit', archive, '--db', db, '--no-fetch'], { cacheDir, env: cleanEnv(env) });
  assert.equal(audited.status, 0, `${audited.stdout}${audited.stderr}`);
}
