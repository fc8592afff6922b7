import { closeSync, existsSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../core/errors.js';
import { partialUnderOmit, type DependencyGraph, type EdgeKind } from '../core/graph.js';
import { MAX_WHOLE_FILE_BYTES, readTextInputFile, readWholeFile } from '../core/input-files.js';
import { LOCKFILE_FORMATS } from '../ecosystems/formats.js';
import { readCycloneDxDocument, type CycloneDxReadOptions } from './cyclonedx-reader.js';
import { readSpdxDocument } from './spdx-reader.js';
import { headText, SBOM_HEAD_BYTES, sbomDocumentOf, startsJsonObject, unreadSbomEncoding } from './sbom-document.js';
import { findLockfiles, nestedLockfilesWarning, npmWorkspaceRootLockfiles, readDependencyGraph, refuseUnreadLockfiles, unlockedManifests, workspaceRootLockfile, type DocumentRecorder, type LockfileLocation } from './lockfiles.js';
import { readVendorArchive } from './vendor-archive.js';
import { looksLikeObjectFile, readObjectFile } from './binary/object-file.js';
import { binaryRoot, rustBinaryOf, SECTION_TABLE_STRIPPED_REASON } from './binary/rust-binary.js';
import { NOT_AUDITED_BECAUSE, unreadExecutableOf } from './binary/unread-executables.js';
import { UPX_PACKED_REASON } from './binary/upx.js';
import { namedByFile, type ShippedArtifact, type ShippedRead } from './shipped-artifact.js';
import { SHIPPED_LIMITS, type ShippedLimits } from './shipped-limits.js';

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
  /** Which command refuses a partial inventory, so the refusal says what --allow-partial would do there (default: audit). */
  partialUse?: PartialUse;
  /** How far archives may expand (default SHIPPED_LIMITS; an upload to the fleet server: UPLOAD_LIMITS). */
  limits?: ShippedLimits;
  /**
   * A directory no file outside of which is read (an upload's): workspace members elsewhere are
   * left out, and no search for an enclosing workspace (a Cargo, npm, yarn or pnpm root, a
   * lockfile above) looks above it: what lies there is the server's, not the application's.
   */
  confineTo?: string;
  /**
   * What the command's `--omit` leaves out: a lockfile partial only through packages it omits
   * (partialUnderOmit) is not refused as partial.
   */
  omit?: readonly EdgeKind[];
}

export const ALLOW_PARTIAL_FLAG = '--allow-partial';

/** The commands that read applications: what each does with a partial inventory. */
export type PartialUse = 'audit' | 'sbom' | 'fleet';

/** The end of a partial inventory's refusal (`refused (...)`): what the command would do with --allow-partial, if it takes it. */
export function partialRefusal(use: PartialUse = 'audit', count = 1): string {
  const it = count === 1 ? 'it' : 'them';
  switch (use) {
    case 'audit':
      return `refused (pass ${ALLOW_PARTIAL_FLAG} to audit ${it}, reported as partial)`;
    case 'sbom':
      return `refused (pass ${ALLOW_PARTIAL_FLAG} to describe ${it}, in an SBOM that says its inventory is incomplete)`;
    case 'fleet':
      return `refused (the fleet keeps complete inventories only; stowage audit ${ALLOW_PARTIAL_FLAG} audits ${it}, reported as partial)`;
  }
}

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
 * What an audit reads besides lockfiles: a CycloneDX or SPDX JSON SBOM, a stowage vendor archive
 * (its stowage-sbom.cdx.json), or a Rust executable (ELF, PE, Mach-O, WebAssembly), so a shipped artifact
 * can be audited again without its source. Null when PATH is none of them (a lockfile or a
 * directory).
 */
async function readShippedArtifact(path: string, options: ApplicationReadOptions): Promise<DependencyGraph[] | ShippedRead | null> {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isFile()) return null;
  if (ARCHIVE.test(path)) {
    const bytes = readWholeFile(path, MAX_WHOLE_FILE_BYTES, 'a vendor archive');
    options.record?.(path, bytes);
    return readVendorArchive(bytes, path, options, options.limits);
  }
  const head = fileHead(path, SBOM_HEAD_BYTES);
  const sniffed = headText(head);
  if (path.endsWith('.json') || startsJsonObject(sniffed)) {
    // An SBOM may be UTF-16 (PowerShell's `syft … > sbom.json`); a lockfile is not, and the
    // lockfile reader refuses one so.
    const { text, bytes } = readTextInputFile(path, undefined, { utf16: true });
    const sbom = sbomDocumentOf(path, text);
    if (sbom === null) return null;
    const spdx = sbom.format === 'spdx';
    const graphs = spdx ? readSpdxDocument(path, sbom.doc, options) : readCycloneDxDocument(path, sbom.doc, options);
    if (graphs.some((g) => g.partial === true) && !options.allowPartial) {
      const how = spdx ? 'an annotation' : 'a composition with aggregate "incomplete"';
      throw new InputError(path, `the SBOM says its inventory is incomplete (${how}): a partial inventory; ${partialRefusal(options.partialUse)}`);
    }
    options.record?.(path, bytes);
    return graphs.map((g) => ({ ...g, inventory: 'sbom' }));
  }
  const unread = unreadSbomEncoding(sniffed);
  if (unread !== null) throw new InputError(path, unread);
  // Sniffed by magic number, so only an executable is read whole, and only once.
  if (!looksLikeObjectFile(head)) return null;
  const bytes = readWholeFile(path, (options.limits ?? SHIPPED_LIMITS).maxKeptFileBytes, 'an executable');
  const object = readObjectFile(bytes, path);
  if (!object) return null;
  const graph = rustBinaryOf(object, bytes, path);
  // Packed or emptied, nothing more can be told of it; without section headers, what it carries may still be.
  const carried = graph.partialReason === undefined || graph.partialReason === SECTION_TABLE_STRIPPED_REASON ? unreadExecutableOf(bytes, object) : null;
  if (carried !== null) {
    const what = `${/^[AEIOU]/.test(carried) ? 'an' : 'a'} ${carried}`;
    // No crate of it read: said as it is, partial inventories allowed or not (nothing to report as partial).
    if (graph.inventory === 'embedded paths' && graph.packages.length === 0) throw new InputError(path, `${what}, not audited (${NOT_AUDITED_BECAUSE[carried]})`);
    // A runtime built from crates (deno is): those are read, what it carries is not.
    (graph.warnings ??= []).push(`${path}: ${what}: the crates it is built from are audited, what it carries is not (${NOT_AUDITED_BECAUSE[carried]})`);
  }
  if (graph.partial && !options.allowPartial) {
    // Packed, nothing of it was read: no embedded path was looked for.
    const paths = graph.partialReason === UPX_PACKED_REASON ? ':' : `: its embedded source paths name ${graph.packages.length} crate${graph.packages.length === 1 ? '' : 's'},`;
    throw new InputError(path, `${graph.partialReason ?? 'no .dep-v0 section (not built with cargo-auditable)'}${paths} a partial inventory; ${partialRefusal(options.partialUse)}`);
  }
  options.record?.(path, bytes);
  const root = binaryRoot(graph);
  return { artifact: root ? { path, kind: 'binary', name: root.name, version: root.version } : namedByFile(path, 'binary'), graphs: [graph] };
}

