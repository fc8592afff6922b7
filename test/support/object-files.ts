/**
 * Minimal executables built byte by byte from the formats' specifications (here: the ELF gABI),
 * each holding a `.dep-v0` section: what the object-file reader's tests and the shipped-artifact
 * tests put in a binary, a package or an image.
 */

/** Writes fields into a buffer in one byte order. */
export class Writer {
  readonly buf: Buffer;
  constructor(size: number, private readonly le: boolean) {
    this.buf = Buffer.alloc(size);
  }
  u16(at: number, v: number): void {
    if (this.le) this.buf.writeUInt16LE(v, at);
    else this.buf.writeUInt16BE(v, at);
  }
  u32(at: number, v: number): void {
    if (this.le) this.buf.writeUInt32LE(v, at);
    else this.buf.writeUInt32BE(v, at);
  }
  u64(at: number, v: number): void {
    if (this.le) this.buf.writeBigUInt64LE(BigInt(v), at);
    else this.buf.writeBigUInt64BE(BigInt(v), at);
  }
  bytes(at: number, data: Uint8Array | string): void {
    (typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data)).copy(this.buf, at);
  }
}

/** ELF: header, the section data, the name table, then three section headers (null, names, .dep-v0). */
export function elfWithDepV0(is64: boolean, le: boolean, data: Uint8Array): Buffer {
  return elfWithSection(is64, le, '.dep-v0', data);
}

/** ELF: header, the section data, the name table, then three section headers (null, names, `name`). */
export function elfWithSection(is64: boolean, le: boolean, name: string, data: Uint8Array): Buffer {
  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  const names = `\0.shstrtab\0${name}\0`;
  const dataAt = ehsize;
  const namesAt = dataAt + data.length;
  const shoff = namesAt + names.length;
  const w = new Writer(shoff + 3 * shentsize, le);
  w.bytes(0, '\x7fELF');
  w.buf[4] = is64 ? 2 : 1;
  w.buf[5] = le ? 1 : 2;
  w.buf[6] = 1;
  w.u16(16, 2); // ET_EXEC
  if (is64) {
    w.u64(0x28, shoff);
    w.u16(0x3a, shentsize);
    w.u16(0x3c, 3);
    w.u16(0x3e, 1);
  } else {
    w.u32(0x20, shoff);
    w.u16(0x2e, shentsize);
    w.u16(0x30, 3);
    w.u16(0x32, 1);
  }
  w.bytes(dataAt, data);
  w.bytes(namesAt, names);
  const header = (i: number, name: number, type: number, offset: number, size: number): void => {
    const at = shoff + i * shentsize;
    w.u32(at, name);
    w.u32(at + 4, type);
    if (is64) {
      w.u64(at + 0x18, offset);
      w.u64(at + 0x20, size);
    } else {
      w.u32(at + 0x10, offset);
      w.u32(at + 0x14, size);
    }
  };
  header(1, 1, 3, namesAt, names.length); // SHT_STRTAB
  header(2, names.indexOf(`\0${name}\0`) + 1, 1, dataAt, data.length); // SHT_PROGBITS
  return w.buf;
}

/** UPX's PackHeader checksum: the sum of the bytes after its magic, modulo 251 (upx's packhead.cpp). */
function packHeaderChecksum(header: Buffer): number {
  let sum = 0;
  for (const byte of header.subarray(4, header.length - 1)) sum += byte;
  return sum % 251;
}

/**
 * UPX's PackHeader (upx's packhead.cpp, version 10 and later, a format other than DOS'): magic
 * `UPX!`, version, format, method, level, the adler32 of the uncompressed and compressed data,
 * their lengths, the file's size, filter, filter_cto, n_mru, and a checksum byte (32 bytes).
 */
function upxPackHeader(format: number, original: Buffer, compressed: Buffer): Buffer {
  const h = Buffer.alloc(32);
  h.write('UPX!', 0, 'latin1');
  h[4] = format === 36 ? 13 : 14; // getVersion(): 14 for ELF, 13 for PE
  h[5] = format;
  h[6] = 14; // M_LZMA
  h[7] = 9;
  h.writeUInt32LE(0x1234_5678, 8);
  h.writeUInt32LE(0x9abc_def0, 12);
  h.writeUInt32LE(original.length, 16);
  h.writeUInt32LE(compressed.length, 20);
  h.writeUInt32LE(original.length, 24);
  h[31] = packHeaderChecksum(h);
  return h;
}

const UPX_INFO = '$Info: This file is packed with the UPX executable packer http://upx.sf.net $\n\0$Id: UPX 4.24 Copyright (C) 1996-2024 the UPX Team. All Rights Reserved. $\n\0';

