import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { StowageError } from '../../src/core/errors.js';
import {
  DEFAULT_SOURCE_DATE_EPOCH,
  compressionForPath,
  readArchive,
  sourceDateEpoch,
  writeArchive,
  type ArchiveCompression,
} from '../../src/core/archive.js';
import { writeFileAtomically } from '../../src/core/atomic-write.js';
import type { ArchiveFile } from '../../src/core/untrusted-tar.js';
import { packTar } from '../support/hostile-tar.js';
import { tempDir } from '../support/shared.js';

const file = (path: string, data: string | Buffer, mode: 0o644 | 0o755 = 0o644): ArchiveFile => ({
  path,
  mode,
  data: Buffer.isBuffer(data) ? data : Buffer.from(data),
});

/** A small vendor tree with what trips archive writers: long paths, UTF-8, empty and binary files. */
const TREE: ArchiveFile[] = [
  file('vendor/serde/Cargo.toml', '[package]\nname = "serde"\n'),
  file('vendor/serde/src/lib.rs', 'pub trait Serialize {}\n'),
  file('vendor/serde-json/src/lib.rs', '// sorts after vendor/serde/ in tar --sort=name order\n'),
  file('vendor/cc/bin/run.sh', '#!/bin/sh\nexec cc "$@"\n', 0o755),
  file('vendor/empty/.cargo-ok', ''),
  file('vendor/blob/data.bin', Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256))),
  file(`vendor/long/${'nested-directory/'.repeat(7)}${'file-name-'.repeat(9)}.rs`, '// ustar prefix split\n'),
  file(`vendor/longer/${'x'.repeat(150)}.rs`, '// needs a pax header\n'),
  file('vendor/unicode/日本語.txt', 'こんにちは\n'),
  file('.stowage/manifest.json', '{}\n'),
];

function shuffled<T>(items: readonly T[]): T[] {
  return items.map((item, i) => ({ item, k: (i * 7919) % 101 })).sort((a, b) => a.k - b.k).map((x) => x.item);
}

const byPath = (files: readonly ArchiveFile[]): ArchiveFile[] => [...files].sort((a, b) => (a.path < b.path ? -1 : 1));

async function archiveFile(dir: string, compression: ArchiveCompression, mtime = DEFAULT_SOURCE_DATE_EPOCH): Promise<string> {
  const path = join(dir, `vendor.tar.${compression}`);
  writeFileSync(path, await writeArchive(TREE, { compression, mtime }));
  return path;
}

function decompress(path: string, compression: ArchiveCompression): Buffer {
  return execFileSync(compression === 'zst' ? 'zstd' : 'gzip', ['-d', '-c', path], { maxBuffer: 64 * 1024 * 1024 });
}

for (const compression of ['zst', 'gz'] as const) {
  test(`${compression}: write then read gives back the same files`, async () => {
    const bytes = await writeArchive(TREE, { compression, mtime: DEFAULT_SOURCE_DATE_EPOCH });
    assert.deepEqual(byPath(await readArchive(bytes, 'vendor.tar')), byPath(TREE));
  });

  test(`${compression}: byte-identical across runs and input orders`, async () => {
    const first = await writeArchive(TREE, { compression, mtime: DEFAULT_SOURCE_DATE_EPOCH });
    const again = await writeArchive(TREE.map((f) => ({ ...f, data: Buffer.from(f.data) })), { compression, mtime: DEFAULT_SOURCE_DATE_EPOCH });
    const reordered = await writeArchive(shuffled(TREE), { compression, mtime: DEFAULT_SOURCE_DATE_EPOCH });
    assert.ok(first.equals(again));
    assert.ok(first.equals(reordered));
    const otherTime = await writeArchive(TREE, { compression, mtime: DEFAULT_SOURCE_DATE_EPOCH + 1 });
    assert.ok(!first.equals(otherTime), 'the mtime is in the bytes');
  });

  test(`${compression}: the system decompressor and GNU tar read it: sorted, owner 0/0, the fixed mtime`, async () => {
    const dir = tempDir('archive-tar');
    const path = await archiveFile(dir, compression, 1700000000);
    const tar = decompress(path, compression);
    const listing = execFileSync('tar', ['--quoting-style=literal', '-tvf', '-'], { input: tar, env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } }).toString();
    const lines = listing.trimEnd().split('\n');
    const names = lines.map((l) => l.split(/\s+/).slice(5).join(' '));
    for (const line of lines) {
      assert.match(line, /^[-d]rw[-x]r-[-x]r-[-x] 0\/0 +\d+ 2023-11-14 22:13 /, line);
    }
    // Every parent directory listed, each before its contents, in tar --sort=name order.
    assert.deepEqual(names.slice(0, 6), ['.stowage/', '.stowage/manifest.json', 'vendor/', 'vendor/blob/', 'vendor/blob/data.bin', 'vendor/cc/']);
    assert.ok(names.indexOf('vendor/serde/src/lib.rs') < names.indexOf('vendor/serde-json/'));
    assert.ok(names.includes('vendor/unicode/日本語.txt'));
    assert.ok(names.includes(TREE[7]!.path), 'the pax path is listed whole');
    assert.match(lines.find((l) => l.endsWith('run.sh'))!, /^-rwxr-xr-x /);
    // Ends with exactly two zero blocks, no record padding.
    assert.equal(tar.length % 512, 0);
    assert.ok(tar.subarray(-1024).every((b) => b === 0));
    assert.ok(!tar.subarray(-1536, -1024).every((b) => b === 0));
  });

  test(`${compression}: GNU tar extracts it with the files' contents, modes and mtime`, async () => {
    const dir = tempDir('archive-extract');
    const path = await archiveFile(dir, compression);
    const out = join(dir, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-xpf', '-', '-C', out], { input: decompress(path, compression) });
    for (const f of TREE) {
      const stat = statSync(join(out, f.path));
      assert.ok(readFileSync(join(out, f.path)).equals(f.data), f.path);
      assert.equal(stat.mode & 0o777, f.mode, f.path);
      assert.equal(stat.mtimeMs, DEFAULT_SOURCE_DATE_EPOCH * 1000, f.path);
    }
    assert.equal(statSync(join(out, 'vendor', 'serde')).mode & 0o777, 0o755);
    assert.equal(statSync(join(out, 'vendor', 'serde')).mtimeMs, DEFAULT_SOURCE_DATE_EPOCH * 1000);
  });
}

