import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { auditReport } from '../support/audit-report.js';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { runCli, tempDir } from '../support/shared.js';
import { buildDeb, buildRpm, dockerSaveArchive, tarFile } from '../support/shipped-artifacts.js';
import { packTar } from '../support/hostile-tar.js';

/*
 * A WebAssembly module shipped inside a package or an image (a plugin, a web application's
 * module), or a Windows or macOS executable in an image or a tree, is read as `stowage audit FILE`
 * reads it: cargo-auditable's `.dep-v0` section names its crates. Before, only ELF files were
 * kept from a package's payload or a tree, so one shipping only such a file was reported as
 * holding nothing (refused, or, beside another inventory, audited without it).
 */

const cacheDir = tempDir('audit-shipped-wasm-cache');
const work = tempDir('audit-shipped-wasm');
const db = rustsecAdvisoryDb(join(work, 'db'), [{ id: 'RUSTSEC-2099-0301', package: 'smallvec', patched: ['>= 1.6.1'] }]);

function leb128(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** A WebAssembly module with a type section and cargo-auditable's `.dep-v0` custom section: plugin 0.1.0 built from smallvec 1.6.0. */
function depV0(): Buffer {
  return deflateSync(
    JSON.stringify({
      packages: [
        { name: 'plugin', version: '0.1.0', source: 'local', dependencies: [1], root: true },
        { name: 'smallvec', version: '1.6.0', source: 'crates.io' },
      ],
    }),
  );
}

function pluginWasm(): string {
  const depV0Section = depV0();
  const section = (id: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([id]), leb128(body.length), body]);
  const name = Buffer.from('.dep-v0', 'latin1');
  const bytes = Buffer.concat([Buffer.from('\0asm\x01\0\0\0', 'latin1'), section(1, Buffer.from([1, 0x60, 0, 0])), section(0, Buffer.concat([leb128(name.length), name, depV0Section]))]);
  const path = join(work, 'plugin.wasm');
  writeFileSync(path, bytes);
  return path;
}

const WASM = pluginWasm();

/** The same `.dep-v0` as a Mach-O 64-bit executable's `__DATA,__dep_v0` section. */
function pluginMachO(): Buffer {
  const section = depV0();
  const headerSize = 32;
  const cmdsize = 72 + 80;
  const dataAt = headerSize + cmdsize;
  const b = Buffer.alloc(dataAt + section.length);
  b.writeUInt32LE(0xfeedfacf, 0);
  b.writeUInt32LE(2, 12); // MH_EXECUTE
  b.writeUInt32LE(1, 16); // one load command
  b.writeUInt32LE(cmdsize, 20);
  b.writeUInt32LE(0x19, headerSize); // LC_SEGMENT_64
  b.writeUInt32LE(cmdsize, headerSize + 4);
  b.write('__DATA', headerSize + 8, 'latin1');
  b.writeUInt32LE(1, headerSize + 64); // one section
  const sect = headerSize + 72;
  b.write('__dep_v0', sect, 'latin1');
  b.write('__DATA', sect + 16, 'latin1');
  b.writeBigUInt64LE(BigInt(section.length), sect + 40);
  b.writeUInt32LE(dataAt, sect + 48);
  section.copy(b, dataAt);
  return b;
}

/** The same `.dep-v0` as a PE32+ executable's section. */
function pluginPe(): Buffer {
  const section = depV0();
  const peAt = 0x40;
  const optionalSize = 240;
  const table = peAt + 4 + 20 + optionalSize;
  const dataAt = 0x200;
  const raw = Math.ceil(section.length / 0x200) * 0x200;
  const b = Buffer.alloc(dataAt + raw);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(peAt, 0x3c);
  b.write('PE\0\0', peAt, 'latin1');
  b.writeUInt16LE(0x8664, peAt + 4);
  b.writeUInt16LE(1, peAt + 6);
  b.writeUInt16LE(optionalSize, peAt + 20);
  b.writeUInt16LE(0x20b, peAt + 24);
  b.write('.dep-v0', table, 'latin1');
  b.writeUInt32LE(section.length, table + 8);
  b.writeUInt32LE(raw, table + 16);
  b.writeUInt32LE(dataAt, table + 20);
  section.copy(b, dataAt);
  return b;
}

function auditFinds(path: string, inside: string): void {
  const run = runCli(['audit', path, '--db', db, '--format', 'json'], { cacheDir });
  assert.equal(run.status, 1, `${path}: ${run.stdout}${run.stderr}`);
  const report = auditReport(run.stdout);
  assert.deepEqual(report.targets.map((t) => [t.path, t.inventory, t.packages]), [[`${path}:${inside}`, 'dep-v0', 2]]);
  assert.deepEqual(report.findings.map((f) => [f.advisory.id, `${f.package.name}@${f.package.version}`, f.paths]), [['RUSTSEC-2099-0301', 'smallvec@1.6.0', [['plugin@0.1.0', 'smallvec@1.6.0']]]]);
}

test('a .deb shipping a .wasm with a .dep-v0 section: its crates audited', () => {
  const deb = buildDeb({ name: 'wasm-plugin', version: '1.0-1', fields: {}, files: { 'usr/lib/demo/plugin.wasm': WASM }, compression: 'xz' });
  auditFinds(deb, 'usr/lib/demo/plugin.wasm');
});

test('an RPM shipping a .wasm with a .dep-v0 section: its crates audited', () => {
  const rpm = buildRpm({ provides: [], binary: WASM, payload: 'gzip' });
  auditFinds(rpm, 'usr/bin/tool');
});

test('an image and an installed tree holding a .wasm with a .dep-v0 section: its crates audited', async () => {
  const { readFileSync } = await import('node:fs');
  const layer = await packTar([tarFile('srv/www/plugin.wasm', readFileSync(WASM))]);
  const archive = await dockerSaveArchive([layer], 'wasm:1');
  auditFinds(archive, 'srv/www/plugin.wasm');
  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'srv', 'www'), { recursive: true });
  writeFileSync(join(tree, 'srv', 'www', 'plugin.wasm'), readFileSync(WASM));
  auditFinds(tree, 'srv/www/plugin.wasm');
});

test('a Windows (PE) or macOS (Mach-O) executable in an image or a tree: its .dep-v0 crates audited, as an ELF one\'s are', async () => {
  for (const [name, bytes] of [['plugin.exe', pluginPe()], ['plugin', pluginMachO()]] as const) {
    const archive = await dockerSaveArchive([await packTar([tarFile(`opt/app/${name}`, bytes, 0o755)])], 'exe:1');
    auditFinds(archive, `opt/app/${name}`);
    const tree = join(work, `tree-${name}`);
    mkdirSync(join(tree, 'opt', 'app'), { recursive: true });
    writeFileSync(join(tree, 'opt', 'app', name), bytes);
    auditFinds(tree, `opt/app/${name}`);
  }
});
