import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { auditReport } from '../support/audit-report.js';
import { runCli, tempDir, tempTree } from '../support/shared.js';
import { HEX_COPY, HEX_PATCH as PATCH, ownCargoHome as cargoHome, PATCH_APP_LOCK as LOCK, PATCH_APP_MANIFEST as MANIFEST, patchedHexApp } from '../support/cargo-patch-app.js';

/*
 * `[patch.crates-io] hex = { path = "vendor/hex" }`: Cargo builds the crate at that path
 * wherever crates.io's hex is depended on, and Cargo.lock lists it without a source, like the
 * project's own crates. Such a crate is a copy of crates.io's (vendored to carry a local change,
 * or verbatim) or a fork of it, and carries an advisory's bug unless it was fixed there, as a
 * git fork does. Checked with cargo 1.95 (crates-io replaced by a local directory source): an
 * application depending on hex 0.4, patched with a verbatim copy of hex 0.4.3 under vendor/hex,
 * `cargo generate-lockfile` writes the lockfile below, and `cargo build --locked` compiles
 * `hex v0.4.3 (.../vendor/hex)`. stowage passed it (exit 0, "0 matched against advisories"),
 * where the same patch from git was matched.
 */

const cacheDir = tempDir('cli-cargo-patch-path-cache');
const db = rustsecAdvisoryDb(tempDir('cli-cargo-patch-path-db'), [{ id: 'RUSTSEC-2099-0401', package: 'hex' }]);

function audit(root: string, ...extra: string[]): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', join(root, 'app'), '--db', db, '--no-fetch', '--format', 'json', ...extra], { cacheDir, env: { CARGO_HOME: cargoHome(root) } });
}

test('a [patch] path copy of a crates.io crate is matched by its name and version, with a warning saying so', () => {
  const root = tempTree('cargo-patch-path', patchedHexApp());
  const result = audit(root);
  assert.equal(result.status, 1, result.stderr);
  const report = auditReport(result.stdout);
  assert.deepEqual(
    report.findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.version}`),
    ['RUSTSEC-2099-0401 hex 0.4.3'],
  );
  assert.deepEqual(
    report.warnings.filter((w) => w.includes('[patch]')),
    [
      `${join(root, 'app', 'Cargo.lock')}: 1 crate that a [patch] builds from a local path in place of the crate of the same name matched against advisories by name and version ` +
        '(a copy or fork of a crate carries its bugs unless fixed there: ignore an advisory the copy has fixed with --ignore ID=REASON): hex 0.4.3 (vendor/hex)',
    ],
  );

  // Accepted as a fork known to carry the fix: the audit passes.
  const accepted = audit(root, '--ignore', 'RUSTSEC-2099-0401=our copy carries the fix');
  assert.equal(accepted.status, 0, accepted.stderr);
});

test("stowage's SBOM of the application marks the [patch] path crate, and an audit of that SBOM matches it as the lockfile's does", () => {
  const root = tempTree('cargo-patch-path-sbom', patchedHexApp());
  const sbom = runCli(['sbom', '--no-licenses', join(root, 'app'), '-o', join(root, 'app.cdx.json')], { cacheDir, env: { CARGO_HOME: cargoHome(root) } });
  assert.equal(sbom.status, 0, sbom.stderr);
  const doc = JSON.parse(readFileSync(join(root, 'app.cdx.json'), 'utf8')) as { components: { name: string; purl?: string; properties?: { name: string; value: string }[] }[] };
  const hex = doc.components.find((c) => c.name === 'hex');
  // No purl: it is not crates.io's hex; the property says what it stands in for.
  assert.equal(hex?.purl, undefined);
  assert.deepEqual(hex?.properties, [{ name: 'stowage:cargo:patches-crate', value: 'true' }]);

  const result = runCli(['audit', join(root, 'app.cdx.json'), '--db', db, '--no-fetch', '--format', 'json'], { cacheDir });
  assert.equal(result.status, 1, result.stderr);
  assert.deepEqual(auditReport(result.stdout).findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.version}`), ['RUSTSEC-2099-0401 hex 0.4.3']);
});

test("a [patch] in the project's .cargo/config.toml builds the path copy just the same: matched", () => {
  const root = tempTree('cargo-config-patch-path', {
    ...HEX_COPY,
    'app/Cargo.toml': MANIFEST,
    'app/Cargo.lock': LOCK,
    'app/src/main.rs': 'fn main() {}\n',
    'app/.cargo/config.toml': '[patch.crates-io]\nhex = { path = "vendor/hex" }\n',
  });
  const result = audit(root);
  assert.equal(result.status, 1, result.stderr);
  assert.deepEqual(auditReport(result.stdout).findings.map((f) => `${f.advisory.id} ${f.package.name}`), ['RUSTSEC-2099-0401 hex']);
});

