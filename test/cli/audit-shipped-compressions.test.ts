import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { auditReport } from '../support/audit-report.js';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { packTar } from '../support/hostile-tar.js';
import { elfWithDepV0 } from '../support/object-files.js';
import { refusal, runCli, tempDir } from '../support/shared.js';
import { buildRpm, dockerSaveArchive, tarFile, withPayloadCompressor } from '../support/shipped-artifacts.js';

/*
 * The compressions packages and images are shipped in beyond gzip, xz and zstd: lzma (xz's
 * predecessor: rpm's `lzdio` payloads, dpkg's `.lzma` members) is read by the decoder xz is
 * read by; xz image layers (docker load reads them in a `docker save` archive) are read; bzip2
 * (rpm's `bzdio` payloads, a bzip2 layer) is refused in one line that names it.
 */

const cacheDir = tempDir('audit-shipped-compressions-cache');
const work = tempDir('audit-shipped-compressions');
const db = rustsecAdvisoryDb(join(work, 'db'), [{ id: 'RUSTSEC-2099-0601', package: 'smallvec', patched: ['>= 1.6.1'] }]);

/** Built from smallvec 1.6.0, which RUSTSEC-2099-0601 affects. */
const VULNERABLE = elfWithDepV0(
  true,
  true,
  deflateSync(
    JSON.stringify({
      packages: [
        { name: 'tool', version: '0.1.0', source: 'local', dependencies: [1], root: true },
        { name: 'smallvec', version: '1.6.0', source: 'crates.io' },
      ],
    }),
  ),
);
const TOOL = join(work, 'tool');
writeFileSync(TOOL, VULNERABLE, { mode: 0o755 });

function audit(path: string): ReturnType<typeof runCli> {
  return runCli(['audit', path, '--db', db, '--no-fetch', '--format', 'json'], { cacheDir });
}

function findsSmallvec(path: string, inside: string): void {
  const run = audit(path);
  assert.equal(run.status, 1, run.stdout + run.stderr);
  const report = auditReport(run.stdout);
  assert.ok(report.targets.some((t) => t.path === `${path}:${inside}`), JSON.stringify(report.targets));
  assert.deepEqual(report.findings.map((f) => [f.target, f.advisory.id]), [[`${path}:${inside}`, 'RUSTSEC-2099-0601']]);
}


