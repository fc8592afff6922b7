import { InputError } from '../../core/errors.js';

/**
 * The sections of an executable, read from its headers: ELF (32/64-bit, either byte order),
 * PE/COFF, Mach-O (32/64-bit, either byte order), Mach-O universal ("fat") files and
 * WebAssembly modules (their custom sections, where cargo-auditable puts `.dep-v0`). Only the
 * headers and section tables are parsed, never code. Written here rather than taken from npm:
 * the maintained JavaScript object-file readers either parse one format only or trust header
 * offsets; a hostile file must fail with one line, so every read is bounds-checked.
 */

export type ObjectFormat = 'ELF' | 'PE' | 'Mach-O' | 'WebAssembly';

export interface ObjectSection {
  /** The name as the file spells it (`.dep-v0`; Mach-O: `SEGMENT,section`; WebAssembly: a custom section's). */
  name: string;
  /** The section's bytes in the file (a view, not a copy); empty for a section with no file data. */
  data: Uint8Array;
  /** Which architecture of a universal binary holds it (0-based); 0 in every other file. */
  slice: number;
}

export interface ObjectFile {
  format: ObjectFormat;
  /** e.g. `ELF 64-bit LSB`, `PE32+`, `Mach-O 64-bit LSB`, `Mach-O universal (2 slices)`. */
  description: string;
  sections: ObjectSection[];
  /** How many executables the file holds: a universal binary's slice count, else 1. */
  slices: number;
  /**
   * An ELF executable or shared object without a section header table (`e_shoff` 0, as `sstrip`
   * leaves it), or one holding only its null entry: the loader needs none and the program runs,
   * but no section (`.dep-v0`) can be found.
   */
  sectionTableStripped?: true;
}

/** A header says something the file cannot hold: named with the file and the format. */
export class MalformedObjectError extends InputError {}

