import type { Advisory } from '../core/advisory.js';
import { findingKey, type Finding } from '../core/finding.js';
import type { Ecosystem } from '../core/package.js';
import { runAudit, type NotAuditedPackage } from '../audit/audit.js';
import type { AuditPolicy } from '../audit/policy.js';
import type { AdvisoryDatabase } from '../advisories/database.js';
import { advisoryNameKeys } from '../ecosystems/package-names.js';
import { withGraphs } from './revision.js';
import { findingRow, type FindingRowText } from './store/finding-rows.js';
import { encodedFinding, type EncodedFinding } from './store/store.js';
import { changeText } from './sync-report.js';

/**
 * The re-match of one revision by `fleet sync` (sync.ts), apart from the store: its graphs
 * decoded, matched by runAudit (restricted to the touched names, or in full) and the findings
 * compared with those stored. It needs no store, so it runs in a worker thread (sync-pool.ts)
 * as well as in the command's own; the main thread reads and writes the store. What it gives
 * back is rows and indexes, not findings: a message's structured clone of findings would copy
 * each one's advisory again, where a row names its advisory by digest and each record crosses
 * once per worker.
 */

export type Names = Partial<Record<Ecosystem, Set<string>>>;

/** The advisory package names an advisory change touched, and their lockfile name keys. */
export interface Restriction {
  names: Names;
  keys: Map<Ecosystem, Set<string>>;
}

export function restrictionOf(names: Names): Restriction {
  const keys = new Map<Ecosystem, Set<string>>();
  for (const [ecosystem, set] of Object.entries(names) as [Ecosystem, Set<string>][]) {
    const k = new Set<string>();
    for (const name of set) for (const key of advisoryNameKeys(ecosystem, name)) k.add(key);
    keys.set(ecosystem, k);
  }
  return { names, keys };
}

/** One revision to re-match. */
export interface MatchJob {
  revisionId: number;
  /** The application's name (a change's text holds it). */
  app: string;
  /** The graphs as stored (encodeGraphs). */
  graph: Uint8Array;
  policy: AuditPolicy;
  /** Re-matched on the touched names only (false: in full). */
  restricted: boolean;
  /** The stored findings the re-match replaces, as findingKey and row text (StoredFinding's key). */
  before: { findingKeys: string[]; rows: string[] };
}

/** A finding the store must insert: its row, and whether it is new (no stored finding had its key). */
export interface AddedRow {
  text: FindingRowText;
  digest: string;
  isNew: boolean;
}

/** What one revision's re-match changed, as rows and indexes into its job's `before`. */
export interface MatchedRevision {
  /** Findings to insert, in the audit's order. */
  add: AddedRow[];
  /** `before` entries whose finding is gone (resolved), in their order. */
  resolved: number[];
  /** `before` entries whose rows the store deletes (gone, or stored otherwise), in their order. */
  remove: number[];
  /** Advisory records (digest, JSON) the rows cite that this thread has not given yet. */
  records: [string, string][];
  /** The findings of `add` themselves, when matched in the thread that applies them (never sent). */
  findings?: Finding[];
  /** Matched in a worker: each row of `add` as the store inserts it. */
  encoded?: EncodedFinding[];
  /** Matched in a worker: per new row of `add`, in order, its change's text (sync-report.ts PreparedChange's compact). */
  prepared?: string[];
  /** The packages of the names matched that advisories name but that could not be compared (the revision is not audited for them). */
  notAudited: NotAuditedPackage[];
}

/** What re-matching needs besides the revision. */
export interface MatchContext {
  databases: AdvisoryDatabase[];
  restriction: Restriction;
  now: Date;
  /** The advisory digests whose records this thread gave already; null: the findings themselves are kept (same thread). */
  sentRecords: Set<string> | null;
  /** With sentRecords: the placeholder of the advisory in the texts of the changes (PreparedChange's mark). */
  mark?: string;
}

