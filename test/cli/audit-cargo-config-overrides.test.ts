import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCargoConfig } from '../../src/ecosystems/cargo/cargo-config.js';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { auditReport } from '../support/audit-report.js';
import { runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * Cargo configuration that changes what `cargo build` builds without changing Cargo.lock.
 * Checked with cargo 1.95 (crates-io replaced by a local sparse registry): an application
 * depending on hex 0.4 is locked (hex 0.4.3 from crates.io, nothing else); then
 * - `paths = ["../hexfork"]` in its .cargo/config.toml, hexfork being a `hex 0.4.3` that depends
 *   on `itoa = "1"`: `cargo build --locked` succeeds, compiles hexfork and itoa 1.0.1, and leaves
 *   Cargo.lock as it was (no itoa in it);
 * - `[patch.crates-io] hex = { path = "../hexfork" }` in .cargo/config.toml instead: `cargo build
 *   --locked` refuses, a plain `cargo build` applies it and writes hex (no source) and itoa into
 *   Cargo.lock; a patch that matches nothing is written under `[[patch.unused]]`.
 */

const cacheDir = tempDir('cli-cargo-config-overrides-cache');
/** itoa is what the fork brings in; hex itself has no advisory, so the locked graph passes. */
const db = rustsecAdvisoryDb(tempDir('cli-cargo-config-overrides-db'), [{ id: 'RUSTSEC-2099-0301', package: 'itoa' }]);
const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';

const MANIFEST = '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nhex = "0.4"\n';
const LOCKED = [
  'version = 4',
  '',
  '[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "hex",\n]',
  '',
  `[[package]]\nname = "hex"\nversion = "0.4.3"\nsource = "${CRATES_IO}"\nchecksum = "f0956a4f3d1e4d14a0d98b334746d7a3923b156ac0593b8a44a0c9af6f103002"`,
  '',
].join('\n');
const FORK = { 'hexfork/Cargo.toml': '[package]\nname = "hex"\nversion = "0.4.3"\nedition = "2021"\n\n[dependencies]\nitoa = "1"\n', 'hexfork/src/lib.rs': '' };

/** A CARGO_HOME of the test's own, so that the user's configuration is not read. */
function cargoHome(root: string, config?: string): string {
  const home = join(root, 'cargo-home');
  mkdirSync(home, { recursive: true });
  if (config !== undefined) writeFileSync(join(home, 'config.toml'), config);
  return home;
}

function audit(dir: string, home: string, ...extra: string[]): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', dir, '--db', db, '--no-fetch', '--format', 'json', ...extra], { cacheDir, env: { CARGO_HOME: home } });
}

test('paths = [...] in the project\'s .cargo/config.toml: cargo builds the fork and what it depends on, none of it locked: refused as a partial inventory', () => {
  const root = tempTree('cargo-paths', { ...FORK, 'app/Cargo.toml': MANIFEST, 'app/Cargo.lock': LOCKED, 'app/src/main.rs': 'fn main() {}\n', 'app/.cargo/config.toml': 'paths = ["../hexfork"]\n' });
  const home = cargoHome(root);
  const result = audit(join(root, 'app'), home);
  assert.equal(result.status, 2, result.stdout);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /\.cargo\/config\.toml sets `paths` \("\.\.\/hexfork"\): cargo builds the packages there in place of the locked crates/);
  assert.equal(result.stderr.trim().split('\n').length, 1);

  // Allowed: audited as locked, and the report says it is partial.
  const allowed = audit(join(root, 'app'), home, '--allow-partial');
  assert.equal(allowed.status, 0, allowed.stderr);
  const report = auditReport(allowed.stdout);
  assert.equal(report.targets[0]?.partial, true);

  // Without the override the same lockfile passes, complete.
  const plain = tempTree('cargo-no-paths', { 'app/Cargo.toml': MANIFEST, 'app/Cargo.lock': LOCKED, 'app/src/main.rs': 'fn main() {}\n' });
  const passed = audit(join(plain, 'app'), cargoHome(plain));
  assert.equal(passed.status, 0, passed.stderr);
  assert.equal(auditReport(passed.stdout).targets[0]?.partial, false);
});

