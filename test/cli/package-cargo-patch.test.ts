/**
 * `stowage package rpm` of an application whose Cargo.lock builds a crate from a `[patch]` path
 * copy (test/support/cargo-patch-app.ts: crates.io's hex 0.4.3 built from app/vendor/hex). The
 * copy is that crate, bundled into the binary as crates.io's would be: Fedora's bundling
 * guideline wants its `Provides: bundled(crate(hex)) = 0.4.3`, as security trackers look for it.
 * Before, every path crate was taken for the application's own code and the spec declared none.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { unrelatedRustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { HEX_COPY, HEX_PATCH, ownCargoHome, patchedHexApp, PATCH_APP_MANIFEST } from '../support/cargo-patch-app.js';
import { runCli, tempDir, tempTree } from '../support/shared.js';

const scratch = tempDir('package-cargo-patch');
after(() => rmSync(scratch, { recursive: true, force: true }));
const cacheDir = join(scratch, 'cache');
const db = unrelatedRustsecAdvisoryDb(join(scratch, 'db'));

function packageRpm(root: string, out: string, ...args: string[]): { status: number; stdout: string; stderr: string } {
  return runCli(['package', 'rpm', join(root, 'app'), '--db', db, '--no-fetch', '-o', out, ...args], {
    cacheDir,
    env: { SOURCE_DATE_EPOCH: '1700000000', CARGO_HOME: ownCargoHome(root) },
  });
}

function spec(out: string): string {
  const name = readdirSync(out).find((f) => f.endsWith('.spec'));
  assert.ok(name !== undefined, `no spec in ${out}`);
  return readFileSync(join(out, name), 'utf8');
}

/** The patched app with licences: the application MIT, the copy of hex as its Cargo.toml states (or none). */
function licensedApp(hexLicense: string | null): string {
  const appManifest = PATCH_APP_MANIFEST.replace('edition = "2021"\n', 'edition = "2021"\nlicense = "MIT"\ndescription = "app"\n');
  const hexManifest = HEX_COPY['app/vendor/hex/Cargo.toml'] + (hexLicense === null ? '' : `license = ${JSON.stringify(hexLicense)}\n`);
  return tempTree('package-cargo-patch-app', {
    ...patchedHexApp(),
    'app/Cargo.toml': appManifest + HEX_PATCH,
    'app/vendor/hex/Cargo.toml': hexManifest,
  });
}

test('a [patch] path copy of a crate is declared bundled(crate(NAME)) = VERSION, with the licence its Cargo.toml states', () => {
  const root = licensedApp('MIT OR Apache-2.0');
  after(() => rmSync(root, { recursive: true, force: true }));
  const out = join(root, 'out');
  const made = packageRpm(root, out);
  assert.equal(made.status, 0, made.stderr);
  const text = spec(out);
  assert.deepEqual(
    text.split('\n').filter((line) => /^Provides:/.test(line)).map((line) => line.replace(/^Provides:\s*/, '')),
    ['bundled(crate(hex)) = 0.4.3'],
  );
  assert.match(/^License:\s*(.*)$/m.exec(text)?.[1] ?? '', /Apache-2\.0/);
  const licenses = readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('-bundled-licenses.txt')) ?? ''), 'utf8');
  assert.match(licenses, /^crate hex 0\.4\.3: MIT OR Apache-2\.0$/m);
});

test('a [patch] path copy whose licence is not found is refused naming it (it is no code of the application), and --license gives it', () => {
  const root = licensedApp(null);
  after(() => rmSync(root, { recursive: true, force: true }));
  const out = join(root, 'out');
  const refused = packageRpm(root, out);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /hex 0\.4\.3 \(a \[patch\] path copy of the crate: no licence found in its Cargo\.toml in the project\); state each with --license/);
  assert.equal(existsSync(out) ? readdirSync(out).length : 0, 0, 'nothing written');
  const made = packageRpm(root, out, '--license', 'hex=MIT OR Apache-2.0');
  assert.equal(made.status, 0, made.stderr);
  const text = spec(out);
  assert.match(text, /^Provides:\s*bundled\(crate\(hex\)\) = 0\.4\.3$/m);
  assert.match(/^License:\s*(.*)$/m.exec(text)?.[1] ?? '', /Apache-2\.0/);
});

