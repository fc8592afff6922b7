import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createGzip, gzipSync } from 'node:zlib';
import zstd from 'zstd-napi/binding.js';
import { StowageError } from '../../src/core/errors.js';
import { readUntrustedTar, readUntrustedTree, type UntrustedTarOptions } from '../../src/core/untrusted-tar.js';
import { packTar, type TarEntry } from '../support/hostile-tar.js';
import { PROJECT_ROOT, tempDir } from '../support/shared.js';

const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'tar');
const LIMITS = { maxBytes: 64 * 1024 * 1024, maxEntries: 10_000 };
/** How npm reads a package's tarball (pacote: node-tar with `strip: 1`). */
const NPM = { compression: 'gz', ...LIMITS, stripComponents: 1, duplicates: 'as-extracted' } as const;

type Entry = TarEntry;

/** A ustar header block written by hand, for what tar-stream will not write. */
function ustarHeader(name: string, size: number, typeflag: string): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0);
  block.write('0000644\0', 100);
  block.write('0000000\0', 108);
  block.write('0000000\0', 116);
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  block.write('00000000000\0', 136);
  block.fill(0x20, 148, 156);
  block.write(typeflag, 156);
  block.write('ustar\u000000', 257, 'latin1');
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

async function refusal(bytes: Buffer, options: Partial<UntrustedTarOptions> & { label: string }): Promise<StowageError> {
  try {
    await readUntrustedTar(bytes, { compression: 'gz', ...LIMITS, duplicates: 'as-extracted', ...options });
  } catch (err) {
    assert.ok(err instanceof StowageError, `expected a StowageError, got ${String(err)}`);
    assert.ok(err.line.startsWith(`${options.label}: `), `the message names the archive: ${err.line}`);
    assert.ok(!err.line.includes('\n'), 'one line');
    return err;
  }
  assert.fail(`${options.label}: the archive was accepted`);
}

test('a real npm tarball (is-number 7.0.0 as the registry serves it) reads with package/ stripped', async () => {
  const bytes = readFileSync(join(FIXTURES, 'is-number-7.0.0.tgz'));
  // The registry's integrity for this version: the fixture is the published artifact.
  assert.equal(
    createHash('sha512').update(bytes).digest('base64'),
    '41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==',
  );
  const files = await readUntrustedTar(bytes, { label: 'is-number 7.0.0', ...NPM });
  assert.deepEqual(files.map((f) => f.path).sort(), ['LICENSE', 'README.md', 'index.js', 'package.json']);
  const manifest = JSON.parse(files.find((f) => f.path === 'package.json')!.data.toString('utf8')) as { name: string; version: string };
  assert.deepEqual([manifest.name, manifest.version], ['is-number', '7.0.0']);
  assert.ok(files.every((f) => f.mode === 0o644));
});

test('a real npm tarball holding one file twice (agent-base 7.1.4: package/./dist/index.js beside package/dist/index.js) reads as npm installs it', async () => {
  const bytes = readFileSync(join(FIXTURES, 'agent-base-7.1.4.tgz'));
  assert.equal(
    createHash('sha512').update(bytes).digest('base64'),
    'MnA+YT8fwfJPgBx3m60MNqakm30XOkyIoH1y6huTQvC0PwZG7ki8NacLBcrPbNoo8vEZy7Jpuk7+jMO+CUovTQ==',
  );
  const files = await readUntrustedTar(bytes, { label: 'agent-base 7.1.4', ...NPM });
  // What `npm install agent-base@7.1.4` puts in node_modules/agent-base: 11 files, each once.
  assert.deepEqual(files.map((f) => f.path).sort(), [
    'LICENSE',
    'README.md',
    'dist/helpers.d.ts',
    'dist/helpers.d.ts.map',
    'dist/helpers.js',
    'dist/helpers.js.map',
    'dist/index.d.ts',
    'dist/index.d.ts.map',
    'dist/index.js',
    'dist/index.js.map',
    'package.json',
  ]);
  assert.equal(files.find((f) => f.path === 'dist/index.js')?.data.length, 7324);
});

/** The files read, as `path: contents`, in the order given. */
function contents(files: readonly { path: string; data: Buffer }[]): string[] {
  return files.map((f) => `${f.path}: ${f.data.toString()}`);
}