test("a [patch] copy from .cargo/config.toml is checked against the lockfile as the manifest's is: a dependency it declares and the lockfile does not lock is named", () => {
  // Checked with cargo 1.95: the copy of hex declaring `itoa = "1"` after Cargo.lock was written,
  // `cargo tree --offline` adds itoa 1.0.1 and builds it under hex; `--locked` refuses. The same
  // patch in Cargo.toml was named in a warning; from the configuration it was not (its copy's
  // manifest was never read).
  const root = tempTree('cargo-config-patch-stale', {
    ...HEX_COPY,
    'app/vendor/hex/Cargo.toml': `${HEX_COPY['app/vendor/hex/Cargo.toml'] ?? ''}\n[dependencies]\nitoa = "1"\n`,
    'app/Cargo.toml': MANIFEST,
    'app/Cargo.lock': LOCK,
    'app/src/main.rs': 'fn main() {}\n',
    'app/.cargo/config.toml': PATCH,
  });
  const result = audit(root);
  assert.equal(result.status, 1, result.stderr);
  const copy = join(root, 'app', 'vendor', 'hex', 'Cargo.toml');
  assert.deepEqual(
    auditReport(result.stdout).warnings.filter((w) => w.startsWith(`${copy}: `)).map((w) => w.slice(copy.length + 2, w.indexOf(' does not lock'))),
    [`hex declares itoa (not locked), which ${join(root, 'app', 'Cargo.lock')}`],
  );
});

test("the project's own path crates stay unmatched: a path dependency, and a [patch] that points at a workspace member", () => {
  // A path dependency named like a crates.io crate is the project's own (no patch says it stands in for crates.io's).
  const own = tempTree('cargo-path-dependency', {
    'app/Cargo.toml': MANIFEST.replace('hex = "0.4"', 'hex = { path = "../hex" }'),
    'app/Cargo.lock': LOCK,
    'app/src/main.rs': 'fn main() {}\n',
    'hex/Cargo.toml': '[package]\nname = "hex"\nversion = "0.4.3"\n',
    'hex/src/lib.rs': '',
  });
  const plain = audit(own);
  assert.equal(plain.status, 0, plain.stdout);
  assert.deepEqual(auditReport(plain.stdout).findings, []);

  // A workspace that patches crates.io's hex with its own member hex (as a crate's repository does for its dependents).
  const workspace = tempTree('cargo-patch-member', {
    'app/Cargo.toml': '[workspace]\nmembers = ["hex", "user"]\nresolver = "2"\n\n[patch.crates-io]\nhex = { path = "hex" }\n',
    // As cargo 1.95 writes it.
    'app/Cargo.lock': 'version = 4\n\n[[package]]\nname = "hex"\nversion = "0.4.3"\n\n[[package]]\nname = "user"\nversion = "0.1.0"\ndependencies = [\n "hex",\n]\n',
    'app/hex/Cargo.toml': '[package]\nname = "hex"\nversion = "0.4.3"\n',
    'app/hex/src/lib.rs': '',
    'app/user/Cargo.toml': MANIFEST.replace('name = "app"', 'name = "user"'),
    'app/user/src/main.rs': 'fn main() {}\n',
  });
  const member = audit(workspace);
  assert.equal(member.status, 0, member.stdout);
  assert.deepEqual(auditReport(member.stdout).findings, []);
});

