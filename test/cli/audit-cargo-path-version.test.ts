import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { auditReport } from '../support/audit-report.js';
import { runCli, tempDir, tempTree } from '../support/shared.js';
import { ownCargoHome as cargoHome, PATCH_APP_LOCK as LOCK, patchedHexApp } from '../support/cargo-patch-app.js';

/*
 * A path package whose manifest states a version the lockfile does not lock it at: the
 * lockfile is older than the manifest. Checked with cargo 1.95 (crates-io replaced by a local
 * directory source): `cargo generate-lockfile` with app's `[patch.crates-io] hex = { path =
 * "vendor/hex" }` at hex 0.4.2 writes hex 0.4.2 without a source; the copy then says 0.4.3:
 * `cargo build --locked --offline` fails ("cannot update the lock file ... because --locked was
 * passed"), and `cargo build --offline` compiles `hex v0.4.3 (.../vendor/hex)` and rewrites the
 * lockfile to 0.4.3. stowage matched the [patch] copy as hex 0.4.2, passed an advisory that
 * affects 0.4.3 alone (exit 0), and said nothing of the stale lockfile, as it says of a stale
 * dependency.
 */

const cacheDir = tempDir('cli-cargo-path-version-cache');
// Affects hex 0.4.3 only.
const db = rustsecAdvisoryDb(tempDir('cli-cargo-path-version-db'), [{ id: 'RUSTSEC-2099-0501', package: 'hex', patched: ['>= 0.4.4'], unaffected: ['< 0.4.3'] }]);

function audit(root: string): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', join(root, 'app'), '--db', db, '--no-fetch', '--format', 'json'], { cacheDir, env: { CARGO_HOME: cargoHome(root) } });
}

/** The warnings about the lockfile being older than a manifest, each cut after its file's path. */
function staleWarnings(root: string, stdout: string): string[] {
  return auditReport(stdout)
    .warnings.filter((w) => w.includes('the lockfile is older than'))
    .map((w) => w.replaceAll(root, 'ROOT'));
}

test('a [patch] copy whose manifest says 0.4.3, locked as 0.4.2: the audit says the lockfile is older than the copy', () => {
  const root = tempTree('cargo-patch-path-version', { ...patchedHexApp(), 'app/Cargo.lock': LOCK.replace('version = "0.4.3"', 'version = "0.4.2"') });
  const result = audit(root);
  // Stale like any other lockfile older than its manifest: said, and what is locked is audited.
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(auditReport(result.stdout).findings, []);
  assert.deepEqual(staleWarnings(root, result.stdout), [
    'ROOT/app/vendor/hex/Cargo.toml: package hex is 0.4.3, which ROOT/app/Cargo.lock locks at 0.4.2: the lockfile is older than its manifest; ' +
      'cargo build without --locked builds hex 0.4.3 and resolves it anew (--locked refuses), and the audit covers only what the lockfile locks',
  ]);

  // As cargo rewrites it: the copy matched at 0.4.3, nothing stale.
  const fresh = tempTree('cargo-patch-path-version-fresh', patchedHexApp());
  const matched = audit(fresh);
  assert.equal(matched.status, 1, matched.stderr);
  assert.deepEqual(auditReport(matched.stdout).findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.version}`), ['RUSTSEC-2099-0501 hex 0.4.3']);
  assert.deepEqual(staleWarnings(fresh, matched.stdout), []);
});

test("the application's own version, inherited from [workspace.package], changed after the lockfile was written: said too", () => {
  // cargo 1.95 refuses it under --locked as well.
  const app = patchedHexApp();
  const root = tempTree('cargo-own-version', {
    ...app,
    'app/Cargo.toml': (app['app/Cargo.toml'] as string).replace('version = "0.1.0"', 'version.workspace = true') + '\n[workspace.package]\nversion = "0.2.0"\n',
  });
  const result = audit(root);
  assert.equal(result.status, 1, result.stderr);
  assert.deepEqual(staleWarnings(root, result.stdout), [
    'ROOT/app/Cargo.toml: package app is 0.2.0, which ROOT/app/Cargo.lock locks at 0.1.0: the lockfile is older than its manifest; ' +
      'cargo build without --locked builds app 0.2.0 and resolves it anew (--locked refuses), and the audit covers only what the lockfile locks',
  ]);
});

test('two path packages of one name, one of them locked at the version its manifest states: nothing said of the other', () => {
  // vendor/hex at 0.4.3 is the [patch] copy, locked; old/hex at 0.1.0 is named only as a
  // dev-dependency of that copy, which cargo does not resolve for a package outside the workspace.
  const app = patchedHexApp();
  const root = tempTree('cargo-path-version-twins', {
    ...app,
    'app/vendor/hex/Cargo.toml': `${app['app/vendor/hex/Cargo.toml'] as string}\n[dev-dependencies]\nhex = { path = "../../old/hex" }\n`,
    'app/old/hex/Cargo.toml': '[package]\nname = "hex"\nversion = "0.1.0"\n',
    'app/old/hex/src/lib.rs': '',
  });
  const result = audit(root);
  assert.equal(result.status, 1, result.stderr);
  assert.deepEqual(staleWarnings(root, result.stdout), []);
});
