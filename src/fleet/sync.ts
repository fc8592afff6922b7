import { randomUUID } from 'node:crypto';
import type { Advisory } from '../core/advisory.js';
import { chunks } from '../core/chunks.js';
import { timestampMs } from '../core/timestamp.js';
import { findingKey, findingKeyOf, type Finding } from '../core/finding.js';
import type { Ecosystem } from '../core/package.js';
import { withRememberedLookups, type AdvisoryDatabase } from '../advisories/database.js';
import type { AuditPolicy } from '../audit/policy.js';
import type { NotAuditedPackage } from '../audit/audit.js';
import { compareCodePoints, compareText } from '../core/compare-text.js';
import type { FetchPolicy } from '../advisories/source.js';
import { loadVersionScheme } from '../ecosystems/formats.js';
import { advisoryNameKeys, lockfileNameKey } from '../ecosystems/package-names.js';
import { currentAdvisories, diffAdvisories, namesTouched, type AdvisoryChange, type CurrentAdvisory } from './advisory-changes.js';
import { closeDatabases, databaseRevisions, openFleetDatabases, POLICY_DOCUMENT, revisionPolicy } from './evaluate.js';
import { EVENT_CHANGES_LIMIT, recordEventText } from './events.js';
import { requireSettings } from './lookup.js';
import { decompressBytes } from './revision.js';
import { rereadCurrentRevisions, type RereadOutcome } from './reread.js';
import type { CurrentNotAudited, DatabaseState, FleetSettings, FleetStore, PackageKey, RevisionRecord, RevisionToEvaluate, StoredFindingRow } from './store/store.js';
import { encodedFinding, STATISTICS_AFTER, type EncodedFinding } from './store/store.js';
import { advisoryRecord, type FindingRowText } from './store/finding-rows.js';
import { matchRevision, MatchedFindings, restrictionOf, type AddedRow, type MatchContext, type MatchedRevision, type MatchJob, type Restriction } from './sync-match.js';
import { SyncPool, syncPoolSize } from './sync-pool.js';
import { syncEventBodies, type PreparedChange } from './sync-report.js';
import { failsWithDecision, governingDecision } from './triage.js';

/**
 * `fleet sync`: bring the fleet's findings to the databases as they now are, re-matching only
 * what the advisories that moved can change (fleet-design.md "Sync"):
 * 1. every database is opened (fetched) first; one that cannot be read changes nothing;
 * 2. its advisories are diffed against the state the fleet last evaluated with;
 * 3. the package names those advisories named, before and after, are the names whose findings
 *    may change;
 * 4. the current revisions that lock a version a new or changed advisory now affects, or that
 *    hold a finding whose alias group has an advisory that changed, was withdrawn or removed,
 *    are re-matched, restricted to those names (runAudit's onlyNames: exactly what a full
 *    audit finds for them); the others cannot change;
 * 5. a revision evaluated with some other database state (no state known yet, or an `add` that
 *    ran against another revision) is evaluated in full;
 * 6. findings, advisory state, database revisions and the event are written in one transaction.
 */

export type FindingChangeKind = 'new' | 'resolved' | 'reopened';

export interface FindingChange {
  app: string;
  change: FindingChangeKind;
  finding: Finding;
  /** Its texts as a worker made them (sync-report.ts writes them as they are). */
  prepared?: PreparedChange;
}

/**
 * A new finding a worker matched: its change's JSON made there (PreparedChange), its finding
 * kept as its row's text and parsed again each time it is read (the human output, an API's
 * caller). At 10,000 applications the main thread is the sync's limit, and parsing each of
 * 134,738 rows there (then keeping the objects until the output) was about a tenth of its time.
 */
class PreparedFindingChange implements FindingChange {
  readonly change = 'new';

  constructor(
    readonly app: string,
    /** findingKey of the finding. */
    readonly key: string,
    private readonly row: FindingRowText,
    readonly prepared: PreparedChange,
  ) {}