/**
 * `original` as `upx` packs it, laid out as UPX 4 writes an amd64 Linux executable (upx's
 * p_lx_elf.cpp; there is no upx in Debian 13 to run): an ELF header and program headers and no
 * section header table; `l_info` (checksum, magic `UPX!`, loader size, version, format 22) and
 * `p_info` (program id, file size, block size); one `b_info` and its compressed block (here
 * deflate, where upx uses LZMA or NRV: its bytes are opaque either way); the end-of-blocks
 * `b_info` (size 0, magic `UPX!`); the loader (its `$Info` and `$Id` strings); then the
 * PackHeader and the 4-byte overlay offset, where `upx -d` looks for them, at the file's end.
 * Nothing of `original` (sections, strings, embedded paths) is readable in it.
 */
export function upxPackedElf(original: Buffer, compress: (data: Buffer) => Buffer, format = 22): Buffer {
  const compressed = compress(original);
  const phnum = 3;
  const infoAt = 64 + phnum * 56;
  const parts: Buffer[] = [];
  const w = new Writer(infoAt + 12 + 12 + 12, true);
  w.bytes(0, '\x7fELF\x02\x01\x01');
  w.u16(16, 2); // ET_EXEC
  w.u16(18, 0x3e); // EM_X86_64
  w.u32(20, 1);
  w.u64(24, 0x400000 + infoAt);
  w.u64(32, 64); // e_phoff
  w.u16(52, 64);
  w.u16(54, 56);
  w.u16(56, phnum);
  // Program headers: the file mapped whole, the space it unpacks into, a non-executable stack.
  const phdr = (i: number, type: number, flags: number, offset: number, filesz: number, memsz: number): void => {
    const at = 64 + i * 56;
    w.u32(at, type);
    w.u32(at + 4, flags);
    w.u64(at + 8, offset);
    w.u64(at + 16, 0x400000 + offset);
    w.u64(at + 24, 0x400000 + offset);
    w.u64(at + 32, filesz);
    w.u64(at + 40, memsz);
    w.u64(at + 48, 0x1000);
  };
  const total = infoAt + 36 + compressed.length + 12 + UPX_INFO.length + 36;
  phdr(0, 1, 5, 0, total, total);
  phdr(1, 1, 6, 0, 0, original.length * 2);
  phdr(2, 0x6474e551, 6, 0, 0, 0);
  w.bytes(infoAt + 4, 'UPX!');
  w.u16(infoAt + 8, UPX_INFO.length);
  w.buf[infoAt + 10] = 14;
  w.buf[infoAt + 11] = format; // 22: UPX_F_LINUX_ELF64_AMD64
  w.u32(infoAt + 16, original.length);
  w.u32(infoAt + 20, original.length);
  w.u32(infoAt + 24, original.length);
  w.u32(infoAt + 28, compressed.length);
  w.buf[infoAt + 32] = 14;
  parts.push(w.buf, compressed);
  const eof = Buffer.alloc(12);
  eof.write('UPX!', 4, 'latin1');
  parts.push(eof, Buffer.from(UPX_INFO, 'latin1'), upxPackHeader(format, original, compressed));
  const overlay = Buffer.alloc(4);
  overlay.writeUInt32LE(infoAt, 0);
  parts.push(overlay);
  return Buffer.concat(parts);
}

/**
 * `original` as `upx` packs a Windows x64 executable (upx's pefile.cpp): its sections become
 * `UPX0` (no file data: where the program is unpacked), `UPX1` (the compressed program and the
 * loader) and `.rsrc`, no other section surviving; upx's version string and the PackHeader sit
 * in the 37 bytes before UPX1's data, where `upx -d` looks for them.
 */
export function upxPackedPe(original: Buffer, compress: (data: Buffer) => Buffer): Buffer {
  const compressed = compress(original);
  const peAt = 0x80;
  const optionalSize = 240;
  const table = peAt + 4 + 20 + optionalSize;
  const upx1At = 0x400;
  const header = upxPackHeader(36, original, compressed);
  const upx1 = Buffer.concat([compressed, Buffer.from(UPX_INFO, 'latin1')]);
  const raw = Math.ceil(upx1.length / 0x200) * 0x200;
  const w = new Writer(upx1At + raw + 0x200, true);
  w.bytes(0, 'MZ');
  w.u32(0x3c, peAt);
  w.bytes(peAt, 'PE\0\0');
  w.u16(peAt + 4, 0x8664);
  w.u16(peAt + 6, 3);
  w.u16(peAt + 20, optionalSize);
  w.u16(peAt + 24, 0x20b);
  const section = (i: number, name: string, virtualSize: number, rawSize: number, rawAt: number): void => {
    const at = table + i * 40;
    w.bytes(at, name);
    w.u32(at + 8, virtualSize);
    w.u32(at + 12, 0x1000 * (i + 1));
    w.u32(at + 16, rawSize);
    w.u32(at + 20, rawAt);
  };
  section(0, 'UPX0', original.length * 2, 0, 0);
  section(1, 'UPX1', raw, raw, upx1At);
  section(2, '.rsrc', 0x200, 0x200, upx1At + raw);
  w.bytes(upx1At - 37, '4.24\0');
  w.bytes(upx1At - 32, header);
  w.bytes(upx1At, upx1);
  return w.buf;
}