test('the tar stream is what GNU tar --format=ustar --sort=name writes for the same tree', async () => {
  // GNU tar's ustar cannot hold the pax-only paths; the rest must match it byte for byte.
  const ustarTree = TREE.filter((f) => !f.path.includes('x'.repeat(150)) && !f.path.includes('日本語'));
  const dir = tempDir('archive-gnu');
  const archive = join(dir, 'ours.tar.zst');
  writeFileSync(archive, await writeArchive(ustarTree, { compression: 'zst', mtime: DEFAULT_SOURCE_DATE_EPOCH }));
  const ours = decompress(archive, 'zst');
  const tree = join(dir, 'tree');
  mkdirSync(tree);
  execFileSync('tar', ['-xpf', '-', '-C', tree], { input: ours });
  const top = readdirSync(tree).sort();
  const gnu = execFileSync('tar', [
    '--format=ustar', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${DEFAULT_SOURCE_DATE_EPOCH}`,
    '--blocking-factor=1', '-cf', '-', '-C', tree, ...top,
  ], { maxBuffer: 64 * 1024 * 1024 });
  assert.ok(ours.equals(gnu), `ours ${ours.length} bytes, GNU tar ${gnu.length} bytes`);
});

test('zst: level, content size and checksum in the frame, one frame, decompressible by zstd -d', async () => {
  const dir = tempDir('archive-zstd');
  const path = await archiveFile(dir, 'zst');
  const info = execFileSync('zstd', ['-lv', path], { encoding: 'utf8' });
  const tarLength = decompress(path, 'zst').length;
  assert.match(info, /# Zstandard Frames: 1\b/);
  assert.match(info, new RegExp(`Decompressed Size: .*\\(${tarLength} B\\)`));
  assert.match(info, /Check: XXH64/);
});

test('gz: the gzip header holds no name and no time, and gzip -d reads it', async () => {
  const dir = tempDir('archive-gzip');
  const path = await archiveFile(dir, 'gz');
  const bytes = readFileSync(path);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x1f, 0x8b, 8, 0], 'deflate, no FNAME/FCOMMENT/FEXTRA/FHCRC');
  assert.equal(bytes.readUInt32LE(4), 0, 'mtime 0');
  assert.equal(bytes[9], 3, 'OS byte fixed to Unix');
  assert.ok(decompress(path, 'gz').length > 0);
});

test('SOURCE_DATE_EPOCH: unset or empty is the default, a non-negative integer is taken, anything else refused', () => {
  assert.equal(DEFAULT_SOURCE_DATE_EPOCH, Date.UTC(1980, 0, 1) / 1000);
  assert.equal(sourceDateEpoch({}), DEFAULT_SOURCE_DATE_EPOCH);
  assert.equal(sourceDateEpoch({ SOURCE_DATE_EPOCH: '' }), DEFAULT_SOURCE_DATE_EPOCH);
  assert.equal(sourceDateEpoch({ SOURCE_DATE_EPOCH: '1700000000' }), 1700000000);
  assert.equal(sourceDateEpoch({ SOURCE_DATE_EPOCH: '0' }), 0);
  for (const bad of ['-1', '1.5', 'abc', ' 12', '1e9', '0x10', '99999999999999']) {
    assert.throws(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: bad }), (err: unknown) => err instanceof StowageError && /SOURCE_DATE_EPOCH/.test(err.message), bad);
  }
});

test('compressionForPath: .tar.zst, .tar.gz and .tgz; anything else names the path', () => {
  assert.equal(compressionForPath('out/vendor.tar.zst'), 'zst');
  assert.equal(compressionForPath('vendor.tar.gz'), 'gz');
  assert.equal(compressionForPath('vendor.tgz'), 'gz');
  for (const bad of ['vendor.zip', 'vendor.tar', 'vendor.zst']) {
    assert.throws(() => compressionForPath(bad), (err: unknown) => err instanceof StowageError && err.line.startsWith(`${bad}: `));
  }
});

test('writeArchive refuses duplicates, a file used as a directory, unsafe paths and odd modes', async () => {
  const cases: Array<[ArchiveFile[], RegExp]> = [
    [[file('a/b', '1'), file('a/b', '2')], /"a\/b": the path is there twice/],
    [[file('a', '1'), file('a/b', '2')], /"a" is a file, not a directory/],
    [[file('../evil', 'x')], /`\.\.`/],
    [[file('/etc/passwd', 'x')], /absolute/],
    [[file('a//b', 'x')], /empty or `\.` segment/],
    [[{ path: 'a', mode: 0o600 as 0o644, data: Buffer.alloc(0) }], /mode 600/],
  ];
  for (const [files, reason] of cases) {
    await assert.rejects(writeArchive(files, { compression: 'zst', mtime: 0 }), (err: unknown) => err instanceof StowageError && reason.test(err.message));
  }
  await assert.rejects(writeArchive([], { compression: 'zst', mtime: -1 }), StowageError);
});

test('readArchive refuses what is not a vendor archive, and a hostile one', async () => {
  await assert.rejects(readArchive(Buffer.from('PK\x03\x04 a zip'), 'v.tar.zst'), (err: unknown) => err instanceof StowageError && /^v\.tar\.zst: not a vendor archive/.test(err.line));
  const good = await writeArchive([file('a/b', 'x')], { compression: 'zst', mtime: 0 });
  await assert.rejects(readArchive(good.subarray(0, good.length - 8), 'cut.tar.zst'), (err: unknown) => err instanceof StowageError && /^cut\.tar\.zst: truncated or corrupt zstd data/.test(err.line));
  // stowage never writes a path twice: an archive that holds one was made by something else.
  // (A package's own tarball, read as its package manager extracts it, may: the last one wins.)
  const twice = gzipSync(await packTar([{ header: { name: 'vendor/a/b' }, data: 'x' }, { header: { name: 'vendor/a/./b' }, data: 'y' }]));
  await assert.rejects(
    readArchive(twice, 'twice.tar.gz'),
    (err: unknown) => err instanceof StowageError && err.line === 'twice.tar.gz: entry "vendor/a/./b": the archive holds "vendor/a/b" twice (also as entry "vendor/a/b")',
  );
});

test('writeFileAtomically replaces the file whole, and leaves nothing behind when it cannot', () => {
  const dir = tempDir('archive-atomic');
  const target = join(dir, 'vendor.tar.zst');
  writeFileAtomically(target, Buffer.from('first'));
  writeFileAtomically(target, Buffer.from('second'));
  assert.equal(readFileSync(target, 'utf8'), 'second');
  assert.deepEqual(readdirSync(dir), ['vendor.tar.zst']);

  const occupied = join(dir, 'occupied');
  mkdirSync(join(occupied, 'inside'), { recursive: true });
  assert.throws(() => writeFileAtomically(occupied, Buffer.from('x')), (err: unknown) => err instanceof StowageError && err.line.startsWith(`${occupied}: refusing to write: a directory`));
  assert.deepEqual(readdirSync(dir).sort(), ['occupied', 'vendor.tar.zst'], 'no temporary file left');
  assert.ok(existsSync(join(occupied, 'inside')));

  assert.throws(() => writeFileAtomically(join(dir, 'missing', 'x.tar.zst'), Buffer.from('x')), StowageError);
});

test('readArchiveFile keeps the one file asked for, the others counted, not kept; readVendorArchive refuses an SBOM past MAX_SBOM_BYTES', async () => {
  const { readArchiveFile, SBOM_PATH } = await import('../../src/core/archive.js');
  const { MAX_SBOM_BYTES, readVendorArchive } = await import('../../src/inputs/vendor-archive.js');
  const archive = await writeArchive([file(SBOM_PATH, '{}'), file('vendor/big/src/lib.rs', Buffer.alloc(1024 * 1024))], { compression: 'gz', mtime: 0 });
  assert.equal((await readArchiveFile(archive, 'a.tar.gz', SBOM_PATH, 2))?.toString(), '{}');
  assert.equal(await readArchiveFile(archive, 'a.tar.gz', 'absent.json', 2), null);
  await assert.rejects(readArchiveFile(archive, 'a.tar.gz', 'vendor/big/src/lib.rs', 1024), /larger than 1024 bytes/);
  // An SBOM of spaces one byte past the cap: refused for its size before any JSON is read.
  const huge = await writeArchive([file(SBOM_PATH, Buffer.alloc(MAX_SBOM_BYTES + 1, 0x20))], { compression: 'gz', mtime: 0 });
  await assert.rejects(readVendorArchive(huge, 'huge.tar.gz', { allowUnidentified: false }), (err: unknown) => err instanceof StowageError && err.message.includes(`larger than ${MAX_SBOM_BYTES} bytes`));
});
