import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CODE_CACHE_DIR, bundleFor, bundleScript, cacheDirArgument, codeCacheFile, readCache } from '../../src/cli/launcher.js';
import { auditReport } from '../support/audit-report.js';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, GHSA_NPM, NPM_CORPUS, PROJECT_ROOT, runCli, tempDir } from '../support/shared.js';

const LOCKFILE = join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package-lock.json');
const BUNDLES = join(PROJECT_ROOT, 'dist', 'bundle');
/** What `stowage audit ...` runs. */
const BUNDLE = bundleFor(BUNDLES, ['audit']);

function cacheFiles(cacheDir: string): string[] {
  try {
    return readdirSync(join(cacheDir, CODE_CACHE_DIR)).filter((f) => f.endsWith('.v8'));
  } catch {
    return [];
  }
}

test('the first run leaves a code cache; later runs use it and print the same report', () => {
  const cacheDir = tempDir('launcher');
  const args = ['audit', '--format', 'json', LOCKFILE, '--db', GHSA_NPM];
  const first = runCli(args, { cacheDir });
  assert.equal(first.status, 1, first.stderr);
  const files = cacheFiles(cacheDir);
  assert.equal(files.length, 1, 'one cache file for the bundle');
  const cache = join(cacheDir, CODE_CACHE_DIR, files[0] as string);
  const written = statSync(cache).mtimeMs;
  // What was written is a code cache V8 accepts for this very bundle, and rejects for another source.
  const source = readFileSync(BUNDLE, 'utf8');
  const data = readCache(cache)?.data;
  assert.ok(data !== undefined && data.length > 0);
  assert.equal(bundleScript(BUNDLE, source, data).cachedDataRejected, false);
  assert.equal(bundleScript(BUNDLE, `${source}\n;0`, data).cachedDataRejected, true);

  const second = runCli(args, { cacheDir });
  assert.equal(second.status, 1, second.stderr);
  assert.equal(second.stdout, first.stdout);
  // Read and accepted: a launcher that did not pass it to V8, or whose V8 rejected it, rewrites it
  // (the damaged-cache test below shows a rejected one is replaced).
  assert.equal(statSync(cache).mtimeMs, written, 'an accepted cache is not rewritten');
});

test('a cache made by a Cargo audit is refreshed by the first npm audit, then left alone', () => {
  const cacheDir = tempDir('launcher-refresh');
  const cargo = ['audit', '--format', 'json', join(CARGO_CORPUS, 'kanidm-2026-08-20.Cargo.lock'), '--db', ADVISORY_DB_BUNDLE];
  const npm = ['audit', '--format', 'json', LOCKFILE, '--db', GHSA_NPM];
  const cargoReport = runCli(cargo, { cacheDir });
  assert.equal(cargoReport.status, 1, cargoReport.stderr);
  const cache = join(cacheDir, CODE_CACHE_DIR, cacheFiles(cacheDir)[0] as string);
  const cargoOnly = readFileSync(cache);

  const npmReport = runCli(npm, { cacheDir });
  assert.equal(npmReport.status, 1, npmReport.stderr);
  const refreshed = readFileSync(cache);
  // Rewritten with the npm code the Cargo run never compiled: larger, and V8 still accepts it.
  assert.ok(refreshed.length > cargoOnly.length, `${refreshed.length} > ${cargoOnly.length}`);
  assert.equal(bundleScript(BUNDLE, readFileSync(BUNDLE, 'utf8'), readCache(cache)?.data).cachedDataRejected, false);
  assert.deepEqual(cacheFiles(cacheDir), [cacheFiles(cacheDir)[0]]);

  // Both kinds of run now find what they need: neither rewrites it, and the reports are the same.
  assert.equal(runCli(npm, { cacheDir }).stdout, npmReport.stdout);
  assert.equal(runCli(cargo, { cacheDir }).stdout, cargoReport.stdout);
  assert.deepEqual(readFileSync(cache), refreshed, 'a cache holding what the run needs is not rewritten');
});

