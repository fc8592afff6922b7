import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { Compressor } from 'zstd-napi';
import { compressionOf } from './decompress.js';
import { StowageError } from './errors.js';
import { readUntrustedTar, readUntrustedTree, vendorPathProblem } from './untrusted-tar.js';
import type { ArchiveFile } from './untrusted-tar.js';

/**
 * The vendor archive: a tar whose bytes depend only on the files and the mtime.
 *
 * Tar layout (POSIX ustar, pax only where a path needs it):
 * - entries sorted by the UTF-8 bytes of their path, compared segment by segment (the order of
 *   `tar --sort=name`); every parent directory has its own entry (mode 0755) just before its
 *   contents, so extraction never invents a mode or an mtime;
 * - regular files keep their ArchiveFile mode (0644 or 0755);
 * - every entry: mtime = the given epoch, uid/gid 0, empty uname/gname, no atime/ctime,
 *   no extended attributes;
 * - a path longer than 100 bytes is split into ustar's prefix (155) and name (100) fields as
 *   GNU tar splits it; a path that cannot be split, or is not ASCII, gets a pax header
 *   (`path=` only) named `PaxHeader`, and its first 100 bytes in the name field;
 * - for ASCII paths that ustar holds, the tar stream is byte for byte what
 *   `tar --format=ustar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@E -b1`
 *   (GNU tar 1.34) writes for the extracted tree (a test checks it);
 * - two zero blocks at the end, no padding to a record size.
 *
 * Compression:
 * - zst: zstd-napi 0.0.13 (bundled zstd 1.5.7 C sources, compiled at install; pinned in
 *   package-lock). Level 10 with long-distance matching over a 2^27-byte window (the
 *   `zstd -10 --long=27` settings): a vendor tree repeats itself (two versions of one crate),
 *   and on 72 MB of node_modules sources this made 8.2 MB in 2.0 s where plain -19 made
 *   8.9 MB in 43 s and plain -10 11.2 MB in 2.3 s. A 2^27 window is also the largest that
 *   `zstd -d` and `tar --zstd` accept without flags. Single-threaded (nbWorkers 0), content
 *   size and a checksum in the frame header, no dictionary. zstd's output is a function of
 *   its version and parameters only, so the bytes change only when the pin does.
 * - gz: node:zlib at level 9. Node writes the gzip header with no file name, mtime 0, and the
 *   OS byte of the zlib build (3, Unix, here; Windows builds write 10), which is forced to 3.
 *   The deflate stream itself is only as stable as the zlib Node bundles
 *   (`process.versions.zlib`): zst is the format to use where bytes must match anywhere.
 */
/** The manifest's path inside every vendor archive. */
export const MANIFEST_PATH = 'stowage-manifest.json';
/** The CycloneDX SBOM every vendor archive carries, beside its manifest. */
export const SBOM_PATH = 'stowage-sbom.cdx.json';

export type ArchiveCompression = 'zst' | 'gz';

/**
 * 1980-01-01T00:00:00Z: the earliest time a zip (DOS) timestamp can hold, so the same mtime
 * survives a later repacking into zip or jar; and not 0, which some tools read as "unset".
 */
export const DEFAULT_SOURCE_DATE_EPOCH = 315532800;

export const ZSTD_LEVEL = 10;
export const ZSTD_WINDOW_LOG = 27;
const GZIP_LEVEL = 9;

/** The largest mtime ustar's 11 octal digits hold (year 2242). */
const MAX_TAR_OCTAL = 0o77777777777;
const BLOCK = 512;
const PAX_HEADER_NAME = 'PaxHeader';

/** How an archive path says it is compressed. */
export function compressionForPath(path: string): ArchiveCompression {
  if (path.endsWith('.tar.zst')) return 'zst';
  if (path.endsWith('.tar.gz') || path.endsWith('.tgz')) return 'gz';
  throw new StowageError('unknown archive format: the name must end in .tar.zst, .tar.gz or .tgz', path);
}

