/**
 * `stowage package rpm` declares the licences of the application's own local packages: a Cargo
 * workspace member whose licence is the workspace's (`license.workspace = true`), a third-party
 * crate copied into the tree as a path dependency, an npm workspace member. They are compiled
 * into (or installed with) what the RPM ships, so the package's `License:` is theirs too; a
 * path package only development needs is not. Locked here by cargo (offline: path packages
 * only) and npm (workspace packages only), as their users lock them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { unrelatedRustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { runCargo } from '../support/rust-app.js';
import { runCli, tempDir } from '../support/shared.js';

const scratch = tempDir('package-local-licenses');
after(() => rmSync(scratch, { recursive: true, force: true }));
const cacheDir = join(scratch, 'cache');
const db = unrelatedRustsecAdvisoryDb(join(scratch, 'db'));

function write(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

function packageRpm(dir: string, out: string, ...args: string[]): { status: number; stdout: string; stderr: string } {
  return runCli(['package', 'rpm', dir, '--db', db, '--no-fetch', '-o', out, ...args], { cacheDir, env: { SOURCE_DATE_EPOCH: '1700000000' } });
}

const specLicense = (out: string): string => {
  const spec = readdirSync(out).find((f) => f.endsWith('.spec'));
  assert.ok(spec !== undefined, `no spec in ${out}`);
  return /^License:\s*(.*)$/m.exec(readFileSync(join(out, spec), 'utf8'))?.[1] ?? '';
};

const crate = (name: string, version: string, license: string): string =>
  `[package]\nname = "${name}"\nversion = "${version}"\nedition = "2021"\n${license}\n`;

async function cargoApp(tinyfmtLicense: string): Promise<string> {
  const dir = join(scratch, `cargo-${readdirSync(scratch).length}`);
  write(dir, {
    'Cargo.toml': `${crate('demo', '0.1.0', 'license = "MIT"\ndescription = "demo"')}
[dependencies]
demo-core = { path = "crates/core" }
tinyfmt = { path = "third_party/tinyfmt" }

[dev-dependencies]
testkit = { path = "third_party/testkit" }

[workspace]
members = ["crates/*"]
exclude = ["third_party"]

[workspace.package]
license = "Apache-2.0"
`,
    'src/main.rs': 'fn main() { println!("{}", tinyfmt::f(demo_core::n())); }\n',
    'crates/core/Cargo.toml': crate('demo-core', '0.1.0', 'license.workspace = true'),
    'crates/core/src/lib.rs': 'pub fn n() -> u32 { 7 }\n',
    'third_party/tinyfmt/Cargo.toml': crate('tinyfmt', '1.2.0', `license = ${JSON.stringify(tinyfmtLicense)}`),
    'third_party/tinyfmt/src/lib.rs': 'pub fn f(n: u32) -> String { format!("n={n}") }\n',
    'third_party/testkit/Cargo.toml': crate('testkit', '0.3.0', 'license = "GPL-3.0-only"'),
    'third_party/testkit/src/lib.rs': 'pub fn check() {}\n',
  });
  await runCargo(['generate-lockfile', '--offline'], { cwd: dir, cargoHome: join(scratch, 'cargo-home') });
  return dir;
}

test('Cargo: a workspace member and a path dependency add their licences to License:, a dev-only path package does not', async () => {
  const dir = await cargoApp('BSD-3-Clause');
  const out = join(scratch, 'cargo-out');
  const made = packageRpm(dir, out);
  assert.equal(made.status, 0, made.stderr);
  const license = specLicense(out);
  for (const id of ['MIT', 'Apache-2.0', 'BSD-3-Clause']) assert.match(license, new RegExp(`\\b${id}\\b`), license);
  assert.doesNotMatch(license, /GPL/, 'testkit is a dev-dependency: never built into the package');
  const sbom = JSON.parse(readFileSync(join(out, 'demo-0.1.0.cdx.json'), 'utf8')) as { components: { name: string; licenses?: { expression: string }[] }[] };
  assert.deepEqual(sbom.components.find((c) => c.name === 'tinyfmt')?.licenses, [{ expression: 'BSD-3-Clause' }]);
});

test('Cargo: a path package whose licence is not SPDX stops packaging, naming it, unless --license states it', async () => {
  const dir = await cargoApp('BSD licence, see COPYING');
  const out = join(scratch, 'cargo-bad-out');
  const refused = packageRpm(dir, out);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /^stowage: no SPDX licence for 1 package: tinyfmt 1\.2\.0 \(a local package of the application: "BSD licence, see COPYING" is not SPDX\); state each with --license/m);
  assert.equal(existsSync(out), false, 'nothing written');
  const stated = packageRpm(dir, out, '--license', 'tinyfmt=BSD-2-Clause');
  assert.equal(stated.status, 0, stated.stderr);
  assert.match(specLicense(out), /\bBSD-2-Clause\b/);
});

test('npm: a workspace member the application depends on adds its licence to License:', () => {
  const dir = join(scratch, 'npm-ws');
  write(dir, {
    'package.json': JSON.stringify({ name: 'ws-app', version: '1.0.0', license: 'MIT', bin: { 'ws-app': 'bin/app.js' }, workspaces: ['packages/*'], dependencies: { '@app/lib': '1.0.0' } }),
    'bin/app.js': '#!/usr/bin/env node\nconsole.log(require("@app/lib"));\n',
    'packages/lib/package.json': JSON.stringify({ name: '@app/lib', version: '1.0.0', license: 'Apache-2.0', main: 'index.js' }),
    'packages/lib/index.js': 'module.exports = 1;\n',
  });
  // Workspace packages only: npm locks them without the registry.
  execFileSync('npm', ['install', '--package-lock-only', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'ignore', env: { ...process.env, npm_config_cache: join(scratch, 'npm-cache') } });
  const out = join(scratch, 'npm-out');
  const made = packageRpm(dir, out);
  assert.equal(made.status, 0, made.stderr);
  const license = specLicense(out);
  assert.match(license, /\bApache-2\.0\b/, license);
  assert.match(license, /\bMIT\b/, license);
});
