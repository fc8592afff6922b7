import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { auditReport } from '../support/audit-report.js';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { packTar } from '../support/hostile-tar.js';
import { elfWithDepV0, upxPackedElf, upxPackedPe } from '../support/object-files.js';
import { refusal, runCli, tempDir } from '../support/shared.js';
import { buildDeb, dockerSaveArchive, tarFile } from '../support/shipped-artifacts.js';

/*
 * A Rust binary packed with UPX: its sections (`.dep-v0` among them), strings and code are
 * compressed inside it, and a loader unpacks them when it runs. Inside a package, an image or a
 * tree it was taken for a C program (no section, no crate path) and passed over, so a package
 * shipping it beside another binary passed its audit with the packed one never read.
 */

const cacheDir = tempDir('audit-shipped-packed-cache');
const work = tempDir('audit-shipped-packed');
const db = rustsecAdvisoryDb(join(work, 'db'), [{ id: 'RUSTSEC-2099-0501', package: 'smallvec', patched: ['>= 1.6.1'] }]);

function elf(packages: object[]): Buffer {
  return elfWithDepV0(true, true, deflateSync(JSON.stringify({ packages })));
}
/** Built from smallvec 1.6.0, which RUSTSEC-2099-0501 affects. */
const VULNERABLE = elf([
  { name: 'tool', version: '0.1.0', source: 'local', dependencies: [1], root: true },
  { name: 'smallvec', version: '1.6.0', source: 'crates.io' },
]);
const CLEAN = elf([{ name: 'other', version: '0.1.0', source: 'local', root: true }]);
const PACKED = upxPackedElf(VULNERABLE, (data) => deflateSync(data));

function audit(path: string, ...extra: string[]): ReturnType<typeof runCli> {
  return runCli(['audit', path, '--db', db, '--no-fetch', '--format', 'json', ...extra], { cacheDir });
}


function file(name: string, bytes: Buffer): string {
  const path = join(work, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, bytes, { mode: 0o755 });
  return path;
}

const REFUSED = (artifact: string, inner: string): RegExp =>
  new RegExp(
    `^stowage: ${artifact}: 1 executable is packed with UPX, its code and sections compressed inside it, so what it was built from cannot be read \\(\`upx -d\` unpacks it\\): a partial inventory \\(${artifact}:${inner}\\); refused \\(pass --allow-partial`,
  );

test('a UPX-packed executable beside a Rust binary, in a .deb, an image or a tree: refused in one line naming it, not passed over as a C program', async () => {
  const deb = buildDeb({ name: 'packed', version: '1.0-1', fields: {}, files: { 'usr/bin/tool': file('deb/tool', PACKED), 'usr/bin/other': file('deb/other', CLEAN) }, compression: 'xz' });
  assert.match(refusal(audit(deb)), REFUSED(deb, 'usr/bin/tool'));

  const image = await dockerSaveArchive([await packTar([tarFile('usr/bin/tool', PACKED, 0o755), tarFile('usr/bin/other', CLEAN, 0o755)])], 'packed:1');
  assert.match(refusal(audit(image)), REFUSED(image, 'usr/bin/tool'));

  const tree = join(work, 'tree');
  file('tree/usr/bin/tool', PACKED);
  file('tree/usr/bin/other', CLEAN);
  assert.match(refusal(audit(tree)), REFUSED(tree, 'usr/bin/tool'));

  // With --allow-partial: reported as read, nothing, and why.
  const run = audit(deb, '--allow-partial');
  assert.equal(run.status, 0, run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(
    report.targets.map((t) => [t.path, t.format, t.inventory, t.packages, t.partial]),
    [
      [`${deb}:usr/bin/other`, 'ELF 64-bit LSB, cargo-auditable format 0', 'dep-v0', 1, false],
      [`${deb}:usr/bin/tool`, 'ELF 64-bit LSB, packed with UPX', 'embedded paths', 0, true],
    ],
  );
  assert.ok(report.warnings.some((w) => w.startsWith(`${deb}:usr/bin/tool: PARTIAL inventory`) && w.includes('packed with UPX')), JSON.stringify(report.warnings));
});

test('a UPX-packed executable of a big-endian format (linux/mipseb 137, linux/ppc64 140) beside a Rust binary: refused too', () => {
  for (const format of [137, 140]) {
    const tree = join(work, `be-tree-${format}`);
    file(`be-tree-${format}/usr/bin/tool`, upxPackedElf(VULNERABLE, (data) => deflateSync(data), format));
    file(`be-tree-${format}/usr/bin/other`, CLEAN);
    assert.match(refusal(audit(tree)), REFUSED(tree, 'usr/bin/tool'));
  }
});

test('a UPX-packed executable on its own, ELF or PE: the refusal says it is packed', () => {
  assert.match(
    refusal(audit(file('alone/tool', PACKED))),
    /alone\/tool: packed with UPX: its code and sections are compressed inside it, so what it was built from cannot be read \(`upx -d` unpacks it\): a partial inventory; refused \(pass --allow-partial/,
  );
  const pe = file('alone/tool.exe', upxPackedPe(VULNERABLE, (data) => deflateSync(data)));
  assert.match(refusal(audit(pe)), /alone\/tool\.exe: packed with UPX/);
  const tree = join(work, 'pe-tree');
  file('pe-tree/bin/tool.exe', upxPackedPe(VULNERABLE, (data) => deflateSync(data)));
  file('pe-tree/bin/other', CLEAN);
  assert.match(refusal(audit(tree)), REFUSED(tree, 'bin/tool.exe'));
});

test('a program holding the bytes "UPX!" (a scanner, a packer) without a PackHeader at its end is not taken for a packed one', () => {
  const tree = join(work, 'scanner-tree');
  // An ELF with no sections (a C program, stripped) whose data holds upx's magic, and its end a PackHeader whose checksum is wrong.
  const header = Buffer.alloc(32);
  header.write('UPX!', 0, 'latin1');
  header[4] = 14;
  header[5] = 22;
  header[31] = 1;
  const scanner = Buffer.concat([upxPackedElf(Buffer.from('c program'), (data) => data).subarray(0, 64), Buffer.from('looks for UPX! in files\0', 'latin1'), header, Buffer.alloc(4)]);
  scanner.writeBigUInt64LE(0n, 0x28);
  file('scanner-tree/usr/bin/scanner', scanner);
  file('scanner-tree/usr/bin/other', CLEAN);
  // Its section header table gone (as sstrip leaves it), it is partial for that, and not said to be packed.
  const run = audit(tree);
  assert.equal(run.status, 2, run.stdout);
  assert.match(run.stderr, /: 1 executable has no section headers \(sstrip removes them; the program runs without\), so a \.dep-v0 section in it cannot be found: a partial inventory \([^)]*scanner-tree:usr\/bin\/scanner\)/);
  assert.doesNotMatch(run.stderr, /UPX/);
});
