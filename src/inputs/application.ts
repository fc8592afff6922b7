import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { InputError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import { readTextInput } from '../core/input-files.js';
import { LOCKFILE_FORMATS } from '../ecosystems/formats.js';
import { isCycloneDxText, readCycloneDx, type CycloneDxReadOptions } from './cyclonedx-reader.js';
import { findLockfiles, readDependencyGraph, type DocumentRecorder, type LockfileLocation } from './lockfiles.js';
import { readVendorArchive } from './vendor-archive.js';
import { looksLikeObjectFile } from './binary/object-file.js';
import { readRustBinary } from './binary/rust-binary.js';

/**
 * Everything stowage reads an application from, in one place: lockfiles (a file or a
 * directory of them), a CycloneDX SBOM, a stowage vendor archive, a Rust executable, and what
 * shipped as a package or an image (a `.deb`, an RPM, an image archive, an installed tree:
 * shipped.ts). Each becomes the shared dependency model (DependencyGraph) that audit, sbom,
 * vendoring and the fleet work on.
 */

export interface ApplicationReadOptions extends CycloneDxReadOptions {
  /** Accept an inventory known to be incomplete (a binary's embedded paths); it is reported as partial. */
  allowPartial: boolean;
  /** Told every file read, with its content (the fleet keeps them as a revision's documents). */
  record?: DocumentRecorder;
}

export const ALLOW_PARTIAL_FLAG = '--allow-partial';

const STRICT: ApplicationReadOptions = { allowUnidentified: false, allowPartial: false };

const LOCKFILE_NAMES = LOCKFILE_FORMATS.map((f) => f.fileName);

const ARCHIVE = /\.(tar\.zst|tar\.gz|tgz)$/;

/** The first bytes of a file, enough for any magic number: read before deciding to read it all. */
function fileHead(path: string, length: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(length);
    return head.subarray(0, readSync(fd, head, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * What an audit reads besides lockfiles: a CycloneDX JSON SBOM, a stowage vendor archive
 * (its stowage-sbom.cdx.json), or a Rust executable (ELF, PE, Mach-O), so a shipped artifact
 * can be audited again without its source. Null when PATH is none of them (a lockfile or a
 * directory).
 */
async function readShippedArtifact(path: string, options: ApplicationReadOptions): Promise<DependencyGraph[] | null> {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isFile()) return null;
  if (ARCHIVE.test(path)) {
    const bytes = readFileSync(path);
    options.record?.(path, bytes);
    return readVendorArchive(bytes, path, options);
  }
  if (LOCKFILE_NAMES.some((n) => path.endsWith(n))) return null;
  if (path.endsWith('.json')) {
    const text = readTextInput(path);
    if (!isCycloneDxText(text)) return null;
    options.record?.(path, text);
    return readCycloneDx(path, text, options).map((g) => ({ ...g, inventory: 'sbom' }));
  }
  // Sniffed by magic number, so only an executable is read whole, and only once.
  if (!looksLikeObjectFile(fileHead(path, 8))) return null;
  const bytes = readFileSync(path);
  const graph = readRustBinary(bytes, path);
  if (!graph) return null;
  if (graph.partial && !options.allowPartial) {
    throw new InputError(
      path,
      `no .dep-v0 section (not built with cargo-auditable): its embedded source paths name ${graph.packages.length} crate${graph.packages.length === 1 ? '' : 's'}, ` +
        `a partial inventory; refused (stowage audit ${ALLOW_PARTIAL_FLAG} audits it, reported as partial)`,
    );
  }
  options.record?.(path, bytes);
  return [graph];
}

/**
 * Lockfiles (each with its location, in order), then the graphs of any SBOM or archive given.
 * Read before any database work, so a typo in a path is reported first.
 */
export async function readApplication(
  paths: string[],
  options: ApplicationReadOptions = STRICT,
): Promise<{ locations: LockfileLocation[]; graphs: DependencyGraph[] }> {
  const locations: LockfileLocation[] = [];
  const shipped: DependencyGraph[] = [];
  for (const path of paths) {
    // Loaded lazily: package and image readers are no part of a lockfile audit's start-up.
    let fromArtifact = await readShippedArtifact(path, options);
    fromArtifact ??= await (await import('./shipped.js')).readShippedPackage(path, options);
    if (fromArtifact) shipped.push(...fromArtifact);
    else locations.push(...findLockfiles(path));
  }
  const graphs: DependencyGraph[] = [];
  for (const location of locations) graphs.push(await readDependencyGraph(location, options.record));
  return { locations, graphs: [...graphs, ...shipped] };
}
