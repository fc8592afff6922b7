import { evaluationTime } from '../core/clock.js';
import type { DependencyGraph } from '../core/graph.js';
import { openDatabase, type AdvisoryDatabase } from '../advisories/database.js';
import { DEFAULT_DATABASE, parseDatabaseSpec, type FetchPolicy } from '../advisories/source.js';
import type { LockfileLocation } from '../inputs/lockfiles.js';
import { readApplication } from '../inputs/application.js';
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

/**
 * The whole audit of one application, as `stowage audit` and the vendoring gate run it. The
 * databases' indexes are closed before returning; the result is plain data.
 */
export async function auditApplication(request: AuditRequest): Promise<ApplicationAudit> {
  // Read first, so a malformed STOWAGE_NOW is reported before any database work.
  const now = request.now ?? evaluationTime();
  const { locations, graphs } = await readApplication(request.paths, { allowUnidentified: request.allowUnidentified === true });
  const sources = request.databases ?? (request.policy.databases.length > 0 ? request.policy.databases : [DEFAULT_DATABASE]);
  const specs = sources.map((s) => parseDatabaseSpec(s));
  const databases: AdvisoryDatabase[] = [];
  try {
    for (const spec of specs) databases.push(await openDatabase(spec, { cacheRoot: request.cacheRoot, fetch: request.fetch }));
    const result = await runAudit({ graphs, databases, policy: request.policy, now });
    return { locations, graphs, databases, result };
  } finally {
    for (const db of databases) db.index.close();
  }
}
