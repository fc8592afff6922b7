/**
 * An output never replaces a file this run read as input, however it is named (a hard link is
 * the same file); but an input since replaced or removed no longer counts, so a long-running
 * process (a campaign worker, where the package manager rewrites the lockfile it audited and
 * the file system hands the old inode to a new file) can still write its own files.
 */
import assert from 'node:assert/strict';
import { linkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkOutputPath } from '../../src/core/atomic-write.js';
import { readTextInput } from '../../src/core/input-files.js';
import { tempDir } from '../support/shared.js';

test('a hard link to an input is refused while the input is there; not once it was replaced or removed', () => {
  const dir = tempDir('input-files');
  const input = join(dir, 'Cargo.lock');
  const link = join(dir, 'other-name');
  writeFileSync(input, 'version = 3\n');
  readTextInput(input);
  linkSync(input, link);
  assert.throws(() => checkOutputPath(link), /refusing to write over an input of this run \(read as .*Cargo\.lock\)/);

  // The package manager writes a new lockfile and renames it over the one read.
  writeFileSync(join(dir, 'Cargo.lock.new'), 'version = 4\n');
  renameSync(join(dir, 'Cargo.lock.new'), input);
  assert.doesNotThrow(() => checkOutputPath(link));

  const second = join(dir, 'second.lock');
  const secondLink = join(dir, 'second-link');
  writeFileSync(second, 'x\n');
  readTextInput(second);
  linkSync(second, secondLink);
  assert.throws(() => checkOutputPath(secondLink), /refusing to write over an input/);
  rmSync(second);
  assert.doesNotThrow(() => checkOutputPath(secondLink));
});