  get finding(): Finding {
    const finding = JSON.parse(this.row) as Finding;
    // The digest in the row is the advisory's place among the finding's keys.
    finding.advisory = this.prepared.advisory;
    return finding;
  }
}

export interface DatabaseMove {
  source: string;
  previousRevision: string | null;
  revision: string;
}

export interface SyncOutcome {
  databases: DatabaseMove[];
  advisories: AdvisoryChange[];
  changes: FindingChange[];
  /** Revisions re-matched on the touched names only. */
  reevaluated: number;
  /** Revisions evaluated in full (no earlier state known for them). */
  fullyEvaluated: number;
  /** Findings of current revisions that fail their policy once triage is applied. */
  failing: number;
  /**
   * The applications whose current revision is not audited after the sync: an advisory names a
   * package of it that cannot be compared (a git dependency with no version). Their other
   * packages' findings are kept; they are not ok, whatever their findings.
   */
  notAudited: NotAuditedApp[];
  /** Revisions this sync found not audited, or audited again: a change worth an event even with no finding changed. */
  notAuditedChanged: number;
  /** Current revisions an earlier stowage's readers read, read again from their stored documents (reread.ts). */
  reread: RereadOutcome;
}

/** An application whose current revision is not audited (SyncOutcome's notAudited). */
export interface NotAuditedApp {
  app: string;
  revision: string;
  seq: number;
  packages: NotAuditedPackage[];
}

export interface SyncOptions {
  cacheRoot: string;
  fetch: FetchPolicy;
  now: Date;
  /** The moment findings are judged at (withdrawn advisories, ignore and triage expiry): STOWAGE_NOW's (core/clock.ts evaluationTime); `now` when absent. `now` is what is recorded. */
  judgeAt?: Date;
  by: string;
  /** Worker threads re-matching the revisions: from how many revisions (SYNC_POOL_FROM), how many (one per core, at most 4). */
  pool?: SyncPoolOptions;
}

export interface SyncPoolOptions {
  from?: number;
  workers?: number;
}

const touches = (keys: Map<Ecosystem, Set<string>>, ecosystem: Ecosystem, name: string): boolean =>
  keys.get(ecosystem)?.has(lockfileNameKey(ecosystem, name)) === true;


function isWithdrawnAt(advisory: Advisory, now: Date): boolean {
  return advisory.withdrawn !== null && timestampMs(advisory.withdrawn) <= now.getTime();
}

/**
 * The locked versions a new or changed advisory affects now, each evaluated once for the
 * whole fleet. A version the scheme cannot evaluate is kept: the re-match decides (and fails
 * as the audit would).
 */
async function versionsAffectedNow(packages: readonly PackageKey[], records: readonly Advisory[], now: Date): Promise<PackageKey[]> {
  const byKey = new Map<string, Advisory[]>();
  for (const a of records) {
    if (isWithdrawnAt(a, now)) continue;
    for (const key of advisoryNameKeys(a.ecosystem, a.package)) {
      const k = `${a.ecosystem}\0${key}`;
      const list = byKey.get(k);
      if (list) list.push(a);
      else byKey.set(k, [a]);
    }
  }
  const affected: PackageKey[] = [];
  for (const p of packages) {
    const advisories = byKey.get(`${p.ecosystem}\0${lockfileNameKey(p.ecosystem, p.name)}`);
    if (!advisories) continue;
    const scheme = await loadVersionScheme(p.ecosystem);
    const hit = advisories.some((a) => {
      try {
        return a.affected.some((range) => scheme.isAffected(p.version, range));
      } catch {
        return true;
      }
    });
    if (hit) affected.push(p);
  }
  return affected;
}

const sameState = (a: Record<string, string>, b: Record<string, string>): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Revisions re-evaluated per round of statements: their graphs and findings are in memory together. */
const REVISIONS_PER_BATCH = 100;