test("a .cargo/config.toml [patch] copy overriding the manifest's is bundled with the licence of the copy cargo builds", () => {
  // Checked with cargo 1.95: Cargo.toml patches hex with vendor/hex (MIT), the project's
  // .cargo/config.toml with fork/hex (GPL-3.0-only); `cargo tree --locked` builds
  // `hex v0.4.3 (.../fork/hex)`. The copy's licence was looked up by name among the manifests
  // the project's Cargo.toml names: vendor/hex's MIT was declared for a GPL crate.
  const root = licensedApp('MIT');
  after(() => rmSync(root, { recursive: true, force: true }));
  const app = join(root, 'app');
  mkdirSync(join(app, 'fork', 'hex', 'src'), { recursive: true });
  writeFileSync(join(app, 'fork', 'hex', 'Cargo.toml'), '[package]\nname = "hex"\nversion = "0.4.3"\nedition = "2018"\nlicense = "GPL-3.0-only"\n');
  writeFileSync(join(app, 'fork', 'hex', 'src', 'lib.rs'), '');
  mkdirSync(join(app, '.cargo'));
  writeFileSync(join(app, '.cargo', 'config.toml'), '[patch.crates-io]\nhex = { path = "fork/hex" }\n');
  const out = join(root, 'out');
  const made = packageRpm(root, out);
  assert.equal(made.status, 0, made.stderr);
  assert.equal(/^License:\s*(.*)$/m.exec(spec(out))?.[1], 'GPL-3.0-only AND MIT');
  const licenses = readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('-bundled-licenses.txt')) ?? ''), 'utf8');
  assert.match(licenses, /^crate hex 0\.4\.3: GPL-3\.0-only$/m);
});

test("a [patch] path copy's build needs are declared as the crate's: a copy of openssl-sys, of libz-sys without its C sources, of a system-deps crate", () => {
  // Checked with cargo 1.95: `cargo generate-lockfile --offline` with these patches writes the
  // three crates without a source, and `cargo tree --locked` builds each from its copy here. The
  // spec declared only what the vendor archive's crates need: none of the copies' libraries,
  // and rpmbuild stopped in their build scripts.
  const crate = (name: string, version: string, extra = ''): string => `[package]\nname = "${name}"\nversion = "${version}"\nedition = "2018"\nlicense = "MIT"\n${extra}`;
  const root = tempTree('package-cargo-patch-native', {
    'app/Cargo.toml':
      '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\nlicense = "MIT"\ndescription = "app"\n\n[dependencies]\nopenssl-sys = "0.9"\nlibz-sys = "1"\ngui-sys = "0.1"\n\n' +
      '[patch.crates-io]\nopenssl-sys = { path = "third_party/openssl-sys" }\nlibz-sys = { path = "third_party/libz-sys" }\ngui-sys = { path = "third_party/gui-sys" }\n',
    'app/Cargo.lock': [
      'version = 4',
      '',
      '[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "gui-sys",\n "libz-sys",\n "openssl-sys",\n]',
      '',
      '[[package]]\nname = "gui-sys"\nversion = "0.1.0"',
      '',
      '[[package]]\nname = "libz-sys"\nversion = "1.1.20"',
      '',
      '[[package]]\nname = "openssl-sys"\nversion = "0.9.103"',
      '',
    ].join('\n'),
    'app/src/main.rs': 'fn main() {}\n',
    'app/third_party/openssl-sys/Cargo.toml': crate('openssl-sys', '0.9.103', 'links = "openssl"\nbuild = "build/main.rs"\n'),
    'app/third_party/openssl-sys/build/main.rs': 'fn main() {}\n',
    'app/third_party/openssl-sys/src/lib.rs': '',
    'app/third_party/libz-sys/Cargo.toml': crate('libz-sys', '1.1.20', 'links = "z"\n'),
    'app/third_party/libz-sys/build.rs': 'fn main() {}\n',
    'app/third_party/libz-sys/src/lib.rs': '',
    'app/third_party/gui-sys/Cargo.toml': crate('gui-sys', '0.1.0', '\n[package.metadata.system-deps]\ngtk = { name = "gtk+-3.0", version = "3.18" }\n'),
    'app/third_party/gui-sys/src/lib.rs': '',
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const out = join(root, 'out');
  const made = packageRpm(root, out);
  assert.equal(made.status, 0, made.stderr);
  const requires = spec(out).split('\n').filter((l) => l.startsWith('BuildRequires:')).map((l) => l.slice('BuildRequires:'.length).trim());
  for (const needed of ['pkgconfig(openssl)', 'pkgconfig(zlib)', 'pkgconfig(gtk+-3.0) >= 3.18']) assert.ok(requires.includes(needed), `${needed} in ${requires.join(', ')}`);
});