/**
 * `SOURCE_DATE_EPOCH` (reproducible-builds.org): the mtime of every archive entry. Unset or
 * empty means DEFAULT_SOURCE_DATE_EPOCH; anything but a non-negative integer that a tar header
 * can hold is refused rather than guessed at.
 */
export function sourceDateEpoch(env: NodeJS.ProcessEnv): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return DEFAULT_SOURCE_DATE_EPOCH;
  if (!/^[0-9]+$/.test(raw)) {
    throw new StowageError(`SOURCE_DATE_EPOCH must be a non-negative integer (seconds since 1970), not ${JSON.stringify(raw)}`);
  }
  const value = Number(raw);
  if (value > MAX_TAR_OCTAL) throw new StowageError(`SOURCE_DATE_EPOCH ${raw} is past what a tar header holds (${MAX_TAR_OCTAL})`);
  return value;
}

/** The archive's bytes: the same for the same files and mtime, whatever their order. */
export async function writeArchive(
  files: readonly ArchiveFile[],
  options: { compression: ArchiveCompression; mtime: number },
): Promise<Buffer> {
  if (!Number.isInteger(options.mtime) || options.mtime < 0 || options.mtime > MAX_TAR_OCTAL) {
    throw new StowageError(`archive mtime ${options.mtime} is not an integer between 0 and ${MAX_TAR_OCTAL}`);
  }
  const tar = tarBytes(files, options.mtime);
  return options.compression === 'zst' ? compressZstd(tar) : compressGzip(tar);
}

/** Limits for reading an archive back: far past any vendor tree, short of exhausting memory. */
const READ_MAX_BYTES = 4 * 1024 * 1024 * 1024;
const READ_MAX_ENTRIES = 1_000_000;

/**
 * The files of a stowage archive (`vendor verify`), read as untrusted: the compression is told
 * by the magic bytes, not the name.
 */
export async function readArchive(bytes: Buffer, label: string): Promise<ArchiveFile[]> {
  return readUntrustedTar(bytes, archiveReading(bytes, label));
}

/** How a stowage archive is read back: its compression from its magic bytes, the limits, no path twice. */
function archiveReading(bytes: Buffer, label: string) {
  const compression = compressionOf(bytes);
  if (compression !== 'zst' && compression !== 'gz') throw new StowageError('not a vendor archive: neither zstd nor gzip data', label);
  return { label, compression, maxBytes: READ_MAX_BYTES, maxEntries: READ_MAX_ENTRIES, duplicates: 'refuse' } as const;
}

/**
 * One file of a stowage archive (its SBOM), or null when it has none: read as readArchive reads
 * the whole, but every other file is only counted, never held, so an archive that inflates to
 * gigabytes (an upload to the fleet server) costs no more memory than the file wanted, which
 * may be at most `maxFileBytes`.
 */
export async function readArchiveFile(bytes: Buffer, label: string, path: string, maxFileBytes: number, caps: { maxBytes?: number; maxBytesReason?: string } = {}): Promise<Buffer | null> {
  const reading = archiveReading(bytes, label);
  const maxBytes = Math.min(reading.maxBytes, caps.maxBytes ?? Infinity);
  const tree = await readUntrustedTree(bytes, { ...reading, ...caps, maxBytes, keep: (p) => p === path, maxKeptFileBytes: maxFileBytes, refuseLinks: true });
  return tree.files.find((f) => f.path === path)?.data ?? null;
}

/** What consumeArchiveFiles hands over, and how much of it. */
export interface ArchiveConsumer {
  /** Whether a file is handed over, on its path and first bytes (see UntrustedTreeOptions.keep). */
  keep: (path: string, head: Buffer) => boolean;
  /** The cap on one file handed over at `path`: past it the archive is refused. */
  maxFileBytes: (path: string) => number;
  /** Each file kept, in archive order, one at a time: the archive reads on when it settles. */
  onFile: (file: ArchiveFile) => Promise<void> | void;
}