// Each case checked against npm 11.19 (`npm install ./case.tgz`, node-tar 7.5): what lands in
// node_modules/<name>/ is what must be read.
const AS_NPM_INSTALLS: Array<{ what: string; entries: Entry[]; files: string[] }> = [
  {
    what: 'package/./x then package/x: the last entry wins',
    entries: [{ header: { name: 'package/./x' }, data: 'A' }, { header: { name: 'package/x' }, data: 'B' }],
    files: ['x: B'],
  },
  {
    what: 'package/x then package/./x: the last entry wins',
    entries: [{ header: { name: 'package/x' }, data: 'A' }, { header: { name: 'package/./x' }, data: 'B' }, { header: { name: 'package/y' }, data: 'Y' }],
    files: ['x: B', 'y: Y'],
  },
  {
    what: 'package.json twice: the licence npm installs is the last one',
    entries: [
      { header: { name: 'package/package.json' }, data: '{"license":"MIT"}' },
      { header: { name: 'package/index.js' }, data: '' },
      { header: { name: 'package/./package.json' }, data: '{"license":"GPL-3.0-only"}' },
    ],
    files: ['package.json: {"license":"GPL-3.0-only"}', 'index.js: '],
  },
  {
    what: 'empty segments: package//x and package/y//z',
    entries: [{ header: { name: 'package//x' }, data: 'X' }, { header: { name: 'package/y//z' }, data: 'Z' }],
    files: ['x: X', 'y/z: Z'],
  },
  {
    what: './package/x: stripped as written, so it lands in package/',
    entries: [
      { header: { name: 'package/package.json' }, data: '{"license":"MIT"}' },
      { header: { name: './package/package.json' }, data: '{"license":"ISC"}' },
    ],
    files: ['package.json: {"license":"MIT"}', 'package/package.json: {"license":"ISC"}'],
  },
  {
    what: './package.json with no top directory: stripping leaves package.json',
    entries: [{ header: { name: './package.json' }, data: '{}' }, { header: { name: 'package' }, data: 'dropped: nothing is left of its path' }],
    files: ['package.json: {}'],
  },
  {
    what: 'top directories of any name (a GitHub archive), each stripped',
    entries: [{ header: { name: 'foo/package.json' }, data: '{}' }, { header: { name: 'bar/x' }, data: 'X' }],
    files: ['package.json: {}', 'x: X'],
  },
  {
    what: 'case-only variants with the same bytes: both kept, as on Linux',
    entries: [{ header: { name: 'package/LICENSE' }, data: 'MIT' }, { header: { name: 'package/license' }, data: 'MIT' }],
    files: ['LICENSE: MIT', 'license: MIT'],
  },
  {
    what: 'directory entries spelled with . and //',
    entries: [{ header: { name: 'package/.', type: 'directory' } }, { header: { name: 'package/./a//', type: 'directory' } }, { header: { name: 'package/a/x' }, data: 'X' }],
    files: ['a/x: X'],
  },
];

for (const { what, entries, files } of AS_NPM_INSTALLS) {
  test(`an npm tarball with ${what}`, async () => {
    const read = await readUntrustedTar(gzipSync(await packTar(entries)), { label: 'dup 1.0.0', ...NPM });
    assert.deepEqual(contents(read), files);
  });
}

test('an archive stowage wrote holds no path twice: a repeated one is refused, naming both entries', async () => {
  const tar = await packTar([{ header: { name: 'vendor/a' }, data: '1' }, { header: { name: 'vendor/./a' }, data: '2' }]);
  const err = await refusal(gzipSync(tar), { label: 'vendor.tar.gz', duplicates: 'refuse' });
  assert.equal(err.line, 'vendor.tar.gz: entry "vendor/./a": the archive holds "vendor/a" twice (also as entry "vendor/a")');
});

