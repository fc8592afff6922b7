import type { Advisory, SeverityLevel } from '../../core/advisory.js';
import type { Finding } from '../../core/finding.js';
import type { Ecosystem } from '../../core/package.js';
import type { NotAuditedPackage } from '../../audit/audit.js';
import type { StoredTriageDecision, TriageDecision } from '../triage.js';
import type { CampaignStore } from './campaign-store.js';
import type { TransactionOptions } from './sql.js';
import { findingRow, type FindingRowText } from './finding-rows.js';

/**
 * The fleet's store, the one interface everything above src/fleet/store/ uses: typed, async,
 * the same on SQLite and PostgreSQL. Writes happen inside `transaction`: every command's
 * changes are one transaction, so a killed command leaves the store as it was.
 */

/** `fleet init`'s settings, kept as JSON in fleet_meta. */
export interface FleetSettings {
  /** `--db` sources, in order (as `stowage audit --db` takes them). */
  databases: string[];
  webhook: { url: string; secretFile: string | null } | null;
  /** Vulnerabilities below this level are reported but do not fail; null: the audit's default. */
  failOn: SeverityLevel | null;
  /**
   * Registries campaigns may reach beside the public ones (`--allow-registry`); absent (a store
   * from before the setting) or empty: the public registries only.
   */
  allowedRegistries?: string[];
}

/** One of the fleet's advisory databases and the revision the stored findings were computed with. */
export interface DatabaseState {
  source: string;
  position: number;
  kind: string;
  revision: string | null;
  revisionDate: string | null;
  evaluatedAt: string | null;
}

/** An advisory as of the last evaluation (sync diffs the database against these). */
export interface AdvisoryStateEntry {
  advisoryId: string;
  /** Digest of the advisory's normalised record. */
  digest: string;
  names: [Ecosystem, string][];
}

/** An advisory's state as recorded, with its aliases (which `knowsAdvisory` also answers for). */
export interface AdvisoryStateUpdate extends AdvisoryStateEntry {
  aliases: string[];
}

/** A document of a revision: its name as stored (`Cargo.lock`, `crates/x/Cargo.toml`, `app.cdx.json`). */
export interface RevisionDocument {
  name: string;
  /** `sha256:` + hex of the bytes. */
  digest: string;
  size: number;
}

/** An application's source as kept: the digest of its tar document and how many files it holds. */
export interface RevisionSource {
  digest: string;
  files: number;
}

export type AppSourceKind = 'directory' | 'lockfile' | 'sbom' | 'archive';

export interface AppRecord {
  id: number;
  name: string;
  currentRevision: number | null;
  sourceKind: AppSourceKind;
  createdAt: string;
}

export type RevisionOrigin = 'add' | 'push' | 'candidate';

export interface RevisionRecord {
  id: number;
  appId: number;
  /** `sha256:` + 64 hex: the digest of the revision's documents (src/fleet/revision.ts). */
  digest: string;
  /** 1, 2, ... per application, in the order revisions were recorded. */
  seq: number;
  createdAt: string;
  origin: RevisionOrigin;
  documents: RevisionDocument[];
  /** Database source -> revision the stored findings were computed with. */
  evaluatedAgainst: Record<string, string>;
  /**
   * Packages advisories name that could not be compared with them when the revision was last
   * evaluated (a git dependency with no version): empty when every package was checked. A
   * revision with any is not audited, whatever its findings (set by sync, not ok in any listing).
   */
  notAudited: NotAuditedPackage[];
}

/** A current revision kept as not audited (RevisionRecord's notAudited). */
export interface CurrentNotAudited {
  app: string;
  appId: number;
  revisionId: number;
  digest: string;
  seq: number;
  packages: NotAuditedPackage[];
}

export interface NewRevision {
  appId: number;
  digest: string;
  origin: RevisionOrigin;
  documents: RevisionDocument[];
  /** The compressed compact graph (src/fleet/revision.ts encodes and decodes it). */
  graph: Buffer;
  evaluatedAgainst: Record<string, string>;
  at: string;
}

