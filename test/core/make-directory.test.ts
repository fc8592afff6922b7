import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeDirectory } from '../../src/core/make-directory.js';
import { PROJECT_ROOT, tempDir } from '../support/shared.js';

test('makeDirectory makes the missing parents, and a directory already there is fine', () => {
  const root = tempDir('make-directory');
  const deep = join(root, 'a', 'b', 'c');
  makeDirectory(deep);
  assert.ok(statSync(deep).isDirectory());
  makeDirectory(deep);
  makeDirectory(root);
});

test('makeDirectory under a file fails with ENOTDIR naming the file', () => {
  const root = tempDir('make-directory-file');
  writeFileSync(join(root, 'file'), 'x');
  assert.throws(() => makeDirectory(join(root, 'file', 'sub')), (err: NodeJS.ErrnoException) => err.code === 'ENOTDIR' && err.path === join(root, 'file'));
});

// Node 20's recursive mkdir loops forever there: the kernel says ENOENT for a parent that exists.
test('makeDirectory under /proc fails at once (ENOENT) instead of looping', { timeout: 20_000, skip: process.platform !== 'linux' }, () => {
  assert.throws(() => makeDirectory('/proc/stowage-nowhere/x'), (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && err.path === '/proc/stowage-nowhere');
});

test('a fleet store or cache under /proc is one line and exit 2, not a hang', { timeout: 60_000, skip: process.platform !== 'linux' }, () => {
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'stowage.cjs'), ...args], {
      env: { ...process.env, NO_COLOR: '1', STOWAGE_CACHE_DIR: tempDir('make-directory-cache'), ...env },
      encoding: 'utf8',
      input: '',
      timeout: 30_000,
      killSignal: 'SIGKILL',
    });
  const store = cli(['fleet', 'init', '--store', '/proc/stowage-nowhere/fleet.sqlite', '--db', join(PROJECT_ROOT, 'test', 'fixtures', 'osv')]);
  assert.equal(store.signal, null, 'finished on its own');
  assert.equal(store.status, 2, store.stderr);
  assert.equal(store.stderr, "stowage: /proc/stowage-nowhere: cannot create the fleet store's directory: no such file or directory (ENOENT)\n");
  const cache = cli(['db', 'sync', join(PROJECT_ROOT, 'test', 'fixtures', 'osv')], { STOWAGE_CACHE_DIR: '/proc/stowage-nowhere/cache' });
  assert.equal(cache.signal, null, 'finished on its own');
  assert.equal(cache.status, 2, cache.stderr);
  assert.equal(cache.stderr.trim().split('\n').length, 1, cache.stderr);
  assert.match(cache.stderr, /^stowage: .*\/proc\/stowage-nowhere.*\n$/);
});
