import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { MalformedObjectError, readObjectFile } from '../../../src/inputs/binary/object-file.js';
import { readRustBinary } from '../../../src/inputs/binary/rust-binary.js';
import { MAX_DEP_V0_JSON_BYTES } from '../../../src/inputs/binary/dep-v0.js';
import { elfWithDepV0, Writer } from '../../support/object-files.js';

/**
 * Minimal executables built here byte by byte from the formats' specifications (the ELF gABI,
 * Microsoft's PE/COFF specification, Apple's mach-o/loader.h and fat.h), each holding a
 * `.dep-v0` section, and broken ones: what a reader must read, and what it must refuse with
 * one line naming the file.
 */

const SECTION_JSON = JSON.stringify({
  packages: [
    { name: 'demo', version: '0.1.0', source: 'local', dependencies: [1, 2], root: true },
    { name: 'smallvec', version: '1.6.0', source: 'crates.io' },
    { name: 'cc', version: '1.0.83', source: 'crates.io', kind: 'build' },
  ],
});
const SECTION = deflateSync(SECTION_JSON);

/** ELF (object-files.ts) holding SECTION unless told otherwise. */
const elf = (is64: boolean, le: boolean, data: Uint8Array = SECTION): Buffer => elfWithDepV0(is64, le, data);

/** PE32+: DOS header pointing at the PE signature, COFF header, optional header magic, two sections. */
function pe(): Buffer {
  const peAt = 0x40;
  const optionalSize = 240;
  const table = peAt + 4 + 20 + optionalSize;
  const dataAt = 0x200;
  const raw = Math.ceil(SECTION.length / 0x200) * 0x200; // padded to the file alignment
  const w = new Writer(dataAt + 0x200 + raw, true);
  w.bytes(0, 'MZ');
  w.u32(0x3c, peAt);
  w.bytes(peAt, 'PE\0\0');
  w.u16(peAt + 4, 0x8664);
  w.u16(peAt + 6, 2);
  w.u16(peAt + 20, optionalSize);
  w.u16(peAt + 24, 0x20b);
  const section = (i: number, name: string, virtualSize: number, rawSize: number, rawAt: number): void => {
    const at = table + i * 40;
    w.bytes(at, name);
    w.u32(at + 8, virtualSize);
    w.u32(at + 16, rawSize);
    w.u32(at + 20, rawAt);
  };
  section(0, '.text', 16, 0x200, dataAt);
  section(1, '.dep-v0', SECTION.length, raw, dataAt + 0x200);
  w.bytes(dataAt + 0x200, SECTION);
  return w.buf;
}

/** Mach-O: header, one LC_SEGMENT(_64) `__DATA` with one section `__dep_v0`, then the data. */
function macho(is64: boolean, le: boolean, data: Uint8Array = SECTION): Buffer {
  const headerSize = is64 ? 32 : 28;
  const segSize = is64 ? 72 : 56;
  const sectSize = is64 ? 80 : 68;
  const cmdsize = segSize + sectSize;
  const dataAt = headerSize + cmdsize;
  const w = new Writer(dataAt + data.length, le);
  w.u32(0, is64 ? 0xfeedfacf : 0xfeedface);
  w.u32(12, 2); // MH_EXECUTE
  w.u32(16, 1);
  w.u32(20, cmdsize);
  const seg = headerSize;
  w.u32(seg, is64 ? 0x19 : 0x1);
  w.u32(seg + 4, cmdsize);
  w.bytes(seg + 8, '__DATA');
  w.u32(seg + (is64 ? 64 : 48), 1);
  const sect = seg + segSize;
  w.bytes(sect, '__dep_v0');
  w.bytes(sect + 16, '__DATA');
  if (is64) {
    w.u64(sect + 40, data.length);
    w.u32(sect + 48, dataAt);
  } else {
    w.u32(sect + 36, data.length);
    w.u32(sect + 40, dataAt);
  }
  w.bytes(dataAt, data);
  return w.buf;
}

/** A universal binary holding two slices (fat_arch entries are big-endian). */
function fat(slices: Buffer[]): Buffer {
  const align = 0x1000;
  let at = align;
  const offsets = slices.map((s) => {
    const o = at;
    at += Math.ceil(s.length / align) * align;
    return o;
  });
  const w = new Writer(at, false);
  w.u32(0, 0xcafebabe);
  w.u32(4, slices.length);
  slices.forEach((s, i) => {
    w.u32(8 + i * 20 + 8, offsets[i] as number);
    w.u32(8 + i * 20 + 12, s.length);
    w.u32(8 + i * 20 + 16, 12);
    w.bytes(offsets[i] as number, s);
  });
  return w.buf;
}

