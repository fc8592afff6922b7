/**
 * An SBOM folds a Cargo workspace's members into the application (they are the lockfile's
 * roots), so the application's licence it states is theirs too: a library member under another
 * licence than the application's was in no component of the SBOM (`stowage sbom` and the SBOM
 * `stowage package rpm` writes), though the build compiles it in and the spec's `License:`
 * declares it. A path package outside the workspace is a component of its own, whose licence
 * `stowage sbom` reads from its manifest as `package rpm` does (it was NOASSERTION). Locked by
 * cargo offline (path packages only).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { unrelatedRustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { runCargo } from '../support/rust-app.js';
import { runCli, tempDir } from '../support/shared.js';

const scratch = tempDir('sbom-member-licenses');
after(() => rmSync(scratch, { recursive: true, force: true }));
const cacheDir = join(scratch, 'cache');
const env = { SOURCE_DATE_EPOCH: '1700000000' };

function write(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

const crate = (name: string, license: string): string => `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n${license}\n`;

interface CycloneDxDoc {
  metadata: { component: { name: string; licenses?: { expression: string }[] } };
  components: { name: string; licenses?: { expression: string }[] }[];
}

interface SpdxDoc {
  packages: { name: string; licenseDeclared: string }[];
}

async function workspaceApp(): Promise<string> {
  const dir = join(scratch, 'app');
  write(dir, {
    'Cargo.toml': `${crate('demo', 'license = "MIT"')}
[dependencies]
demo-core = { path = "crates/core" }
tinyfmt = { path = "third_party/tinyfmt" }

[workspace]
members = ["crates/*"]
exclude = ["third_party"]

[workspace.package]
license = "Apache-2.0"
`,
    'src/main.rs': 'fn main() { println!("{}", tinyfmt::f(demo_core::n())); }\n',
    'crates/core/Cargo.toml': crate('demo-core', 'license.workspace = true'),
    'crates/core/src/lib.rs': 'pub fn n() -> u32 { 7 }\n',
    'third_party/tinyfmt/Cargo.toml': crate('tinyfmt', 'license = "BSD-3-Clause"'),
    'third_party/tinyfmt/src/lib.rs': 'pub fn f(n: u32) -> String { format!("n={n}") }\n',
  });
  await runCargo(['generate-lockfile', '--offline'], { cwd: dir, cargoHome: join(scratch, 'cargo-home') });
  return dir;
}

test("a workspace member's licence is the application's in its SBOM (CycloneDX, SPDX, package rpm's); a path package has its own", async () => {
  const dir = await workspaceApp();

  const cdx = runCli(['sbom', dir, '--no-licenses'], { cacheDir, env });
  assert.equal(cdx.status, 0, cdx.stderr);
  const doc = JSON.parse(cdx.stdout) as CycloneDxDoc;
  assert.equal(doc.metadata.component.name, 'demo');
  assert.deepEqual(doc.metadata.component.licenses, [{ expression: 'Apache-2.0 AND MIT' }], 'demo-core (Apache-2.0) is compiled into demo (MIT)');
  assert.equal(doc.components.find((c) => c.name === 'demo-core'), undefined, 'a member is the application in an SBOM');
  assert.deepEqual(doc.components.find((c) => c.name === 'tinyfmt')?.licenses, [{ expression: 'BSD-3-Clause' }]);

  const spdx = runCli(['sbom', dir, '--no-licenses', '--format', 'spdx'], { cacheDir, env });
  assert.equal(spdx.status, 0, spdx.stderr);
  const packages = (JSON.parse(spdx.stdout) as SpdxDoc).packages;
  assert.equal(packages.find((p) => p.name === 'demo')?.licenseDeclared, 'Apache-2.0 AND MIT');
  assert.equal(packages.find((p) => p.name === 'tinyfmt')?.licenseDeclared, 'BSD-3-Clause');

  const out = join(scratch, 'rpm');
  const db = unrelatedRustsecAdvisoryDb(join(scratch, 'db'));
  const made = runCli(['package', 'rpm', dir, '--db', db, '--no-fetch', '-o', out], { cacheDir, env });
  assert.equal(made.status, 0, made.stderr);
  const rpmSbom = JSON.parse(readFileSync(join(out, 'demo-0.1.0.cdx.json'), 'utf8')) as CycloneDxDoc;
  assert.deepEqual(rpmSbom.metadata.component.licenses, [{ expression: 'Apache-2.0 AND MIT' }]);
});