test('paths = [...] in a parent directory\'s or CARGO_HOME\'s configuration applies to the build too: refused', () => {
  const parent = tempTree('cargo-paths-parent', { ...FORK, '.cargo/config.toml': 'paths = ["hexfork"]\n', 'app/Cargo.toml': MANIFEST, 'app/Cargo.lock': LOCKED });
  const fromParent = audit(join(parent, 'app'), cargoHome(parent));
  assert.equal(fromParent.status, 2, fromParent.stdout);
  assert.match(fromParent.stderr, /sets `paths` \("hexfork"\)/);

  const home = tempTree('cargo-paths-home', { 'app/Cargo.toml': MANIFEST, 'app/Cargo.lock': LOCKED });
  const fromHome = audit(join(home, 'app'), cargoHome(home, 'paths = ["/somewhere/hexfork"]\n'));
  assert.equal(fromHome.status, 2, fromHome.stdout);
  assert.match(fromHome.stderr, /cargo-home\/config\.toml sets `paths` \("\/somewhere\/hexfork"\)/);
});

test('a [patch] in .cargo/config.toml that Cargo.lock does not record: cargo build applies it, and the audit says the lockfile is stale', () => {
  const config = '[patch.crates-io]\nhex = { path = "../hexfork" }\n';
  const root = tempTree('cargo-config-patch', { ...FORK, 'app/Cargo.toml': MANIFEST, 'app/Cargo.lock': LOCKED, 'app/.cargo/config.toml': config });
  const result = audit(join(root, 'app'), cargoHome(root));
  assert.equal(result.status, 0, result.stderr);
  const configFile = join(root, 'app', '.cargo', 'config.toml');
  assert.deepEqual(
    auditReport(result.stdout).warnings.filter((w) => w.startsWith(configFile)),
    [
      `${configFile}: declares [patch.crates-io] hex (path "../hexfork"), which ${join(root, 'app', 'Cargo.lock')} does not record as applied or unused: the lockfile is older than this Cargo configuration; cargo build without --locked applies them and resolves their dependencies anew (--locked refuses), and the audit covers only what the lockfile locks`,
    ],
  );

  // As cargo writes the lockfile once the patch is applied: hex from the path, and its itoa, audited; no warning.
  const applied = [
    'version = 4',
    '',
    '[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "hex",\n]',
    '',
    '[[package]]\nname = "hex"\nversion = "0.4.3"\ndependencies = [\n "itoa",\n]',
    '',
    `[[package]]\nname = "itoa"\nversion = "1.0.1"\nsource = "${CRATES_IO}"\nchecksum = "e1151fc26292f8973dc365086d4a5003962e17ff7846011ac1ac72a6bcd2188f"`,
    '',
  ].join('\n');
  const locked = tempTree('cargo-config-patch-locked', { ...FORK, 'app/Cargo.toml': MANIFEST, 'app/Cargo.lock': applied, 'app/.cargo/config.toml': config });
  const found = audit(join(locked, 'app'), cargoHome(locked));
  assert.equal(found.status, 1, found.stderr);
  const report = auditReport(found.stdout);
  assert.deepEqual(report.findings.map((f) => `${f.advisory.id} ${f.package.name}`), ['RUSTSEC-2099-0301 itoa']);
  assert.deepEqual(report.warnings.filter((w) => w.startsWith(join(locked, 'app'))), []);

  // A patch cargo found no use for is recorded under [[patch.unused]]: nothing stale.
  const unused = tempTree('cargo-config-patch-unused', { ...FORK, 'app/Cargo.toml': MANIFEST, 'app/Cargo.lock': `${LOCKED}\n[[patch.unused]]\nname = "hex"\nversion = "0.5.0"\n`, 'app/.cargo/config.toml': config });
  const quiet = audit(join(unused, 'app'), cargoHome(unused));
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.deepEqual(auditReport(quiet.stdout).warnings.filter((w) => w.startsWith(join(unused, 'app'))), []);
});

