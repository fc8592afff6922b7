import { readFileSync, statSync } from 'node:fs';
import { InputError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import { isCycloneDxText, readCycloneDx, type CycloneDxReadOptions } from '../package/cyclonedx-reader.js';
import { SBOM_PATH } from '../vendor/manifest.js';
import { LOCKFILE_FORMATS } from '../ecosystems/formats.js';
import { openDatabase, type AdvisoryDatabase } from '../advisories/database.js';
import { DEFAULT_DATABASE, parseDatabaseSpec, type FetchPolicy } from '../advisories/source.js';
import { findLockfiles, readDependencyGraph, readTextInput, type LockfileLocation } from '../ecosystems/lockfiles.js';

const LOCKFILE_NAMES = LOCKFILE_FORMATS.map((f) => f.fileName);
import { runAudit, type AuditResult } from './audit.js';
import type { AuditPolicy } from './policy.js';

export interface AuditRequest {
  /** Lockfiles or directories; together they are one application. */
  paths: string[];
  policy: AuditPolicy;
  /** `--db` sources; when absent, the policy's, else the default database. */
  databases?: string[];
  fetch: FetchPolicy;
  cacheRoot: string;
  now?: Date;
  /** SBOM components stowage cannot identify are reported as not audited instead of refusing the SBOM. */
  allowUnidentified?: boolean;
}

/** How to audit, independent of what: policy, databases, fetching, cache. */
export type AuditSettings = Omit<AuditRequest, 'paths' | 'now'>;

export interface ApplicationAudit {
  locations: LockfileLocation[];
  graphs: DependencyGraph[];
  databases: AdvisoryDatabase[];
  result: AuditResult;
}

const ARCHIVE = /\.(tar\.zst|tar\.gz|tgz)$/;

/**
 * What an audit reads besides lockfiles: a CycloneDX JSON SBOM, or a stowage vendor archive
 * (its stowage-sbom.cdx.json), so a shipped artifact can be audited again without its source.
 * Null when PATH is neither (a lockfile or a directory).
 */
async function readShippedArtifact(path: string, options: CycloneDxReadOptions): Promise<DependencyGraph[] | null> {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isFile()) return null;
  if (ARCHIVE.test(path)) {
    const { readArchive } = await import('../vendor/archive.js');
    const files = await readArchive(readFileSync(path), path);
    const sbom = files.find((f) => f.path === SBOM_PATH);
    if (!sbom) throw new InputError(path, `no ${SBOM_PATH}: not a stowage vendor archive, nothing to audit`);
    return readCycloneDx(`${path}:${SBOM_PATH}`, sbom.data.toString('utf8'), options);
  }
  if (!path.endsWith('.json') || LOCKFILE_NAMES.some((n) => path.endsWith(n))) return null;
  const text = readTextInput(path);
  return isCycloneDxText(text) ? readCycloneDx(path, text, options) : null;
}

/**
 * Lockfiles (each with its location, in order), then the graphs of any SBOM or archive given.
 * Read before any database work, so a typo in a path is reported first.
 */
export async function readApplication(
  paths: string[],
  options: CycloneDxReadOptions = { allowUnidentified: false },
): Promise<{ locations: LockfileLocation[]; graphs: DependencyGraph[] }> {
  const locations: LockfileLocation[] = [];
  const shipped: DependencyGraph[] = [];
  for (const path of paths) {
    const fromArtifact = await readShippedArtifact(path, options);
    if (fromArtifact) shipped.push(...fromArtifact);
    else locations.push(...findLockfiles(path));
  }
  const graphs: DependencyGraph[] = [];
  for (const location of locations) graphs.push(await readDependencyGraph(location));
  return { locations, graphs: [...graphs, ...shipped] };
}

/**
 * The whole audit of one application, as `stowage audit` and the vendoring gate run it. The
 * databases' indexes are closed before returning; the result is plain data.
 */
export async function auditApplication(request: AuditRequest): Promise<ApplicationAudit> {
  const { locations, graphs } = await readApplication(request.paths, { allowUnidentified: request.allowUnidentified === true });
  const sources = request.databases ?? (request.policy.databases.length > 0 ? request.policy.databases : [DEFAULT_DATABASE]);
  const specs = sources.map((s) => parseDatabaseSpec(s));
  const databases: AdvisoryDatabase[] = [];
  try {
    for (const spec of specs) databases.push(await openDatabase(spec, { cacheRoot: request.cacheRoot, fetch: request.fetch }));
    const result = await runAudit({ graphs, databases, policy: request.policy, now: request.now ?? new Date() });
    return { locations, graphs, databases, result };
  } finally {
    for (const db of databases) db.index.close();
  }
}
