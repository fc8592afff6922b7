import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { auditReport } from '../support/audit-report.js';
import { runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * `[workspace] exclude` takes out what a member glob names, never a member written as its path
 * (cargo's WorkspaceRootConfig::is_excluded). Checked with cargo 1.95: `members = ["crates/util"]`,
 * `exclude = ["crates"]`: util is a member (`cargo tree -p util`), and once its manifest declares
 * `itoa = "1"` that Cargo.lock does not lock, `cargo metadata --locked` refuses and a plain build
 * adds itoa 1.0.1. stowage dropped every member under an excluded path, so util's manifest was
 * never read and nothing was said.
 */

const cacheDir = tempDir('cli-cargo-member-exclude-cache');
const db = rustsecAdvisoryDb(tempDir('cli-cargo-member-exclude-db'), [{ id: 'RUSTSEC-2099-0601', package: 'hex' }]);

test('a member written as a path that `exclude` names is still a member: its manifest is read and checked against the lockfile', () => {
  const root = tempTree('cargo-member-exclude', {
    'Cargo.toml': '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\nmembers = ["crates/util"]\nexclude = ["crates"]\n',
    // As cargo 1.95 writes it before util declared itoa.
    'Cargo.lock': 'version = 4\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n\n[[package]]\nname = "util"\nversion = "0.1.0"\n',
    'src/main.rs': 'fn main() {}\n',
    'crates/util/Cargo.toml': '[package]\nname = "util"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nitoa = "1"\n',
    'crates/util/src/lib.rs': '',
  });
  const result = runCli(['audit', root, '--db', db, '--no-fetch', '--format', 'json'], { cacheDir, env: { CARGO_HOME: tempDir('cli-cargo-member-exclude-home') } });
  assert.equal(result.status, 0, result.stderr);
  const manifest = join(root, 'crates', 'util', 'Cargo.toml');
  assert.deepEqual(
    auditReport(result.stdout).warnings.filter((w) => w.startsWith(`${manifest}: `)).map((w) => w.slice(manifest.length + 2, w.indexOf(' does not lock'))),
    [`util declares itoa (not locked), which ${join(root, 'Cargo.lock')}`],
  );
});

test('`exclude` takes out nothing a member written as "." covers: a [patch] copy a glob names there is a member, as cargo 1.95 lists it', () => {
  // cargo 1.95: `members = [".", "crates/*"]`, `exclude = ["crates/hex"]`: `cargo metadata`
  // lists crates/hex as a member (the root's "." is above it). lead took it for the [patch]
  // copy of crates.io's hex and matched it against hex's advisories: exit 1 for a member.
  const root = tempTree('cargo-member-exclude-dot', {
    'Cargo.toml':
      '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\nmembers = [".", "crates/*"]\nexclude = ["crates/hex"]\n\n[patch.crates-io]\nhex = { path = "crates/hex" }\n',
    // As cargo 1.95 writes it.
    'Cargo.lock': 'version = 4\n\n[[package]]\nname = "a"\nversion = "0.1.0"\ndependencies = [\n "hex",\n]\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n\n[[package]]\nname = "hex"\nversion = "0.1.0"\n',
    'src/lib.rs': '',
    'crates/a/Cargo.toml': '[package]\nname = "a"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nhex = "0.1"\n',
    'crates/a/src/lib.rs': '',
    'crates/hex/Cargo.toml': '[package]\nname = "hex"\nversion = "0.1.0"\nedition = "2021"\n',
    'crates/hex/src/lib.rs': '',
  });
  const result = runCli(['audit', root, '--db', db, '--no-fetch', '--format', 'json'], { cacheDir, env: { CARGO_HOME: tempDir('cli-cargo-member-exclude-dot-home') } });
  assert.equal(result.status, 0, result.stdout.slice(0, 2000));
  const report = auditReport(result.stdout);
  assert.deepEqual(report.findings, []);
  assert.deepEqual(report.warnings, []);
});