/**
 * Reads a stowage archive as readArchive does (limits, refusals, no path twice, no links), once,
 * handing each file `consumer` keeps to it as it inflates: only the file in hand is held, so an
 * archive of hundreds of megabytes is checked in the memory of its largest file kept.
 */
export async function consumeArchiveFiles(bytes: Buffer, label: string, consumer: ArchiveConsumer, caps: { maxBytes?: number; maxBytesReason?: string } = {}): Promise<void> {
  const reading = archiveReading(bytes, label);
  const maxBytes = Math.min(reading.maxBytes, caps.maxBytes ?? Infinity);
  await readUntrustedTree(bytes, {
    ...reading,
    ...caps,
    maxBytes,
    keep: consumer.keep,
    maxKeptFileBytes: READ_MAX_BYTES,
    keptFileCap: consumer.maxFileBytes,
    onKept: consumer.onFile,
    refuseLinks: true,
  });
}

/**
 * The files of a stowage archive at `paths` (those of them it holds), read as readArchive reads
 * the whole, with its limits and refusals; every other file is only counted, never held.
 */
export async function readArchiveFiles(bytes: Buffer, label: string, paths: ReadonlySet<string>): Promise<ArchiveFile[]> {
  return (await readUntrustedTree(bytes, { ...archiveReading(bytes, label), keep: (p) => paths.has(p), maxKeptFileBytes: Infinity, refuseLinks: true })).files;
}


interface TarEntry {
  path: string;
  /** UTF-8 bytes of the path with `/` as NUL: the sort key. */
  key: Buffer;
  directory: boolean;
  mode: number;
  data: Buffer;
}

const EMPTY = Buffer.alloc(0);

/**
 * Byte order, segment by segment: `/` sorts before every other byte (paths hold no NUL), so a
 * directory's whole subtree comes before its next sibling (`a/x` before `a-b`): the order
 * `tar --sort=name` writes.
 */
function sortKey(path: string): Buffer {
  return Buffer.from(path.replaceAll('/', '\0'));
}

/** Sorted entries: every file, and every parent directory of one. */
function tarEntries(files: readonly ArchiveFile[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const file of files) {
    const problem = vendorPathProblem(file.path);
    if (problem) throw new StowageError(`cannot archive ${JSON.stringify(file.path)}: ${problem}`);
    if (file.mode !== 0o644 && file.mode !== 0o755) {
      throw new StowageError(`cannot archive ${JSON.stringify(file.path)}: mode ${(file.mode as number).toString(8)} is neither 644 nor 755`);
    }
    if (byPath.has(file.path)) throw new StowageError(`cannot archive ${JSON.stringify(file.path)}: the path is there twice`);
    byPath.set(file.path, { path: file.path, key: sortKey(file.path), directory: false, mode: file.mode, data: file.data });
  }
  for (const file of files) {
    for (let slash = file.path.indexOf('/'); slash >= 0; slash = file.path.indexOf('/', slash + 1)) {
      const dir = file.path.slice(0, slash);
      const existing = byPath.get(dir);
      if (existing && !existing.directory) {
        throw new StowageError(`cannot archive ${JSON.stringify(file.path)}: ${JSON.stringify(dir)} is a file, not a directory`);
      }
      if (!existing) byPath.set(dir, { path: dir, key: sortKey(dir), directory: true, mode: 0o755, data: EMPTY });
    }
  }
  return [...byPath.values()].sort((a, b) => Buffer.compare(a.key, b.key));
}

