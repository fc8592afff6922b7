import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gitFailureReason } from '../../src/advisories/git.js';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, PROJECT_ROOT, runCli, tempDir } from '../support/shared.js';

/* Every failure is one line, exit 2, naming the file or source, what failed and what to do. */

const LOCK = join(CARGO_CORPUS, 'ripgrep-2026-08-04.Cargo.lock');

function oneLine(run: { status: number; stderr: string }): string {
  assert.equal(run.status, 2, run.stderr);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  return lines[0] as string;
}

/** A tmpfs of `size` at `dir` (root only), or null when this machine cannot mount one. */
function mountTmpfs(dir: string, options: string): (() => void) | null {
  mkdirSync(dir, { recursive: true });
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' }).status !== 0) return null;
  return () => execFileSync('umount', [dir]);
}

const canMount = ((): boolean => {
  const probe = join(tempDir('mount-probe'), 'm');
  const unmount = mountTmpfs(probe, 'size=64k');
  unmount?.();
  return unmount !== null;
})();
const needsMount = { skip: canMount ? false : 'needs root to mount a tmpfs' };

test("git's reason, not its last line: the source, what failed and git's error", () => {
  const cacheDir = tempDir('errors-git');
  const missing = oneLine(runCli(['audit', LOCK, '--db', 'file:///nonexistent/advisory-db.git'], { cacheDir }));
  assert.match(missing, /^stowage: cannot clone advisory database file:\/\/\/nonexistent\/advisory-db\.git into .*: git: '\/nonexistent\/advisory-db\.git' does not appear to be a git repository/);
  assert.doesNotMatch(missing, /repository exists|Please make sure/);
  const branch = oneLine(runCli(['audit', LOCK, '--db', `${ADVISORY_DB_BUNDLE}#no-such-branch`], { cacheDir }));
  assert.match(branch, /cannot clone advisory database .*#no-such-branch .*: git: Remote branch no-such-branch not found in upstream origin \(check the --db source/);
  assert.deepEqual(readdirSync(join(cacheDir, 'db')).filter((n) => n.includes('.tmp')), [], 'no half clone left');
  // What ssh-based remotes print: the reason comes first, advice last.
  const ssh = 'ssh: Could not resolve hostname example.invalid: Name or service not known\r\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n';
  assert.equal(gitFailureReason(ssh, 'x'), 'ssh: Could not resolve hostname example.invalid: Name or service not known; Could not read from remote repository.');
  assert.equal(gitFailureReason('hint: use --force\nwarning: redirecting\nfatal: the real reason\n', 'x'), 'the real reason');
  assert.equal(gitFailureReason('', 'git clone ended with exit 128'), 'git clone ended with exit 128');
});

test('a cache on a read-only file system: named, with the reason; a warm one still audits', needsMount, () => {
  const root = tempDir('errors-rofs');
  const cold = join(root, 'cold');
  const unmountCold = mountTmpfs(cold, 'size=4m,ro');
  assert.ok(unmountCold);
  try {
    const line = oneLine(runCli(['audit', LOCK, '--db', ADVISORY_DB_BUNDLE], { cacheDir: join(cold, 'stowage') }));
    assert.equal(
      line,
      `stowage: ${join(cold, 'stowage')}: cannot make a cache directory: read-only file system (EROFS); ` +
        'the cache directory must be writable and have free space (or choose another with --cache-dir or STOWAGE_CACHE_DIR)',
    );
  } finally {
    unmountCold();
  }
  // Prepared by one job, then read-only: audits work, a fetch falls back with a warning.
  const warm = join(root, 'warm');
  const unmountWarm = mountTmpfs(warm, 'size=32m');
  assert.ok(unmountWarm);
  try {
    assert.equal(runCli(['audit', LOCK, '--db', ADVISORY_DB_BUNDLE], { cacheDir: warm }).status, 0);
    execFileSync('mount', ['-o', 'remount,ro', warm]);
    const again = runCli(['audit', LOCK, '--db', ADVISORY_DB_BUNDLE, '--fetch', '--format', 'json'], { cacheDir: warm });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /warning: could not fetch .* \(.*lock.*read-only file system \(EROFS\).*\); using the cached revision/);
    // Without its index, the audit cannot be done: the index is named.
    execFileSync('mount', ['-o', 'remount,rw', warm]);
    for (const name of readdirSync(join(warm, 'index'))) execFileSync('rm', [join(warm, 'index', name)]);
    execFileSync('mount', ['-o', 'remount,ro', warm]);
    const line = oneLine(runCli(['audit', LOCK, '--db', ADVISORY_DB_BUNDLE], { cacheDir: warm }));
    assert.match(line, /^stowage: .*\/index\/[0-9a-f]+\.sqlite\.lock: cannot create a lock in the cache: read-only file system \(EROFS\); the cache directory must be writable/);
  } finally {
    unmountWarm();
  }
});

