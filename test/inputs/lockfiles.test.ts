import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, StowageError } from '../../src/core/errors.js';
import { findLockfiles, readDependencyGraph } from '../../src/inputs/lockfiles.js';
import { readTextInput } from '../../src/core/input-files.js';
import { CARGO_CORPUS, NPM_CORPUS, tempDir } from '../support/shared.js';

test('a directory: every lockfile in it, shrinkwrap taking precedence over package-lock as in npm', () => {
  const dir = tempDir('lockfiles-dir');
  for (const name of ['Cargo.lock', 'package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml']) writeFileSync(join(dir, name), '');
  writeFileSync(join(dir, 'package.json'), '{}');
  const found = findLockfiles(dir).map((l) => [l.format.fileName, l.manifestPath !== null]);
  assert.deepEqual(found, [
    ['Cargo.lock', false],
    ['npm-shrinkwrap.json', true],
    ['pnpm-lock.yaml', true],
  ]);
});

test('a file named PREFIX.Cargo.lock is a Cargo.lock, with PREFIX.Cargo.toml as its manifest', async () => {
  const [location] = findLockfiles(join(CARGO_CORPUS, 'kanidm-2026-08-20.Cargo.lock'));
  assert.equal(location?.format.fileName, 'Cargo.lock');
  assert.equal(location?.manifestPath, join(CARGO_CORPUS, 'kanidm-2026-08-20.Cargo.toml'));
  const [npm] = findLockfiles(join(NPM_CORPUS, 'vite-2026-08-22.pnpm-lock.yaml'));
  assert.equal(npm?.manifestPath, join(NPM_CORPUS, 'vite-2026-08-22.package.json'));
  const graph = await readDependencyGraph(location as NonNullable<typeof location>);
  assert.equal(graph.packages.length, 774);
});

test('inputs that are not lockfiles: clear, one-line errors naming the file', () => {
  const dir = tempDir('lockfiles-bad');
  const notes = join(dir, 'notes.txt');
  writeFileSync(notes, 'hello');
  assert.throws(() => findLockfiles(notes), (e: unknown) => e instanceof InputError && e.file === notes && /not a lockfile stowage reads/.test(e.message));
  mkdirSync(join(dir, 'empty'));
  assert.throws(() => findLockfiles(join(dir, 'empty')), /no lockfile found \(looked for Cargo\.lock, npm-shrinkwrap\.json/);
  assert.throws(() => findLockfiles(join(dir, 'missing')), (e: unknown) => e instanceof StowageError && /no such file or directory/.test(e.message));

  const big = join(dir, 'Cargo.lock');
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2026-08-04.Cargo.lock'), big);
  // The real cap is 256 MiB; the same check with a small cap proves an enormous file is refused unread.
  assert.throws(() => readTextInput(big, 1024), /bytes, over the 1024-byte limit for a lockfile/);
  const binary = join(dir, 'bin.lock');
  writeFileSync(binary, Buffer.from('version = 3\n\0\0\0'));
  assert.throws(() => readTextInput(binary), /binary data \(NUL byte at character 12\)/);
  const latin1 = join(dir, 'latin1.lock');
  writeFileSync(latin1, Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x20, 0xe9, 0x0a]));
  assert.throws(() => readTextInput(latin1), /not valid UTF-8 text/);
  const fifo = join(dir, 'fifo', 'Cargo.lock');
  mkdirSync(join(dir, 'fifo'));
  execFileSync('mkfifo', [fifo]);
  assert.throws(() => readTextInput(fifo), /not a regular file/, 'a FIFO is refused, not opened (which would block forever)');
  mkdirSync(join(dir, 'dir', 'Cargo.lock'), { recursive: true });
  assert.throws(() => readTextInput(join(dir, 'dir', 'Cargo.lock')), /a directory, not a file/);
  const bom = join(dir, 'bom.lock');
  writeFileSync(bom, '\uFEFFversion = 3\n');
  assert.equal(readTextInput(bom), 'version = 3\n');
});