test('configuration included with `include = [...]` (read by cargo 1.95 without any flag) is read as the including file\'s', () => {
  // Checked with cargo 1.95: `include = ["extra.toml"]` in .cargo/config.toml, extra.toml including
  // `../../hexfork/inc.toml` that sets `paths = ["hexfork"]`: `cargo tree --locked` shows hex from hexfork, and its itoa.
  const root = tempTree('cargo-config-include', {
    ...FORK,
    'app/Cargo.toml': MANIFEST,
    'app/Cargo.lock': LOCKED,
    'app/.cargo/config.toml': 'include = [{ path = "absent.toml", optional = true }, "extra.toml"]\n',
    'app/.cargo/extra.toml': 'include = ["../../hexfork/inc.toml"]\n',
    'hexfork/inc.toml': 'paths = ["hexfork"]\n',
  });
  const home = cargoHome(root);
  const result = audit(join(root, 'app'), home);
  assert.equal(result.status, 2, result.stdout);
  assert.match(result.stderr, /hexfork\/inc\.toml sets `paths` \("hexfork"\)/);

  // An included [patch] the lockfile does not record is named as the configuration's own is.
  writeFileSync(join(root, 'hexfork', 'inc.toml'), '[patch.crates-io]\nhex = { path = "hexfork" }\n');
  const stale = audit(join(root, 'app'), home);
  assert.equal(stale.status, 0, stale.stderr);
  assert.deepEqual(
    auditReport(stale.stdout).warnings.filter((w) => w.includes('does not record as applied or unused')).map((w) => w.split(':', 1)[0]),
    [join(root, 'hexfork', 'inc.toml')],
  );

  // An include that is missing (and not optional) fails cargo and the audit alike.
  writeFileSync(join(root, 'app', '.cargo', 'extra.toml'), 'include = ["gone.toml"]\n');
  const missing = audit(join(root, 'app'), home);
  assert.equal(missing.status, 2, missing.stdout);
  assert.match(missing.stderr, /extra\.toml: includes gone\.toml, which does not exist/);
});

test("a workspace member's directory is built with the root's Cargo.lock and its own .cargo/config.toml: that configuration is read", () => {
  // Checked with cargo 1.95: `cargo tree --locked` in the member m, whose .cargo/config.toml sets
  // `paths = ["../../hexfork"]`, shows hex from hexfork and its itoa; in the root it shows crates.io's hex.
  const lock = LOCKED.replace('name = "app"', 'name = "m"');
  const root = tempTree('cargo-member-config', {
    ...FORK,
    'ws/Cargo.toml': '[workspace]\nmembers = ["m"]\nresolver = "2"\n',
    'ws/Cargo.lock': lock,
    'ws/m/Cargo.toml': MANIFEST.replace('name = "app"', 'name = "m"'),
    'ws/m/src/main.rs': 'fn main() {}\n',
    'ws/m/.cargo/config.toml': 'paths = ["../../hexfork"]\n',
  });
  const home = cargoHome(root);
  const member = audit(join(root, 'ws', 'm'), home);
  assert.equal(member.status, 2, member.stdout);
  assert.match(member.stderr, /m\/\.cargo\/config\.toml sets `paths` \("\.\.\/\.\.\/hexfork"\)/);
  // The root, where cargo build does not read the member's configuration, passes.
  const workspace = audit(join(root, 'ws'), home);
  assert.equal(workspace.status, 0, workspace.stderr);
});

test("a fleet upload reads only its own files: a configuration include that leads outside it is refused, one inside is read", () => {
  const root = tempTree('cargo-config-include-upload', {
    'outside.toml': 'paths = ["/elsewhere"]\n',
    'app/.cargo/config.toml': 'include = ["../../outside.toml", "inside.toml"]\n',
    'app/.cargo/inside.toml': '[patch.crates-io]\nhex = { path = "hexfork" }\n',
  });
  const app = join(root, 'app');
  const insideApp = (file: string): boolean => file.startsWith(`${app}/`);
  assert.throws(() => readCargoConfig(app, { readable: insideApp }), /includes .*outside\.toml, outside the application's directory/);
  writeFileSync(join(app, '.cargo', 'config.toml'), 'include = ["inside.toml"]\n');
  assert.deepEqual(
    readCargoConfig(app, { readable: insideApp }).patches.map((p) => `${p.registry} ${p.name} ${String(p.spec.path)}`),
    ['crates-io hex hexfork'],
  );
});
