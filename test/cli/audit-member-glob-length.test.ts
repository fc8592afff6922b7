import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { auditReport } from '../support/audit-report.js';
import { runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * A member glob of 200,000 literal names ("a/a/…/a", 400 KB) in a root package.json's
 * `workspaces` or a Cargo.toml's `members`: no directory `a` is there, so it names nothing
 * (npm's glob and Cargo's glob crate step only into directories that exist). lead walked it
 * name by name regardless, keeping a path of each length: 4 GB, then out of memory (a V8
 * crash, no report), where a 128 MB heap now suffices.
 */

const cacheDir = tempDir('cli-member-glob-length-cache');
const db = rustsecAdvisoryDb(tempDir('cli-member-glob-length-db'), [{ id: 'RUSTSEC-2099-0502', package: 'hex' }]);
const LONG = Array.from({ length: 200_000 }, () => 'a').join('/');

function audit(dir: string): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', dir, '--db', db, '--no-fetch', '--format', 'json'], {
    cacheDir,
    env: { NODE_OPTIONS: '--max-old-space-size=128', CARGO_HOME: tempDir('cli-member-glob-length-cargo-home') },
  });
}

test('an npm workspaces glob of 200,000 literal names that exist nowhere names no member: the root is audited', () => {
  const root = tempTree('npm-long-glob', {
    'package.json': JSON.stringify({ name: 'r', version: '1.0.0', workspaces: [LONG] }),
    'package-lock.json': JSON.stringify({ name: 'r', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'r', version: '1.0.0', workspaces: [LONG] } } }),
  });
  const run = audit(root);
  assert.equal(run.status, 0, run.stderr.slice(0, 2000));
  assert.deepEqual(auditReport(run.stdout).targets.map((t) => t.path), [join(root, 'package-lock.json')]);
});

test('a Cargo members glob of 200,000 literal names that exist nowhere names no member: the root is audited', () => {
  const root = tempTree('cargo-long-glob', {
    'Cargo.toml': `[workspace]\nmembers = ["${LONG}", "crates/*"]\nresolver = "2"\n`,
    'Cargo.lock': 'version = 4\n\n[[package]]\nname = "hex"\nversion = "0.4.3"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "7f24254aa9a54b5c858eaee2f5bccdb46aaf0e486a595ed5fd8f86ba55232a70"\n\n[[package]]\nname = "p"\nversion = "0.1.0"\ndependencies = [\n "hex",\n]\n',
    'crates/p/Cargo.toml': '[package]\nname = "p"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nhex = "0.4"\n',
    'crates/p/lib.rs': '',
  });
  const run = audit(root);
  assert.equal(run.status, 1, run.stderr.slice(0, 2000));
  assert.deepEqual(auditReport(run.stdout).findings.map((f) => `${f.package.name} ${f.package.version}`), ['hex 0.4.3']);
});

test('a Cargo members glob naming more than 2,000 members is refused in one line naming the manifest, not cut short silently', () => {
  // 2,001 members under crates/*, the last of them declaring hex, which the lockfile does not
  // lock: cargo reads every member (and `cargo build` adds hex). stowage read the first 2,000
  // and dropped the rest without a word: the audit passed, checking nothing of theirs.
  const files: Record<string, string> = {
    'Cargo.toml': '[workspace]\nmembers = ["crates/*"]\nresolver = "2"\n',
  };
  const lock = ['version = 4', ''];
  for (let i = 0; i <= 2000; i++) {
    const name = `m${String(i).padStart(4, '0')}`;
    files[`crates/${name}/Cargo.toml`] = `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n${i === 2000 ? '\n[dependencies]\nhex = "0.4"\n' : ''}`;
    lock.push(`[[package]]\nname = "${name}"\nversion = "0.1.0"\n`);
  }
  files['Cargo.lock'] = lock.join('\n');
  const root = tempTree('cargo-many-members', files);
  const run = audit(root);
  assert.equal(run.status, 2, run.stdout.slice(0, 2000));
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.equal(
    (lines[0] ?? '').replace(/crates\/m\d{4}\//, 'crates/mNNNN/'),
    `stowage: ${join(root, 'Cargo.toml')}: its workspace member globs name more than 2,000 members ("crates/*" reaches crates/mNNNN/Cargo.toml): stowage reads at most that many, and does not audit a workspace it has not read whole`,
  );
});
