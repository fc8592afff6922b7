import type { ObjectFile } from './object-file.js';

/**
 * Executables that carry dependencies stowage does not read: a Go program's modules; a
 * JavaScript application with its npm packages bundled in, appended to its runtime (node, bun,
 * deno) or put in a section of its own; an AppImage's file system, any application's. Each is
 * told by what its runtime or loader looks for when it starts, never by a string the runtime
 * itself holds (every bun binary holds Bun's trailer, every node binary its fuse), so the
 * runtimes themselves are not named.
 */
export type UnreadExecutable = 'Go executable' | 'Node.js single executable application' | 'Bun executable' | 'Deno executable' | 'AppImage';

/**
 * Go's build information, which the Go toolchain writes into every executable it links (Go's
 * debug/buildinfo finds the module list by it): a Go program's dependencies are Go modules.
 */
const GO_BUILD_INFO = Buffer.from('\xff Go buildinf:', 'latin1');

/**
 * A Node.js single executable application (node's `--experimental-sea-config`, postject): node
 * itself with the application's script injected as a blob, and this fuse, which every node
 * binary holds ending `:0`, flipped to `:1` (node's documented sentinel).
 */
const NODE_SEA_FUSE = Buffer.from('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1', 'latin1');

/**
 * `bun build --compile`: bun with its module graph (the bundled script and files), which ends
 * with this trailer: appended to an ELF file and followed by the graph's 8-byte size (bun reads
 * the file's last bytes), or the `__BUN,__bun` section of a Mach-O file, the `.bun` section of a
 * PE file (bun's StandaloneModuleGraph).
 */
const BUN_TRAILER = Buffer.from('\n---- Bun! ----\n', 'latin1');

/**
 * `deno compile`: deno with its data (metadata, the npm resolution, a virtual file system holding
 * the npm packages) between two of these magics. Deno 2 puts it where libsui finds it: in an ELF
 * file, a note of its own (owner `SUI`, in a `.note.sui` section and a PT_NOTE segment: deno 2.9
 * writes this) or, in earlier versions, appended and followed by libsui's magic 0x501e and the
 * data's length (both 32-bit); in the `__SUI,d3n0l4nd` section of a Mach-O file, a `D3N0L4ND`
 * resource of a PE file (in `.rsrc`). Deno 1 appended it with this magic and two 64-bit offsets
 * as the file's last 24 bytes.
 */
const DENO_MAGIC = Buffer.from('d3n0l4nd', 'latin1');
const LIBSUI_ELF_MAGIC = 0x501e;

/**
 * An AppImage: an ELF runtime that mounts the file system appended to it (squashfs, or ISO 9660
 * for type 1) and runs the application inside, whatever it is built from; `AI` and the type in
 * the ELF identification's padding (bytes 8 to 10) are how appimaged tells it. The runtime itself
 * checks no mark: it mounts whatever starts where its ELF file ends, so a squashfs there is one too.
 */
function isAppImage(bytes: Buffer): boolean {
  if (bytes.length < 11 || bytes.readUInt32BE(0) !== 0x7f454c46) return false;
  if (bytes[8] === 0x41 && bytes[9] === 0x49 && (bytes[10] === 1 || bytes[10] === 2)) return true;
  const end = elfEnd(bytes);
  return end !== null && end + 4 <= bytes.length && bytes.toString('latin1', end, end + 4) === SQUASHFS_MAGIC;
}

/** A squashfs superblock's first bytes (little-endian, as mksquashfs writes it). */
const SQUASHFS_MAGIC = 'hsqs';

/**
 * Where an ELF file ends as the AppImage runtime reckons it (appimage_get_elf_size): the end of
 * its section header table or of its last section, whichever is later; null when a field is out of reach.
 */
function elfEnd(bytes: Buffer): number | null {
  const is64 = bytes[4] === 2;
  const le = bytes[5] === 1;
  if ((bytes[4] !== 1 && !is64) || (bytes[5] !== 2 && !le) || bytes.length < (is64 ? 64 : 52)) return null;
  const u16 = (at: number): number => (le ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
  const word = (at: number): number => (is64 ? Number(le ? bytes.readBigUInt64LE(at) : bytes.readBigUInt64BE(at)) : le ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const shoff = word(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const tableEnd = shoff + shentsize * shnum;
  const last = shoff + shentsize * (shnum - 1);
  if (shnum === 0 || shentsize < (is64 ? 0x40 : 0x28) || tableEnd > bytes.length) return null;
  const sectionEnd = word(last + (is64 ? 0x18 : 0x10)) + word(last + (is64 ? 0x20 : 0x14));
  return Math.max(tableEnd, sectionEnd);
}

/** Which of these `bytes` is, `object` being its headers as read (readObjectFile); null for none. */
export function unreadExecutableOf(bytes: Buffer, object: ObjectFile | null): UnreadExecutable | null {
  if (isAppImage(bytes)) return 'AppImage';
  if (bytes.includes(GO_BUILD_INFO)) return 'Go executable';
  if (bytes.includes(NODE_SEA_FUSE)) return 'Node.js single executable application';
  const section = (name: string, holding: Buffer): boolean => object?.sections.some((s) => s.name === name && Buffer.from(s.data.buffer, s.data.byteOffset, s.data.byteLength).includes(holding)) ?? false;
  const tail = (length: number): Buffer => bytes.subarray(Math.max(0, bytes.length - length));
  if (tail(24).subarray(0, 16).equals(BUN_TRAILER) || section('__BUN,__bun', BUN_TRAILER) || section('.bun', BUN_TRAILER)) return 'Bun executable';
  const libsui = tail(16);
  if (libsui.length === 16 && libsui.subarray(0, 8).equals(DENO_MAGIC) && libsui.readUInt32LE(8) === LIBSUI_ELF_MAGIC) return 'Deno executable';
  if (tail(24).subarray(0, 8).equals(DENO_MAGIC) && bytes.length >= 24) return 'Deno executable';
  if (section('.note.sui', DENO_MAGIC) || section('__SUI,d3n0l4nd', DENO_MAGIC) || section('.rsrc', DENO_MAGIC)) return 'Deno executable';
  return null;
}

/** Why each is not audited, said in its warning; in this order. */
export const NOT_AUDITED_BECAUSE: Readonly<Record<UnreadExecutable, string>> = {
  'Go executable': 'stowage audits crates and npm packages, not Go modules',
  'Node.js single executable application': 'the npm packages bundled into its script are recorded nowhere stowage reads',
  'Bun executable': '`bun build --compile`: the npm packages bundled into its script are recorded nowhere stowage reads',
  'Deno executable': '`deno compile`: the npm packages it embeds are in a virtual file system stowage does not read',
  AppImage: 'the file system it runs its application from is appended to it, compressed, and stowage does not read it',
};
