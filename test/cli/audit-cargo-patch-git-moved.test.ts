import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { auditReport } from '../support/audit-report.js';
import { runCli, tempDir, tempTree } from '../support/shared.js';
import { ownCargoHome as cargoHome, PATCH_APP_MANIFEST as MANIFEST } from '../support/cargo-patch-app.js';

/*
 * `[patch.crates-io] hex = { git = ... }` moved to another repository (or reference) after
 * Cargo.lock was written. Checked with cargo 1.95 (crates-io replaced by a local directory
 * source, two local repositories forkA and forkB of hex 0.4.3): `cargo generate-lockfile` with
 * the patch on forkA locks hex from `git+file:///.../forkA#COMMIT`; with the patch then on forkB,
 * `cargo build --locked` fails ("cannot update the lock file ... because --locked was passed"),
 * and `cargo build` fetches forkB, builds it and rewrites the source to forkB. stowage took any
 * git hex for the patch applied and said nothing, where it says a lockfile older than a path
 * patch, or than a git dependency moved to another repository, is stale.
 */

const cacheDir = tempDir('cli-cargo-patch-git-moved-cache');
const db = rustsecAdvisoryDb(tempDir('cli-cargo-patch-git-moved-db'), [{ id: 'RUSTSEC-2099-0601', package: 'fnv' }]);
const FORK_A = 'https://git.example.invalid/forkA';
const COMMIT = '4cf8d0905a30c7665b4a8ea8a4c48f03acece063';

/** As cargo 1.95 writes it with the patch on `source` (the `git+...` source id without its commit). */
function lock(source: string): string {
  return [
    'version = 4',
    '',
    '[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "hex",\n]',
    '',
    `[[package]]\nname = "hex"\nversion = "0.4.3"\nsource = "${source}#${COMMIT}"`,
    '',
  ].join('\n');
}

function audit(patch: string, locked: string): { root: string; status: number; stdout: string; stderr: string } {
  const root = tempTree('cargo-patch-git-moved', { 'app/Cargo.toml': `${MANIFEST}\n[patch.crates-io]\nhex = ${patch}\n`, 'app/Cargo.lock': lock(locked), 'app/src/main.rs': 'fn main() {}\n' });
  return { root, ...runCli(['audit', join(root, 'app'), '--db', db, '--no-fetch', '--format', 'json'], { cacheDir, env: { CARGO_HOME: cargoHome(root) } }) };
}

function staleWarnings(root: string, stdout: string): string[] {
  return auditReport(stdout)
    .warnings.filter((w) => w.includes('does not record as applied or unused'))
    .map((w) => w.replaceAll(root, 'ROOT'));
}

test('a git [patch] now on another repository than the one Cargo.lock locks the crate from: the lockfile is said to be older than the manifest', () => {
  const moved = audit('{ git = "https://git.example.invalid/forkB" }', `git+${FORK_A}`);
  assert.equal(moved.status, 0, moved.stderr);
  assert.deepEqual(staleWarnings(moved.root, moved.stdout), [
    'ROOT/app/Cargo.toml: declares [patch.crates-io] hex (git "https://git.example.invalid/forkB"), which ROOT/app/Cargo.lock does not record as applied or unused: ' +
      'the lockfile is older than the manifest; cargo build without --locked applies them and resolves their dependencies anew (--locked refuses), and the audit covers only what the lockfile locks',
  ]);
});

test('a git [patch] now on another reference of the same repository: said too', () => {
  const moved = audit(`{ git = "${FORK_A}", tag = "v2" }`, `git+${FORK_A}?tag=v1`);
  assert.equal(moved.status, 0, moved.stderr);
  assert.equal(staleWarnings(moved.root, moved.stdout).length, 1);
});

test('the patch as locked, however spelled (a `.git` suffix, the branch Cargo.lock v1 and v2 left out): nothing said', () => {
  for (const [patch, locked] of [
    [`{ git = "${FORK_A}" }`, `git+${FORK_A}`],
    [`{ git = "${FORK_A}.git", rev = "4cf8d09" }`, `git+${FORK_A}?rev=4cf8d09`],
    [`{ git = "${FORK_A}", branch = "master" }`, `git+${FORK_A}`],
  ] as const) {
    const result = audit(patch, locked);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(staleWarnings(result.root, result.stdout), [], patch);
  }
});