test('a package without a [workspace] table has no member but itself: its [patch] path copy, also a path dependency, is matched', () => {
  // Checked with cargo 1.95: `cargo metadata --offline` lists only app among workspace_members
  // (with a `[workspace]` table added, it lists app, hex and user), and `cargo build --locked`
  // compiles `hex v0.4.3 (.../vendor/hex)` for user's `hex = "0.4"`. stowage took every path
  // dependency inside the directory for a member and passed it (exit 0, "0 matched").
  const manifest =
    '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nhex = { path = "vendor/hex" }\nuser = { path = "user" }\n' + PATCH;
  const lock = [
    'version = 4',
    '',
    '[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "hex",\n "user",\n]',
    '',
    '[[package]]\nname = "hex"\nversion = "0.4.3"',
    '',
    '[[package]]\nname = "user"\nversion = "0.1.0"\ndependencies = [\n "hex",\n]',
    '',
  ].join('\n');
  const files = {
    ...HEX_COPY,
    'app/Cargo.lock': lock,
    'app/src/main.rs': 'fn main() {}\n',
    'app/user/Cargo.toml': '[package]\nname = "user"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nhex = "0.4"\n',
    'app/user/src/lib.rs': '',
  };
  const root = tempTree('cargo-patch-path-no-workspace', { ...files, 'app/Cargo.toml': manifest });
  const result = audit(root);
  assert.equal(result.status, 1, result.stderr);
  assert.deepEqual(auditReport(result.stdout).findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.version}`), ['RUSTSEC-2099-0401 hex 0.4.3']);

  // With a [workspace] table, cargo makes both path dependencies members: the project's own hex.
  const workspace = tempTree('cargo-patch-path-workspace', { ...files, 'app/Cargo.toml': `${manifest}\n[workspace]\n` });
  const member = audit(workspace);
  assert.equal(member.status, 0, member.stdout);
  assert.deepEqual(auditReport(member.stdout).findings, []);
});

test("a [patch] path in a parent directory's .cargo/config.toml is read from that directory, as cargo reads it: a copy beside the workspace is matched, though `crates/*` names the same path under the workspace", () => {
  // Checked with cargo 1.95: the parent's `hex = { path = "crates/hex" }` builds
  // `hex v0.4.3 (PARENT/crates/hex)`, and `cargo metadata` lists only app and util as members.
  // Read from app's directory, app/crates/hex matched `members = ["crates/*"]`: a member, the
  // project's own, not matched (exit 0).
  const root = tempTree('cargo-parent-config-patch-path', {
    'crates/hex/Cargo.toml': '[package]\nname = "hex"\nversion = "0.4.3"\nedition = "2018"\n',
    'crates/hex/src/lib.rs': '',
    '.cargo/config.toml': '[patch.crates-io]\nhex = { path = "crates/hex" }\n',
    'app/Cargo.toml': `${MANIFEST}\n[workspace]\nmembers = ["crates/*"]\n`,
    'app/Cargo.lock': `${LOCK}\n[[package]]\nname = "util"\nversion = "0.1.0"\n`,
    'app/src/main.rs': 'fn main() {}\n',
    'app/crates/util/Cargo.toml': '[package]\nname = "util"\nversion = "0.1.0"\nedition = "2021"\n',
    'app/crates/util/src/lib.rs': '',
  });
  const result = audit(root);
  assert.equal(result.status, 1, result.stderr);
  assert.deepEqual(auditReport(result.stdout).findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.source}`), ['RUSTSEC-2099-0401 hex ../crates/hex']);
});

test('a [workspace.dependencies] path that no manifest inherits makes no member: the [patch] copy at that path is matched', () => {
  // Checked with cargo 1.95: `[workspace.dependencies] hex = { path = "vendor/hex" }`, the same
  // path in [patch.crates-io], app depending on crates.io's `hex = "0.4"`: `cargo build --locked`
  // compiles `hex v0.4.3 (.../vendor/hex)` and `cargo metadata` lists app alone as a member.
  // stowage took every [workspace.dependencies] path for a dependency, so vendor/hex for a
  // member, the project's own, and passed it (exit 0).
  const manifest = `${MANIFEST}\n[workspace]\n\n[workspace.dependencies]\nhex = { path = "vendor/hex" }\n${PATCH}`;
  const root = tempTree('cargo-workspace-dependency-patch', { ...HEX_COPY, 'app/Cargo.toml': manifest, 'app/Cargo.lock': LOCK, 'app/src/main.rs': 'fn main() {}\n' });
  const result = audit(root);
  assert.equal(result.status, 1, result.stderr);
  assert.deepEqual(auditReport(result.stdout).findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.source}`), ['RUSTSEC-2099-0401 hex vendor/hex']);
  // Inherited (`hex = { workspace = true }`), it is app's path dependency inside the workspace: a member.
  const inherited = tempTree('cargo-workspace-dependency-inherited', {
    ...HEX_COPY,
    'app/Cargo.toml': manifest.replace('hex = "0.4"', 'hex = { workspace = true }'),
    'app/Cargo.lock': LOCK,
    'app/src/main.rs': 'fn main() {}\n',
  });
  const member = audit(inherited);
  assert.equal(member.status, 0, member.stdout);
  assert.deepEqual(auditReport(member.stdout).findings, []);
});

test('a [patch] copy that `exclude` takes out of a member glob is no member: matched (a member written as its path stays one)', () => {
  // Checked with cargo 1.95: `members = ["crates/*"]`, `exclude = ["crates/hex"]`, hex patched
  // with crates/hex: `cargo metadata` lists app and util as members, and `cargo tree --locked`
  // builds `hex v0.4.3 (.../crates/hex)` for app's `hex = "0.4"`. stowage took crates/hex for a
  // member (the glob names it), the project's own, and passed it (exit 0). With
  // `members = ["crates/hex", "crates/util"]` cargo lists hex as a member despite `exclude`.
  const files = (members: string): Record<string, string> => ({
    'app/Cargo.toml': `${MANIFEST}\n[workspace]\nmembers = ${members}\nexclude = ["crates/hex"]\n${PATCH.replace('vendor/hex', 'crates/hex')}`,
    'app/Cargo.lock': `${LOCK}\n[[package]]\nname = "util"\nversion = "0.1.0"\n`,
    'app/src/main.rs': 'fn main() {}\n',
    'app/crates/hex/Cargo.toml': HEX_COPY['app/vendor/hex/Cargo.toml'] ?? '',
    'app/crates/hex/src/lib.rs': '',
    'app/crates/util/Cargo.toml': '[package]\nname = "util"\nversion = "0.1.0"\nedition = "2021"\n',
    'app/crates/util/src/lib.rs': '',
  });
  const result = audit(tempTree('cargo-patch-excluded', files('["crates/*"]')));
  assert.equal(result.status, 1, result.stderr);
  assert.deepEqual(auditReport(result.stdout).findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.source}`), ['RUSTSEC-2099-0401 hex crates/hex']);

  const member = audit(tempTree('cargo-patch-excluded-explicit', files('["crates/hex", "crates/util"]')));
  assert.equal(member.status, 0, member.stdout);
  assert.deepEqual(auditReport(member.stdout).findings, []);
});