test('a crate-shaped archive stays in its top directory as cargo reads the path', async () => {
  const crate = { label: 'dup 1.0.0', compression: 'gz', ...LIMITS, topDirectory: 'dup-1.0.0', stripComponents: 1, duplicates: 'as-extracted' } as const;
  // Checked against cargo 1.95 (`cargo fetch` from a local registry): it unpacks these, the last entry for a path winning.
  const ok = await packTar([
    { header: { name: 'dup-1.0.0/', type: 'directory' } },
    { header: { name: 'dup-1.0.0/Cargo.toml' }, data: '[package]' },
    { header: { name: 'dup-1.0.0/src/lib.rs' }, data: '// A' },
    { header: { name: 'dup-1.0.0/./src//lib.rs' }, data: '// B' },
    { header: { name: 'dup-1.0.0/run.sh', mode: 0o644 }, data: 'A' },
    { header: { name: 'dup-1.0.0/./run.sh', mode: 0o755 }, data: 'B' },
  ]);
  const read = await readUntrustedTar(gzipSync(ok), crate);
  assert.deepEqual(contents(read), ['Cargo.toml: [package]', 'src/lib.rs: // B', 'run.sh: B']);
  assert.equal(read.find((f) => f.path === 'run.sh')?.mode, 0o755, "the last entry's mode, as cargo leaves it");
  // ...and refuses these: "invalid tarball downloaded, contains a file at "./dup-1.0.0/Cargo.toml" which isn't under "dup-1.0.0"".
  const outside: Array<[string, RegExp]> = [
    ['./dup-1.0.0/Cargo.toml', /entry "\.\/dup-1\.0\.0\/Cargo\.toml": not under "dup-1\.0\.0\/", the archive's own directory \(a leading "\.\/" is outside it, as cargo reads the path\)/],
    ['itoa-1.0.1/src/lib.rs', /entry "itoa-1\.0\.1\/src\/lib\.rs": not under "dup-1\.0\.0\/", the archive's own directory; refusing to unpack it$/],
    ['dup-1.0.0', /entry "dup-1\.0\.0": a file where the directory "dup-1\.0\.0\/" must be/],
  ];
  for (const [name, reason] of outside) {
    const tar = await packTar([{ header: { name: 'dup-1.0.0/Cargo.toml' }, data: '[package]' }, { header: { name }, data: 'x' }]);
    assert.match((await refusal(gzipSync(tar), crate)).line, reason);
  }
});

for (const format of ['gnu', 'pax'] as const) {
  test(`a crate-shaped archive written by GNU tar --format=${format}: long names, modes normalised`, async () => {
    const dir = tempDir('untrusted-tar-gnu');
    const longDir = `demo-1.0.0/${'deep-directory-name/'.repeat(8)}`;
    const longFile = `${longDir}${'a-very-long-file-name-'.repeat(6)}.rs`;
    const contents: Record<string, { data: string; mode: number }> = {
      'demo-1.0.0/Cargo.toml': { data: '[package]\nname = "demo"\n', mode: 0o600 },
      'demo-1.0.0/build.sh': { data: '#!/bin/sh\n', mode: 0o700 },
      'demo-1.0.0/src/lib.rs': { data: 'pub fn f() {}\n', mode: 0o664 },
      [longFile]: { data: '// long\n', mode: 0o644 },
    };
    for (const [path, { data, mode }] of Object.entries(contents)) {
      mkdirSync(join(dir, 'tree', dirname(path)), { recursive: true });
      writeFileSync(join(dir, 'tree', path), data);
      chmodSync(join(dir, 'tree', path), mode);
    }
    execFileSync('tar', [`--format=${format}`, '-czf', join(dir, 'demo.crate'), '-C', join(dir, 'tree'), 'demo-1.0.0']);
    const files = await readUntrustedTar(readFileSync(join(dir, 'demo.crate')), { label: 'demo 1.0.0', ...NPM });
    const got = Object.fromEntries(files.map((f) => [f.path, { data: f.data.toString(), mode: f.mode }]));
    assert.deepEqual(got, {
      'Cargo.toml': { data: '[package]\nname = "demo"\n', mode: 0o644 },
      'build.sh': { data: '#!/bin/sh\n', mode: 0o755 },
      'src/lib.rs': { data: 'pub fn f() {}\n', mode: 0o644 },
      [longFile.slice('demo-1.0.0/'.length)]: { data: '// long\n', mode: 0o644 },
    });
  });
}

test('the same archive reads alike uncompressed, gzip and zstd', async () => {
  const tar = await packTar([
    { header: { name: 'package/', type: 'directory' } },
    { header: { name: 'package/a.js' }, data: 'a' },
    { header: { name: 'package//b/./c.js', mode: 0o755 }, data: 'c' },
  ]);
  const expected = [
    { path: 'a.js', mode: 0o644, data: Buffer.from('a') },
    { path: 'b/c.js', mode: 0o755, data: Buffer.from('c') },
  ];
  const options = { label: 'p', ...LIMITS, stripComponents: 1, duplicates: 'refuse' } as const;
  assert.deepEqual(await readUntrustedTar(tar, { ...options, compression: 'none' }), expected);
  assert.deepEqual(await readUntrustedTar(gzipSync(tar), { ...options, compression: 'gz' }), expected);
  assert.deepEqual(await readUntrustedTar(zstdOf(tar), { ...options, compression: 'zst' }), expected);
});

function zstdOf(bytes: Buffer): Buffer {
  const out = Buffer.alloc(zstd.compressBound(bytes.length));
  return out.subarray(0, zstd.compress(out, bytes, 3));
}

const HOSTILE: Array<{ what: string; entries: Entry[]; strip?: number; entry: string; reason: RegExp }> = [
  { what: 'a parent-directory escape', entries: [{ header: { name: '../evil' }, data: 'x' }], entry: '../evil', reason: /`\.\.`/ },
  { what: 'an absolute path', entries: [{ header: { name: '/etc/passwd' }, data: 'root::0:0::/:/bin/sh\n' }], entry: '/etc/passwd', reason: /absolute/ },
  { what: 'an escape through a subdirectory', entries: [{ header: { name: 'a/../../b' }, data: 'x' }], entry: 'a/../../b', reason: /`\.\.`/ },
  { what: 'a `..` that stays inside', entries: [{ header: { name: 'package/a/../b' }, data: 'x' }], strip: 1, entry: 'package/a/../b', reason: /`\.\.`/ },
  { what: 'a symlink to /etc', entries: [{ header: { name: 'package/etc', type: 'symlink', linkname: '/etc' } }], entry: 'package/etc', reason: /symbolic link to "\/etc".*refused rather than resolved/ },
  { what: 'a hardlink to ../x', entries: [{ header: { name: 'package/x', type: 'link', linkname: '../x' } }], entry: 'package/x', reason: /hard link to "\.\.\/x"/ },
  { what: 'a character device', entries: [{ header: { name: 'package/null', type: 'character-device', devmajor: 1, devminor: 3 } }], entry: 'package/null', reason: /character device/ },
  { what: 'a block device', entries: [{ header: { name: 'package/sda', type: 'block-device', devmajor: 8, devminor: 0 } }], entry: 'package/sda', reason: /block device/ },
  { what: 'a FIFO', entries: [{ header: { name: 'package/pipe', type: 'fifo' } }], entry: 'package/pipe', reason: /FIFO/ },
  { what: 'a Windows drive path', entries: [{ header: { name: 'C:/Windows/evil.dll' }, data: 'x' }], entry: 'C:/Windows/evil.dll', reason: /Windows drive/ },
  { what: 'a Windows drive after stripping', entries: [{ header: { name: 'package/C:/evil' }, data: 'x' }], strip: 1, entry: 'package/C:/evil', reason: /Windows drive\) after stripping 1/ },
  { what: 'a backslash escape', entries: [{ header: { name: 'package\\..\\..\\evil' }, data: 'x' }], entry: 'package\\..\\..\\evil', reason: /backslash/ },
  {
    what: 'a file, then a file under it',
    entries: [{ header: { name: 'package/a' }, data: '1' }, { header: { name: 'package/a/b' }, data: '2' }],
    strip: 1,
    entry: 'package/a/b',
    reason: /"a" is a file \(entry "package\/a"\) and a directory/,
  },
  {
    what: 'a file under a path, then a file at it',
    entries: [{ header: { name: 'package/a/b' }, data: '2' }, { header: { name: 'package/./a' }, data: '1' }],
    strip: 1,
    entry: 'package/./a',
    reason: /"a" is a directory \(entry "package\/a\/b"\) and a file/,
  },
  {
    what: 'a directory entry, then a file of the same name',
    entries: [{ header: { name: 'package/lib/', type: 'directory' } }, { header: { name: 'package//lib' }, data: '1' }],
    strip: 1,
    entry: 'package//lib',
    reason: /"lib" is a directory \(entry "package\/lib\/"\) and a file/,
  },
  {
    what: 'a file, then a directory entry of the same name',
    entries: [{ header: { name: 'package/lib' }, data: '1' }, { header: { name: 'package/lib/', type: 'directory' } }],
    strip: 1,
    entry: 'package/lib/',
    reason: /"lib" is a file \(entry "package\/lib"\) and a directory/,
  },
  {
    what: 'case-only variants with different bytes',
    entries: [{ header: { name: 'package/package.json' }, data: '{"license":"MIT"}' }, { header: { name: 'package/PACKAGE.json' }, data: '{"license":"GPL-3.0"}' }],
    strip: 1,
    entry: 'package/PACKAGE.json',
    reason: /"package\.json" and "PACKAGE\.json" differ only in letter case .* a case-insensitive filesystem \(macOS, Windows\) would install one over the other/,
  },
  {
    what: 'Unicode-normalisation variants with different bytes',
    entries: [{ header: { name: 'package/caf\u00e9.js' }, data: '1' }, { header: { name: 'package/cafe\u0301.js' }, data: '2' }],
    strip: 1,
    entry: 'package/cafe\u0301.js',
    reason: /Unicode normalisation and hold different bytes/,
  },
  {
    what: 'a `..` in the segment that stripping removes',
    entries: [{ header: { name: '../package.json' }, data: '{}' }],
    strip: 1,
    entry: '../package.json',
    reason: /`\.\.`/,
  },
  {
    what: 'a file entry named like a directory',
    entries: [{ header: { name: 'package/x/' }, data: '1' }],
    strip: 1,
    entry: 'package/x/',
    reason: /a file entry whose name ends in "\/"/,
  },
  {
    what: 'a pax path that escapes',
    entries: [{ header: { name: 'package/harmless', pax: { path: 'package/../../evil' } }, data: 'x' }],
    entry: 'package/../../evil',
    reason: /`\.\.`/,
  },
];

for (const { what, entries, strip, entry, reason } of HOSTILE) {
  test(`refuses ${what}, naming the archive and the entry`, async () => {
    const err = await refusal(gzipSync(await packTar(entries)), { label: 'evil 6.6.6', stripComponents: strip ?? 0 });
    assert.ok(err.line.includes(JSON.stringify(entry)), `names the entry ${entry}: ${err.line}`);
    assert.match(err.line, reason);
  });
}

test('refuses an entry type it does not know (GNU sparse file)', async () => {
  const tar = Buffer.concat([ustarHeader('package/sparse', 0, 'S'), Buffer.alloc(1024)]);
  const err = await refusal(tar, { label: 'sparse', compression: 'none' });
  assert.match(err.line, /"package\/sparse": unsupported entry type/);
});

/** A 1 GiB file of zeros, gzipped as it is written (4.7 MB at level 1): never in memory whole. */
async function gzipBomb(): Promise<Buffer> {
  const gz = createGzip({ level: 1 });
  const out: Buffer[] = [];
  gz.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => gz.on('end', resolve));
  gz.write(ustarHeader('package/zeros', 1 << 30, '0'));
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < 1024; i++) if (!gz.write(zeros)) await new Promise((resolve) => gz.once('drain', resolve));
  gz.end(Buffer.alloc(1024));
  await ended;
  return Buffer.concat(out);
}