/** What every reader must find in SECTION, whatever the container. */
function assertSectionGraph(bytes: Uint8Array, format: RegExp): void {
  const graph = readRustBinary(bytes, 'app.bin');
  assert.ok(graph, 'read as an executable');
  assert.match(graph.format, format);
  assert.equal(graph.inventory, 'dep-v0');
  assert.equal(graph.partial, undefined);
  assert.deepEqual(graph.roots, ['demo@0.1.0']);
  assert.deepEqual(
    graph.packages.map((p) => `${p.name} ${p.version} ${p.source.kind} ${p.source.isDefaultRegistry}`),
    ['demo 0.1.0 workspace false', 'smallvec 1.6.0 registry true', 'cc 1.0.83 registry true'],
  );
  assert.deepEqual(graph.edges, [
    { from: 'demo@0.1.0', to: 'smallvec@1.6.0', kind: 'normal' },
    { from: 'demo@0.1.0', to: 'cc@1.0.83', kind: 'build' },
  ]);
}

test('ELF: 32- and 64-bit, little- and big-endian, the .dep-v0 section read', () => {
  assertSectionGraph(elf(true, true), /^ELF 64-bit LSB, cargo-auditable format 0$/);
  assertSectionGraph(elf(true, false), /^ELF 64-bit MSB/);
  assertSectionGraph(elf(false, true), /^ELF 32-bit LSB/);
  assertSectionGraph(elf(false, false), /^ELF 32-bit MSB/);
});

test('PE32+: the .dep-v0 section read up to its VirtualSize, not its padded raw size', () => {
  assertSectionGraph(pe(), /^PE32\+, cargo-auditable/);
});

test('Mach-O: 32/64-bit, either byte order, and a universal binary; __DATA,__dep_v0 read', () => {
  assertSectionGraph(macho(true, true), /^Mach-O 64-bit LSB/);
  assertSectionGraph(macho(false, false), /^Mach-O 32-bit MSB/);
  assertSectionGraph(fat([macho(true, true), macho(false, true)]), /^Mach-O universal \(2 slices\)/);
  assert.deepEqual(readObjectFile(macho(true, true), 'm')?.sections.map((s) => s.name), ['__DATA,__dep_v0']);
});

test('a universal binary: every slice\'s section read, so a crate only one architecture links is audited', () => {
  // aarch64 links a crate x86_64 does not (a target-specific dependency), and both link itoa.
  const x86 = deflateSync(JSON.stringify({ packages: [{ name: 'demo', version: '0.1.0', source: 'local', dependencies: [1], root: true }, { name: 'itoa', version: '1.0.1', source: 'crates.io' }] }));
  const arm = deflateSync(
    JSON.stringify({
      packages: [
        { name: 'cpufeatures', version: '0.2.1', source: 'crates.io' },
        { name: 'demo', version: '0.1.0', source: 'local', dependencies: [0, 2], root: true },
        { name: 'itoa', version: '1.0.1', source: 'crates.io' },
      ],
    }),
  );
  const graph = readRustBinary(fat([macho(true, true, x86), macho(true, true, arm)]), 'app.bin');
  assert.ok(graph);
  assert.equal(graph.inventory, 'dep-v0');
  assert.equal(graph.partial, undefined);
  assert.equal(graph.format, 'Mach-O universal (2 slices), cargo-auditable format 0 (2 sections)');
  assert.deepEqual(graph.packages.map((p) => `${p.name} ${p.version}`), ['demo 0.1.0', 'itoa 1.0.1', 'cpufeatures 0.2.1']);
  assert.deepEqual(graph.roots, ['demo@0.1.0']);
  assert.deepEqual(graph.edges, [
    { from: 'demo@0.1.0', to: 'itoa@1.0.1', kind: 'normal' },
    { from: 'demo@0.1.0', to: 'cpufeatures@0.2.1', kind: 'normal' },
  ]);

  // A slice without a section: what it links is unknown, so the whole file is a partial inventory.
  const half = readRustBinary(fat([macho(true, true, x86), macho(true, true, Buffer.alloc(0))]), 'app.bin');
  assert.ok(half);
  assert.equal(half.inventory, 'embedded paths');
  assert.equal(half.partial, true);
  assert.match(half.warnings?.[0] ?? '', /^app\.bin: architecture 1 of this universal binary has no \.dep-v0 section/);
});

