import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { auditReport } from '../support/audit-report.js';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { elfWithDepV0 } from '../support/object-files.js';
import { runCli, tempDir } from '../support/shared.js';
import { buildDeb, dockerSaveArchive, installedLayers } from '../support/shipped-artifacts.js';

/*
 * An ELF executable whose section header table is gone (`sstrip`, or e_shoff zeroed: the loader
 * reads program headers only, and the program runs) still holds its `.dep-v0` bytes, but no
 * section can be found in it. Before, in a package beside anything else audited, it was taken
 * for a C program and passed over: the audit exited 0 while the binary shipped a vulnerable crate.
 * And an image archive compressed whole with xz or bzip2 (which docker load reads) was refused as
 * "not a lockfile".
 */

const cacheDir = tempDir('audit-shipped-stripped-cache');
const work = tempDir('audit-shipped-stripped');
const db = rustsecAdvisoryDb(join(work, 'db'), [{ id: 'RUSTSEC-2099-0311', package: 'smallvec', patched: ['>= 1.6.1'] }]);

/** tool 0.1.0 built from smallvec 1.6.0, its section header table zeroed as sstrip leaves it. */
function strippedTool(): string {
  const depV0 = deflateSync(
    JSON.stringify({
      packages: [
        { name: 'tool', version: '0.1.0', source: 'local', dependencies: [1], root: true },
        { name: 'smallvec', version: '1.6.0', source: 'crates.io' },
      ],
    }),
  );
  const elf = elfWithDepV0(true, true, depV0);
  elf.writeBigUInt64LE(0n, 0x28); // e_shoff
  elf.writeUInt16LE(0, 0x3c); // e_shnum
  elf.writeUInt16LE(0, 0x3e); // e_shstrndx
  const path = join(work, 'tool');
  writeFileSync(path, elf);
  return path;
}

const TOOL = strippedTool();
const oneLine = (text: string): string => text.trim();

test('a .deb whose Rust binary has no section header table, beside a field stowage audits: refused as partial, not passed', () => {
  const deb = buildDeb({ name: 'stripped-tool', version: '1.0-1', fields: { 'X-Cargo-Built-Using': 'rust-itoa (= 1.0.1)' }, files: { 'usr/bin/tool': TOOL }, compression: 'xz' });
  const run = runCli(['audit', deb, '--db', db], { cacheDir });
  assert.equal(run.status, 2, run.stdout + run.stderr);
  assert.equal(
    oneLine(run.stderr),
    `stowage: ${deb}: 1 executable has no section headers (sstrip removes them; the program runs without), so a .dep-v0 section in it cannot be found: a partial inventory (${deb}:usr/bin/tool); refused (pass --allow-partial to audit it, reported as partial)`,
  );
  const partial = runCli(['audit', deb, '--db', db, '--allow-partial', '--format', 'json'], { cacheDir });
  assert.equal(partial.status, 0, partial.stderr);
  const target = auditReport(partial.stdout).targets.find((t) => t.path === `${deb}:usr/bin/tool`);
  assert.equal(target?.partial, true, partial.stdout);
});

test('a Rust binary with no section header table, or one holding only its null entry, named on its own: refused saying why no .dep-v0 section is read', () => {
  const nullOnly = join(work, 'null-only');
  const elf = Buffer.from(readFileSync(TOOL));
  // e_shoff back at a table of one entry, all zeros: the null section, and nothing else.
  elf.writeBigUInt64LE(BigInt(elf.length), 0x28);
  elf.writeUInt16LE(64, 0x3a);
  elf.writeUInt16LE(1, 0x3c);
  writeFileSync(nullOnly, Buffer.concat([elf, Buffer.alloc(64)]));
  for (const path of [TOOL, nullOnly]) {
    const run = runCli(['audit', path, '--db', db], { cacheDir });
    assert.equal(run.status, 2, run.stdout);
    assert.equal(
      oneLine(run.stderr),
      `stowage: ${path}: it has no section headers (sstrip removes them; the program runs without), so a .dep-v0 section in it cannot be found: its embedded source paths name 0 crates, a partial inventory; refused (pass --allow-partial to audit it, reported as partial)`,
    );
  }
});

test('an image archive compressed whole with xz or bzip2 (docker load reads both): refused saying what it is, not as a lockfile', async () => {
  const archive = await dockerSaveArchive(await installedLayers(), 'demo:1');
  for (const [tool, suffix, name] of [['xz', 'xz', 'xz'], ['bzip2', 'bz2', 'bzip2']] as const) {
    const path = join(work, `image.tar.${suffix}`);
    writeFileSync(path, execFileSync(tool, ['-c', archive], { maxBuffer: 1 << 30 }));
    const run = runCli(['audit', path, '--db', db], { cacheDir });
    assert.equal(run.status, 2, run.stdout);
    assert.equal(
      oneLine(run.stderr),
      `stowage: ${path}: ${name}-compressed data (an image archive compressed after docker save, say), which stowage does not read so: decompress it and audit what it holds (an image archive as the .tar docker save writes)`,
    );
  }
});

test('a compressed file whose name says what it holds (an SBOM, a lockfile) is refused naming that, not taken for an image archive', () => {
  const cases: [string, string[], string][] = [
    ['sbom.cdx.json.gz', ['gzip'], 'gzip'],
    ['Cargo.lock.zst', ['zstd', '-q'], 'zstd'],
    ['package-lock.json.xz', ['xz'], 'xz'],
  ];
  for (const [file, tool, name] of cases) {
    const path = join(work, file);
    const inner = file.slice(0, file.lastIndexOf('.'));
    writeFileSync(path, execFileSync(tool[0] as string, [...tool.slice(1), '-c'], { input: '{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}\n' }));
    const run = runCli(['audit', path, '--db', db], { cacheDir });
    assert.equal(run.status, 2, run.stdout);
    assert.equal(oneLine(run.stderr), `stowage: ${path}: ${name}-compressed data, which stowage does not read so: decompress it and audit the ${inner} it holds`);
  }
});