/** The same with zstd, whose ratio on zeros is far higher. */
function zstdBomb(): Buffer {
  const cctx = new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.compressionLevel, 3);
  const out: Buffer[] = [];
  const feed = (input: Buffer, end: zstd.EndDirective): void => {
    for (;;) {
      const dst = Buffer.alloc(1 << 16);
      const [remaining, produced, consumed] = cctx.compressStream2(dst, input, end);
      out.push(dst.subarray(0, produced));
      input = input.subarray(consumed);
      if (input.length === 0 && (end === zstd.EndDirective.continue || remaining === 0)) return;
    }
  };
  feed(ustarHeader('package/zeros', 1 << 30, '0'), zstd.EndDirective.continue);
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < 1024; i++) feed(zeros, zstd.EndDirective.continue);
  feed(Buffer.alloc(1024), zstd.EndDirective.end);
  return Buffer.concat(out);
}

for (const [compression, make] of [['gz', gzipBomb], ['zst', zstdBomb]] as const) {
  test(`a ${compression} bomb (1 GiB of zeros) stops at the cap without buffering it`, async () => {
    const bomb = await make();
    assert.ok(bomb.length < 8 * 1024 * 1024, `the bomb is small: ${bomb.length}`);
    const before = process.memoryUsage().rss;
    const err = await refusal(bomb, { label: 'bomb 1.0.0', compression, maxBytes: 16 * 1024 * 1024, stripComponents: 1 });
    const grewMb = (process.memoryUsage().rss - before) / 1e6;
    assert.match(err.line, /entry "package\/zeros": the archive expands past 16777216 bytes/);
    assert.ok(grewMb < 200, `memory grew by ${grewMb.toFixed(0)} MB, far below the 1 GiB the entry claims`);
  });
}