/** The policies of the revisions, read once per policy document (most revisions have none). */
class RevisionPolicies {
  private readonly texts = new Map<string, Promise<string | null>>();

  constructor(
    private readonly store: FleetStore,
    private readonly settings: FleetSettings,
  ) {}

  async of(revision: RevisionRecord): Promise<AuditPolicy> {
    const doc = revision.documents.find((d) => d.name === POLICY_DOCUMENT);
    let text: string | null = null;
    if (doc) {
      let pending = this.texts.get(doc.digest);
      if (pending === undefined) {
        pending = this.store.document(doc.digest).then((stored) => (stored === null ? null : decompressBytes(stored).toString('utf8')));
        this.texts.set(doc.digest, pending);
      }
      text = await pending;
    }
    return revisionPolicy(this.settings, text, `${POLICY_DOCUMENT} of revision ${revision.digest}`);
  }
}

/** Findings whose triage decision expired since the last sync: open again, reported once. */
async function reopenedFindings(tx: FleetStore, since: string | null, now: Date): Promise<FindingChange[]> {
  const today = now.toISOString().slice(0, 10);
  const sinceDay = since?.slice(0, 10) ?? '0000-00-00';
  const decisions = await tx.triageDecisions();
  const lapsed = decisions.filter((d) => d.expires !== null && d.expires < today && d.expires >= sinceDay);
  const changes: FindingChange[] = [];
  const seen = new Set<string>();
  for (const decision of lapsed) {
    for (const id of decision.aliasKey.split(' ')) {
      for (const row of await tx.currentFindingsWithId(id)) {
        const key = `${row.appId}\0${findingKey(row.finding)}`;
        if (seen.has(key)) continue;
        const scheme = await loadVersionScheme(row.finding.package.ecosystem);
        const applied = governingDecision(decisions, row.appId, row.finding, scheme, today);
        if (applied?.decision.id !== decision.id || applied.active) continue;
        seen.add(key);
        changes.push({ app: row.app, change: 'reopened', finding: row.finding });
      }
    }
  }
  return changes;
}

/**
 * Findings of current revisions that fail their policy once triage is applied: counted by the
 * store, less those a decision settles (only findings sharing an id with a decision can be).
 */
async function failingAfterTriage(tx: FleetStore, now: Date): Promise<number> {
  const today = now.toISOString().slice(0, 10);
  const decisions = await tx.triageDecisions();
  let failing = await tx.currentFailingCount();
  const seen = new Set<string>();
  for (const id of new Set(decisions.flatMap((d) => d.aliasKey.split(' ')))) {
    for (const row of await tx.currentFindingsWithId(id)) {
      const key = `${row.revisionId}\0${findingKey(row.finding)}`;
      if (!row.finding.failsPolicy || seen.has(key)) continue;
      seen.add(key);
      const scheme = await loadVersionScheme(row.finding.package.ecosystem);
      if (!failsWithDecision(row.finding, governingDecision(decisions, row.appId, row.finding, scheme, today))) failing--;
    }
  }
  return failing;
}

/** What re-matching the revisions of a sync needs. */
interface RematchPlan {
  /** The revisions to look at, in id order. */
  ids: number[];
  /** Those evaluated in full; the others are re-matched on the touched names. */
  full: ReadonlySet<number>;
  restriction: Restriction;
  lockNames: { ecosystem: Ecosystem; name: string }[];
  nowAgainst: Record<string, string>;
  policies: RevisionPolicies;
  databases: AdvisoryDatabase[];
  now: Date;
  pool: SyncPoolOptions;
}

/** A round of revisions as read from the store, their re-matches under way. */
interface Round {
  targets: RevisionToEvaluate[];
  /** Per target, the stored findings its re-match replaces. */
  before: StoredFindingRow[][];
  matches: Promise<MatchedRevision | null>[];
  jobs: MatchJob[];
}