test('a universal binary of more than 32 architectures (macOS loads up to 204) is read, not passed over; a Java class file still is not one', () => {
  // A Rust binary whose slices hide among 40 (the kernel and dyld take whatever fits the first page).
  const clean = deflateSync(JSON.stringify({ packages: [{ name: 'demo', version: '0.1.0', source: 'local', root: true }] }));
  const slices = [...Array.from({ length: 39 }, () => macho(true, true, clean)), macho(true, true)];
  const graph = readRustBinary(fat(slices), 'app.bin');
  assert.ok(graph, 'read as an executable');
  assert.equal(graph.format, 'Mach-O universal (40 slices), cargo-auditable format 0 (2 sections)');
  assert.deepEqual(graph.packages.map((p) => `${p.name} ${p.version}`), ['demo 0.1.0', 'smallvec 1.6.0', 'cc 1.0.83']);
  // A class file of Java 8 (version 52 where the slice count is), its constant pool where the table would be.
  const javaClass = Buffer.concat([Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52, 0, 0x1d, 0x0a, 0, 6, 0, 0x0f]), Buffer.alloc(2000, 0x41)]);
  assert.equal(readRustBinary(javaClass, 'Main.class'), null);
});

test('the root crate installed from crates.io (`cargo auditable install`) is crates.io\'s crate, matched like the others', () => {
  const section = deflateSync(JSON.stringify({ packages: [{ name: 'ripgrep', version: '14.1.0', source: 'crates.io', dependencies: [1], root: true }, { name: 'memchr', version: '2.7.4', source: 'crates.io' }] }));
  const graph = readRustBinary(elf(true, true, section), 'rg');
  assert.ok(graph);
  assert.deepEqual(graph.roots, ['ripgrep@14.1.0']);
  assert.deepEqual(graph.packages.map((p) => `${p.name} ${p.source.kind} ${p.source.isDefaultRegistry}`), ['ripgrep registry true', 'memchr registry true']);
});

test('bytes after the zlib stream (a second stream no reader inflates) are refused; zero padding is not', () => {
  const second = deflateSync(JSON.stringify({ packages: [{ name: 'hidden', version: '1.0.0', source: 'crates.io' }] }));
  assert.throws(() => readRustBinary(elf(true, true, Buffer.concat([SECTION, second])), 'app.bin'), (err: Error & { line?: string }) => {
    assert.equal(err.line, `app.bin: .dep-v0 section holds ${second.length} bytes after its zlib stream (another stream?): refused, as they would go unread`);
    return true;
  });
  assertSectionGraph(elf(true, true, Buffer.concat([SECTION, Buffer.alloc(13)])), /^ELF 64-bit LSB/);
});

test('not an executable: null, so the file is read as something else', () => {
  assert.equal(readRustBinary(Buffer.from('[[package]]\nname = "x"\n'), 'Cargo.lock'), null);
  assert.equal(readRustBinary(Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52]), 'Main.class'), null, 'a Java class file shares the universal magic');
  assert.equal(readRustBinary(Buffer.alloc(0), 'empty'), null);
});

test('truncated or lying headers: one line naming the file, never a read past the end', () => {
  const good = elf(true, true);
  const cases: [string, Buffer, RegExp][] = [
    ['ELF cut in its header', good.subarray(0, 40), /^app\.bin: not a readable ELF file: e_shoff at offset 40 is beyond the end of the file \(40 bytes\): truncated or corrupt$/],
    ['ELF cut before its section headers', good.subarray(0, good.length - 10), /^app\.bin: not a readable ELF file: section header table at offset \d+ is beyond the end of the file/],
    ['section beyond the file', (() => {
      const b = Buffer.from(good);
      b.writeBigUInt64LE(10n ** 9n, Number(b.readBigUInt64LE(0x28)) + 2 * 64 + 0x18); // section 2's sh_offset
      return b;
    })(), /^app\.bin: not a readable ELF file: section \.dep-v0 at offset 1000000000 is beyond the end of the file/],
    ['64-bit offset past 2^53', (() => { const b = Buffer.from(good); b.writeBigUInt64LE(2n ** 63n, 0x28); return b; })(), /^app\.bin: not a readable ELF file: e_shoff is 9223372036854775808: corrupt$/],
    ['unknown ELF class', (() => { const b = Buffer.from(good); b[4] = 9; return b; })(), /^app\.bin: not a readable ELF file: unknown ELF class 9$/],
    ['PE section table cut', pe().subarray(0, 0x40 + 4 + 20 + 240 + 50), /^app\.bin: not a readable PE file: section table at offset \d+ is beyond the end of the file/],
    ['Mach-O load commands cut', macho(true, true).subarray(0, 60), /^app\.bin: not a readable Mach-O file: load commands at offset 32 is beyond the end of the file/],
    ['universal slice beyond the file', fat([macho(true, true)]).subarray(0, 0x1000 + 8), /^app\.bin: not a readable Mach-O universal file: architecture 0 at offset 4096 is beyond the end of the file/],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(() => readRustBinary(bytes, 'app.bin'), (err: Error & { line?: string }) => {
      assert.match(err.line ?? '', message, what);
      assert.equal((err.line ?? '').includes('\n'), false, `${what}: one line`);
      return true;
    });
  }
});