/**
 * Re-matches one revision with the same code as `stowage audit`, against the findings it has
 * stored: what is new, what is resolved, and the rows to rewrite (only those whose stored text
 * differs: an unchanged finding is left in place).
 */
export async function matchRevision(job: MatchJob, context: MatchContext): Promise<MatchedRevision> {
  // The audit's result holds strings and objects made from the graphs, never views of their bytes: they are given back once it is made.
  const result = await withGraphs(job.graph, (graphs) =>
    runAudit({
      graphs,
      databases: context.databases,
      policy: job.policy,
      now: context.now,
      ...(job.restricted ? { onlyNames: context.restriction.names } : {}),
    }),
  );
  // A package an advisory now names that cannot be compared (a git dependency with no version) is
  // refused at add and at promotion, as the audit refuses it; not here: failing the whole sync for
  // one application would leave every other application of the fleet without the new advisories.
  // Its packages are given back instead (notAudited): the sync keeps the revision as not audited.
  const beforeKeys = new Set(job.before.findingKeys);
  const storedRows = new Set(job.before.rows);
  const afterKeys = new Set<string>();
  const unchanged = new Set<string>();
  const add: AddedRow[] = [];
  const kept: Finding[] = [];
  const records: [string, string][] = [];
  // In a worker, what the main thread does with each row is done here: the main thread is the
  // sync's limit (its inserts), and a parse of every row there was a tenth of its time at 10,000 applications.
  const encoded: EncodedFinding[] = [];
  const prepared: string[] = [];
  for (const finding of result.findings) {
    const key = findingKey(finding);
    afterKeys.add(key);
    const row = findingRow(finding);
    const isNew = !beforeKeys.has(key);
    // Only a finding stored before can be stored alike.
    if (!isNew && storedRows.has(row.text)) {
      unchanged.add(row.text);
      continue;
    }
    add.push({ text: row.text, digest: row.digest, isNew });
    if (context.sentRecords === null) {
      kept.push(finding);
      continue;
    }
    if (!context.sentRecords.has(row.digest)) {
      context.sentRecords.add(row.digest);
      records.push([row.digest, row.record]);
    }
    encoded.push(encodedFinding(finding, row.text, row.digest));
    if (isNew && context.mark !== undefined) prepared.push(changeText(job.app, finding, context.mark));
  }
  const resolved: number[] = [];
  const remove: number[] = [];
  job.before.findingKeys.forEach((key, i) => {
    if (!afterKeys.has(key)) resolved.push(i);
    if (!unchanged.has(job.before.rows[i] as string)) remove.push(i);
  });
  return { add, resolved, remove, records, notAudited: result.notAuditedPackages, ...(context.sentRecords === null ? { findings: kept } : { encoded, ...(context.mark !== undefined ? { prepared } : {}) }) };
}

/** Findings rebuilt from the rows a worker gave: each row's JSON, its advisory parsed once per digest and shared. */
export class MatchedFindings {
  private readonly records = new Map<string, string>();
  private readonly parsed = new Map<string, Advisory>();

  /** Records as they arrive from a worker (before the revisions citing them are applied). */
  keep(records: readonly [string, string][]): void {
    for (const [digest, record] of records) if (!this.records.has(digest)) this.records.set(digest, record);
  }

  findingsOf(matched: MatchedRevision): Finding[] {
    if (matched.findings !== undefined) return matched.findings;
    return matched.add.map((row) => {
      const finding = JSON.parse(row.text) as Finding;
      finding.advisory = this.advisory(row.digest);
      return finding;
    });
  }

  /** The record of an advisory digest, as a worker gave it. */
  record(digest: string): string | undefined {
    return this.records.get(digest);
  }

  advisory(digest: string): Advisory {
    let advisory = this.parsed.get(digest);
    if (advisory === undefined) {
      const record = this.records.get(digest);
      if (record === undefined) throw new Error(`fleet sync: no advisory record ${digest} from the workers`);
      advisory = JSON.parse(record) as Advisory;
      this.parsed.set(digest, advisory);
    }
    return advisory;
  }
}