export interface PackageKey {
  ecosystem: Ecosystem;
  name: string;
  version: string;
}

export type HistoryAction = 'added' | 'promoted' | 'rolled-back';

export interface HistoryEntry {
  at: string;
  action: HistoryAction;
  revision: RevisionRecord;
  previousRevision: RevisionRecord | null;
  by: string;
}

export interface SnapshotRecord {
  id: number;
  name: string;
  createdAt: string;
  databases: DatabaseState[];
  /** App name -> revision id, as recorded. */
  apps: { appId: number; appName: string; revisionId: number }[];
}

/** An entry of a snapshot as recorded, whether or not its application and revision are still in the fleet. */
export interface SnapshotMember {
  appId: number;
  /** The application's name (as recorded with the snapshot when the application is gone; null for a snapshot older than that record). */
  appName: string | null;
  appPresent: boolean;
  revisionId: number;
  /** Whether the revision is still recorded, as a revision of that application. */
  revisionPresent: boolean;
}

/**
 * Which reading of an application's documents a revision's graph is: raised whenever a reader
 * learns something that changes the graph of documents read before (1: a Cargo `[patch]` path
 * crate is marked patchesCrate, and matched). A revision records the reading that made its graph
 * (0: before they were recorded, schema 24); `fleet sync` reads the current revisions made by an
 * earlier one again from their stored documents (src/fleet/reread.ts, which knows what each
 * reading added: a new one must say it there too).
 */
export const GRAPHS_READER = 1;

/** Revisions written (add) or re-evaluated (sync) from which the store's planner statistics are refreshed after the commit. */
export const STATISTICS_AFTER = 100;