/**
 * Re-matches the revisions, REVISIONS_PER_BATCH at a time, and writes each round's findings.
 * With a pool (many revisions), workers re-match a round while the main thread reads the next
 * one and writes the one before. A round's reads touch only its own revisions, which no other
 * round writes, so reading ahead reads what a sequential sync reads; the rounds are written, and
 * their changes listed, in order, as a sequential sync writes and lists them.
 */
async function rematch(tx: FleetStore, plan: RematchPlan): Promise<{ changes: FindingChange[]; reevaluated: number; notAuditedChanges: CurrentNotAudited[] }> {
  const { full, restriction, nowAgainst } = plan;
  const changes: FindingChange[] = [];
  let reevaluated = 0;
  // The revisions whose packages not audited this re-match changed, with what they are now (none: audited in full).
  const notAuditedChanges: CurrentNotAudited[] = [];
  // Each name's advisories are read from the index once for the whole fleet.
  const remembering = plan.databases.map(withRememberedLookups);
  const inThread: MatchContext = { databases: remembering, restriction, now: plan.now, sentRecords: null };
  const findings = new MatchedFindings();
  const size = syncPoolSize(plan.ids.length, plan.pool.from, plan.pool.workers);
  // The placeholder of the advisories in the texts of the changes the workers make: it names nothing from the input.
  const mark = `stowage-sync-change-${randomUUID()}`;
  const pool = size > 0 ? SyncPool.start(size, { databases: plan.databases, names: restriction.names, now: plan.now, mark }, (records) => findings.keep(records)) : null;

  const read = async (ids: number[]): Promise<Round> => {
    const targets = (await tx.revisionsToEvaluate(ids)).filter(
      // Already evaluated with these very databases (an add after the databases moved).
      (t) => full.has(t.revision.id) || !sameState(t.revision.evaluatedAgainst, nowAgainst),
    );
    // A revision re-matched on the touched names keeps its other findings: only those names' are read.
    const stored = await tx.storedFindingsOf(targets.filter((t) => full.has(t.revision.id)).map((t) => t.revision.id));
    const restricted = targets.filter((t) => !full.has(t.revision.id)).map((t) => t.revision.id);
    if (restricted.length > 0) for (const [id, list] of await tx.storedFindingsOf(restricted, plan.lockNames)) stored.set(id, list);
    const round: Round = { targets, before: [], matches: [], jobs: [] };
    for (const target of targets) {
      const isFull = full.has(target.revision.id);
      const before = (stored.get(target.revision.id) ?? []).filter((s) => isFull || touches(restriction.keys, s.ecosystem, s.name));
      const job: MatchJob = {
        revisionId: target.revision.id,
        app: target.app,
        graph: target.graph,
        policy: await plan.policies.of(target.revision),
        restricted: !isFull,
        before: { findingKeys: before.map((s) => s.findingKey), rows: before.map((s) => s.key) },
      };
      round.before.push(before);
      round.jobs.push(job);
      round.matches.push(pool === null ? Promise.resolve(null) : pool.match(job));
    }
    return round;
  };

  const write = async (round: Round): Promise<void> => {
    const rewrites: { revisionId: number; remove: StoredFindingRow[]; add: EncodedFinding[] }[] = [];
    const roundNotAudited: CurrentNotAudited[] = [];
    for (const [i, target] of round.targets.entries()) {
      const job = round.jobs[i] as MatchJob;
      // Not matched by a worker (none, or one that left it): matched here, in order, meeting any error as a sequential sync would.
      const matched = (await round.matches[i]) ?? (await matchRevision(job, inThread));
      const before = round.before[i] as StoredFindingRow[];
      let add: EncodedFinding[];
      if (matched.encoded !== undefined) {
        // From a worker: rows encoded and changes made there.
        add = matched.encoded;
        let next = 0;
        add.forEach((e, n) => {
          const row = matched.add[n] as AddedRow;
          if (!row.isNew) return;
          const compact = matched.prepared?.[next++];
          if (compact === undefined) throw new Error('fleet sync: a worker gave a new finding without its text');
          const key = findingKeyOf(e.target, e.package.ecosystem, e.package.name, e.package.version, e.advisoryId);
          changes.push(new PreparedFindingChange(target.app, key, row.text, { mark, advisory: findings.advisory(row.digest), compact }));
        });
      } else {
        const added = findings.findingsOf(matched);
        add = added.map((finding, n) => {
          const row = matched.add[n] as AddedRow;
          if (row.isNew) changes.push({ app: target.app, change: 'new', finding });
          findings.keep([[row.digest, advisoryRecord(finding.advisory).record]]);
          return encodedFinding(finding, row.text, row.digest);
        });
      }
      for (const n of matched.resolved) changes.push({ app: target.app, change: 'resolved', finding: (before[n] as StoredFindingRow).finding });
      rewrites.push({ revisionId: target.revision.id, remove: matched.remove.map((n) => before[n] as StoredFindingRow), add });
      if (job.restricted) reevaluated++;
      // A re-match on the touched names says nothing of the others: what was not audited for them stays so.
      const kept = job.restricted ? target.revision.notAudited.filter((p) => !touches(restriction.keys, p.ecosystem, p.name)) : [];
      const notAudited = sortedNotAudited([...kept, ...matched.notAudited]);
      if (JSON.stringify(notAudited) !== JSON.stringify(target.revision.notAudited)) {
        const r = target.revision;
        roundNotAudited.push({ app: target.app, appId: r.appId, revisionId: r.id, digest: r.digest, seq: r.seq, packages: notAudited });
      }
    }
    await tx.rewriteFindings(rewrites, (digest) => findings.record(digest));
    if (roundNotAudited.length > 0) await tx.setNotAudited(roundNotAudited);
    notAuditedChanges.push(...roundNotAudited);
    await tx.setEvaluatedAgainstOf(round.targets.map((t) => t.revision.id), nowAgainst);
  };

  try {
    // With workers, one round is read ahead: they match it while this thread writes the one before.
    const ahead: Round[] = [];
    for (const ids of chunks(plan.ids, REVISIONS_PER_BATCH)) {
      ahead.push(await read(ids));
      if (ahead.length > (pool === null ? 0 : 1)) await write(ahead.shift() as Round);
    }
    for (const round of ahead) await write(round);
  } finally {
    await pool?.close();
  }
  return { changes, reevaluated, notAuditedChanges };
}