/** The uncompressed tar of writeArchive (for callers that compress it their own way). */
export function tarBytes(files: readonly ArchiveFile[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  for (const entry of tarEntries(files)) {
    const name = entry.directory ? `${entry.path}/` : entry.path;
    const nameBytes = Buffer.from(name);
    const split = splitUstarName(nameBytes);
    if (split === null) {
      const record = paxRecord('path', name);
      parts.push(header({ name: Buffer.from(PAX_HEADER_NAME), prefix: EMPTY, mode: 0o644, size: record.length, mtime, type: 'x' }));
      parts.push(record, padding(record.length));
    }
    const fields = split ?? { name: nameBytes.subarray(0, 100), prefix: EMPTY };
    parts.push(header({ ...fields, mode: entry.mode, size: entry.data.length, mtime, type: entry.directory ? '5' : '0' }));
    if (!entry.directory) parts.push(entry.data, padding(entry.data.length));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/**
 * ustar's name and prefix fields for a path, or null when it needs a pax header. The split is
 * GNU tar's: at the last `/` that leaves a prefix of at most 155 bytes (ignoring a directory's
 * trailing `/`), which gives the shortest name part, so no other split fits when this one fails.
 */
function splitUstarName(name: Buffer): { name: Buffer; prefix: Buffer } | null {
  if (name.some((b) => b >= 0x80)) return null;
  if (name.length <= 100) return { name, prefix: EMPTY };
  const end = name.length > 156 ? 156 : name[name.length - 1] === 0x2f ? name.length - 1 : name.length;
  for (let i = end - 1; i > 0; i--) {
    if (name[i] !== 0x2f) continue;
    const rest = name.length - i - 1;
    return rest > 0 && rest <= 100 ? { name: name.subarray(i + 1), prefix: name.subarray(0, i) } : null;
  }
  return null;
}

/** One pax record, `LEN key=value\n`, where LEN counts itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return Buffer.from(`${length}${body}`);
}

function padding(length: number): Buffer {
  const rest = length % BLOCK;
  return rest === 0 ? EMPTY : Buffer.alloc(BLOCK - rest);
}

interface HeaderFields {
  name: Buffer;
  prefix: Buffer;
  mode: number;
  size: number;
  mtime: number;
  /** ustar typeflag: '0' file, '5' directory, 'x' pax header. */
  type: '0' | '5' | 'x';
}

/** A POSIX ustar header block; numbers as zero-padded octal with a NUL, as GNU tar writes them. */
function header(fields: HeaderFields): Buffer {
  if (fields.size > MAX_TAR_OCTAL) throw new StowageError(`cannot archive a file of ${fields.size} bytes: past what a tar header holds`);
  const block = Buffer.alloc(BLOCK);
  fields.name.copy(block, 0);
  octal(block, 100, 8, fields.mode);
  octal(block, 108, 8, 0); // uid
  octal(block, 116, 8, 0); // gid
  octal(block, 124, 12, fields.size);
  octal(block, 136, 12, fields.mtime);
  block.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  block.write(fields.type, 156, 'latin1');
  block.write('ustar\u000000', 257, 'latin1');
  octal(block, 329, 8, 0); // devmajor
  octal(block, 337, 8, 0); // devminor
  fields.prefix.copy(block, 345);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
  return block;
}

function octal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, '0')}\u0000`, offset, 'latin1');
}

function compressZstd(tar: Buffer): Buffer {
  const compressor = new Compressor();
  compressor.setParameters({
    compressionLevel: ZSTD_LEVEL,
    enableLongDistanceMatching: true,
    windowLog: ZSTD_WINDOW_LOG,
    nbWorkers: 0,
    contentSizeFlag: true,
    checksumFlag: true,
  });
  return compressor.compress(tar);
}

const gzipAsync = promisify(gzip);

async function compressGzip(tar: Buffer): Promise<Buffer> {
  const out = await gzipAsync(tar, { level: GZIP_LEVEL });
  // Header: ID1 ID2 CM FLG MTIME(4) XFL OS. No FNAME/FHCRC flag is set, so nothing else to fix.
  out[9] = 3;
  return out;
}
