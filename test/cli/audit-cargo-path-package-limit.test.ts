import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * Path packages (`foo = { path = "..." }`, and theirs in turn) are resolved into the
 * application's Cargo.lock: a dependency one of them declares that the lockfile does not lock is
 * resolved anew by `cargo build`, and stowage warns of it. It followed at most 1,000 path
 * packages and passed over the rest in silence, so the 1,001st could declare anything unchecked.
 * Now 2,000 are read and more are refused, as more than 2,000 workspace members are.
 */

const cacheDir = tempDir('cli-cargo-path-package-limit-cache');
const db = rustsecAdvisoryDb(tempDir('cli-cargo-path-package-limit-db'), [{ id: 'RUSTSEC-2099-0402', package: 'hex' }]);

/** An application depending on `count` path packages p0…; the last one declares hex, which the lockfile does not lock. */
function appWithPathPackages(count: number): Record<string, string> {
  const files: Record<string, string> = {};
  const deps: string[] = [];
  const entries: string[] = [];
  for (let i = 0; i < count; i++) {
    deps.push(`p${i} = { path = "p/p${i}" }`);
    files[`app/p/p${i}/Cargo.toml`] = `[package]\nname = "p${i}"\nversion = "0.1.0"\nedition = "2021"\n${i === count - 1 ? '\n[dependencies]\nhex = "0.4"\n' : ''}`;
    files[`app/p/p${i}/src/lib.rs`] = '';
    entries.push(`[[package]]\nname = "p${i}"\nversion = "0.1.0"\n`);
  }
  files['app/Cargo.toml'] = `[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n${deps.join('\n')}\n`;
  files['app/src/main.rs'] = 'fn main() {}\n';
  const appEntry = `[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n${Array.from({ length: count }, (_, i) => ` "p${i}",`).join('\n')}\n]\n`;
  files['app/Cargo.lock'] = `version = 3\n\n${[appEntry, ...entries].sort().join('\n')}`;
  return files;
}

function audit(root: string): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', join(root, 'app'), '--db', db, '--no-fetch'], { cacheDir, env: { CARGO_HOME: join(root, 'cargo-home') } });
}

test("the 1,500th path package's unlocked dependency is named, as the first one's is", () => {
  const root = tempTree('cargo-path-packages-1500', appWithPathPackages(1500));
  const result = audit(root);
  assert.equal(result.status, 0, result.stderr);
  assert.ok(
    result.stdout.includes(`warning: ${join(root, 'app', 'p', 'p1499', 'Cargo.toml')}: p1499 declares hex (not locked), which ${join(root, 'app', 'Cargo.lock')} does not lock as declared`),
    result.stdout,
  );
});

test('more than 2,000 path packages: refused in one line naming the manifest, nothing audited', () => {
  const root = tempTree('cargo-path-packages-2001', appWithPathPackages(2001));
  const result = audit(root);
  assert.equal(result.status, 2, result.stderr);
  assert.equal(result.stdout, '');
  assert.equal(
    result.stderr.trim(),
    `stowage: ${join(root, 'app', 'Cargo.toml')}: its manifests name more than 2,000 path packages (one is p/p2000/Cargo.toml): stowage reads at most that many, and does not audit a workspace it has not read whole`,
  );
});
