import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { addDepV0Section } from '../support/dep-v0-reader.js';
import { cycloneDx16Validator } from '../support/json-schema.js';
import { createRustApp, runCargo, rustAppCrates, type RustApp } from '../support/rust-app.js';
import { SparseRegistry } from '../support/sparse-registry.js';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { runCli, tempDir } from '../support/shared.js';

/**
 * `stowage audit BINARY` on a real Rust executable: the fixture application built here by
 * cargo (offline but for the local registry on 127.0.0.1), then given a `.dep-v0` section as
 * cargo-auditable's linker step gives it, written by the test from the fixture's manifests.
 * Without the section, the crates its embedded source paths name: partial, refused unless
 * --allow-partial. Broken binaries: one line, exit 2.
 */

const cacheDir = tempDir('audit-binary-cache');
let app: RustApp;
let plain: string;
let auditable: string;
let db: string;

/** A RustSec database with one advisory, against itoa 1.0.x before 1.0.2 (made up, dated ahead). */
function itoaAdvisoryDb(root: string): string {
  return rustsecAdvisoryDb(root, [{ id: 'RUSTSEC-2099-0010', package: 'itoa', patched: ['>= 1.0.2'], unaffected: ['< 1.0.0'] }]);
}

/**
 * What cargo-auditable records for the fixture, written from its Cargo.toml files (the
 * application's seven dependencies; itertools needs either; greeting, a git workspace member,
 * needs shouty), sorted by name as cargo-auditable sorts.
 */
const FIXTURE_DEP_V0 = JSON.stringify({
  packages: [
    { name: 'cfg-if', version: '1.0.0', source: 'crates.io' },
    { name: 'either', version: '1.6.1', source: 'crates.io' },
    { name: 'fnv', version: '1.0.7', source: 'crates.io' },
    { name: 'greeting', version: '0.3.0', source: 'git', dependencies: [8] },
    { name: 'hex', version: '0.4.3', source: 'crates.io' },
    { name: 'itertools', version: '0.10.3', source: 'crates.io', dependencies: [1] },
    { name: 'itoa', version: '0.4.8', source: 'crates.io' },
    { name: 'itoa', version: '1.0.1', source: 'crates.io' },
    { name: 'shouty', version: '0.2.1', source: 'git' },
    { name: 'stowage-demo', version: '0.1.0', source: 'local', dependencies: [0, 2, 3, 4, 5, 6, 7], root: true },
  ],
});

before(async () => {
  const registry = await SparseRegistry.start(rustAppCrates());
  try {
    app = await createRustApp(registry.indexUrl);
    await runCargo(['build', '--quiet'], { cwd: app.dir, cargoHome: app.cargoHome });
  } finally {
    await registry.close();
  }
  plain = join(app.dir, 'target', 'debug', 'stowage-demo');
  auditable = join(tempDir('audit-binary-out'), 'stowage-demo');
  addDepV0Section(plain, FIXTURE_DEP_V0, auditable);
  db = itoaAdvisoryDb(tempDir('audit-binary-db'));
});

after(() => {
  rmSync(dirname(app.dir), { recursive: true, force: true });
  rmSync(app.cargoHome, { recursive: true, force: true });
  rmSync(dirname(auditable), { recursive: true, force: true });
});

const audit = (args: string[]): ReturnType<typeof runCli> => runCli(['audit', ...args, '--db', db, '--no-fetch'], { cacheDir });

test('a binary with a .dep-v0 section: its crates, sources and edges audited, the source named in every report', () => {
  const json = audit([auditable, '--format', 'json']);
  assert.equal(json.status, 1, json.stderr);
  const report = auditReport(json.stdout);
  // The seven crates.io crates and the two git ones (greeting, shouty): not the application itself.
  assert.deepEqual(report.targets, [
    { path: auditable, ecosystem: 'cargo', format: 'ELF 64-bit LSB, cargo-auditable format 0', packages: 10, audited: 9, unidentified: [], inventory: 'dep-v0', partial: false },
  ]);
  assert.deepEqual(
    report.findings.map((f) => [f.advisory.id, f.package.name, f.package.version, f.package.source, f.paths]),
    [['RUSTSEC-2099-0010', 'itoa', '1.0.1', 'https://github.com/rust-lang/crates.io-index', [['stowage-demo@0.1.0', 'itoa@1.0.1']]]],
  );
  const human = audit([auditable]);
  assert.equal(human.status, 1);
  assert.match(human.stdout, /^ {2}ELF 64-bit LSB, cargo-auditable format 0, 10 packages, 9 matched against advisories\n {2}inventory: dep-v0$/m);
  assert.doesNotMatch(human.stdout, /PARTIAL/);
});