test('a flood of zero blocks with no entry in it stops at the cap on the inflated stream', async () => {
  const gz = createGzip({ level: 1 });
  const out: Buffer[] = [];
  gz.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => gz.on('end', resolve));
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < 256; i++) if (!gz.write(zeros)) await new Promise((resolve) => gz.once('drain', resolve));
  gz.end();
  await ended;
  const err = await refusal(Buffer.concat(out), { label: 'zeros', maxBytes: 1 << 20, maxEntries: 100 });
  // Stopped at the 1 MiB cap of the 256 MiB stream: the reason counts the bytes it read.
  assert.match(err.line, /^zeros: the archive expands past \d+ bytes of tar data before the first entry/);
  const counted = Number(/past (\d+) bytes/.exec(err.line)?.[1]);
  assert.ok(counted < 4 * (1 << 20), `stopped after ${counted} bytes, near the cap, far from the stream's 256 MiB`);
});

test('100k tiny entries stop at the entry cap', async () => {
  const headers: Buffer[] = [];
  for (let i = 0; i < 100_000; i++) headers.push(ustarHeader(`package/f${i}`, 0, '0'));
  headers.push(Buffer.alloc(1024));
  const bytes = gzipSync(Buffer.concat(headers), { level: 1 });
  const err = await refusal(bytes, { label: 'many 1.0.0', maxEntries: 10_000, stripComponents: 1 });
  // Stopped at the entry after the cap, not after reading all 100,000.
  assert.match(err.line, /entry "package\/f10000": more than 10000 entries/);
});

