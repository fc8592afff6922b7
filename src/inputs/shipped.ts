import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { InputError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import { MAX_WHOLE_FILE_BYTES, noteInputFile, readWholeFile } from '../core/input-files.js';
import { partialRefusal, type ApplicationReadOptions } from './application.js';
import { SECTION_TABLE_STRIPPED_REASON } from './binary/rust-binary.js';
import { UPX_PACKED_REASON, upxPackedCount } from './binary/upx.js';
import { namedByFile, type ShippedRead } from './shipped-artifact.js';

/**
 * What shipped, read without its source: a Debian package, an RPM (binary or source), an OCI
 * or `docker save` image archive, or an installed tree (a directory without lockfiles: a root
 * file system, an installed node_modules). Each is told by its content, not its name, and
 * each reader is loaded only when its format is met.
 */
export async function readShippedPackage(path: string, options: ApplicationReadOptions): Promise<ShippedRead | null> {
  const read = await readShipped(path, options);
  if (read === null) return null;
  // An installed node_modules with a package linked into place: named with its reason.
  const linked = read.graphs.find((g) => g.partial === true && g.ecosystem === 'npm');
  if (linked !== undefined && !options.allowPartial) {
    throw new InputError(linked.path, `${linked.partialReason ?? 'packages not read'}: a partial inventory; ${partialRefusal(options.partialUse)}`);
  }
  const partial = read.graphs.filter((g) => g.partial === true);
  // Packed executables first: nothing of them was read, not even embedded paths.
  const packed = partial.filter((g) => g.partialReason === UPX_PACKED_REASON);
  refusePartialBinaries(path, packed, options, upxPackedCount);
  // Then those without section headers: any of them may hold a .dep-v0 section, and none is found.
  const stripped = partial.filter((g) => g.partialReason === SECTION_TABLE_STRIPPED_REASON);
  refusePartialBinaries(path, stripped, options, (n) =>
    n === 1
      ? '1 executable has no section headers (sstrip removes them; the program runs without), so a .dep-v0 section in it cannot be found'
      : `${n} executables have no section headers (sstrip removes them; the program runs without), so a .dep-v0 section in them cannot be found`,
  );
  refusePartialBinaries(path, partial, options, (n) => `${n} Rust ${n === 1 ? 'binary has' : 'binaries have'} no .dep-v0 section, only embedded source paths`);
  // A package or image file is its own document (kept as read, not read again); an installed tree has none.
  if (read.document) options.record?.(path, read.document);
  return { artifact: read.artifact, graphs: read.graphs, ...(read.warnings && read.warnings.length > 0 ? { warnings: read.warnings } : {}) };
}

/** Unless partial inventories are allowed, refuses a package holding the partial binaries `graphs`, `said` by their count, the first five named. */
function refusePartialBinaries(path: string, graphs: readonly DependencyGraph[], options: ApplicationReadOptions, said: (count: number) => string): void {
  if (graphs.length === 0 || options.allowPartial) return;
  const named = graphs.slice(0, 5).map((g) => g.path).join(', ');
  throw new InputError(path, `${said(graphs.length)}: a partial inventory (${named}${graphs.length > 5 ? ', …' : ''}); ${partialRefusal(options.partialUse, graphs.length)}`);
}

async function readShipped(path: string, options: ApplicationReadOptions): Promise<(ShippedRead & { document?: Buffer }) | null> {
  const st = statSync(path, { throwIfNoEntry: false });
  // A directory holding a lockfile never gets here (readApplication reads it as lockfiles).
  if (st?.isDirectory()) return { artifact: namedByFile(path, 'installed tree'), ...(await import('./installed-tree.js')).readInstalledTree(path) };
  if (!st?.isFile()) return null;
  const head = readHead(path);
  const kind = shippedKind(head);
  if (kind === null) {
    await refuseCompressed(path, head);
    return null;
  }
  noteInputFile(path, st);
  const bytes = readWholeFile(path, MAX_WHOLE_FILE_BYTES, kind === 'image' ? 'an image archive' : 'a package');
  switch (kind) {
    case 'deb':
      return { ...(await (await import('./deb/deb.js')).readDeb(path, bytes, options.limits)), document: bytes };
    case 'rpm':
      return { ...(await (await import('./rpm/rpm.js')).readRpm(path, bytes, options, options.limits)), document: bytes };
    case 'image':
      return { ...(await (await import('./oci/image.js')).readImageArchive(path, bytes, options.limits)), document: bytes };
  }
}

/**
 * A compressed file that is no vendor archive (`.tar.zst`, `.tar.gz`, `.tgz`, read before): an
 * image archive compressed after `docker save` (`| xz`, `| bzip2`, which `docker load` reads),
 * say. Said as what it is, not as a lockfile stowage does not know; when its name says what it
 * compresses (`sbom.cdx.json.gz`, `Cargo.lock.zst`), that is named, not an image archive.
 */
async function refuseCompressed(path: string, head: Buffer): Promise<void> {
  // Loaded here only: a file of no format stowage reads is about to be refused anyway.
  const { compressionName, compressionOf, unreadCompressionOf } = await import('../core/decompress.js');
  const compression = compressionOf(head);
  const name = compression !== null ? compressionName(compression) : unreadCompressionOf(head);
  if (name === null) return;
  const inner = COMPRESSED_NAME.exec(basename(path))?.[1];
  if (inner !== undefined && !inner.toLowerCase().endsWith('.tar')) {
    throw new InputError(path, `${name}-compressed data, which stowage does not read so: decompress it and audit the ${inner} it holds`);
  }
  throw new InputError(path, `${name}-compressed data (an image archive compressed after docker save, say), which stowage does not read so: decompress it and audit what it holds (an image archive as the .tar docker save writes)`);
}

/** A compressed file's name and, captured, the name of what it compresses: `sbom.json.gz` holds `sbom.json`. */
const COMPRESSED_NAME = /^(.+)\.(?:gz|gzip|xz|bz2|bzip2|zst|zstd)$/i;

const HEAD_BYTES = 512;

function readHead(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    return head.subarray(0, readSync(fd, head, 0, HEAD_BYTES, 0));
  } catch (err) {
    throw new InputError(path, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  } finally {
    closeSync(fd);
  }
}

/** deb(5)'s ar magic and first member; RPM's lead magic; a tar's ustar magic (an image archive). */
function shippedKind(head: Buffer): 'deb' | 'rpm' | 'image' | null {
  if (head.subarray(0, 8).toString('latin1') === '!<arch>\n') return 'deb';
  if (head.length >= 4 && head.readUInt32BE(0) === 0xedabeedb) return 'rpm';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'image';
  return null;
}