test('a binary installed from crates.io (`cargo auditable install itoa`-like): its root crate is audited too', () => {
  // cargo-auditable marks the crate it built as root and names its source: here crates.io.
  const installed = join(tempDir('audit-binary-installed'), 'installed');
  addDepV0Section(plain, JSON.stringify({ packages: [{ name: 'itoa', version: '1.0.1', source: 'crates.io', root: true }] }), installed);
  const json = audit([installed, '--format', 'json']);
  assert.equal(json.status, 1, json.stderr);
  const report = auditReport(json.stdout);
  assert.deepEqual(
    report.findings.map((f) => [f.advisory.id, f.package.name, f.package.version, f.package.source, f.paths]),
    [['RUSTSEC-2099-0010', 'itoa', '1.0.1', 'https://github.com/rust-lang/crates.io-index', [['itoa@1.0.1']]]],
  );
  // Its SBOM holds the crate as a component (the application is that crate), so auditing the SBOM finds it again.
  const sbom = join(dirname(installed), 'installed.cdx.json');
  const made = runCli(['sbom', installed, '--no-licenses', '--vex', '--db', db, '--no-fetch', '-o', sbom], { cacheDir });
  assert.equal(made.status, 0, made.stderr);
  const bom = JSON.parse(readFileSync(sbom, 'utf8')) as { components: { purl?: string }[]; vulnerabilities?: { id: string }[] };
  assert.deepEqual(bom.components.map((c) => c.purl), ['pkg:cargo/itoa@1.0.1']);
  assert.deepEqual(bom.vulnerabilities?.map((v) => v.id), ['RUSTSEC-2099-0010']);
  const again = audit([sbom, '--format', 'json']);
  assert.equal(again.status, 1, again.stderr);
  // The same finding, on the same path: the application is that crate, not an application holding it (itoa@1.0.1 → itoa@1.0.1).
  assert.deepEqual(auditReport(again.stdout).findings.map((f) => [f.advisory.id, f.package.name, f.package.version, f.paths]), [['RUSTSEC-2099-0010', 'itoa', '1.0.1', [['itoa@1.0.1']]]]);
  rmSync(dirname(installed), { recursive: true, force: true });
});

test('a binary without .dep-v0: refused as partial, then with --allow-partial its embedded crates, PARTIAL in every format', () => {
  const refused = audit([plain]);
  assert.equal(refused.status, 2);
  assert.equal(refused.stdout, '');
  assert.match(refused.stderr, /^stowage: .*stowage-demo: no \.dep-v0 section \(not built with cargo-auditable\): its embedded source paths name \d+ crates, a partial inventory; refused \(pass --allow-partial to audit it, reported as partial\)\n$/);

  // What the binary's strings name, found with grep: Cargo's unpack directories and the standard library's.
  const dirs = execFileSync('grep', ['-aoE', '(registry/src/[^/]+|/rust/deps)/[A-Za-z0-9_.+-]+-[0-9]+\\.[0-9]+\\.[0-9]+[A-Za-z0-9_.+-]*/', plain], { encoding: 'utf8' });
  const named = new Set(dirs.trim().split('\n').map((d) => (d.split('/').at(-2) as string)));
  const fixture = rustAppCrates().map((c) => `${c.name}-${c.version}`);
  assert.ok([...named].some((n) => fixture.includes(n)), `the debug build names some fixture crates: ${[...named].join(' ')}`);

  // The fixture's crates come from the test registry (Cargo unpacks them under its host's name,
  // not crates.io's): matched by name and version, as a lockfile's other-registry crates are, so
  // itoa 1.0.1 has the made-up advisory when the build names it.
  const itoaNamed = named.has('itoa-1.0.1');
  const expectedStatus = itoaNamed ? 1 : 0;
  const json = audit([plain, '--allow-partial', '--format', 'json']);
  assert.equal(json.status, expectedStatus, json.stderr);
  const report = auditReport(json.stdout);
  const target = report.targets[0];
  assert.equal(target?.inventory, 'embedded paths');
  assert.equal(target?.partial, true);
  assert.equal(target?.packages, named.size);
  assert.deepEqual(report.findings.map((f) => [f.advisory.id, f.package.name, f.package.version]), itoaNamed ? [['RUSTSEC-2099-0010', 'itoa', '1.0.1']] : []);
  assert.equal(report.warnings.some((w) => w.includes('1 crate from a registry other than crates.io matched against advisories by name and version')), itoaNamed, report.warnings.join('\n'));
  assert.ok(report.warnings.some((w) => w.includes('PARTIAL inventory (embedded paths)')), report.warnings.join('\n'));

  const human = audit([plain, '--allow-partial']);
  assert.equal(human.status, expectedStatus);
  assert.match(human.stdout, /^ {2}PARTIAL inventory: packages it does not reveal were not audited$/m);
  assert.match(human.stdout, /^ {2}inventory: embedded paths$/m);
  const sarif = audit([plain, '--allow-partial', '--format', 'sarif']);
  assert.equal(sarif.status, expectedStatus);
  const notes = (JSON.parse(sarif.stdout) as { runs: { invocations: { toolExecutionNotifications: { message: { text: string } }[] }[] }[] }).runs[0]?.invocations[0]?.toolExecutionNotifications ?? [];
  assert.ok(notes.some((n) => n.message.text.includes('PARTIAL inventory')));
});