test('a truncated or corrupt archive is refused, never read as a shorter one', async () => {
  const tar = await packTar([
    { header: { name: 'package/a' }, data: 'a'.repeat(600) },
    { header: { name: 'package/b' }, data: 'b' },
  ]);
  const gz = gzipSync(tar);
  assert.match((await refusal(gz.subarray(0, gz.length - 12), { label: 'cut' })).line, /^cut: truncated or corrupt gzip data/);
  // Cut inside an entry, and cut exactly after one (the end-of-archive blocks are missing).
  assert.match((await refusal(tar.subarray(0, 1024), { label: 'cut', compression: 'none' })).line, /truncated archive after entry "package\/a"/);
  const afterA = 512 + 1024;
  assert.match((await refusal(tar.subarray(0, afterA), { label: 'cut', compression: 'none' })).line, /truncated archive: no end-of-archive block after entry "package\/a"/);
  const zst = zstdOf(tar);
  assert.match((await refusal(zst.subarray(0, zst.length - 5), { label: 'cut', compression: 'zst' })).line, /^cut: truncated or corrupt zstd data/);
  // An empty input is not an empty archive.
  assert.match((await refusal(Buffer.alloc(0), { label: 'empty', compression: 'none' })).line, /no end-of-archive block/);
  for (const compression of ['gz', 'zst', 'none'] as const) {
    const err = await refusal(randomBytes(4096), { label: 'noise', compression });
    assert.match(err.line, /^noise: (truncated or corrupt (gzip|zstd) data|damaged archive) before the first entry/);
  }
});