export interface FleetStore {
  /** The store as users name it (a path, or the URL without its password), for messages. */
  readonly location: string;
  close(): Promise<void>;
  /** `work` in one transaction, given the store bound to it; may run again on PostgreSQL (see SqlDriver, and TransactionOptions for `bulk`). */
  transaction<T>(work: (tx: FleetStore) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Changes whenever anything committed to the store changes, from any process; null: cannot tell (see SqlDriver.generation). */
  generation(): Promise<string | null>;
  /**
   * After a large write (outside a transaction): the query planner's statistics brought up to
   * date, so the next queries are planned for the tables as they now are.
   */
  refreshStatistics(): Promise<void>;

  settings(): Promise<FleetSettings | null>;
  putSettings(settings: FleetSettings, at: string): Promise<void>;

  databases(): Promise<DatabaseState[]>;
  /** Replaces the list of databases (fleet init); states of sources still listed are kept. */
  putDatabases(states: DatabaseState[]): Promise<void>;

  advisoryState(source: string): Promise<AdvisoryStateEntry[]>;
  /** Upserts `entries` (with their aliases) and deletes `removed` ids of one database's advisory state. */
  updateAdvisoryState(source: string, entries: AdvisoryStateUpdate[], removed: string[]): Promise<void>;
  /** Whether the database has an advisory state but no aliases recorded (a store migrated from before ADVISORY_ALIASES_VERSION). */
  advisoryAliasesMissing(source: string): Promise<boolean>;

  /** Stores compressed documents, once per digest. */
  putDocuments(documents: { digest: string; size: number; content: Buffer }[]): Promise<void>;
  /** The compressed content of a document, or null. */
  document(digest: string): Promise<Buffer | null>;

  /** Keeps an application's source (a tar document, src/fleet/source.ts) with a revision. */
  setRevisionSource(revisionId: number, source: RevisionSource): Promise<void>;
  /** The source kept with a revision; null when it was added from a lockfile, SBOM or archive alone. */
  revisionSource(revisionId: number): Promise<RevisionSource | null>;
  /** The sources kept with these revisions, by revision id (those without one are absent; one query for many: a campaign's start). */
  revisionSources(revisionIds: readonly number[]): Promise<Map<number, RevisionSource>>;

  /** Campaigns, their applications, steps, artifacts and the SQLite job queue. */
  readonly campaigns: CampaignStore;

  app(name: string): Promise<AppRecord | null>;
  /** The applications of these names that exist, by name (one query for many: a bulk add). */
  appsNamed(names: readonly string[]): Promise<Map<string, AppRecord>>;
  appById(id: number): Promise<AppRecord | null>;
  apps(): Promise<AppRecord[]>;
  createApp(name: string, sourceKind: AppSourceKind, at: string): Promise<AppRecord>;
  setCurrentRevision(appId: number, revisionId: number): Promise<void>;

  /** The revision of this application with this digest, if recorded. */
  revisionByDigest(appId: number, digest: string): Promise<RevisionRecord | null>;
  /** Revisions of an application whose digest's hex starts with `hexPrefix`. */
  revisionsByPrefix(appId: number, hexPrefix: string): Promise<RevisionRecord[]>;
  revision(id: number): Promise<RevisionRecord | null>;
  /** The revisions of these ids that exist, by id. */
  revisionsById(ids: readonly number[]): Promise<Map<number, RevisionRecord>>;
  revisions(appId: number): Promise<RevisionRecord[]>;
  /** The compressed graph of a revision. */
  revisionGraph(id: number): Promise<Buffer>;
  addRevision(revision: NewRevision): Promise<RevisionRecord>;
  setEvaluatedAgainst(revisionId: number, against: Record<string, string>): Promise<void>;
  /**
   * Marks every revision evaluated against nothing known, so that the next sync evaluates each
   * current one in full, and a promotion or rollback the one it makes current (the fleet's policy
   * changed under them); returns how many applications have a current revision.
   */
  forgetEvaluations(): Promise<number>;
  /** The current revisions whose graph an earlier reading than `reader` made (GRAPHS_READER), in id order, with that reading. */
  currentRevisionsReadBefore(reader: number): Promise<{ id: number; reader: number }[]>;
  /**
   * A revision's graph read again from its documents by the reading `reader`: with `graph` (and
   * its packages) when it differs from the stored one, which is then replaced and the revision
   * marked as evaluated against no known database state (the next evaluation is a full one).
   */
  setRevisionReading(revisionId: number, reader: number, reread?: { graph: Buffer; packages: PackageKey[] }): Promise<void>;

  /** Indexes the packages a revision locks: (ecosystem, name) -> revisions, for sync and affected. */
  indexPackages(revisionId: number, packages: PackageKey[]): Promise<void>;
  revisionPackages(revisionId: number): Promise<PackageKey[]>;
  /** Ids of current revisions that lock a package of one of these names. */
  currentRevisionsLocking(names: { ecosystem: Ecosystem; name: string }[]): Promise<number[]>;

  /**
   * Replaces a revision's findings: all of them, or (`onlyNames`) those about packages of these
   * names, so an evaluation restricted to them replaces exactly what it recomputed.
   */
  replaceFindings(revisionId: number, findings: Finding[], onlyNames?: { ecosystem: Ecosystem; name: string }[]): Promise<void>;
  /**
   * replaceFindings (all of a revision's findings) with the rows encoded ahead, where the
   * findings were evaluated (a fleet add's workers, add-findings.ts); `records` holds the record
   * of every advisory digest the rows cite that this store may not hold yet.
   */
  replaceEncodedFindings(revisionId: number, rows: readonly EncodedFinding[], records: ReadonlyMap<string, string>): Promise<void>;
  findings(revisionId: number): Promise<Finding[]>;

  appendHistory(entry: { appId: number; at: string; action: HistoryAction; revisionId: number; previousRevisionId: number | null; by: string }): Promise<void>;
  history(appId: number): Promise<HistoryEntry[]>;

  createSnapshot(name: string, at: string, databases: DatabaseState[]): Promise<SnapshotRecord>;
  snapshot(name: string): Promise<SnapshotRecord | null>;
  /** Every entry of a snapshot, those whose application or revision is gone included (snapshot() lists only applications still there). */
  snapshotMembers(snapshotId: number): Promise<SnapshotMember[]>;

  // Queries, triage and events (fleet-eval).

  /** Findings of current revisions whose advisory has `id` as its id or one of its aliases, by application name. */
  currentFindingsWithId(id: string): Promise<CurrentFinding[]>;
  /** Current revisions locking a package of this name (crates: compared as crates.io does), with the versions, by application name. */
  currentRevisionsWithPackage(name: string): Promise<(CurrentRevisionRef & { package: PackageKey })[]>;
  /** Whether a database's advisory state (as of the last sync) holds this advisory id or alias (any letter case). */
  knowsAdvisory(id: string): Promise<boolean>;
  /** The ecosystems whose packages a database advisory with this id or alias (any letter case) names, as of the last sync. */
  advisoryEcosystems(id: string): Promise<Ecosystem[]>;
  /** Findings of current revisions about a package of this name (compared as above). */
  currentFindingsOnPackage(name: string): Promise<CurrentFinding[]>;
  /** Findings of current revisions their policy ignores (an ignore of the application's stowage.toml), by application name. */
  currentIgnoredFindings(): Promise<CurrentFinding[]>;

  /** Every (ecosystem, name) any revision locks. */
  packageNames(): Promise<{ ecosystem: Ecosystem; name: string }[]>;
  /** Every version of these packages any revision locks. */
  packagesNamed(names: { ecosystem: Ecosystem; name: string }[]): Promise<PackageKey[]>;
  /** Ids of current revisions that lock one of these exact packages (name and version). */
  currentRevisionsLockingVersions(packages: PackageKey[]): Promise<number[]>;
  /** Ids of current revisions with a stored finding whose alias group holds one of these advisory ids (as spelt). */
  currentRevisionsWithFindingsOf(advisoryIds: readonly string[]): Promise<number[]>;
  /** Ids of current revisions whose findings were computed with none of these database states. */
  currentRevisionsEvaluatedOtherwise(states: Record<string, string>[]): Promise<number[]>;
  /** Current revisions evaluated with `from` are now known to hold for `to` (sync found nothing for them to change). */
  advanceEvaluatedAgainst(from: Record<string, string>, to: Record<string, string>): Promise<void>;
  /** Findings of current revisions that fail their policy (before triage). */
  currentFailingFindings(): Promise<CurrentFinding[]>;

  /** Appends a decision; earlier ones with the same scope, alias group and package are marked superseded. */
  addTriage(decision: TriageDecision): Promise<StoredTriageDecision>;
  /**
   * The decisions in force (not superseded), expired ones included, oldest first. With `appIds`:
   * only those that can govern these applications' findings (the fleet's, and their own).
   */
  triageDecisions(appIds?: readonly number[]): Promise<StoredTriageDecision[]>;

  /** Records an event and queues it for each delivery target (webhook URL). */
  addEvent(event: { type: string; body: string | Uint8Array; at: string }, targets: string[]): Promise<number>;
  /**
   * Undelivered events queued for `target` whose next attempt is due at `now`, oldest first, at
   * most `limit`, and, when `maxStoredBytes` is given, only as many as their bodies stored within
   * it (always the first). Those queued for another target (a webhook since changed) are not.
   */
  dueDeliveries(target: string, now: string, limit: number, maxStoredBytes?: number): Promise<OutboxDelivery[]>;
  /**
   * Takes a due delivery for this process until `leaseUntil` (its next attempt time is moved
   * there), so two processes never post the same event at once; false when another took it.
   */
  claimDelivery(d: OutboxDelivery, leaseUntil: string): Promise<boolean>;
  /**
   * Marks a delivery done at `at` and, in the same transaction, deletes the outbox rows of
   * deliveries done before `pruneBefore` (never an undelivered one, never an event: GET /events
   * resumes from the events table).
   */
  deliveryDone(d: OutboxDelivery, at: string, pruneBefore: string): Promise<void>;
  deliveryFailed(d: OutboxDelivery, nextAttemptAt: string, error: string): Promise<void>;
  /**
   * The webhook changed (`fleet init --webhook`): every undelivered event queued for another
   * target is queued for `to` instead, due at `at` with its attempts reset (the new receiver has
   * refused nothing yet), or, with no webhook any more (`to` null), dropped. How many.
   */
  redirectDeliveries(to: string | null, at: string): Promise<number>;
  /** Every delivery of every event, for `fleet` diagnostics and tests. */
  deliveries(): Promise<(OutboxDelivery & { deliveredAt: string | null; lastError: string | null })[]>;

  // Sync over thousands of revisions: a few statements per batch, not several per revision (fleet-speed).

  /** These revisions, each with its application's name and its compressed graph, in id order. */
  revisionsToEvaluate(ids: readonly number[]): Promise<RevisionToEvaluate[]>;
  /**
   * The stored findings of these revisions, each with its stored key (revisions without
   * findings are absent); with `onlyNames`, only the findings on packages of those names.
   */
  storedFindingsOf(ids: readonly number[], onlyNames?: readonly { ecosystem: Ecosystem; name: string }[]): Promise<Map<number, StoredFindingRow[]>>;
  /**
   * Per revision, deletes the stored findings `remove` (as storedFindingsOf gave them) and inserts `add` (encodedFinding
   * of each new finding); `recordOf` gives the record of an advisory digest they cite that the store may not hold yet.
   */
  rewriteFindings(changes: readonly { revisionId: number; remove: readonly StoredFindingRow[]; add: readonly EncodedFinding[] }[], recordOf: (digest: string) => string | undefined): Promise<void>;
  setEvaluatedAgainstOf(revisionIds: readonly number[], against: Record<string, string>): Promise<void>;
  /** Sets the not-audited packages of these revisions (empty: audited). */
  setNotAudited(changes: readonly { revisionId: number; packages: readonly NotAuditedPackage[] }[]): Promise<void>;
  /** The current revisions kept as not audited, in code-point order of their applications' names. */
  currentNotAudited(): Promise<CurrentNotAudited[]>;
  /** How many findings of current revisions fail their policy (before triage). */
  currentFailingCount(): Promise<number>;

  // The fleet server (server-api): API tokens, lists a page at a time, the event feed.

  /** Stores a token's hash; null when a live (unrevoked) token already has this name. */
  addToken(token: { name: string; hash: string; readOnly: boolean; at: string }): Promise<TokenRecord | null>;
  /** The live token with this hash, or null (unknown or revoked). */
  tokenByHash(hash: string): Promise<TokenRecord | null>;
  /** Revokes the live token of this name; false when there is none. */
  revokeToken(name: string, at: string): Promise<boolean>;
  /** Every token, revoked ones included, oldest first. */
  tokens(): Promise<TokenRecord[]>;
  /** Stores a dashboard session (the hash of its id, never the id). */
  addSession(session: { hash: string; tokenId: number; at: string; expiresAt: string }): Promise<void>;
  /** The session with this id hash, unexpired at `now` and with its token live, or null. */
  sessionByHash(hash: string, now: string): Promise<SessionRecord | null>;
  /** Ends a session (sign-out); false when there was none. */
  deleteSession(hash: string): Promise<boolean>;
  /** Deletes the sessions expired at `now`; how many. */
  deleteExpiredSessions(now: string): Promise<number>;
  /** A page of the applications that have a current revision, in code-point order of name, filtered in the database. */
  appsPage(filter: AppsFilter, page: PageRequest): Promise<Page<{ app: AppRecord; revision: RevisionRecord }>>;
  /**
   * A page of the applications appsPage lists (same filter, same order) as summaries: counts from
   * revision_counts (before triage), no finding read. `page.after`: the page after this name
   * (keyset; `before` counts the applications ahead of the page either way).
   */
  appSummariesPage(filter: AppsFilter, page: PageRequest): Promise<Page<AppSummaryRow> & { before: number }>;
  /** The stored findings of these revisions whose alias group holds one of these ids (any letter case), by revision id. */
  findingsMentioning(revisionIds: readonly number[], ids: readonly string[]): Promise<Map<number, Finding[]>>;
  /** The findings of each of these revisions (one query). */
  findingsOfRevisions(revisionIds: readonly number[]): Promise<Map<number, Finding[]>>;
  /**
   * What a listing shows of each finding of these revisions (FindingLine: `fleet status`'s text),
   * by revision id: read from the findings' columns and packages, each advisory once, without
   * reading or parsing the findings' rows.
   */
  findingLinesOfRevisions(revisionIds: readonly number[]): Promise<Map<number, FindingLine[]>>;
  /**
   * What a diff compares of each of these revisions (`fleet diff --snapshots`, a few hundred
   * revisions a query): the ids of the packages it locks, ascending, and each finding's key
   * (package id and advisory id), without reading any finding's row.
   */
  revisionFootprints(revisionIds: readonly number[]): Promise<Map<number, RevisionFootprint>>;
  /** The packages of these ids (as revisionFootprints names them). */
  packagesById(ids: readonly number[]): Promise<Map<number, PackageKey>>;
  /**
   * The finding of each key, in the keys' order (each advisory read once): where the revision
   * holds several with the key (one per lockfile), the last in the store's order (revision,
   * lockfile, package, alias group).
   */
  findingsWithKeys(keys: readonly FindingKey[]): Promise<Finding[]>;
  /** currentFindingsWithId, a page of applications at a time (total: how many applications in all). */
  currentFindingsWithIdPage(id: string, page: PageRequest): Promise<Page<CurrentFinding>>;
  /**
   * currentRevisionsWithPackage (in `ecosystem` and at `version` only when given, compared as affected.ts sameRelease) and currentFindingsOnPackage, a page
   * of applications at a time (total: how many applications in all).
   */
  packageUsePage(
    query: { ecosystem: Ecosystem | null; name: string; version: string | null },
    page: PageRequest,
  ): Promise<Page<CurrentRevisionRef & { package: PackageKey }> & { findings: CurrentFinding[] }>;
  /** An application's history, oldest first, a page at a time. */
  historyPage(appId: number, page: PageRequest): Promise<Page<HistoryEntry>>;
  /**
   * Recorded events with an id above `afterId`, oldest first, at most `limit`, and, when
   * `maxStoredBytes` is given, only as many as the bodies stored within it (always the first):
   * a sync's or a first add's events at 10,000 applications are tens of megabytes of text each.
   */
  eventsAfter(afterId: number, limit: number, maxStoredBytes?: number): Promise<FleetEventRecord[]>;
  /** The newest event's id (0 when none). */
  lastEventId(): Promise<number>;

  // Pages of the fleet (the dashboard): paginated and counted in the database, never loaded whole.

  /** One page of current applications with their open findings counted by level (before triage), and how many match in all. */
  fleetPage(query: FleetPageQuery): Promise<{ total: number; rows: FleetPageRow[] }>;
  /** Open findings (not ignored by policy; before triage) of every current revision, counted by level. */
  currentLevelCounts(): Promise<LevelCounts>;
  /**
   * Open findings (before triage) held by the current revisions of the fleet (or of one
   * application) over its history, oldest first: at each instant of the history the sum of each
   * application's count as of its latest entry. Past `maxPoints` instants, the last point of each
   * of `maxPoints` equal spans of time. Computed in the store: never the whole history in memory.
   */
  findingsOverTime(appId: number | null, maxPoints: number): Promise<TimelinePoint[]>;
}

/** A revision as a diff compares it (FleetStore.revisionFootprints). */
export interface RevisionFootprint {
  /** The ids of the packages it locks, ascending. */
  packageIds: number[];
  /** Its findings' keys, in the store's order (revision, lockfile, package, alias group). */
  findings: FindingKey[];
}

/** What makes a finding the same in two revisions: its package at its version, and its advisory's id. */
export interface FindingKey {
  revisionId: number;
  packageId: number;
  advisoryId: string;
}

export interface RevisionToEvaluate {
  revision: RevisionRecord;
  app: string;
  graph: Buffer;
}

/**
 * A finding as listings show it (`fleet status`: label, advisory, package, kind) and triage
 * decides on it (advisory ids, package): without its paths, fixes, or the ignore's details.
 */
export interface FindingLine {
  target: string;
  /** The advisory record the finding cites (one object per record, shared). */
  advisory: Advisory;
  package: PackageKey;
  /** Ignored (by the policy, or once triage is applied, by a settled decision). */
  ignored: boolean;
  failsPolicy: boolean;
}

/** A finding as the store keeps it (storedFinding makes one): sync compares keys to rewrite only what changed. */
export interface StoredFinding {
  finding: Finding;
  /**
   * Its row as stored: the finding's JSON with its advisory's digest in the advisory's place
   * (finding-rows.ts). An evaluation giving the same key has nothing to write; a finding whose
   * advisory's text changed has another key.
   */
  key: FindingRowText;
  /** The digest of its advisory's record, the row's reference to it. */
  advisoryDigest: string;
}

/**
 * A stored finding as a sync reads it (storedFindingsOf): its key's columns and its row's text,
 * the finding parsed from the text only when asked for. A sync compares the keys and texts of
 * every stored finding of the revisions it re-matches, but needs the finding itself only for
 * those it resolves: at 10,000 applications, parsing each row's 1 KB of JSON on the main thread
 * (the sync's limit) cost about 0.7 s.
 */
export interface StoredFindingRow {
  /** findingKey of the finding. */
  findingKey: string;
  ecosystem: Ecosystem;
  name: string;
  /** The row's key in findings: lockfile, package id, alias group (with its revision's id). */
  target: string;
  packageId: number;
  groupKey: string;
  /** Its row's text, as StoredFinding's key. */
  key: FindingRowText;
  /** The finding, parsed from `key` the first time it is asked for, its advisory in place. */
  readonly finding: Finding;
}

/** A finding encoded as the store's row and columns (add-findings.ts encodeFindings), without the finding. */
export interface EncodedFinding {
  target: string;
  package: PackageKey;
  /** aliasGroupKey of the advisory's id and aliases. */
  groupKey: string;
  advisoryId: string;
  /** The row's text, as StoredFinding's key. */
  key: FindingRowText;
  advisoryDigest: string;
  failsPolicy: boolean;
  level: FindingLevel;
  /** Not ignored by the policy. */
  open: boolean;
}

/** A finding's row and columns, its row text and advisory digest as findingRow made them. */
export function encodedFinding(f: Finding, key: FindingRowText, advisoryDigest: string): EncodedFinding {
  return {
    target: f.target,
    package: { ecosystem: f.package.ecosystem, name: f.package.name, version: f.package.version },
    groupKey: aliasGroupKey([f.advisory.id, ...f.advisory.aliases]),
    advisoryId: f.advisory.id,
    key,
    advisoryDigest,
    failsPolicy: f.failsPolicy,
    level: findingLevel(f),
    open: f.ignored === null,
  };
}

export function storedFinding(finding: Finding): StoredFinding {
  const row = findingRow(finding);
  return { finding, key: row.text, advisoryDigest: row.digest };
}

/** An API token as stored: its SHA-256, never the token. */
export interface TokenRecord {
  id: number;
  name: string;
  /** `sha256:` + hex of the token. */
  hash: string;
  readOnly: boolean;
  createdAt: string;
  revokedAt: string | null;
}

/** A dashboard session as stored, with the (live) token it was opened with. */
export interface SessionRecord {
  /** `sha256:` + hex of the session id. */
  hash: string;
  token: TokenRecord;
  createdAt: string;
  expiresAt: string;
}

/** A finding's state as evaluated (the policy's ignores; triage decisions are applied later). */
export type FindingStateFilter = 'failing' | 'warning' | 'ignored';

/** Which applications a list holds: those with a current finding matching every field given (state failing: or whose current revision is not audited). */
export interface AppsFilter {
  state?: FindingStateFilter;
  /** At least this severity. */
  severity?: SeverityLevel;
  /** Applications whose name contains this text (any letter case). */
  search?: string;
}

export interface PageRequest {
  limit: number;
  offset: number;
  /** Keyset paging, where a list supports it: the items after this key (an application name), `offset` then unused. */
  after?: string | null;
}

/** One page of a list, and how many items the whole list has. */
export interface Page<T> {
  total: number;
  items: T[];
}

export interface FleetEventRecord {
  id: number;
  type: string;
  /** The event's JSON body, as webhooks get it. */
  body: string;
  at: string;
}


/** A finding's level: its advisory's severity (`unscored` without one); the informational kinds are `informational`. */
export type FindingLevel = SeverityLevel | 'unscored' | 'informational';
export const FINDING_LEVELS: readonly FindingLevel[] = ['critical', 'high', 'medium', 'low', 'none', 'unscored', 'informational'];

export function findingLevel(f: Finding): FindingLevel {
  return f.advisory.kind !== 'vulnerability' ? 'informational' : (f.advisory.severity?.level ?? 'unscored');
}

export type LevelCounts = Record<FindingLevel, number>;

export const FLEET_PAGE_SORTS = ['name', 'findings', 'revised'] as const;
export type FleetPageSort = (typeof FLEET_PAGE_SORTS)[number];

export interface FleetPageQuery {
  /** An application name (any part, any case), and a package name it locks or (searchIsAdvisoryId) an advisory id (any alias) it has a finding for. */
  search: string | null;
  searchIsAdvisoryId: boolean;
  /** Only applications with an open current finding at this level (before triage). */
  level: FindingLevel | null;
  /** name (code-point order), findings (most severe first), revised (newest revision first); `descending` reverses. */
  sort: FleetPageSort;
  descending: boolean;
  offset: number;
  limit: number;
}

/** A row of the fleet page: an application in the fleet's summary list (before triage). */
export type FleetPageRow = AppSummaryRow;

/** An application in the fleet's summary list: its current revision, when recorded, and its counts (before triage). */
export interface AppSummaryRow extends CurrentRevisionRef {
  revisedAt: string;
  /** Open findings (not ignored by the policy) by level. */
  open: LevelCounts;
  /** Findings that fail the policy. */
  failing: number;
  /** The current revision could not be audited in full (RevisionRecord's notAudited is not empty). */
  notAudited: boolean;
}

/** A count at a time (a point of a chart). */
export interface TimelinePoint {
  /** ISO-8601. */
  at: string;
  value: number;
}

/** An application's current revision, as queries across the fleet return it. */
export interface CurrentRevisionRef {
  app: string;
  appId: number;
  revisionId: number;
  /** `sha256:` + hex. */
  revision: string;
  seq: number;
}

export interface CurrentFinding extends CurrentRevisionRef {
  finding: Finding;
}

/** One event to post to one target. */
export interface OutboxDelivery {
  eventId: number;
  target: string;
  type: string;
  body: string;
  /** Attempts made so far. */
  attempts: number;
  nextAttemptAt: string;
}

/** The key findings are grouped on: the alias group (every id of the advisory), sorted. */
export function aliasGroupKey(ids: readonly string[]): string {
  return [...new Set(ids)].sort().join(' ');
}
