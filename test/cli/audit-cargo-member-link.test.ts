import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { auditReport } from '../support/audit-report.js';
import { runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * A member directory that is a symbolic link: cargo 1.95 (`cargo metadata --offline`) lists
 * crates/util, a link to ../vendor/util, as a member for `members = ["crates/*"]`, and once its
 * manifest declares `itoa = "1"` that Cargo.lock does not lock, a build adds itoa. stowage's glob
 * stepped only into real directories: util's manifest was never read and nothing was said.
 */

const cacheDir = tempDir('cli-cargo-member-link-cache');
const db = rustsecAdvisoryDb(tempDir('cli-cargo-member-link-db'), [{ id: 'RUSTSEC-2099-0602', package: 'hex' }]);

test('a member glob names a symbolic link to a directory as cargo does: its manifest is read and checked against the lockfile', () => {
  const root = tempTree('cargo-member-link', {
    'Cargo.toml': '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\nmembers = ["crates/*"]\n',
    'Cargo.lock': 'version = 4\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n\n[[package]]\nname = "util"\nversion = "0.1.0"\n',
    'src/main.rs': 'fn main() {}\n',
    'crates/.keep': '',
    'vendor/util/Cargo.toml': '[package]\nname = "util"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nitoa = "1"\n',
    'vendor/util/src/lib.rs': '',
  });
  symlinkSync(join('..', 'vendor', 'util'), join(root, 'crates', 'util'));
  const result = runCli(['audit', root, '--db', db, '--no-fetch', '--format', 'json'], { cacheDir, env: { CARGO_HOME: tempDir('cli-cargo-member-link-home') } });
  assert.equal(result.status, 0, result.stderr);
  const manifest = join(root, 'crates', 'util', 'Cargo.toml');
  assert.deepEqual(
    auditReport(result.stdout).warnings.filter((w) => w.startsWith(`${manifest}: `)).map((w) => w.slice(manifest.length + 2, w.indexOf(' does not lock'))),
    [`util declares itoa (not locked), which ${join(root, 'Cargo.lock')}`],
  );
});