/**
 * The current revisions not audited once a sync's re-match changed some (currentNotAudited's
 * answer after it, without reading it again): it re-matches current revisions only, and nothing
 * else in the sync changes which revision is current or what it could not compare.
 */
function notAuditedAfter(before: readonly CurrentNotAudited[], changed: readonly CurrentNotAudited[]): CurrentNotAudited[] {
  const byRevision = new Map(before.map((r) => [r.revisionId, r]));
  for (const c of changed) {
    if (c.packages.length === 0) byRevision.delete(c.revisionId);
    else byRevision.set(c.revisionId, c);
  }
  return [...byRevision.values()].sort((a, b) => compareCodePoints(a.app, b.app));
}

/** The packages in one order, whatever order they were matched in (kept ones, then new ones): compared as stored. */
function sortedNotAudited(packages: NotAuditedPackage[]): NotAuditedPackage[] {
  const key = (p: NotAuditedPackage): string => `${p.target}\0${p.ecosystem}\0${p.name}\0${p.version}\0${p.source}`;
  return packages.sort((a, b) => compareText(key(a), key(b)));
}

export async function syncFleet(store: FleetStore, options: SyncOptions): Promise<SyncOutcome> {
  const settings = await requireSettings(store);
  // Every database first: one that cannot be read fails the sync before anything is written.
  const databases = await openFleetDatabases(settings, { cacheRoot: options.cacheRoot, fetch: options.fetch });
  try {
    const records = new Map(databases.map((db) => [db.source, db.index.everyAdvisory()]));
    const current = new Map(databases.map((db) => [db.source, currentAdvisories(records.get(db.source) ?? [])]));
    const nowAgainst = databaseRevisions(databases);
    const at = options.now.toISOString();
    const judgeAt = options.judgeAt ?? options.now;
    const synced = await store.transaction(async (tx) => {
      const states = new Map((await tx.databases()).map((s) => [s.source, s]));
      const known = databases.every((db) => (states.get(db.source)?.revision ?? null) !== null);
      const previousAgainst = known ? Object.fromEntries(databases.map((db) => [db.source, states.get(db.source)?.revision as string])) : null;
      const advisoryChanges: AdvisoryChange[] = [];
      const changedRecords: Advisory[] = [];
      for (const db of databases) {
        if (!known) continue;
        const previous = new Map((await tx.advisoryState(db.source)).map((e) => [e.advisoryId, { digest: e.digest, names: e.names }]));
        const changes = diffAdvisories(previous, current.get(db.source) ?? new Map());
        advisoryChanges.push(...changes);
        const ids = new Set(changes.filter((c) => c.change !== 'removed').map((c) => c.id));
        changedRecords.push(...(records.get(db.source) ?? []).filter((a) => ids.has(a.id)));
      }

      // Current revisions an earlier stowage's readers made the graphs of, read again: one read
      // differently is marked evaluated against nothing known, and so evaluated in full below.
      const reread = await rereadCurrentRevisions(tx);
      // Which revisions to look at again.
      const full = new Set(await tx.currentRevisionsEvaluatedOtherwise(previousAgainst ? [previousAgainst, nowAgainst] : [nowAgainst]));
      // An ignore of an application's policy that has lapsed since it was evaluated: the audit fails
      // its findings now (and says so), whatever the databases did, so the revision is evaluated again.
      const today = judgeAt.toISOString().slice(0, 10);
      for (const row of await tx.currentIgnoredFindings()) {
        const expires = row.finding.ignored?.expires ?? null;
        if (expires !== null && expires < today) full.add(row.revisionId);
      }
      const names = namesTouched(advisoryChanges);
      const restriction = restrictionOf(names);
      const lockNames = (await tx.packageNames()).filter((n) => touches(restriction.keys, n.ecosystem, n.name));
      const incremental = new Set<number>();
      if (lockNames.length > 0) {
        const affected = await versionsAffectedNow(await tx.packagesNamed(lockNames), changedRecords, judgeAt);
        for (const id of await tx.currentRevisionsLockingVersions(affected)) incremental.add(id);
        // A finding can only change or go if an advisory of its alias group did (an added one only adds).
        const moved = advisoryChanges.filter((c) => c.change !== 'added').map((c) => c.id);
        for (const id of await tx.currentRevisionsWithFindingsOf(moved)) incremental.add(id);
      }
      // A revision not audited for a package whose advisories moved (the last one naming it
      // removed or withdrawn, say) has no finding of them: looked at again, to say what it is now.
      const notAuditedBefore = await tx.currentNotAudited();
      for (const r of notAuditedBefore) {
        if (r.packages.some((p) => touches(restriction.keys, p.ecosystem, p.name))) incremental.add(r.revisionId);
      }

      const { changes, reevaluated, notAuditedChanges } = await rematch(tx, {
        ids: [...new Set([...full, ...incremental])].sort((a, b) => a - b),
        full,
        restriction,
        lockNames,
        nowAgainst,
        policies: new RevisionPolicies(tx, settings),
        databases,
        now: judgeAt,
        pool: options.pool ?? {},
      });
      if (previousAgainst) await tx.advanceEvaluatedAgainst(previousAgainst, nowAgainst);

      const lastSync = [...states.values()].map((s) => s.evaluatedAt).filter((t): t is string => t !== null).sort()[0] ?? null;
      changes.push(...(await reopenedFindings(tx, lastSync, judgeAt)));
      sortChanges(changes);

      // The new state: advisories, database revisions.
      for (const db of databases) {
        const now = current.get(db.source) ?? new Map();
        // A store from before the aliases were kept records every advisory's once (the unchanged
        // ones' state is what it was: only their aliases are new).
        if (known && !(await tx.advisoryAliasesMissing(db.source))) {
          const mine = advisoryChanges.filter((c) => now.has(c.id) || c.change === 'removed');
          const touched = mine.filter((c) => c.change !== 'removed').map((c) => ({ advisoryId: c.id, ...stateOf(now.get(c.id)) }));
          await tx.updateAdvisoryState(db.source, touched, mine.filter((c) => c.change === 'removed').map((c) => c.id));
        } else {
          const previousIds = (await tx.advisoryState(db.source)).map((e) => e.advisoryId).filter((id) => !now.has(id));
          await tx.updateAdvisoryState(db.source, [...now].map(([advisoryId, s]) => ({ advisoryId, ...stateOf(s) })), previousIds);
        }
      }
      const moves: DatabaseMove[] = databases.map((db) => ({ source: db.source, previousRevision: states.get(db.source)?.revision ?? null, revision: db.revision }));
      await tx.putDatabases(databases.map((db, position): DatabaseState => ({
        source: db.source,
        position,
        kind: db.spec.kind,
        revision: db.revision,
        revisionDate: db.revisionDate,
        evaluatedAt: at,
      })));
      const fullyEvaluated = [...full].length;
      const outcome: SyncOutcome = {
        databases: moves,
        advisories: advisoryChanges,
        changes,
        reevaluated,
        fullyEvaluated,
        failing: await failingAfterTriage(tx, judgeAt),
        notAudited: notAuditedAfter(notAuditedBefore, notAuditedChanges).map((r) => ({ app: r.app, revision: r.digest, seq: r.seq, packages: r.packages })),
        notAuditedChanged: notAuditedChanges.length,
        reread,
      };
      // In parts of EVENT_CHANGES_LIMIT changes, each with the databases and the whole sync's summary.
      if (changes.length > 0 || notAuditedChanges.length > 0) for (const part of syncEventBodies(outcome, EVENT_CHANGES_LIMIT)) await recordEventText(tx, settings, 'sync', part, at);
      return outcome;
      // Bulk: SQLite checkpoints the WAL it wrote (hundreds of megabytes at 10,000 applications) in a thread while the output is written.
    }, { bulk: true });
    if (synced.reevaluated + synced.fullyEvaluated >= STATISTICS_AFTER) await store.refreshStatistics();
    return synced;
  } finally {
    closeDatabases(databases);
  }
}

function stateOf(s: CurrentAdvisory | undefined): { digest: string; names: [Ecosystem, string][]; aliases: string[] } {
  return { digest: s?.digest ?? '', names: s?.names ?? [], aliases: s?.aliases ?? [] };
}

/**
 * The changes by application, kind, then finding, in place. Each finding's key is made once, not
 * twice per comparison: a sync of 10,000 applications sorts 134,738 changes (about 2.3 million
 * comparisons, 0.5-1 s of the main thread's serial tail when the keys were made in them).
 */
function sortChanges(changes: FindingChange[]): void {
  const keyed = changes.map((change) => ({ change, key: change instanceof PreparedFindingChange ? change.key : findingKey(change.finding) }));
  // Stable, as the sort of the changes themselves was: equal changes keep their order.
  keyed.sort((a, b) => compare(a.change.app, b.change.app) || compare(a.change.change, b.change.change) || compare(a.key, b.key));
  keyed.forEach((k, i) => {
    changes[i] = k.change;
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
