import type { ObjectFile } from './object-file.js';

/**
 * Executables packed with UPX, told as `upx -d` tells them (upx's packhead.cpp, p_unix.cpp,
 * pefile.cpp): a packed file's sections, strings and code are compressed inside it, and a loader
 * unpacks them in memory when it runs, so nothing a Rust binary records of its crates (a
 * `.dep-v0` section, embedded source paths) can be read from the file as shipped. Taken for a C
 * program, it was passed over in silence.
 *
 * - ELF and Mach-O: UPX's PackHeader (magic `UPX!`, version, format, ..., a checksum byte) and
 *   a 4-byte overlay offset end the file, zero padding aside (p_unix.cpp: find_overlay_offset);
 * - PE: the sections are renamed `UPX0`, `UPX1` (and `UPX2`), which no linker names them.
 *
 * The header is checked (a known format, its checksum), so the bytes `UPX!` in a program's data
 * (a scanner's, a packer's) are not taken for it. A file whose PackHeader was altered to hide it
 * from `upx -d` is not recognised here either: stowage reads what toolchains write.
 */

/**
 * A format of upx's conf.h (UPX_F_*: 1-44 little-endian, 129-142 big-endian, linux/mipseb 137
 * and linux/ppc64 140 among them), or one a later upx adds: any but 0. The checksum and the
 * place at the file's end tell a PackHeader; a format range kept to today's list let a
 * big-endian packed binary pass as a C program.
 */
function knownFormat(format: number): boolean {
  return format !== 0;
}

/** The bytes upx -d reads at the end of a file, past trailing zeros (code signing pads Mach-O files with a zero page). */
const TAIL_BYTES = 2 * 4096 + 2 * 36 + 1;
/** The PackHeader of version 10 and later for every format but DOS's, and the overlay offset after it. */
const PACK_HEADER_BYTES = 32;
const OVERLAY_OFFSET_BYTES = 4;
const MAGIC = Buffer.from('UPX!', 'latin1');

/** Whether a valid PackHeader (version 10 or later) starts at `at`. */
function packHeaderAt(bytes: Buffer, at: number): boolean {
  if (at < 0 || at + PACK_HEADER_BYTES > bytes.length || !bytes.subarray(at, at + 4).equals(MAGIC)) return false;
  const version = bytes[at + 4] as number;
  const format = bytes[at + 5] as number;
  if (version < 10 || !knownFormat(format)) return false;
  let sum = 0;
  for (let i = at + 4; i < at + PACK_HEADER_BYTES - 1; i++) sum += bytes[i] as number;
  return sum % 251 === bytes[at + PACK_HEADER_BYTES - 1];
}

/** A PackHeader ending the file (then its overlay offset, then zeros), searched for as upx -d searches. */
function packHeaderAtEnd(bytes: Buffer): boolean {
  const from = Math.max(0, bytes.length - TAIL_BYTES);
  let last = bytes.length - 1;
  while (last >= from && bytes[last] === 0) last--;
  // The overlay offset's high bytes may be zeros too: the header starts within the 36 bytes before.
  const start = last - (PACK_HEADER_BYTES + OVERLAY_OFFSET_BYTES);
  for (let at = bytes.indexOf(MAGIC, Math.max(from, start)); at >= 0 && at <= last; at = bytes.indexOf(MAGIC, at + 1)) {
    if (packHeaderAt(bytes, at)) return true;
  }
  return false;
}

/** Whether `object` (read from `bytes`) was packed with UPX. */
export function isUpxPacked(object: ObjectFile, bytes: Uint8Array): boolean {
  if (object.format === 'PE') return object.sections.some((s) => /^UPX[0-2]$/.test(s.name));
  if (object.format === 'WebAssembly') return false;
  return packHeaderAtEnd(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** Why a packed executable's inventory is partial: said in the refusal and in the report. */
export const UPX_PACKED_REASON = 'packed with UPX: its code and sections are compressed inside it, so what it was built from cannot be read (`upx -d` unpacks it)';

/** What a package's or image's refusal says of its `n` packed executables (UPX_PACKED_REASON's words, counted). */
export function upxPackedCount(n: number): string {
  const one = n === 1;
  return `${n} ${one ? 'executable is' : 'executables are'} packed with UPX, ${one ? 'its' : 'their'} code and sections compressed inside ${one ? 'it' : 'them'}, so what ${one ? 'it was' : 'they were'} built from cannot be read (\`upx -d\` unpacks ${one ? 'it' : 'them'})`;
}
