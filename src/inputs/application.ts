import { readFileSync, statSync } from 'node:fs';
import { InputError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import { readTextInput } from '../core/input-files.js';
import { LOCKFILE_FORMATS } from '../ecosystems/formats.js';
import { isCycloneDxText, readCycloneDx, type CycloneDxReadOptions } from './cyclonedx-reader.js';
import { findLockfiles, readDependencyGraph, type DocumentRecorder, type LockfileLocation } from './lockfiles.js';

/**
 * Everything stowage reads an application from, in one place: lockfiles (a file or a
 * directory of them), a CycloneDX SBOM, a stowage vendor archive. Each becomes the shared
 * dependency model (DependencyGraph) that audit, sbom, vendoring and the fleet work on.
 */

const LOCKFILE_NAMES = LOCKFILE_FORMATS.map((f) => f.fileName);

const ARCHIVE = /\.(tar\.zst|tar\.gz|tgz)$/;

/**
 * What an audit reads besides lockfiles: a CycloneDX JSON SBOM, or a stowage vendor archive
 * (its stowage-sbom.cdx.json), so a shipped artifact can be audited again without its source.
 * Null when PATH is neither (a lockfile or a directory).
 */
async function readShippedArtifact(path: string, options: ReadApplicationOptions): Promise<DependencyGraph[] | null> {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isFile()) return null;
  if (ARCHIVE.test(path)) {
    // Loaded only for an archive: zstd's addon is no part of a lockfile audit's start-up.
    const { readArchive, SBOM_PATH } = await import('../core/archive.js');
    const bytes = readFileSync(path);
    options.record?.(path, bytes);
    const files = await readArchive(bytes, path);
    const sbom = files.find((f) => f.path === SBOM_PATH);
    if (!sbom) throw new InputError(path, `no ${SBOM_PATH}: not a stowage vendor archive, nothing to audit`);
    return readCycloneDx(`${path}:${SBOM_PATH}`, sbom.data.toString('utf8'), options);
  }
  if (!path.endsWith('.json') || LOCKFILE_NAMES.some((n) => path.endsWith(n))) return null;
  const text = readTextInput(path);
  if (!isCycloneDxText(text)) return null;
  options.record?.(path, text);
  return readCycloneDx(path, text, options);
}

export interface ReadApplicationOptions extends CycloneDxReadOptions {
  /** Told every file read, with its content (the fleet keeps them as a revision's documents). */
  record?: DocumentRecorder;
}

/**
 * Lockfiles (each with its location, in order), then the graphs of any SBOM or archive given.
 * Read before any database work, so a typo in a path is reported first.
 */
export async function readApplication(
  paths: string[],
  options: ReadApplicationOptions = { allowUnidentified: false },
): Promise<{ locations: LockfileLocation[]; graphs: DependencyGraph[] }> {
  const locations: LockfileLocation[] = [];
  const shipped: DependencyGraph[] = [];
  for (const path of paths) {
    const fromArtifact = await readShippedArtifact(path, options);
    if (fromArtifact) shipped.push(...fromArtifact);
    else locations.push(...findLockfiles(path));
  }
  const graphs: DependencyGraph[] = [];
  for (const location of locations) graphs.push(await readDependencyGraph(location, options.record));
  return { locations, graphs: [...graphs, ...shipped] };
}