test('a few caches are kept per bundle (two builds in turn do not evict each other), older ones are removed', () => {
  const cacheDir = tempDir('launcher-keep');
  const dir = join(cacheDir, CODE_CACHE_DIR);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 5; i++) {
    const old = join(dir, `audit-old-${i}.v8`);
    writeFileSync(old, 'an earlier build');
    utimesSync(old, 1_000_000 + i, 1_000_000 + i);
  }
  // The whole CLI's cache, older than all of them: another bundle's, left alone.
  const other = join(dir, 'stowage-old.v8');
  writeFileSync(other, 'an earlier build');
  utimesSync(other, 1_000, 1_000);
  assert.equal(runCli(['audit', LOCKFILE, '--db', GHSA_NPM], { cacheDir }).status, 1);
  const left = cacheFiles(cacheDir).sort();
  assert.equal(left.length, 4);
  // The two newest earlier ones stay beside the new one.
  assert.deepEqual(left.filter((f) => f.includes('-old')), ['audit-old-3.v8', 'audit-old-4.v8', 'stowage-old.v8']);
});

test('`stowage audit` runs from a bundle of its own: the same report and help as from the whole CLI, each with its own cache', () => {
  const cacheDir = tempDir('launcher-audit-bundle');
  // The whole CLI run directly, as bin/stowage.cjs runs it for every other command.
  const whole = (args: string[]): SpawnSyncReturns<string> =>
    spawnSync(
      process.execPath,
      ['-e', `require(${JSON.stringify(join(BUNDLES, 'launcher.cjs'))}).launch(${JSON.stringify(join(BUNDLES, 'stowage.cjs'))}, process.argv.slice(1)).then((c) => { process.exitCode = c; })`, ...args],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, STOWAGE_CACHE_DIR: cacheDir } },
    );
  for (const args of [['audit', '--format', 'json', LOCKFILE, '--db', GHSA_NPM], ['audit', '--help'], ['audit', '--no-such-flag']]) {
    const own = runCli(args, { cacheDir });
    const all = whole(args);
    assert.equal(own.status, all.status, args.join(' '));
    assert.equal(own.stdout, all.stdout, args.join(' '));
    assert.equal(own.stderr, all.stderr, args.join(' '));
  }
  assert.deepEqual(cacheFiles(cacheDir).map((f) => f.split('-')[0]).sort(), ['audit', 'stowage']);
});

test('a damaged code cache is ignored and replaced, never trusted', () => {
  const cacheDir = tempDir('launcher-bad');
  const args = ['audit', '--format', 'json', LOCKFILE, '--db', GHSA_NPM];
  const clean = runCli(args, { cacheDir });
  const cache = join(cacheDir, CODE_CACHE_DIR, cacheFiles(cacheDir)[0] as string);
  const good = readFileSync(cache);
  const garbage = Buffer.alloc(good.length, 0x5a);
  writeFileSync(cache, garbage);
  const run = runCli(args, { cacheDir });
  assert.equal(run.status, clean.status, run.stderr);
  assert.equal(run.stdout, clean.stdout);
  assert.notDeepEqual(readFileSync(cache), garbage, 'the rejected cache was rewritten');
});

test('a code cache stowage cannot write does not fail a command', () => {
  const cacheDir = tempDir('launcher-ro');
  // A file where the code-cache directory should be: the cache cannot be written.
  writeFileSync(join(cacheDir, CODE_CACHE_DIR), 'not a directory');
  const run = runCli(['audit', '--format', 'json', LOCKFILE, '--db', GHSA_NPM], { cacheDir });
  assert.equal(run.status, 1, run.stderr);
  assert.equal(auditReport(run.stdout).schemaVersion, 1);
  assert.doesNotMatch(run.stderr, /code-cache|Error:/);
});

test('--help, --version and failed runs leave no code cache: the first real command makes it', () => {
  const cacheDir = tempDir('launcher-help');
  assert.equal(runCli(['--version'], { cacheDir }).status, 0);
  assert.equal(runCli(['audit', '--help'], { cacheDir }).status, 0);
  assert.equal(runCli(['audit', '--no-such-flag'], { cacheDir }).status, 2);
  assert.deepEqual(cacheFiles(cacheDir), []);
  assert.equal(runCli(['audit', LOCKFILE, '--db', GHSA_NPM], { cacheDir }).status, 1);
  assert.equal(cacheFiles(cacheDir).length, 1);
});