test('a full disk while cloning or building the index: exit 2 naming where, nothing half-written', needsMount, () => {
  const tiny = tempDir('errors-full-clone');
  const unmountTiny = mountTmpfs(tiny, 'size=1m');
  assert.ok(unmountTiny);
  try {
    const line = oneLine(runCli(['audit', LOCK, '--db', ADVISORY_DB_BUNDLE], { cacheDir: tiny }));
    assert.match(line, /^stowage: cannot clone advisory database .* into .*: git: .*No space left on device/);
    assert.deepEqual(readdirSync(join(tiny, 'db')).filter((n) => !n.endsWith('.lock')), [], 'no half clone left');
  } finally {
    unmountTiny();
  }
  // Room for the clone, not for the index.
  const cacheDir = tempDir('errors-full-index');
  const unmountIndex = mountTmpfs(join(cacheDir, 'index'), 'size=1m');
  assert.ok(unmountIndex);
  try {
    const line = oneLine(runCli(['audit', LOCK, '--db', ADVISORY_DB_BUNDLE], { cacheDir }));
    assert.match(
      line,
      /^stowage: .*\/index\/[0-9a-f]+\.sqlite: cannot write the advisory index: database or disk is full \(SQLITE_FULL\); the cache directory must be writable and have free space/,
    );
    assert.deepEqual(readdirSync(join(cacheDir, 'index')).filter((n) => !n.endsWith('.lock')), [], 'no half-built index left');
  } finally {
    unmountIndex();
  }
});

test('a cache directory the user may not write: EACCES, named', { skip: process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0 ? false : 'needs root and setpriv' }, () => {
  const cacheDir = tempDir('errors-eacces');
  chmodSync(cacheDir, 0o755);
  const run = spawnSync(
    'setpriv',
    ['--reuid', '54321', '--regid', '54321', '--clear-groups', process.execPath, join(PROJECT_ROOT, 'bin', 'stowage.cjs'), 'audit', LOCK, '--db', ADVISORY_DB_BUNDLE],
    { encoding: 'utf8', env: { PATH: process.env.PATH, STOWAGE_CACHE_DIR: cacheDir } },
  );
  assert.match(oneLine({ status: run.status ?? -1, stderr: run.stderr }), new RegExp(`^stowage: ${cacheDir}/db: cannot make a cache directory: permission denied \\(EACCES\\); `));
});

test('an error stowage did not phrase: a file error names the file and the call; anything else is labelled a bug', () => {
  const script = (thrown: string): string => `
    import(${JSON.stringify(join(PROJECT_ROOT, 'dist', 'src', 'cli', 'program.js'))}).then(({ reportError }) => {
      process.exitCode = reportError(${thrown});
    });`;
  const fileError = spawnSync(process.execPath, ['-e', script("(() => { try { require('node:fs').readFileSync('/nonexistent/x.lock'); } catch (e) { return e; } })()")], { encoding: 'utf8' });
  assert.equal(oneLine({ status: fileError.status ?? -1, stderr: fileError.stderr }), 'stowage: /nonexistent/x.lock: cannot open: no such file or directory (ENOENT)');
  const bug = spawnSync(process.execPath, ['-e', script("new TypeError('x is undefined\\nsecond line')")], { encoding: 'utf8', env: { ...process.env, STOWAGE_DEBUG: '' } });
  assert.equal(
    oneLine({ status: bug.status ?? -1, stderr: bug.stderr }),
    'stowage: internal error (a bug in stowage; please report it, with the output of STOWAGE_DEBUG=1): x is undefined',
  );
});
