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
 * module) is read as `stowage audit X.wasm` reads it: cargo-auditable's `.dep-v0` custom section
 * names its crates. Before, only ELF files were kept from a package's payload, so a .deb, an RPM,
 * an image or an installed tree shipping only a .wasm was reported as holding nothing (refused,
 * or, beside another inventory, audited without it).
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
function pluginWasm(): string {
  const depV0 = deflateSync(
    JSON.stringify({
      packages: [
        { name: 'plugin', version: '0.1.0', source: 'local', dependencies: [1], root: true },
        { name: 'smallvec', version: '1.6.0', source: 'crates.io' },
      ],
    }),
  );
  const section = (id: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([id]), leb128(body.length), body]);
  const name = Buffer.from('.dep-v0', 'latin1');
  const bytes = Buffer.concat([Buffer.from('\0asm\x01\0\0\0', 'latin1'), section(1, Buffer.from([1, 0x60, 0, 0])), section(0, Buffer.concat([leb128(name.length), name, depV0]))]);
  const path = join(work, 'plugin.wasm');
  writeFileSync(path, bytes);
  return path;
}

const WASM = pluginWasm();

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