/** An `ar` archive (deb(5)'s container) of these members, as dpkg-deb writes it. */
function arArchive(members: [string, Buffer][]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')];
  for (const [name, data] of members) {
    parts.push(Buffer.from(`${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(data.length).padEnd(10)}\`\n`, 'latin1'), data);
    if (data.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** `data` compressed by the command-line tool (`xz --format=lzma`, `bzip2`), as dpkg-deb and rpmbuild once wrote it. */
function compressed(tool: string[], data: Buffer): Buffer {
  return execFileSync(tool[0] as string, [...tool.slice(1), '-c'], { input: data, maxBuffer: 64 * 1024 * 1024 });
}

/** Where rpm's own reading of a payload puts the tool: `rpm2cpio` decompresses as the PAYLOADCOMPRESSOR tag says, as `rpm -i` does. */
function rpmInstalls(path: string): boolean {
  const cpio = execFileSync('rpm2cpio', [path], { maxBuffer: 64 * 1024 * 1024 });
  return cpio.toString('latin1', 0, 6) === '070701' && cpio.includes(Buffer.from('./usr/bin/tool\0', 'latin1'));
}

test('an RPM whose PAYLOADCOMPRESSOR names rpm\'s I/O type (gzdio, xzdio, lzdio, zstdio; fdio, ufdio or a name rpm has none for: the bytes as they are) is read as rpm reads it; bzdio is refused as bzip2 is', async () => {
  const { gunzipSync } = await import('node:zlib');
  const gzip = readFileSync(buildRpm({ provides: [], binary: TOOL, payload: 'gzip' }));
  const rawPayload = gunzipSync(gzip.subarray(gzip.lastIndexOf(Buffer.from([0x1f, 0x8b, 0x08]))));
  const cases: [string, Buffer][] = [
    ['gzdio', withPayloadCompressor(gzip, 'gzdio')],
    ['xzdio', withPayloadCompressor(readFileSync(buildRpm({ provides: [], binary: TOOL, payload: 'xz' })), 'xzdio')],
    ['lzdio', withPayloadCompressor(readFileSync(buildRpm({ provides: [], binary: TOOL, payload: 'lzma' })), 'lzdio')],
    ['zstdio', withPayloadCompressor(readFileSync(buildRpm({ provides: [], binary: TOOL, payload: 'zstd' })), 'zstdio')],
    ['ufdio', withPayloadCompressor(gzip, 'ufdio', rawPayload)],
    ['fdio', withPayloadCompressor(gzip, 'fdio', rawPayload)],
    ['plain', withPayloadCompressor(gzip, 'plain', rawPayload)],
    // A name of Object.prototype's is no I/O type either (it was read as an entry of stowage's table).
    ['constructor', withPayloadCompressor(gzip, 'constructor', rawPayload)],
  ];
  for (const [name, bytes] of cases) {
    const path = join(work, `${name}.rpm`);
    writeFileSync(path, bytes);
    execFileSync('rpm', ['-K', '--quiet', path]);
    assert.ok(rpmInstalls(path), `${name}: rpm reads the tool`);
    findsSmallvec(path, 'usr/bin/tool');
  }
  const bzdio = join(work, 'bzdio.rpm');
  writeFileSync(bzdio, withPayloadCompressor(readFileSync(buildRpm({ provides: [], binary: TOOL, payload: 'bzip2' })), 'bzdio'));
  assert.ok(rpmInstalls(bzdio));
  assert.match(refusal(audit(bzdio)), /bzdio\.rpm: payload compressor "bzdio" is not one stowage reads \(gzip, xz, lzma, zstd or none\)$/);
});

test('an RPM with an lzma payload (rpmbuild w.lzdio) is read; one with a bzip2 payload is refused naming it', () => {
  const lzma = buildRpm({ provides: [], binary: TOOL, payload: 'lzma' });
  findsSmallvec(lzma, 'usr/bin/tool');
  const bzip2 = buildRpm({ provides: [], binary: TOOL, payload: 'bzip2' });
  assert.match(refusal(audit(bzip2)), /\.rpm: payload compressor "bzip2" is not one stowage reads \(gzip, xz, lzma, zstd or none\)$/);
});

test('a .deb whose data member is data.tar.lzma (dpkg reads it) is read; data.tar.bz2 is refused naming it', async () => {
  const control = await packTar([tarFile('./control', 'Package: old-tool\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: d\n')]);
  const data = await packTar([{ header: { name: './usr/bin/', type: 'directory', mode: 0o755 } }, tarFile('./usr/bin/tool', readFileSync(TOOL), 0o755)]);
  const deb = join(work, 'old-tool_1.0-1_amd64.deb');
  writeFileSync(deb, arArchive([['debian-binary', Buffer.from('2.0\n')], ['control.tar.xz', compressed(['xz'], control)], ['data.tar.lzma', compressed(['xz', '--format=lzma'], data)]]));
  execFileSync('dpkg-deb', ['--contents', deb], { stdio: 'ignore' });
  findsSmallvec(deb, 'usr/bin/tool');
  const bz2 = join(work, 'bz2-tool_1.0-1_amd64.deb');
  writeFileSync(bz2, arArchive([['debian-binary', Buffer.from('2.0\n')], ['control.tar.xz', compressed(['xz'], control)], ['data.tar.bz2', compressed(['bzip2'], data)]]));
  execFileSync('dpkg-deb', ['--contents', bz2], { stdio: 'ignore' });
  assert.match(refusal(audit(bz2)), /bz2-tool_1\.0-1_amd64\.deb: data\.tar\.bz2: bzip2, which dpkg reads but stowage does not \(data\.tar is read as "data\.tar", "data\.tar\.gz", "data\.tar\.xz", "data\.tar\.lzma", "data\.tar\.zst"\)$/);
});

test('a .deb whose data member is named data.tartoString (a member every object inherits, not a compression) is refused naming it, as dpkg refuses it', async () => {
  const control = await packTar([tarFile('./control', 'Package: odd-tool\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: d\n')]);
  const data = await packTar([tarFile('./usr/bin/tool', readFileSync(TOOL), 0o755)]);
  const deb = join(work, 'odd-tool_1.0-1_amd64.deb');
  writeFileSync(deb, arArchive([['debian-binary', Buffer.from('2.0\n')], ['control.tar.xz', compressed(['xz'], control)], ['data.tartoString', data]]));
  assert.throws(() => execFileSync('dpkg-deb', ['--contents', deb], { stdio: 'ignore' }));
  const run = audit(deb);
  assert.equal(run.status, 2, run.stdout + run.stderr);
  assert.match(refusal(run), /odd-tool_1\.0-1_amd64\.deb: data\.tartoString: a compression stowage does not read \(data\.tar is read as "data\.tar", "data\.tar\.gz", "data\.tar\.xz", "data\.tar\.lzma", "data\.tar\.zst"\)$/);
});

test('an image whose layer is xz-compressed (docker load reads it) is read; a bzip2 layer is refused naming it', async () => {
  const layer = await packTar([tarFile('usr/bin/tool', VULNERABLE, 0o755)]);
  const xz = await dockerSaveArchive([compressed(['xz'], layer)], 'xz:1');
  findsSmallvec(xz, 'usr/bin/tool');
  const bzip2 = await dockerSaveArchive([compressed(['bzip2'], layer)], 'bzip2:1');
  assert.match(refusal(audit(bzip2)), /image\.tar:000\/layer\.tar: a bzip2-compressed layer, which stowage does not read \(it reads tar, gzip, zstd and xz layers\)$/);
});
