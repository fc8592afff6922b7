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
  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  const names = '\0.shstrtab\0.dep-v0\0';
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
  header(2, names.indexOf('.dep-v0'), 1, dataAt, data.length); // SHT_PROGBITS
  return w.buf;
}
