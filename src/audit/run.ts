import { StowageError } from '../core/errors.js';
import { evaluationTime } from '../core/clock.js';
import type { DependencyGraph } from '../core/graph.js';
import { openDatabase, type AdvisoryDatabase } from '../advisories/database.js';
import { DEFAULT_DATABASES, parseDatabaseSpec, type FetchPolicy } from '../advisories/source.js';
import type { LockfileLocation } from '../inputs/lockfiles.js';
import { readApplication, type PartialUse } from '../inputs/application.js';
import type { ShippedArtifact } from '../inputs/shipped-artifact.js';
import { knownAdvisories, refuseNotAudited, runAudit, type AuditResult, type KnownAdvisories } from './audit.js';
import type { AuditPolicy } from './policy.js';

export interface AuditRequest {
  /** Lockfiles or directories; together they are one application. */
  paths: string[];
  policy: AuditPolicy;
  /** `--db` sources; when absent, the policy's, else the default of each ecosystem audited. */
  databases?: string[];
  fetch: FetchPolicy;
  cacheRoot: string;
  now?: Date;
  /** SBOM components stowage cannot identify are reported as not audited instead of refusing the SBOM. */
  allowUnidentified?: boolean;
  /** Plan a fix for each finding from its registry (`fix` on each finding of a lockfile). */
  fixAdvice?: boolean;
  /** A partial inventory (a binary without `.dep-v0`) is audited and reported as partial instead of refused. */
  allowPartial?: boolean;
  /** The command auditing, when not `stowage audit` (the refusal of a partial inventory says what its flag does there). */
  partialUse?: PartialUse;
}

/** How to audit, independent of what: policy, databases, fetching, cache. */
export type AuditSettings = Omit<AuditRequest, 'paths' | 'now' | 'fixAdvice'>;

export interface ApplicationAudit {
  locations: LockfileLocation[];
  graphs: DependencyGraph[];
  artifacts: ShippedArtifact[];
  databases: AdvisoryDatabase[];
  result: AuditResult;
  /** Every advisory on the findings' packages' names that fails the policy: what a fix must not move a package into. */
  known: KnownAdvisories;
}

/** The default database of each ecosystem the graphs hold, in the order they come (RustSec alone for none). */
export function defaultDatabases(graphs: readonly DependencyGraph[]): string[] {
  const ecosystems = new Set(graphs.map((g) => g.ecosystem));
  return ecosystems.size === 0 ? [DEFAULT_DATABASES.cargo] : [...ecosystems].map((e) => DEFAULT_DATABASES[e]);
}

/**
 * Each finding of a lockfile gets the fix planner's advice (SBOMs and archives have no lockfile
 * to change). Advice is an addition to the audit, never its verdict: a registry that cannot be
 * read costs the advice, with a warning, not the audit.
 */
async function adviseFixes(lockfileGraphs: readonly DependencyGraph[], result: AuditResult, known: KnownAdvisories): Promise<void> {
  // Loaded only when advice is asked for: a plain audit never loads the planner or a registry client.
  const { planFor, planGraphFixes } = await import('../fixes/plan.js');
  const findings = result.findings.filter((f) => f.ignored === null);
  for (const graph of lockfileGraphs) {
    let plans;
    try {
      plans = await planGraphFixes(graph, findings, { allowOverrides: false, known });
    } catch (err) {
      if (!(err instanceof StowageError)) throw err;
      result.warnings.push(`${graph.path}: no fix advice: ${err.line}`);
      continue;
    }
    for (const finding of findings) {
      const plan = planFor(plans, finding);
      if (plan) finding.fix = plan;
    }
  }
}

/**
 * The whole audit of one application, as `stowage audit` and the vendoring gate run it. The
 * databases' indexes are closed before returning; the result is plain data.
 */
export async function auditApplication(request: AuditRequest): Promise<ApplicationAudit> {
  // Read first, so a malformed STOWAGE_NOW is reported before any database work.
  const now = request.now ?? evaluationTime();
  const { locations, graphs, artifacts, warnings } = await readApplication(request.paths, {
    allowUnidentified: request.allowUnidentified === true,
    allowPartial: request.allowPartial === true,
    ...(request.partialUse !== undefined ? { partialUse: request.partialUse } : {}),
    omit: request.policy.omit,
  });
  const sources = request.databases ?? (request.policy.databases.length > 0 ? request.policy.databases : defaultDatabases(graphs));
  const specs = sources.map((s) => parseDatabaseSpec(s));
  const databases: AdvisoryDatabase[] = [];
  try {
    for (const spec of specs) databases.push(await openDatabase(spec, { cacheRoot: request.cacheRoot, fetch: request.fetch }));
    const result = await runAudit({ graphs, databases, policy: request.policy, now, inputWarnings: warnings });
    // Fail closed: "no findings" would be said of packages that were never compared.
    if (request.allowPartial !== true) refuseNotAudited(result);
    const known = await knownAdvisories(databases, result.findings, request.policy, now);
    if (request.fixAdvice) await adviseFixes(graphs.slice(0, locations.length), result, known);
    return { locations, graphs, artifacts, databases, result, known };
  } finally {
    for (const db of databases) db.index.close();
  }
}