test('stowage sbom BINARY: the application and crates of its .dep-v0 section; a partial inventory makes no SBOM', () => {
  const made = runCli(['sbom', auditable, '--no-licenses'], { cacheDir });
  assert.equal(made.status, 0, made.stderr);
  const bom = JSON.parse(made.stdout) as { metadata: { component: { name: string; version: string } }; components: { purl?: string }[] };
  cycloneDx16Validator()(bom);
  assert.deepEqual([bom.metadata.component.name, bom.metadata.component.version], ['stowage-demo', '0.1.0']);
  assert.deepEqual(
    bom.components.map((c) => c.purl).sort(),
    ['cfg-if@1.0.0', 'either@1.6.1', 'fnv@1.0.7', 'greeting@0.3.0', 'hex@0.4.3', 'itertools@0.10.3', 'itoa@0.4.8', 'itoa@1.0.1', 'shouty@0.2.1'].map((c) => `pkg:cargo/${c}`),
  );
  const licences = runCli(['sbom', auditable], { cacheDir });
  assert.equal(licences.status, 2);
  assert.match(licences.stderr, /the licences of the crates and packages of a binary are not fetched .*: pass --no-licenses/);
  const partial = runCli(['sbom', plain, '--no-licenses'], { cacheDir });
  assert.equal(partial.status, 2);
  // sbom says what the flag does for sbom.
  assert.match(partial.stderr, /a partial inventory; refused \(pass --allow-partial to describe it, in an SBOM that says its inventory is incomplete\)\n$/);
});

test('broken binaries: truncated ELF, a section that does not inflate, a zlib bomb, a key given twice; one line, exit 2', () => {
  const dir = tempDir('audit-binary-bad');
  const bytes = readFileSync(plain);
  const truncated = join(dir, 'truncated');
  writeFileSync(truncated, bytes.subarray(0, 4096));
  const notZlib = join(dir, 'not-zlib');
  const raw = join(dir, 'raw');
  writeFileSync(raw, 'not compressed at all');
  execFileSync('objcopy', ['--add-section', `.dep-v0=${raw}`, plain, notZlib]);
  const bomb = join(dir, 'bomb');
  // 64 MiB of spaces (eight times the cap), compressed by Python's zlib: about 64 KB in the file.
  execFileSync('python3', ['-c', 'import sys, zlib; open(sys.argv[1], "wb").write(zlib.compress(b" " * (1 << 26), 9))', raw]);
  execFileSync('objcopy', ['--add-section', `.dep-v0=${raw}`, plain, bomb]);
  // Two "packages" keys: serde_json (cargo-auditable's readers) refuses the duplicate field, where
  // JSON.parse keeps the last, an empty list hiding the vulnerable itoa of the first.
  const twice = join(dir, 'twice');
  addDepV0Section(plain, '{"packages":[{"name":"itoa","version":"1.0.1","source":"crates.io","root":true}],"pack\\u0061ges":[]}', twice);
  const nameTwice = join(dir, 'name-twice');
  addDepV0Section(plain, '{"packages":[{"name":"itoa","version":"1.0.1","source":"crates.io","name":"itoa-safe","root":true}]}', nameTwice);
  const cases: [string, RegExp][] = [
    [twice, /\.dep-v0 section is not cargo-auditable's JSON: key "packages" given twice \(character 82\), which serde_json refuses$/],
    [nameTwice, /\.dep-v0 section is not cargo-auditable's JSON: key "name" given twice \(character 68\), which serde_json refuses$/],
    [truncated, /not a readable ELF file: section header table at offset \d+ is beyond the end of the file \(4096 bytes\): truncated or corrupt$/],
    [notZlib, /\.dep-v0 section does not inflate as zlib data: /],
    [bomb, /\.dep-v0 section inflates past 8388608 bytes: refused/],
  ];
  for (const [file, message] of cases) {
    const r = audit([file]);
    assert.equal(r.status, 2, file);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]?.startsWith(`stowage: ${file}: `), r.stderr);
    assert.match(lines[0] ?? '', message);
  }
  rmSync(dir, { recursive: true, force: true });
});