test('a section that does not inflate, inflates too far (a zlib bomb), or is not the expected JSON: one line each', () => {
  const bomb = deflateSync(Buffer.alloc(MAX_DEP_V0_JSON_BYTES + 1, 0x20), { level: 9 });
  assert.ok(bomb.length < 64 * 1024, 'the bomb is small in the file');
  const cases: [string, Uint8Array, RegExp][] = [
    ['not zlib', Buffer.from('plain text, not compressed'), /^app\.bin: \.dep-v0 section does not inflate as zlib data: /],
    ['a bomb', bomb, /^app\.bin: \.dep-v0 section inflates past 8388608 bytes: refused/],
    ['not JSON', deflateSync('{"packages": ['), /^app\.bin: \.dep-v0 section is not cargo-auditable's JSON: /],
    ['not UTF-8', deflateSync(Buffer.from([0x7b, 0xff, 0x7d])), /^app\.bin: \.dep-v0 section is not cargo-auditable's JSON: not UTF-8$/],
    ['no packages', deflateSync('{"crates": []}'), /no "packages" array$/],
    ['a dependency index out of range', deflateSync('{"packages":[{"name":"a","version":"1.0.0","source":"crates.io","dependencies":[1]}]}'), /packages\[0\]\.dependencies names 1, not the index of a package$/],
    ['a version that is not semver', deflateSync('{"packages":[{"name":"a","version":"1.0","source":"crates.io"}]}'), /packages\[0\]\.version "1\.0": /],
    ['a name no crate can have', deflateSync('{"packages":[{"name":"a b","version":"1.0.0","source":"crates.io"}]}'), /packages\[0\]\.name "a b" holds a character/],
    ['an unknown kind', deflateSync('{"packages":[{"name":"a","version":"1.0.0","source":"crates.io","kind":"dev"}]}'), /packages\[0\]\.kind is neither "build" nor "runtime"$/],
  ];
  for (const [what, section, message] of cases) {
    assert.throws(() => readRustBinary(elf(true, true, section), 'app.bin'), (err: Error & { line?: string }) => {
      assert.match(err.line ?? '', message, what);
      assert.equal((err.line ?? '').includes('\n'), false, `${what}: one line`);
      return true;
    });
  }
});

test('no .dep-v0: crates from embedded registry paths, partial; names with "-", pre-release and build versions', () => {
  const strings = [
    '/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tree-sitter-2-0.1.0/src/lib.rs',
    '/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/regex-syntax-0.8.5/src/ast/parse.rs',
    '/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/regex-syntax-0.8.5/src/hir/mod.rs',
    'C:\\Users\\u\\.cargo\\registry\\src\\index.crates.io-1949cf8c6b5b557f\\windows-sys-0.52.0\\src\\lib.rs',
    '/cargo/registry/src/github.com-1ecc6299db9ec823/beta-thing-1.0.0-beta.2+build.7/src/lib.rs',
    '/usr/share/cargo/registry/aho-corasick-1.1.3/src/ahocorasick.rs',
    '/build/registry/src/my-mirror.example-0123456789abcdef/inhouse-2.0.0/src/lib.rs',
    '/usr/share/cargo/registry/no-version/src/lib.rs',
    '/rust/deps/hashbrown-0.16.1/src/raw/mod.rs',
  ];
  const image = Buffer.concat([elf(true, true, Buffer.alloc(0)), ...strings.map((s) => Buffer.from(`${s}\0`, 'latin1'))]);
  // An ELF whose .dep-v0 section is empty counts as having none.
  const graph = readRustBinary(image, 'app.bin');
  assert.ok(graph);
  assert.equal(graph.inventory, 'embedded paths');
  assert.equal(graph.partial, true);
  assert.deepEqual(graph.roots, []);
  assert.deepEqual(
    graph.packages.map((p) => `${p.name} ${p.version} ${p.source.isDefaultRegistry ? 'crates.io' : (p.source.url ?? '')}`),
    [
      'aho-corasick 1.1.3 crates.io',
      'beta-thing 1.0.0-beta.2+build.7 crates.io',
      'hashbrown 0.16.1 crates.io',
      'inhouse 2.0.0 my-mirror.example-0123456789abcdef',
      'regex-syntax 0.8.5 crates.io',
      'tree-sitter-2 0.1.0 crates.io',
      'windows-sys 0.52.0 crates.io',
    ],
  );
});

/** An unsigned LEB128 number, as WebAssembly writes sizes. */
function leb128(n: number): Buffer {
  const out: number[] = [];
  do {
    const byte = n & 0x7f;
    n = Math.floor(n / 128);
    out.push(n > 0 ? byte | 0x80 : byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** A WebAssembly module: a type section, then custom sections named and holding what is given (wasm-ld keeps cargo-auditable's as `.dep-v0`). */
function wasm(customs: [string, Buffer][]): Buffer {
  const section = (id: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([id]), leb128(body.length), body]);
  const custom = customs.map(([name, data]) => section(0, Buffer.concat([leb128(name.length), Buffer.from(name, 'latin1'), data])));
  return Buffer.concat([Buffer.from('\0asm\x01\0\0\0', 'latin1'), section(1, Buffer.from([1, 0x60, 0, 0])), ...custom]);
}

test('WebAssembly: a module\'s .dep-v0 custom section read (cargo-auditable embeds it there); a component, or a size past the end, refused', () => {
  assertSectionGraph(wasm([['name', Buffer.from('x')], ['.dep-v0', SECTION]]), /^WebAssembly module, cargo-auditable format 0$/);
  // Without one: the crates its embedded paths name, partial, as for any executable.
  const plain = readRustBinary(wasm([['producers', Buffer.from('/home/u/.cargo/registry/src/index.crates.io-6f17d22bba15001f/smallvec-1.6.0/src/lib.rs')]]), 'app.wasm');
  assert.deepEqual([plain?.inventory, plain?.partial, plain?.packages.map((p) => `${p.name}@${p.version}`)], ['embedded paths', true, ['smallvec@1.6.0']]);
  const good = wasm([['.dep-v0', SECTION]]);
  const cases: [string, Buffer, RegExp][] = [
    ['a component', Buffer.concat([Buffer.from('\0asm\x0d\0\x01\0', 'latin1')]), /^app\.wasm: not a readable WebAssembly file: a component \(its modules nest inside it\), which stowage does not read$/],
    ['cut inside the section', good.subarray(0, good.length - 10), /^app\.wasm: not a readable WebAssembly file: section 0 at offset \d+ is beyond the end of the file/],
    ['a size of more than 32 bits', Buffer.concat([good.subarray(0, 8), Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 0x7f])]), /^app\.wasm: not a readable WebAssembly file: section size at offset 9 is past 32 bits: corrupt$/],
    ['a name longer than its section', Buffer.concat([good.subarray(0, 8), Buffer.from([0, 2, 9, 0x2e, 0])]), /^app\.wasm: not a readable WebAssembly file: custom section name at offset 11 runs past its section: corrupt$/],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(() => readRustBinary(bytes, 'app.wasm'), (err: Error & { line?: string }) => {
      assert.match(err.line ?? '', message, what);
      return true;
    });
  }
});

test('a universal binary whose slices overlap, each other or its architecture table, is refused in one line (macOS refuses it): 200 slices over one region are not read 200 times', () => {
  const one = macho(true, true, deflateSync(JSON.stringify({ packages: [{ name: 'demo', version: '0.1.0', source: 'local', root: true }] })));
  const bytes = fat([one, one]);
  const shared = Buffer.from(bytes);
  shared.writeUInt32BE(bytes.readUInt32BE(8 + 8), 8 + 20 + 8); // the second slice at the first's offset
  assert.throws(() => readRustBinary(shared, 'app.bin'), (e: Error & { line?: string }) => e instanceof MalformedObjectError && e.line === 'app.bin: not a readable Mach-O universal file: architecture 1 overlaps architecture 0');
  const header = Buffer.from(bytes);
  header.writeUInt32BE(16, 8 + 8); // the first slice over the table
  header.writeUInt32BE(bytes.readUInt32BE(8 + 12) + bytes.readUInt32BE(8 + 8) - 16, 8 + 12);
  assert.throws(() => readRustBinary(header, 'app.bin'), (e: Error & { line?: string }) => e instanceof MalformedObjectError && e.line === 'app.bin: not a readable Mach-O universal file: architecture 0 at offset 16 overlaps the architecture table');
});
