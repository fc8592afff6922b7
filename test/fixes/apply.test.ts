import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { unifiedDiff } from '../../src/fixes/apply.js';
import { tempDir } from '../support/shared.js';

const BEFORE = 'version = 3\n\n[[package]]\nname = "vulnlib"\nversion = "1.0.0"\n';
const AFTER = 'version = 3\n\n[[package]]\nname = "vulnlib"\nversion = "1.0.1"\n';

function git(cwd: string, ...args: string[]): { status: number | null; stderr: string } {
  const run = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
  return { status: run.status, stderr: run.stderr };
}

test("a lockfile patch names the file from the application's root, and git apply takes it in an upstream checkout", async () => {
  // The application as it was (upstream), a workspace whose lockfile lies in sub/, in a git checkout.
  const upstream = tempDir('patch-upstream');
  mkdirSync(join(upstream, 'sub'));
  writeFileSync(join(upstream, 'sub', 'Cargo.lock'), BEFORE);
  writeFileSync(join(upstream, 'Cargo.lock'), 'a root lockfile the patch must leave alone\n');
  assert.equal(git(upstream, 'init', '-q').status, 0);
  // The changed copy the patch is made from.
  const changed = tempDir('patch-changed');
  cpSync(upstream, changed, { recursive: true, filter: (src) => !src.endsWith('.git') });
  writeFileSync(join(changed, 'sub', 'Cargo.lock'), AFTER);

  const patch = await unifiedDiff(join(changed, 'sub', 'Cargo.lock'), Buffer.from(BEFORE), changed);
  assert.match(patch, /^--- a\/sub\/Cargo\.lock\n\+\+\+ b\/sub\/Cargo\.lock\n/);
  writeFileSync(join(upstream, 'fix.patch'), patch);
  const check = git(upstream, 'apply', '--check', 'fix.patch');
  assert.equal(check.status, 0, check.stderr);
  assert.equal(git(upstream, 'apply', 'fix.patch').status, 0);
  assert.equal(readFileSync(join(upstream, 'sub', 'Cargo.lock'), 'utf8'), AFTER);
  assert.equal(readFileSync(join(upstream, 'Cargo.lock'), 'utf8'), 'a root lockfile the patch must leave alone\n');

  // Named by its base name alone (as before), the same patch would change the root's lockfile, or fail.
  const byName = await unifiedDiff(join(changed, 'sub', 'Cargo.lock'), Buffer.from(BEFORE));
  assert.match(byName, /^--- a\/Cargo\.lock\n/);
  writeFileSync(join(upstream, 'by-name.patch'), byName);
  assert.notEqual(git(upstream, 'apply', '--check', 'by-name.patch').status, 0);
});

test('a file outside the root given is refused, not labelled with ..', async () => {
  const dir = tempDir('patch-outside');
  writeFileSync(join(dir, 'Cargo.lock'), AFTER);
  await assert.rejects(unifiedDiff(join(dir, 'Cargo.lock'), Buffer.from(BEFORE), join(dir, 'elsewhere')), /not under/);
});