test('the cache is named by the bundle file: another file of the same size gets another cache', () => {
  const dir = tempDir('launcher-key');
  const a = join(dir, 'a.cjs');
  const b = join(dir, 'b.cjs');
  writeFileSync(a, 'module.exports = 1;');
  writeFileSync(b, 'module.exports = 2;');
  const env = { STOWAGE_CACHE_DIR: join(dir, 'cache') };
  assert.notEqual(codeCacheFile(env, a), codeCacheFile(env, b));
  assert.equal(codeCacheFile(env, a), codeCacheFile(env, a));
  const copy = join(dir, 'copy.cjs');
  copyFileSync(BUNDLE, copy);
  assert.notEqual(codeCacheFile(env, copy), codeCacheFile(env, BUNDLE));
  assert.ok(codeCacheFile(env, a).startsWith(join(dir, 'cache', CODE_CACHE_DIR)));
  // Rewritten in place with the same length, its mtime set back: still another cache (ctime).
  const before = codeCacheFile(env, a);
  const { mtime } = statSync(a);
  writeFileSync(a, 'module.exports = 3;');
  utimesSync(a, mtime, mtime);
  assert.notEqual(codeCacheFile(env, a), before);
});

test('no usable home directory: stowage runs without a code cache', { skip: process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0 ? false : 'needs root and setpriv' }, () => {
  // A uid without a passwd entry and no HOME: os.homedir() fails, as in many containers.
  const cli = join(PROJECT_ROOT, 'bin', 'stowage.cjs');
  const run = spawnSync('setpriv', ['--reuid', '54321', '--regid', '54321', '--clear-groups', process.execPath, cli, '--version'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^\d+\.\d+\.\d+/);
  assert.equal(run.stderr, '');
});

test('a broken installation is one line and exit 2, not a stack trace', () => {
  const dir = tempDir('launcher-broken');
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist', 'bundle'), { recursive: true });
  copyFileSync(join(PROJECT_ROOT, 'bin', 'stowage.cjs'), join(dir, 'bin', 'stowage.cjs'));
  copyFileSync(join(PROJECT_ROOT, 'dist', 'bundle', 'launcher.cjs'), join(dir, 'dist', 'bundle', 'launcher.cjs'));
  // No dist/bundle/stowage.cjs.
  const run = spawnSync(process.execPath, [join(dir, 'bin', 'stowage.cjs'), '--version'], { encoding: 'utf8', env: { ...process.env, STOWAGE_CACHE_DIR: join(dir, 'cache') } });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /^stowage: cannot start: .*stowage\.cjs/);
  assert.equal(run.stderr.trim().split('\n').length, 1);
});

test('a report piped into a reader that has gone ends quietly with the audit exit code', () => {
  const cacheDir = tempDir('launcher-pipe');
  const cli = join(PROJECT_ROOT, 'bin', 'stowage.cjs');
  // `true` exits without reading: by the time the report is written, the pipe is closed (EPIPE).
  const piped = spawnSync(
    'bash',
    ['-c', `set -o pipefail; node ${JSON.stringify(cli)} audit --format json ${JSON.stringify(LOCKFILE)} --db ${JSON.stringify(GHSA_NPM)} | true`],
    { encoding: 'utf8', env: { ...process.env, STOWAGE_CACHE_DIR: cacheDir } },
  );
  // Exit 1: the jellyfin lockfile has findings; nothing about the closed pipe on stderr.
  assert.equal(piped.status, 1, piped.stderr);
  assert.doesNotMatch(piped.stderr, /EPIPE|Error:|\n\s+at /);
});

test('--cache-dir moves the code cache with everything else', () => {
  assert.equal(cacheDirArgument(['audit', '--cache-dir', '/c', 'x']), '/c');
  assert.equal(cacheDirArgument(['audit', '--cache-dir=/d']), '/d');
  assert.equal(cacheDirArgument(['audit', '--', '--cache-dir', '/c']), undefined);
  assert.equal(cacheDirArgument(['audit']), undefined);
  const dir = tempDir('launcher-option');
  const run = runCli(['audit', LOCKFILE, '--db', GHSA_NPM, '--cache-dir', dir], { cacheDir: join(dir, 'unused') });
  assert.equal(run.status, 1, run.stderr);
  assert.equal(cacheFiles(dir).length, 1);
  assert.equal(cacheFiles(join(dir, 'unused')).length, 0);
});
