import type { DependencyGraph } from '../core/graph.js';
import { DEFAULT_POLICY, parsePolicy, type AuditPolicy } from '../audit/policy.js';
import { refuseNotAudited, runAudit, type AuditResult } from '../audit/audit.js';
import { openDatabase, type AdvisoryDatabase } from '../advisories/database.js';
import { parseDatabaseSpec, type FetchPolicy } from '../advisories/source.js';
import { StowageError } from '../core/errors.js';
import { decompressBytes } from './revision.js';
import type { FleetSettings, FleetStore, RevisionRecord } from './store/store.js';

/**
 * A revision evaluated with the fleet's databases: `runAudit`, the code `stowage audit` runs,
 * so an application's fleet findings are exactly its audit's with the same databases.
 */

/** The name a revision keeps its application's policy file under. */
export const POLICY_DOCUMENT = 'stowage.toml';

/**
 * The policy an application is evaluated with: its own stowage.toml (kept with the revision;
 * `origin` names it in errors), else the audit's default with the fleet's --fail-on.
 */
export function revisionPolicy(settings: FleetSettings, policyText: string | null, origin: string): AuditPolicy {
  if (policyText !== null) return parsePolicy(origin, policyText);
  return { ...DEFAULT_POLICY, ignores: [], ...(settings.failOn !== null ? { severityThreshold: settings.failOn } : {}) };
}

/** The fleet's databases, opened once for a whole command; close them with closeDatabases. */
export async function openFleetDatabases(settings: FleetSettings, options: { cacheRoot: string; fetch: FetchPolicy }): Promise<AdvisoryDatabase[]> {
  if (settings.databases.length === 0) throw new StowageError('the fleet has no advisory database: add one with stowage fleet init --db SOURCE');
  const databases: AdvisoryDatabase[] = [];
  try {
    for (const source of settings.databases) databases.push(await openDatabase(parseDatabaseSpec(source), options));
  } catch (err) {
    closeDatabases(databases);
    throw err;
  }
  return databases;
}

export function closeDatabases(databases: readonly AdvisoryDatabase[]): void {
  for (const db of databases) db.index.close();
}

/** Source -> revision: what a revision's findings were computed with. */
export function databaseRevisions(databases: readonly AdvisoryDatabase[]): Record<string, string> {
  return Object.fromEntries(databases.map((db) => [db.source, db.revision]));
}

/**
 * runAudit, refused as `stowage audit` refuses it when a package could not be compared (the
 * fleet keeps complete audits only: a revision with no findings must mean every package was checked).
 */
export async function evaluateGraphs(graphs: DependencyGraph[], databases: AdvisoryDatabase[], policy: AuditPolicy, now: Date): Promise<AuditResult> {
  const result = await runAudit({ graphs, databases, policy, now });
  refuseNotAudited(result);
  return result;
}

/** The policy file a revision was added with, as kept in its documents; null when it had none. */
export async function storedPolicyText(store: FleetStore, revision: RevisionRecord): Promise<string | null> {
  const doc = revision.documents.find((d) => d.name === POLICY_DOCUMENT);
  if (!doc) return null;
  const stored = await store.document(doc.digest);
  return stored === null ? null : decompressBytes(stored).toString('utf8');
}