test('a file system image ends at its first zero block, as dpkg and container runtimes read it: an entry after it is refused', async () => {
  // Two archives one after the other: dpkg installs the first usr/bin/app and never sees the second.
  const first = await packTar([{ header: { name: 'usr/bin/app', mode: 0o755 }, data: 'installed' }]);
  const second = await packTar([{ header: { name: 'usr/bin/app', mode: 0o755 }, data: 'never installed' }]);
  const tree = { label: 'data.tar', compression: 'none', ...LIMITS, duplicates: 'replace', keep: () => true, maxKeptFileBytes: 1 << 20 } as const;
  await assert.rejects(readUntrustedTree(Buffer.concat([first, second]), tree), (err: unknown) => {
    assert.ok(err instanceof StowageError);
    assert.equal(err.line, `data.tar: entry "usr/bin/app": after the end-of-archive block at byte ${512 + 512}: tar, cargo, dpkg and container runtimes stop reading there, so it is never unpacked`);
    return true;
  });
  // Zeros after the end (GNU tar pads to 10 KiB records) are the end, not entries.
  const padded = await readUntrustedTree(Buffer.concat([first, Buffer.alloc(10_240)]), tree);
  assert.deepEqual(padded.files.map((f) => [f.path, f.data.toString()]), [['usr/bin/app', 'installed']]);
});

test('a package or vendor archive ends at its first zero block too: an archive appended to a .crate or an npm tarball is refused, not read over the first', async () => {
  // cargo (tar-rs) stops at the first zero block and npm (node-tar) at the end-of-archive
  // blocks, so the appended Cargo.toml or package.json (another licence, say) is never unpacked.
  const crate = await packTar([{ header: { name: 'hex-0.4.3/Cargo.toml' }, data: 'license = "MIT"' }]);
  const appended = await packTar([{ header: { name: 'hex-0.4.3/Cargo.toml' }, data: 'license = "0BSD"' }]);
  const err = await refusal(gzipSync(Buffer.concat([crate, appended])), { label: 'hex 0.4.3 (.crate)', topDirectory: 'hex-0.4.3', stripComponents: 1 });
  assert.equal(err.line, `hex 0.4.3 (.crate): entry "hex-0.4.3/Cargo.toml": after the end-of-archive block at byte ${512 + 512}: tar, cargo, dpkg and container runtimes stop reading there, so it is never unpacked`);
  const npm = await packTar([{ header: { name: 'package/package.json' }, data: '{}' }]);
  assert.match((await refusal(gzipSync(Buffer.concat([npm, npm])), { label: 'x 1.0.0', ...NPM })).line, /^x 1\.0\.0: entry "package\/package\.json": after the end-of-archive block/);
  // A stowage archive (vendor verify, package rpm) likewise.
  const vendor = { label: 'vendor.tar.gz', compression: 'gz', ...LIMITS, duplicates: 'refuse' } as const;
  assert.match((await refusal(gzipSync(Buffer.concat([npm, appended])), vendor)).line, /^vendor\.tar\.gz: entry "hex-0\.4\.3\/Cargo\.toml": after the end-of-archive block/);
  // The zeros a tar writer pads with are still the end, not entries.
  assert.deepEqual((await readUntrustedTar(gzipSync(Buffer.concat([crate, Buffer.alloc(10_240)])), vendor)).map((f) => f.path), ['hex-0.4.3/Cargo.toml']);
});

/** A pax record, `LEN key=value\n`, its length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (`${length}${body}`.length !== length) length++;
  return `${length}${body}`;
}

/** A block-padded entry written by hand: header, then data. */
function handEntry(name: string, typeflag: string, data: string): Buffer {
  const bytes = Buffer.from(data, 'utf8');
  return Buffer.concat([ustarHeader(name, bytes.length, typeflag), bytes, Buffer.alloc((512 - (bytes.length % 512)) % 512)]);
}