/**
 * A lockfile by its name, or a directory holding one or a workspace member whose root holds a
 * Cargo.lock or the npm, yarn, pnpm or bun lockfile it is installed with (`npmRoots`): read as
 * lockfiles, nothing else tried. Its stat, or null.
 */
function lockfileInputStat(path: string, confineTo: string | undefined, npmRoots: readonly LockfileLocation[]): Stats | null {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st?.isDirectory()) return LOCKFILE_NAMES.some((name) => existsSync(join(path, name))) || npmRoots.length > 0 || workspaceRootLockfile(path, confineTo) !== null ? st : null;
  return st?.isFile() === true && LOCKFILE_NAMES.some((name) => path.endsWith(name)) ? st : null;
}

export interface ApplicationRead {
  locations: LockfileLocation[];
  graphs: DependencyGraph[];
  /** Each shipped artifact given (a package, an image, a tree, a binary), whose applications are among the graphs. */
  artifacts: ShippedArtifact[];
  /** Manifests in a directory given that no lockfile locks (unlockedManifests), and lockfiles below it (nestedLockfiles): not audited, and said so. */
  warnings: string[];
}

/**
 * Lockfiles (each with its location, in order), then the graphs of any SBOM or archive given.
 * Read before any database work, so a typo in a path is reported first.
 */
export async function readApplication(
  paths: string[],
  options: ApplicationReadOptions = STRICT,
): Promise<ApplicationRead> {
  const locations: LockfileLocation[] = [];
  const shipped: DependencyGraph[] = [];
  const artifacts: ShippedArtifact[] = [];
  const warnings: string[] = [];
  for (const path of paths) {
    const isDirectory = statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
    if (isDirectory) refuseUnreadLockfiles(path);
    const npmRoots = isDirectory ? await npmWorkspaceRootLockfiles(path, options.confineTo) : [];
    const st = lockfileInputStat(path, options.confineTo, npmRoots);
    if (st !== null) {
      const found = findLockfiles(path, st, options.confineTo, npmRoots);
      const outside = options.record && st.isDirectory() ? found.find((l) => dirname(resolve(l.path)) !== resolve(path)) : undefined;
      if (outside !== undefined) {
        // A workspace member built with its root's lockfile: the fleet keeps the documents and
        // source of the directory given, and a campaign rebuilding it there would have no lockfile.
        const manager = outside.format.manager;
        throw new InputError(
          path,
          `a member of the ${manager} workspace in ${dirname(outside.path)}, which ${manager} ${manager === 'Cargo' ? 'builds' : 'installs'} with ${outside.path}: the fleet keeps an application's files from its directory, so add ${dirname(outside.path)}`,
        );
      }
      locations.push(...found);
      if (st.isDirectory()) warnings.push(...unlockedManifests(path, found), ...nestedLockfilesWarning(path));
      continue;
    }
    // Loaded lazily: package and image readers are no part of a lockfile audit's start-up.
    const fromArtifact = (await readShippedArtifact(path, options)) ?? (await (await import('./shipped.js')).readShippedPackage(path, options));
    if (fromArtifact === null) locations.push(...findLockfiles(path, undefined, options.confineTo));
    else if (Array.isArray(fromArtifact)) shipped.push(...fromArtifact);
    else {
      shipped.push(...fromArtifact.graphs);
      artifacts.push(fromArtifact.artifact);
      warnings.push(...(fromArtifact.warnings ?? []));
    }
  }
  const graphs: DependencyGraph[] = [];
  for (const location of locations) {
    const graph = await readDependencyGraph(location, options.record, options.confineTo);
    if (partialUnderOmit(graph, options.omit ?? []) && !options.allowPartial) {
      throw new InputError(graph.path, `${graph.partialReason ?? 'the lockfile does not list every package installed'}: a partial inventory; ${partialRefusal(options.partialUse)}`);
    }
    graphs.push(graph);
  }
  return { locations, graphs: [...graphs, ...shipped], artifacts, warnings };
}