/** Bounds-checked reads over the file, in one byte order; every offset is checked before use. */
class ByteReader {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
    private readonly fail: (what: string) => never,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private check(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.bytes.byteLength) {
      this.fail(`${what} at offset ${offset} is beyond the end of the file (${this.bytes.byteLength} bytes): truncated or corrupt`);
    }
  }

  u16(offset: number, what: string): number {
    this.check(offset, 2, what);
    return this.view.getUint16(offset, this.littleEndian);
  }

  u32(offset: number, what: string): number {
    this.check(offset, 4, what);
    return this.view.getUint32(offset, this.littleEndian);
  }

  /** A 64-bit field as a number; a value past 2^53 cannot be an offset in a file we can read. */
  u64(offset: number, what: string): number {
    this.check(offset, 8, what);
    const value = this.view.getBigUint64(offset, this.littleEndian);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} is ${value}: corrupt`);
    return Number(value);
  }

  slice(offset: number, length: number, what: string): Uint8Array {
    this.check(offset, length, what);
    return this.bytes.subarray(offset, offset + length);
  }

  /** A NUL-terminated name, at most `max` bytes (latin1: names are ASCII, any byte is shown). */
  name(offset: number, max: number, what: string): string {
    this.check(offset, Math.min(max, 1), what);
    const end = Math.min(offset + max, this.bytes.byteLength);
    let stop = offset;
    while (stop < end && this.bytes[stop] !== 0) stop++;
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + offset, stop - offset).toString('latin1');
  }
}

/** More sections than any real executable has: a header claiming more is corrupt, not read. */
const MAX_SECTIONS = 65_536;

function failer(label: string, format: string): (what: string) => never {
  return (what) => {
    throw new MalformedObjectError(label, `not a readable ${format} file: ${what}`);
  };
}

function readElf(bytes: Uint8Array, label: string): ObjectFile {
  const fail = failer(label, 'ELF');
  const cls = bytes[4];
  const data = bytes[5];
  if (cls !== 1 && cls !== 2) fail(`unknown ELF class ${cls ?? 'missing'}`);
  if (data !== 1 && data !== 2) fail(`unknown ELF byte order ${data ?? 'missing'}`);
  const is64 = cls === 2;
  const r = new ByteReader(bytes, data === 1, fail);
  const word = (offset: number, what: string): number => (is64 ? r.u64(offset, what) : r.u32(offset, what));
  const shoff = word(is64 ? 0x28 : 0x20, 'e_shoff');
  const shentsize = r.u16(is64 ? 0x3a : 0x2e, 'e_shentsize');
  let shnum = r.u16(is64 ? 0x3c : 0x30, 'e_shnum');
  let shstrndx = r.u16(is64 ? 0x3e : 0x32, 'e_shstrndx');
  const description = `ELF ${is64 ? '64' : '32'}-bit ${data === 1 ? 'LSB' : 'MSB'}`;
  // An executable or shared object (not a core dump, not an object file) with no section besides the null one.
  const runnable = (): { sectionTableStripped?: true } => {
    const type = r.u16(0x10, 'e_type');
    const ET_EXEC = 2;
    const ET_DYN = 3;
    return type === ET_EXEC || type === ET_DYN ? { sectionTableStripped: true } : {};
  };
  if (shoff === 0) return { format: 'ELF', description, sections: [], slices: 1, ...runnable() };
  const minEntry = is64 ? 0x40 : 0x28;
  if (shentsize < minEntry) fail(`section header size ${shentsize} is below ${minEntry}`);
  // Extended numbering (more than 0xff00 sections): the real counts are in section 0's header.
  if (shnum === 0) shnum = word(shoff + (is64 ? 0x20 : 0x14), 'section count (sh_size of section 0)');
  if (shstrndx === 0xffff) shstrndx = r.u32(shoff + (is64 ? 0x28 : 0x18), 'section name table index (sh_link of section 0)');
  if (shnum > MAX_SECTIONS) fail(`${shnum} sections`);
  r.slice(shoff, shnum * shentsize, 'section header table');
  const header = (i: number): { name: number; type: number; offset: number; size: number } => {
    const at = shoff + i * shentsize;
    return {
      name: r.u32(at, 'sh_name'),
      type: r.u32(at + 4, 'sh_type'),
      offset: word(at + (is64 ? 0x18 : 0x10), 'sh_offset'),
      size: word(at + (is64 ? 0x20 : 0x14), 'sh_size'),
    };
  };
  if (shstrndx >= shnum) fail(`section name table index ${shstrndx} is not below the section count ${shnum}`);
  const names = header(shstrndx);
  const nameTable = r.slice(names.offset, names.size, 'section name table');
  const nameReader = new ByteReader(nameTable, true, fail);
  const SHT_NOBITS = 8;
  const sections: ObjectSection[] = [];
  for (let i = 1; i < shnum; i++) {
    const h = header(i);
    const name = nameReader.name(h.name, nameTable.byteLength - h.name, `name of section ${i}`);
    const sectionData = h.type === SHT_NOBITS ? new Uint8Array(0) : r.slice(h.offset, h.size, `section ${name}`);
    sections.push({ name, data: sectionData, slice: 0 });
  }
  return { format: 'ELF', description, sections, slices: 1, ...(sections.length === 0 ? runnable() : {}) };
}

function readPe(bytes: Uint8Array, label: string): ObjectFile | null {
  const fail = failer(label, 'PE');
  const r = new ByteReader(bytes, true, fail);
  if (bytes.byteLength < 0x40) return null; // a DOS stub too short to point anywhere: not ours
  const pe = r.u32(0x3c, 'e_lfanew');
  if (pe + 4 > bytes.byteLength || r.u32(pe, 'PE signature') !== 0x00004550) return null; // MZ without PE: a DOS program
  const coff = pe + 4;
  const count = r.u16(coff + 2, 'NumberOfSections');
  const optionalSize = r.u16(coff + 16, 'SizeOfOptionalHeader');
  const magic = optionalSize >= 2 ? r.u16(coff + 20, 'optional header magic') : 0;
  const table = coff + 20 + optionalSize;
  r.slice(table, count * 40, 'section table');
  const sections: ObjectSection[] = [];
  for (let i = 0; i < count; i++) {
    const at = table + i * 40;
    const name = r.name(at, 8, 'section name');
    const virtualSize = r.u32(at + 8, 'VirtualSize');
    const rawSize = r.u32(at + 16, 'SizeOfRawData');
    const rawOffset = r.u32(at + 20, 'PointerToRawData');
    // Raw data is padded to the file alignment; VirtualSize (when set) is what the section holds.
    const size = virtualSize > 0 ? Math.min(virtualSize, rawSize) : rawSize;
    sections.push({ name, data: rawSize === 0 ? new Uint8Array(0) : r.slice(rawOffset, size, `section ${name}`), slice: 0 });
  }
  return { format: 'PE', description: magic === 0x20b ? 'PE32+' : 'PE32', sections, slices: 1 };
}

const MH_MAGIC = 0xfeedface;
const MH_MAGIC_64 = 0xfeedfacf;
/** A thin Mach-O file's first four bytes read big-endian, either byte order. */
const MACH_O_MAGICS: readonly number[] = [MH_MAGIC, MH_MAGIC_64, 0xcefaedfe, 0xcffaedfe];
const LC_SEGMENT = 0x1;
const LC_SEGMENT_64 = 0x19;

function readMachO(bytes: Uint8Array, label: string, littleEndian: boolean, is64: boolean): ObjectFile {
  const fail = failer(label, 'Mach-O');
  const r = new ByteReader(bytes, littleEndian, fail);
  const ncmds = r.u32(16, 'ncmds');
  const sizeofcmds = r.u32(20, 'sizeofcmds');
  let at = is64 ? 32 : 28;
  const end = at + sizeofcmds;
  r.slice(at, sizeofcmds, 'load commands');
  if (ncmds > MAX_SECTIONS) fail(`${ncmds} load commands`);
  const sections: ObjectSection[] = [];
  for (let i = 0; i < ncmds; i++) {
    const cmd = r.u32(at, 'load command');
    const cmdsize = r.u32(at + 4, 'cmdsize');
    if (cmdsize < 8 || at + cmdsize > end) fail(`load command ${i} has size ${cmdsize}, outside the load commands`);
    if (cmd === (is64 ? LC_SEGMENT_64 : LC_SEGMENT)) {
      const nsects = r.u32(at + (is64 ? 64 : 48), 'nsects');
      const first = at + (is64 ? 72 : 56);
      const entry = is64 ? 80 : 68;
      if (first + nsects * entry > at + cmdsize) fail(`segment command ${i} claims ${nsects} sections beyond its size`);
      for (let s = 0; s < nsects; s++) {
        const sect = first + s * entry;
        const sectname = r.name(sect, 16, 'sectname');
        const segname = r.name(sect + 16, 16, 'segname');
        const size = is64 ? r.u64(sect + 40, 'section size') : r.u32(sect + 36, 'section size');
        const offset = r.u32(sect + (is64 ? 48 : 40), 'section offset');
        const flags = r.u32(sect + (is64 ? 64 : 56), 'section flags');
        // S_ZEROFILL (1) and friends have no bytes in the file.
        const zeroFill = [0x1, 0xc, 0x12].includes(flags & 0xff);
        const data = zeroFill || offset === 0 ? new Uint8Array(0) : r.slice(offset, size, `section ${segname},${sectname}`);
        sections.push({ name: `${segname},${sectname}`, data, slice: 0 });
      }
    }
    at += cmdsize;
  }
  return { format: 'Mach-O', description: `Mach-O ${is64 ? '64' : '32'}-bit ${littleEndian ? 'LSB' : 'MSB'}`, sections, slices: 1 };
}

/** WebAssembly's version field for a core module (version 1, layer 0), and for a component (version 0x0d, layer 1). */
const WASM_MODULE = 1;
const WASM_COMPONENT = 0x0001000d;

/**
 * A WebAssembly module: its custom sections (id 0: a name, then the data), every other section
 * skipped by its size. A component nests its modules, and is refused rather than read in part.
 */
function readWasm(bytes: Uint8Array, label: string): ObjectFile {
  const fail = failer(label, 'WebAssembly');
  const r = new ByteReader(bytes, true, fail);
  const version = r.u32(4, 'version');
  if (version === WASM_COMPONENT) fail('a component (its modules nest inside it), which stowage does not read');
  if (version !== WASM_MODULE) fail(`unknown version ${version}`);
  /** An unsigned LEB128 number of at most 32 bits at `offset`, and the offset after it. */
  const leb128 = (offset: number, what: string): [number, number] => {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const byte = r.slice(offset + i, 1, what)[0] as number;
      value += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) fail(`${what} at offset ${offset} is past 32 bits: corrupt`);
        return [value, offset + i + 1];
      }
    }
    return fail(`${what} at offset ${offset} is longer than 5 bytes: corrupt`);
  };
  const sections: ObjectSection[] = [];
  for (let at = 8; at < bytes.byteLength; ) {
    const id = bytes[at] as number;
    const [size, body] = leb128(at + 1, 'section size');
    const data = r.slice(body, size, `section ${id}`);
    if (id === 0) {
      const [length, name] = leb128(body, 'custom section name length');
      if (name + length > body + size) fail(`custom section name at offset ${name} runs past its section: corrupt`);
      sections.push({ name: Buffer.from(r.slice(name, length, 'custom section name')).toString('latin1'), data: data.subarray(name + length - body), slice: 0 });
      if (sections.length > MAX_SECTIONS) fail(`more than ${MAX_SECTIONS} custom sections`);
    }
    at = body + size;
  }
  return { format: 'WebAssembly', description: 'WebAssembly module', sections, slices: 1 };
}

/**
 * A universal binary: one Mach-O per architecture; every slice's sections, in slice order, each
 * marked with its slice. Slices that overlap each other or the architecture table are refused, as
 * macOS's kernel refuses them (fatfile_validate_fatarches): every byte is then read for one slice
 * at most, where 200 slices over one region would have each read it again.
 */
function readFat(bytes: Uint8Array, label: string, is64: boolean): ObjectFile {
  const fail = failer(label, 'Mach-O universal');
  const r = new ByteReader(bytes, false, fail);
  const count = r.u32(4, 'nfat_arch');
  const entry = is64 ? 32 : 20;
  r.slice(8, count * entry, 'architecture table');
  const sections: ObjectSection[] = [];
  const ranges: [number, number][] = [];
  for (let i = 0; i < count; i++) {
    const at = 8 + i * entry;
    const offset = is64 ? r.u64(at + 8, 'slice offset') : r.u32(at + 8, 'slice offset');
    const size = is64 ? r.u64(at + 16, 'slice size') : r.u32(at + 12, 'slice size');
    const slice = r.slice(offset, size, `architecture ${i}`);
    if (offset < 8 + count * entry) fail(`architecture ${i} at offset ${offset} overlaps the architecture table`);
    const other = ranges.findIndex(([begin, end]) => offset < end && begin < offset + size);
    if (other >= 0) fail(`architecture ${i} overlaps architecture ${other}`);
    ranges.push([offset, offset + size]);
    const inner = sliceObject(slice, `${label} (architecture ${i})`);
    if (!inner) return fail(`architecture ${i} is not a Mach-O file`);
    for (const section of inner.sections) sections.push({ ...section, slice: i });
  }
  return { format: 'Mach-O', description: `Mach-O universal (${count} slices)`, sections, slices: count };
}

function sliceObject(bytes: Uint8Array, label: string): ObjectFile | null {
  if (bytes.byteLength < 4) return null;
  const be = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false);
  const le = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (be === MH_MAGIC || be === MH_MAGIC_64) return readMachO(bytes, label, false, be === MH_MAGIC_64);
  if (le === MH_MAGIC || le === MH_MAGIC_64) return readMachO(bytes, label, true, le === MH_MAGIC_64);
  return null;
}

/** Java class files share the universal magic; their version field is never this small. */
const MAX_FAT_SLICES = 32;

/**
 * The most architectures a universal binary can hold: macOS's kernel (fatfile_validate_fatarches)
 * and dyld read its header and table from the first 4096 bytes only, and refuse a count that runs
 * past them. Up to there a count past MAX_FAT_SLICES may be a Java class file's version (45 to
 * 69 and on): such a file is a universal binary when one of its slices is a Mach-O file, as the
 * slice the kernel runs must be, and a class file's bytes there are never one.
 */
function isLargeFat(bytes: Uint8Array, count: number, is64: boolean): boolean {
  const entry = is64 ? 32 : 20;
  if (count > Math.floor((4096 - 8) / entry)) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count && 8 + (i + 1) * entry <= bytes.byteLength; i++) {
    const offset = is64 ? Number(view.getBigUint64(8 + i * entry + 8, false)) : view.getUint32(8 + i * entry + 8, false);
    if (offset + 4 > bytes.byteLength) continue;
    const magic = view.getUint32(offset, false);
    if (MACH_O_MAGICS.includes(magic)) return true;
  }
  return false;
}

/**
 * The file's format and sections; null when its first bytes are none of the formats read here
 * (a lockfile, a script, a JPEG…). Throws MalformedObjectError when the magic matches but a
 * header points outside the file.
 */
export function readObjectFile(bytes: Uint8Array, label: string): ObjectFile | null {
  if (bytes.byteLength < 4) return null;
  const b = bytes;
  if (b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46) return readElf(bytes, label);
  if (b[0] === 0x4d && b[1] === 0x5a) return readPe(bytes, label);
  if (b[0] === 0x00 && b[1] === 0x61 && b[2] === 0x73 && b[3] === 0x6d) return readWasm(bytes, label);
  const be = new DataView(bytes.buffer, bytes.byteOffset, 8 <= bytes.byteLength ? 8 : 4).getUint32(0, false);
  if ((be === 0xcafebabe || be === 0xcafebabf) && bytes.byteLength >= 8) {
    const count = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(4, false);
    if ((count > 0 && count <= MAX_FAT_SLICES) || isLargeFat(bytes, count, be === 0xcafebabf)) return readFat(bytes, label, be === 0xcafebabf);
    return null;
  }
  return sliceObject(bytes, label);
}

/**
 * True when the first bytes are those of one machine's code: an ELF, PE or Mach-O executable or
 * library (a fat Mach-O of up to 16 slices: Java's class files share its magic, with a version of
 * 45 or more where the slice count is). WebAssembly runs anywhere, so it is not.
 */
export function looksLikeMachineCode(head: Uint8Array): boolean {
  if (head.byteLength < 4) return false;
  const view = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const magic = view.readUInt32BE(0);
  if (magic === 0x7f454c46 || (head[0] === 0x4d && head[1] === 0x5a)) return true;
  if (MACH_O_MAGICS.includes(magic)) return true;
  return (magic === 0xcafebabe || magic === 0xcafebabf) && head.byteLength >= 8 && view.readUInt32BE(4) > 0 && view.readUInt32BE(4) <= 16;
}

/** True when the first bytes are those of a format readObjectFile reads: the sniff before reading a whole file. */
export function looksLikeObjectFile(head: Uint8Array): boolean {
  if (head.byteLength < 4) return false;
  const magic = Buffer.from(head.buffer, head.byteOffset, 4).readUInt32BE(0);
  return (
    magic === 0x7f454c46 ||
    magic === 0x0061736d ||
    (head[0] === 0x4d && head[1] === 0x5a) ||
    MACH_O_MAGICS.includes(magic) ||
    magic === 0xcafebabe ||
    magic === 0xcafebabf
  );
}