test('a global pax header that sets a size, path or link target is refused: node-tar applies its size to every later entry, tar-rs and Go nothing of it', async () => {
  const manifest = handEntry('package/package.json', '0', '{"name":"x","version":"1.0.0"}');
  for (const [key, value] of [['size', '0'], ['path', 'package/other.json'], ['linkpath', 'x']] as const) {
    const tar = Buffer.concat([handEntry('pax_global_header', 'g', paxRecord(key, value)), manifest, Buffer.alloc(1024)]);
    const err = await refusal(gzipSync(tar), { label: 'x 1.0.0', ...NPM });
    assert.equal(
      err.line,
      `x 1.0.0: global pax header at byte 0 sets ${key}: tar readers disagree on what it applies to (npm's applies a size to every later entry, cargo's and Go's ignore it), so what is unpacked cannot be told; refused`,
    );
  }
  // The comment `git archive` writes (the commit) changes nothing: read.
  const commented = Buffer.concat([handEntry('pax_global_header', 'g', paxRecord('comment', 'f'.repeat(40))), manifest, Buffer.alloc(1024)]);
  assert.deepEqual((await readUntrustedTar(gzipSync(commented), { label: 'x 1.0.0', ...NPM })).map((f) => f.path), ['package.json']);
});

test('an entry named both by a GNU long name and a pax path is refused: tar-rs (cargo) takes the one, Go and npm the other', async () => {
  const body = 'pub fn f() {}\n';
  const tar = Buffer.concat([
    handEntry('././@LongLink', 'L', 'zz-0.1.0/src/lib.rs\0'),
    handEntry('PaxHeader', 'x', paxRecord('path', 'zz-0.1.0/Cargo.toml')),
    handEntry('zz-0.1.0/x', '0', body),
    Buffer.alloc(1024),
  ]);
  const err = await refusal(gzipSync(tar), { label: 'zz 0.1.0 (.crate)', topDirectory: 'zz-0.1.0', stripComponents: 1 });
  assert.match(err.line, /^zz 0\.1\.0 \(\.crate\): entry "zz-0\.1\.0\/Cargo\.toml": its path is given both by a GNU long-name entry and a pax header: tar-rs \(cargo\) takes the first/);
  // Either alone is read as written.
  const gnu = Buffer.concat([handEntry('././@LongLink', 'L', 'zz-0.1.0/src/lib.rs\0'), handEntry('zz-0.1.0/x', '0', body), Buffer.alloc(1024)]);
  const pax = Buffer.concat([handEntry('PaxHeader', 'x', paxRecord('path', 'zz-0.1.0/src/lib.rs')), handEntry('zz-0.1.0/x', '0', body), Buffer.alloc(1024)]);
  for (const bytes of [gnu, pax]) {
    assert.deepEqual((await readUntrustedTar(gzipSync(bytes), { label: 'zz', compression: 'gz', ...LIMITS, duplicates: 'as-extracted', stripComponents: 1 })).map((f) => f.path), ['src/lib.rs']);
  }
});

test('a ustar-magic header without version "00" and with a name prefix is refused: cargo and npm leave the prefix out, tar-stream puts it in', async () => {
  /** `name` with `prefix` in the ustar prefix field, and `version` after the magic; checksum recomputed. */
  const prefixed = (prefix: string, name: string, version: string, data: string): Buffer => {
    const entry = handEntry(name, '0', data);
    entry.write(version, 263, 'latin1');
    entry.write(prefix, 345, 'latin1');
    entry.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of entry.subarray(0, 512)) sum += b;
    entry.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    return entry;
  };
  const crate = (version: string): Buffer => gzipSync(Buffer.concat([prefixed('zz-0.1.0', 'src/lib.rs', version, 'pub fn f() {}\n'), Buffer.alloc(1024)]));
  const err = await refusal(crate('\0\0'), { label: 'zz 0.1.0 (.crate)', topDirectory: 'zz-0.1.0', stripComponents: 1 });
  assert.match(err.line, /^zz 0\.1\.0 \(\.crate\): entry "zz-0\.1\.0\/src\/lib\.rs": a header with the ustar magic but not its version "00" and a name prefix/);
  // With its version, the prefix is every reader's.
  const files = await readUntrustedTar(crate('00'), { label: 'zz', compression: 'gz', ...LIMITS, duplicates: 'as-extracted', topDirectory: 'zz-0.1.0', stripComponents: 1 });
  assert.deepEqual(files.map((f) => f.path), ['src/lib.rs']);
});

test('an empty archive reads as no files', async () => {
  assert.deepEqual(await readUntrustedTar(Buffer.alloc(1024), { label: 'e', compression: 'none', ...LIMITS, duplicates: 'refuse' }), []);
});
