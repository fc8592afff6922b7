import { isDeepStrictEqual } from 'node:util';
import { boundedChunks, chunks } from '../../core/chunks.js';
import { findingKeyOf, type Finding } from '../../core/finding.js';
import type { Ecosystem } from '../../core/package.js';
import { SEVERITY_LEVELS, type Advisory } from '../../core/advisory.js';
import { SQLITE_UPPER_TEXT, type Dialect, type SqlDriver, type SqlExecutor, type SqlValue, type TransactionOptions } from './sql.js';
import { RECOUNT_COLUMNS, RECOUNT_REVISION, recountRevisions, sqliteAnalysed } from './migrations.js';
import { compressedEventBody, eventBody, type StoredEventBody } from './event-bodies.js';
import {
  type AdvisoryStateEntry,
  type AdvisoryStateUpdate,
  type AppRecord,
  type AppSourceKind,
  type DatabaseState,
  type FleetPageQuery,
  type FleetPageRow,
  type FleetSettings,
  type FleetStore,
  type LevelCounts,
  type TimelinePoint,
  FINDING_LEVELS,
  encodedFinding,
  type HistoryAction,
  type HistoryEntry,
  type NewRevision,
  type CurrentFinding,
  type CurrentRevisionRef,
  type OutboxDelivery,
  type PackageKey,
  type RevisionRecord,
  type RevisionSource,
  type SnapshotMember,
  type SnapshotRecord,
  type AppsFilter,
  type AppSummaryRow,
  type SessionRecord,
  type FleetEventRecord,
  type Page,
  type PageRequest,
  type TokenRecord,
  type RevisionToEvaluate,
  type StoredFinding,
  type StoredFindingRow,
  type EncodedFinding,
  type FindingLine,
  type RevisionFootprint,
  type FindingKey,
  storedFinding,
  type CurrentNotAudited,
  GRAPHS_READER,
} from './store.js';
import type { NotAuditedPackage } from '../../audit/audit.js';
import { compareCodePoints } from '../../core/compare-text.js';
import type { CampaignStore } from './campaign-store.js';
import { SqlCampaignStore } from './sql-campaign-store.js';
import { AdvisoryRecords, findingRowDigest, parseFindingRow, type FindingRowText, type ParsedFindingRow } from './finding-rows.js';
import type { StoredTriageDecision, TriageDecision } from '../triage.js';

/** Test hook: pause inside every transaction before it commits, so a test can kill the process there. */
const PAUSE_ENV = 'STOWAGE_TEST_PAUSE_BEFORE_COMMIT';

interface RevisionRow {
  id: number;
  app_id: number;
  digest: string;
  seq: number;
  created_at: string;
  origin: RevisionRecord['origin'];
  documents: string;
  evaluated_against: string;
  not_audited: string | null;
}

interface AppRow {
  id: number;
  name: string;
  current_revision: number | null;
  source_kind: AppSourceKind;
  created_at: string;
}

const REVISION_COLUMNS = 'id, app_id, digest, seq, created_at, origin, documents, evaluated_against, not_audited';

function revisionOf(row: RevisionRow): RevisionRecord {
  return {
    id: Number(row.id),
    appId: Number(row.app_id),
    digest: row.digest,
    seq: Number(row.seq),
    createdAt: row.created_at,
    origin: row.origin,
    documents: JSON.parse(row.documents) as RevisionRecord['documents'],
    evaluatedAgainst: JSON.parse(row.evaluated_against) as Record<string, string>,
    notAudited: row.not_audited === null ? [] : (JSON.parse(row.not_audited) as NotAuditedPackage[]),
  };
}

function appOf(row: AppRow): AppRecord {
  return {
    id: Number(row.id),
    name: row.name,
    currentRevision: row.current_revision === null ? null : Number(row.current_revision),
    sourceKind: row.source_kind,
    createdAt: row.created_at,
  };
}

/** Rows per multi-row INSERT: well under SQLite's 32,766 and PostgreSQL's 65,535 parameters. */
const ROWS_PER_INSERT = 500;

/** Packages a store remembers by id (packageKeys) before it starts over. */
const PACKAGES_REMEMBERED = 100_000;

/** Bytes of documents one INSERT carries at most (more than one document only when they are small). */
const DOCUMENT_BATCH_BYTES = 4 * 1024 * 1024;

/** Package ids a findings query names at most, with a batch of revisions, under both dialects' parameter limits. */
const MAX_PACKAGE_FILTER = 10_000;

const placeholderText = new Map<string, string>();

/** `(?, ?), (?, ?)...` for a multi-row statement, made once per shape. */
function placeholders(rows: number, columns: number): string {
  const key = `${rows}x${columns}`;
  let text = placeholderText.get(key);
  if (text === undefined) {
    text = Array.from({ length: rows }, () => `(${Array.from({ length: columns }, () => '?').join(', ')})`).join(', ');
    placeholderText.set(key, text);
  }
  return text;
}

/** The PostgreSQL advisory lock that orders events' ids as their transactions commit (addEvent); migrations take 7274100. */
const EVENT_ORDER_LOCK = 7274101;

/** FleetStore over an SqlDriver: the only place the fleet's SQL lives, the same text for both dialects. */
export class SqlFleetStore implements FleetStore {
  /**
   * Package ids this transaction has seen: a bulk add meets the same packages in most
   * applications. Per transaction, so ids of a rolled-back attempt are never reused.
   */
  private readonly knownPackages = new PackageIdMap();
  /** Outside transactions: packages read by id (packageKeys). */
  private readonly packagesRead = new Map<number, PackageKey>();
  /** Alias groups whose ids this transaction has written to finding_aliases. */
  private readonly knownGroups = new Set<string>();
  /** Digests of the advisory records this transaction has written to advisories. */
  private readonly knownAdvisories = new Set<string>();
  /**
   * Inside a transaction: the next seq of applications this transaction created or added a
   * revision to (writers are serialised: no one else adds one meanwhile).
   */
  private readonly nextSeq = new Map<number, number>();
  /** Inside a transaction: revisions it added that hold no findings yet (nothing to delete before writing theirs). */
  private readonly freshRevisions = new Set<number>();
  /** SQLite, inside a transaction: the indexes a bulk write sets aside until its commit. */
  private readonly bulkIndexes: BulkIndexes | null;
  readonly campaigns: CampaignStore;

  private constructor(
    private readonly sql: SqlExecutor,
    private readonly driver: SqlDriver | null,
    readonly location: string,
    /** Shared by the store and its transactions: a digest names one record forever. */
    private readonly advisories: AdvisoryRecords,
  ) {
    this.campaigns = new SqlCampaignStore(sql);
    this.bulkIndexes = driver === null && sql.dialect === 'sqlite' ? new BulkIndexes(sql) : null;
  }

  /**
   * How a statement that writes many rows begins: SQLite's `INSERT OR FAIL`, PostgreSQL's
   * `INSERT`. SQLite's default (ABORT) undoes a failing statement alone, so inside a transaction
   * it first copies every page the statement changes to a statement journal, a temporary file past
   * 64 KiB: a bulk add of 2,000 applications wrote 840 MB there (405,000 writes), mostly the
   * revision_packages and findings pages its inserts split. FAIL keeps none; a failed statement
   * keeps the rows it wrote before the failure, and nothing goes on after one: its error ends the
   * transaction, rolled back whole (as PostgreSQL must: there a failed statement aborts it).
   * ON CONFLICT clauses apply as before (they decide uniqueness conflicts; FAIL, the others).
   */
  private get insertMany(): string {
    return this.sql.dialect === 'sqlite' ? 'INSERT OR FAIL' : 'INSERT';
  }

  /**
   * How a statement that updates many rows begins: SQLite's `UPDATE OR FAIL`, PostgreSQL's
   * `UPDATE`, for the reason insertMany gives: a sync of 2,000 applications wrote 2.0 MB of
   * statement journal for setEvaluatedAgainstOf's updates (every revision's row), the most of its
   * statements.
   */
  private get updateMany(): string {
    return this.sql.dialect === 'sqlite' ? 'UPDATE OR FAIL' : 'UPDATE';
  }

  static over(driver: SqlDriver, location: string): SqlFleetStore {
    return new SqlFleetStore(driver, driver, location, new AdvisoryRecords());
  }

  async close(): Promise<void> {
    await this.driver?.close();
  }

  /**
   * PostgreSQL plans from statistics autovacuum refreshes only after a while: straight after
   * `fleet add` of 10,000 applications it believed findings held 1,018,400 rows (360,374) and
   * answered an advisory's affected list with a parallel sequential scan, 182 ms instead of 11 ms.
   * SQLite: PRAGMA optimize=0x10012 analyses the tables whose statistics are missing or stale
   * (0x10000: every table; 0x2: ANALYZE) from a sample of each index (0x10: SQLite's temporary
   * analysis limit, about 2,000 rows an index). Without 0x10 it read every row of every index: at
   * the end of a 10,000-application add 1.2-1.7 s of CPU (3-8 s wall) over 9 million
   * revision_packages rows, growing with the fleet, while the sample costs 0.1 s; and the
   * sampled statistics plan an advisory's affected list through findings_group (11 ms) where the
   * exact ones scanned every application (34 ms).
   */
  async refreshStatistics(): Promise<void> {
    if (this.sql.dialect === 'postgres') {
      await this.sql.run(`ANALYZE apps, revisions, findings, finding_aliases, packages, revision_packages, revision_counts, triage`);
    } else {
      await this.sql.run(`PRAGMA optimize=0x10012`);
    }
  }

  /** Inside a transaction: the indexes set aside so far, to be built again before the commit (for tests). */
  indexesSetAside(): string[] {
    return this.bulkIndexes?.setAside() ?? [];
  }

  /** Inside a transaction: null (its own uncommitted writes are not a generation). */
  generation(): Promise<string | null> {
    return this.driver === null ? Promise.resolve(null) : this.driver.generation();
  }

  transaction<T>(work: (tx: FleetStore) => Promise<T>, options?: TransactionOptions): Promise<T> {
    if (this.driver === null) return work(this);
    return this.driver.transaction(async (tx) => {
      const store = new SqlFleetStore(tx, null, this.location, this.advisories);
      const result = await work(store);
      await store.bulkIndexes?.restore();
      if (process.env[PAUSE_ENV] === '1') {
        process.stderr.write('stowage: paused before commit (test hook)\n');
        await new Promise(() => setInterval(() => undefined, 1000));
      }
      return result;
    }, options);
  }

  async settings(): Promise<FleetSettings | null> {
    const rows = await this.sql.query<{ value: string }>(`SELECT value FROM fleet_meta WHERE key = 'settings'`);
    return rows[0] ? (JSON.parse(rows[0].value) as FleetSettings) : null;
  }

  async putSettings(settings: FleetSettings, at: string): Promise<void> {
    await this.putMeta('settings', JSON.stringify(settings));
    const created = await this.sql.query(`SELECT 1 FROM fleet_meta WHERE key = 'created_at'`);
    if (created.length === 0) await this.putMeta('created_at', at);
  }

  private async putMeta(key: string, value: string): Promise<void> {
    await this.sql.run(`INSERT INTO fleet_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [key, value]);
  }

  async databases(): Promise<DatabaseState[]> {
    const rows = await this.sql.query<{ source: string; position: number; kind: string; revision: string | null; revision_date: string | null; evaluated_at: string | null }>(
      `SELECT source, position, kind, revision, revision_date, evaluated_at FROM databases ORDER BY position`,
    );
    return rows.map((r) => ({ source: r.source, position: Number(r.position), kind: r.kind, revision: r.revision, revisionDate: r.revision_date, evaluatedAt: r.evaluated_at }));
  }

  async putDatabases(states: DatabaseState[]): Promise<void> {
    const keep = states.map((s) => s.source);
    for (const old of await this.databases()) {
      if (!keep.includes(old.source)) {
        await this.sql.run(`DELETE FROM databases WHERE source = ?`, [old.source]);
        await this.sql.run(`DELETE FROM advisory_state WHERE source = ?`, [old.source]);
        await this.sql.run(`DELETE FROM advisory_aliases WHERE source = ?`, [old.source]);
      }
    }
    for (const s of states) {
      await this.sql.run(
        `INSERT INTO databases (source, position, kind, revision, revision_date, evaluated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (source) DO UPDATE SET position = excluded.position, kind = excluded.kind, revision = excluded.revision,
           revision_date = excluded.revision_date, evaluated_at = excluded.evaluated_at`,
        [s.source, s.position, s.kind, s.revision, s.revisionDate, s.evaluatedAt],
      );
    }
  }

  async advisoryState(source: string): Promise<AdvisoryStateEntry[]> {
    const rows = await this.sql.query<{ advisory_id: string; digest: string; names: string }>(
      `SELECT advisory_id, digest, names FROM advisory_state WHERE source = ? ORDER BY advisory_id`,
      [source],
    );
    return rows.map((r) => ({ advisoryId: r.advisory_id, digest: r.digest, names: JSON.parse(r.names) as [Ecosystem, string][] }));
  }

  async updateAdvisoryState(source: string, entries: AdvisoryStateUpdate[], removed: string[]): Promise<void> {
    for (const id of removed) {
      await this.sql.run(`DELETE FROM advisory_state WHERE source = ? AND advisory_id = ?`, [source, id]);
      await this.sql.run(`DELETE FROM advisory_aliases WHERE source = ? AND advisory_id = ?`, [source, id]);
    }
    for (const batch of chunks(entries, ROWS_PER_INSERT)) {
      await this.sql.run(
        `${this.insertMany} INTO advisory_state (source, advisory_id, digest, names) VALUES ${placeholders(batch.length, 4)}
         ON CONFLICT (source, advisory_id) DO UPDATE SET digest = excluded.digest, names = excluded.names`,
        batch.flatMap((e) => [source, e.advisoryId, e.digest, JSON.stringify(e.names)]),
      );
      await this.sql.run(
        `DELETE FROM advisory_aliases WHERE source = ? AND advisory_id IN (${batch.map(() => '?').join(', ')})`,
        [source, ...batch.map((e) => e.advisoryId)],
      );
    }
    const aliases = entries.flatMap((e) => [...new Set(e.aliases)].map((alias) => [source, e.advisoryId, alias]));
    for (const batch of chunks(aliases, ROWS_PER_INSERT)) {
      await this.sql.run(`${this.insertMany} INTO advisory_aliases (source, advisory_id, alias) VALUES ${placeholders(batch.length, 3)}`, batch.flat());
    }
  }

  async advisoryAliasesMissing(source: string): Promise<boolean> {
    const rows = await this.sql.query(
      `SELECT 1 FROM advisory_state s WHERE s.source = ? AND NOT EXISTS (SELECT 1 FROM advisory_aliases WHERE source = ?) LIMIT 1`,
      [source, source],
    );
    return rows.length > 0;
  }

  async putDocuments(documents: { digest: string; size: number; content: Buffer }[]): Promise<void> {
    // Several per statement (an application's lockfile and manifest), within a few megabytes.
    let batch: SqlValue[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await this.sql.run(`${this.insertMany} INTO documents (digest, size, content) VALUES ${placeholders(batch.length / 3, 3)} ON CONFLICT (digest) DO NOTHING`, batch);
      batch = [];
      bytes = 0;
    };
    for (const d of documents) {
      if (batch.length > 0 && (bytes + d.content.length > DOCUMENT_BATCH_BYTES || batch.length / 3 >= ROWS_PER_INSERT)) await flush();
      batch.push(d.digest, d.size, d.content);
      bytes += d.content.length;
    }
    await flush();
  }

  async document(digest: string): Promise<Buffer | null> {
    const rows = await this.sql.query<{ content: Buffer }>(`SELECT content FROM documents WHERE digest = ?`, [digest]);
    return rows[0]?.content ?? null;
  }

  async setRevisionSource(revisionId: number, source: RevisionSource): Promise<void> {
    await this.sql.run(`INSERT INTO revision_sources (revision_id, digest, files) VALUES (?, ?, ?) ON CONFLICT (revision_id) DO NOTHING`, [
      revisionId,
      source.digest,
      source.files,
    ]);
  }

  async revisionSource(revisionId: number): Promise<RevisionSource | null> {
    const rows = await this.sql.query<{ digest: string; files: number }>(`SELECT digest, files FROM revision_sources WHERE revision_id = ?`, [revisionId]);
    return rows[0] ? { digest: rows[0].digest, files: Number(rows[0].files) } : null;
  }

  async revisionSources(revisionIds: readonly number[]): Promise<Map<number, RevisionSource>> {
    const found = new Map<number, RevisionSource>();
    for (const batch of chunks([...new Set(revisionIds)], ROWS_PER_INSERT)) {
      const rows = await this.sql.query<{ revision_id: number; digest: string; files: number }>(
        `SELECT revision_id, digest, files FROM revision_sources WHERE revision_id IN (${batch.map(() => '?').join(', ')})`,
        batch,
      );
      for (const row of rows) found.set(Number(row.revision_id), { digest: row.digest, files: Number(row.files) });
    }
    return found;
  }

  async app(name: string): Promise<AppRecord | null> {
    const rows = await this.sql.query<AppRow>(`SELECT id, name, current_revision, source_kind, created_at FROM apps WHERE name = ?`, [name]);
    return rows[0] ? appOf(rows[0]) : null;
  }

  async appsNamed(names: readonly string[]): Promise<Map<string, AppRecord>> {
    const found = new Map<string, AppRecord>();
    for (const batch of chunks([...new Set(names)], ROWS_PER_INSERT)) {
      const rows = await this.sql.query<AppRow>(
        `SELECT id, name, current_revision, source_kind, created_at FROM apps WHERE name IN (${batch.map(() => '?').join(', ')})`,
        batch,
      );
      for (const row of rows) found.set(row.name, appOf(row));
    }
    return found;
  }

  async revisionsById(ids: readonly number[]): Promise<Map<number, RevisionRecord>> {
    const found = new Map<number, RevisionRecord>();
    for (const batch of chunks([...new Set(ids)], ROWS_PER_INSERT)) {
      const rows = await this.sql.query<RevisionRow>(`SELECT ${REVISION_COLUMNS} FROM revisions WHERE id IN (${batch.map(() => '?').join(', ')})`, batch);
      for (const row of rows) found.set(Number(row.id), revisionOf(row));
    }
    return found;
  }

  async appById(id: number): Promise<AppRecord | null> {
    const rows = await this.sql.query<AppRow>(`SELECT id, name, current_revision, source_kind, created_at FROM apps WHERE id = ?`, [id]);
    return rows[0] ? appOf(rows[0]) : null;
  }

  async apps(): Promise<AppRecord[]> {
    const rows = await this.sql.query<AppRow>(`SELECT id, name, current_revision, source_kind, created_at FROM apps ORDER BY name`);
    return rows.map(appOf);
  }

  async createApp(name: string, sourceKind: AppSourceKind, at: string): Promise<AppRecord> {
    const rows = await this.sql.query<AppRow>(
      `INSERT INTO apps (name, current_revision, source_kind, created_at) VALUES (?, NULL, ?, ?) RETURNING id, name, current_revision, source_kind, created_at`,
      [name, sourceKind, at],
    );
    const app = appOf(rows[0] as AppRow);
    if (this.driver === null) this.nextSeq.set(app.id, 1);
    return app;
  }

  async setCurrentRevision(appId: number, revisionId: number): Promise<void> {
    await this.sql.run(`UPDATE apps SET current_revision = ? WHERE id = ?`, [revisionId, appId]);
  }

  async revisionByDigest(appId: number, digest: string): Promise<RevisionRecord | null> {
    const rows = await this.sql.query<RevisionRow>(`SELECT ${REVISION_COLUMNS} FROM revisions WHERE app_id = ? AND digest = ?`, [appId, digest]);
    return rows[0] ? revisionOf(rows[0]) : null;
  }

  async revisionsByPrefix(appId: number, hexPrefix: string): Promise<RevisionRecord[]> {
    // A range on the digest instead of LIKE: the prefix is user input, and `_`/`%` must stay literal.
    const low = `sha256:${hexPrefix}`;
    const high = `sha256:${hexPrefix}\u{10FFFF}`;
    const rows = await this.sql.query<RevisionRow>(
      `SELECT ${REVISION_COLUMNS} FROM revisions WHERE app_id = ? AND digest >= ? AND digest < ? ORDER BY seq`,
      [appId, low, high],
    );
    return rows.map(revisionOf);
  }

  async revision(id: number): Promise<RevisionRecord | null> {
    const rows = await this.sql.query<RevisionRow>(`SELECT ${REVISION_COLUMNS} FROM revisions WHERE id = ?`, [id]);
    return rows[0] ? revisionOf(rows[0]) : null;
  }

  async revisions(appId: number): Promise<RevisionRecord[]> {
    const rows = await this.sql.query<RevisionRow>(`SELECT ${REVISION_COLUMNS} FROM revisions WHERE app_id = ? ORDER BY seq`, [appId]);
    return rows.map(revisionOf);
  }

  async revisionGraph(id: number): Promise<Buffer> {
    const rows = await this.sql.query<{ graph: Buffer }>(`SELECT graph FROM revision_graphs WHERE revision_id = ?`, [id]);
    const graph = rows[0]?.graph;
    if (graph === undefined) throw new Error(`no revision ${id} in the fleet store`);
    return graph;
  }

  async addRevision(r: NewRevision): Promise<RevisionRecord> {
    let seq = this.nextSeq.get(r.appId);
    if (seq === undefined) {
      const seqRows = await this.sql.query<{ next: number }>(`SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM revisions WHERE app_id = ?`, [r.appId]);
      seq = Number(seqRows[0]?.next ?? 1);
    }
    const documents = JSON.stringify(r.documents);
    const evaluatedAgainst = JSON.stringify(r.evaluatedAgainst);
    const insert = `INSERT INTO revisions (app_id, digest, seq, created_at, origin, documents, evaluated_against, graph_reader)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`;
    const values = [r.appId, r.digest, seq, r.at, r.origin, documents, evaluatedAgainst, GRAPHS_READER];
    // Its documents by digest (revision_documents: what a campaign asks before deleting one).
    const digests = [...new Set(r.documents.map((d) => d.digest))];
    const rows =
      this.sql.dialect === 'postgres'
        ? // One round trip: the revision, its graph, its documents and its counts (none: a new revision has no findings; identities are never reused).
          await this.sql.query<{ id: number }>(
            `WITH r AS (${insert}),
               g AS (INSERT INTO revision_graphs (revision_id, graph) SELECT id, CAST(? AS BYTEA) FROM r),
               ${digests.length === 0 ? '' : `d AS (INSERT INTO revision_documents (digest, revision_id) SELECT v.column1, r.id FROM r CROSS JOIN (VALUES ${placeholders(digests.length, 1)}) AS v),`}
               c AS (INSERT INTO revision_counts (revision_id, ${RECOUNT_COLUMNS.join(', ')}) SELECT id, ${RECOUNT_COLUMNS.map(() => '0').join(', ')} FROM r)
             SELECT id FROM r`,
            [...values, r.graph, ...digests],
          )
        : await this.sql.query<{ id: number }>(insert, values);
    if (this.driver === null) this.nextSeq.set(r.appId, seq + 1);
    // The record as the row reads back (revisionOf), without reading it.
    const revision: RevisionRecord = {
      id: Number(rows[0]?.id),
      appId: r.appId,
      digest: r.digest,
      seq,
      createdAt: r.at,
      origin: r.origin,
      documents: JSON.parse(documents) as RevisionRecord['documents'],
      evaluatedAgainst: JSON.parse(evaluatedAgainst) as Record<string, string>,
      notAudited: [],
    };
    if (this.sql.dialect !== 'postgres') {
      await this.sql.run(`INSERT INTO revision_graphs (revision_id, graph) VALUES (?, ?)`, [revision.id, r.graph]);
      if (digests.length > 0) {
        await this.sql.run(`${this.insertMany} INTO revision_documents (digest, revision_id) VALUES ${placeholders(digests.length, 2)}`, digests.flatMap((d) => [d, revision.id]));
      }
      await this.recount(revision.id);
    }
    if (this.driver === null) this.freshRevisions.add(revision.id);
    return revision;
  }

  async setEvaluatedAgainst(revisionId: number, against: Record<string, string>): Promise<void> {
    await this.sql.run(`UPDATE revisions SET evaluated_against = ? WHERE id = ?`, [JSON.stringify(against), revisionId]);
  }

  async currentRevisionsReadBefore(reader: number): Promise<{ id: number; reader: number }[]> {
    const rows = await this.sql.query<{ id: number; graph_reader: number }>(
      `SELECT r.id, r.graph_reader FROM apps a JOIN revisions r ON r.id = a.current_revision WHERE r.graph_reader < ? ORDER BY r.id`,
      [reader],
    );
    return rows.map((r) => ({ id: Number(r.id), reader: Number(r.graph_reader) }));
  }

  async forgetEvaluations(): Promise<number> {
    await this.sql.run(`UPDATE revisions SET evaluated_against = '{}'`);
    return this.count(`SELECT COUNT(*) AS n FROM apps WHERE current_revision IS NOT NULL`, []);
  }

  async setRevisionReading(revisionId: number, reader: number, reread?: { graph: Buffer; packages: PackageKey[] }): Promise<void> {
    if (reread === undefined) {
      await this.sql.run(`UPDATE revisions SET graph_reader = ? WHERE id = ?`, [reader, revisionId]);
      return;
    }
    await this.sql.run(`UPDATE revision_graphs SET graph = ? WHERE revision_id = ?`, [reread.graph, revisionId]);
    await this.sql.run(`DELETE FROM revision_packages WHERE revision_id = ?`, [revisionId]);
    await this.indexPackages(revisionId, reread.packages);
    await this.sql.run(`UPDATE revisions SET graph_reader = ?, evaluated_against = '{}' WHERE id = ?`, [reader, revisionId]);
  }

  /**
   * The id of each package (in their order), inserting those not yet known. Inside a transaction
   * the ids are remembered for the next call (a bulk add meets the same packages in most
   * applications), keyed by the package's own strings: one lookup per package, no key built.
   */
  private async packageIds(packages: readonly PackageKey[]): Promise<number[]> {
    const known = this.driver === null ? this.knownPackages : new PackageIdMap();
    const ids = new Array<number>(packages.length);
    const missing: number[] = [];
    const pending = new PackageIdMap();
    const unique: PackageKey[] = [];
    packages.forEach((p, i) => {
      const id = known.get(p);
      if (id !== undefined) {
        ids[i] = id;
        return;
      }
      missing.push(i);
      if (pending.get(p) !== undefined) return;
      pending.set(p, 0);
      unique.push(p);
    });
    for (const batch of chunks(unique, ROWS_PER_INSERT)) {
      const values = batch.flatMap((p) => [p.ecosystem, p.name, p.version]);
      await this.sql.run(`${this.insertMany} INTO packages (ecosystem, name, version) VALUES ${placeholders(batch.length, 3)} ON CONFLICT DO NOTHING`, values);
      const rows = await this.sql.query<{ id: number; ecosystem: Ecosystem; name: string; version: string }>(
        `SELECT id, ecosystem, name, version FROM packages WHERE (ecosystem, name, version) IN (VALUES ${placeholders(batch.length, 3)})`,
        values,
      );
      for (const row of rows) known.set(row, Number(row.id));
    }
    for (const i of missing) ids[i] = known.get(packages[i] as PackageKey) as number;
    return ids;
  }

  async indexPackages(revisionId: number, packages: PackageKey[]): Promise<void> {
    // Ascending: the rows go in at the end of the table's key (revision, package). A typed
    // array sorts numerically without calling a comparator (a revision locks hundreds of packages).
    const sorted = Float64Array.from(await this.packageIds(packages)).sort();
    let n = 0;
    for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[n++] = sorted[i] as number;
    const ids = sorted.subarray(0, n);
    await this.bulkIndexes?.willInsert('revision_packages', revisionId, ids.length);
    // One statement of the ids as one array parameter: a revision locks hundreds of packages.
    await this.sql.run(
      this.sql.dialect === 'postgres'
        ? `INSERT INTO revision_packages (revision_id, package_id) SELECT CAST(? AS BIGINT), unnest(CAST(? AS BIGINT[])) ON CONFLICT DO NOTHING`
        : `${this.insertMany} INTO revision_packages (revision_id, package_id) SELECT ?, value FROM json_each(?) WHERE true ON CONFLICT DO NOTHING`,
      [revisionId, this.sql.dialect === 'postgres' ? `{${ids.join(',')}}` : `[${ids.join(',')}]`],
    );
  }

  async revisionPackages(revisionId: number): Promise<PackageKey[]> {
    return this.sql.query<PackageKey>(
      `SELECT p.ecosystem, p.name, p.version FROM revision_packages rp JOIN packages p ON p.id = rp.package_id
       WHERE rp.revision_id = ? ORDER BY p.ecosystem, p.name, p.version`,
      [revisionId],
    );
  }

  async currentRevisionsLocking(names: { ecosystem: Ecosystem; name: string }[]): Promise<number[]> {
    return this.currentRevisionsMatching(
      names,
      (batch) => `SELECT DISTINCT a.current_revision AS id FROM packages p
         JOIN revision_packages rp ON rp.package_id = p.id
         JOIN apps a ON a.current_revision = rp.revision_id
         WHERE (p.ecosystem, p.name) IN (VALUES ${placeholders(batch.length, 2)})`,
      (n) => [n.ecosystem, n.name],
    );
  }

  /** Ids, ascending and distinct, of current revisions that `query` (one batch of `keys`, bound by `bind`) selects. */
  private async currentRevisionsMatching<K>(keys: K[], query: (batch: K[]) => string, bind: (key: K) => SqlValue[]): Promise<number[]> {
    const found = new Set<number>();
    for (const batch of chunks(keys, ROWS_PER_INSERT)) {
      for (const row of await this.sql.query<{ id: number }>(query(batch), batch.flatMap(bind))) found.add(Number(row.id));
    }
    return [...found].sort((a, b) => a - b);
  }

  async replaceFindings(revisionId: number, findings: Finding[], onlyNames?: { ecosystem: Ecosystem; name: string }[]): Promise<void> {
    if (onlyNames === undefined) {
      if (!this.freshRevisions.has(revisionId)) await this.sql.run(`DELETE FROM findings WHERE revision_id = ?`, [revisionId]);
    } else {
      for (const batch of chunks(onlyNames, ROWS_PER_INSERT)) {
        await this.sql.run(
          `DELETE FROM findings WHERE revision_id = ? AND package_id IN
             (SELECT id FROM packages WHERE (ecosystem, name) IN (VALUES ${placeholders(batch.length, 2)}))`,
          [revisionId, ...batch.flatMap((n) => [n.ecosystem, n.name])],
        );
      }
    }
    await this.insertFindings(findings.map((finding) => ({ revisionId, stored: storedFinding(finding) })));
    await this.recount(revisionId);
  }

  /** Findings of any number of revisions, as insertEncodedFindings inserts them (each advisory's record its JSON). */
  private async insertFindings(rows: readonly { revisionId: number; stored: StoredFinding }[]): Promise<void> {
    const advisories = new Map<string, Finding['advisory']>();
    for (const { stored } of rows) if (!advisories.has(stored.advisoryDigest)) advisories.set(stored.advisoryDigest, stored.finding.advisory);
    await this.insertEncodedFindings(
      rows.map(({ revisionId, stored }) => ({ revisionId, row: encodedFinding(stored.finding, stored.key, stored.advisoryDigest) })),
      (digest) => {
        const advisory = advisories.get(digest);
        return advisory === undefined ? undefined : JSON.stringify(advisory);
      },
    );
  }

  async replaceEncodedFindings(revisionId: number, rows: readonly EncodedFinding[], records: ReadonlyMap<string, string>): Promise<void> {
    if (!this.freshRevisions.has(revisionId)) await this.sql.run(`DELETE FROM findings WHERE revision_id = ?`, [revisionId]);
    await this.insertEncodedFindings(
      rows.map((row) => ({ revisionId, row })),
      (digest) => records.get(digest),
    );
    await this.recount(revisionId);
  }

  /**
   * Multi-row inserts of findings' rows, any number of revisions at once, with their alias
   * groups' ids and the advisory records they refer to (once each; `recordOf` gives the text of
   * a record the store may not hold yet).
   */
  private async insertEncodedFindings(rows: readonly { revisionId: number; row: EncodedFinding }[], recordOf: (digest: string) => string | undefined): Promise<void> {
    if (rows.length === 0) return;
    for (const { revisionId } of rows) this.freshRevisions.delete(revisionId);
    const ids = await this.packageIds(rows.map((r) => r.row.package));
    const missing = new Map<string, string>();
    for (const { row } of rows) {
      const digest = row.advisoryDigest;
      if (this.knownAdvisories.has(digest) || missing.has(digest)) continue;
      const record = recordOf(digest);
      if (record === undefined) throw new Error(`no record for advisory digest ${digest}`);
      missing.set(digest, record);
    }
    for (const batch of chunks([...missing], ROWS_PER_INSERT)) {
      await this.sql.run(`${this.insertMany} INTO advisories (digest, record) VALUES ${placeholders(batch.length, 2)} ON CONFLICT DO NOTHING`, batch.flat());
    }
    // Per transaction, as knownPackages: a rolled-back attempt's rows are gone.
    if (this.driver === null) for (const digest of missing.keys()) this.knownAdvisories.add(digest);
    const groups = new Set<string>();
    let at = 0;
    // In slices of a few lengths: a sync inserts each round's rows, as many as they are.
    for (const batch of boundedChunks(rows, ROWS_PER_INSERT)) {
      const values: SqlValue[] = [];
      for (const { revisionId, row: r } of batch) {
        groups.add(r.groupKey);
        values.push(revisionId, r.target, ids[at++] as number, r.groupKey, r.advisoryId, r.key, r.failsPolicy ? 1 : 0, r.level, r.open ? 1 : 0);
      }
      await this.sql.run(
        `${this.insertMany} INTO findings (revision_id, target, package_id, group_key, advisory_id, finding, fails_policy, level, open) VALUES ${placeholders(batch.length, 9)}`,
        values,
      );
    }
    const aliases = [...groups].filter((g) => !this.knownGroups.has(g)).flatMap((group) => group.split(' ').map((alias) => [alias, group]));
    for (const batch of chunks(aliases, ROWS_PER_INSERT)) {
      await this.sql.run(`${this.insertMany} INTO finding_aliases (alias, group_key) VALUES ${placeholders(batch.length, 2)} ON CONFLICT DO NOTHING`, batch.flat());
    }
    // Per transaction, as knownPackages: a rolled-back attempt's rows are gone.
    if (this.driver === null) for (const g of groups) this.knownGroups.add(g);
  }

  /** Recounts a revision's open findings by level and its failing ones from its findings. */
  private async recount(revisionId: number): Promise<void> {
    await this.sql.run(RECOUNT_REVISION, [revisionId, revisionId]);
  }

  async findings(revisionId: number): Promise<Finding[]> {
    const rows = await this.sql.query<{ finding: string }>(`SELECT finding FROM findings WHERE revision_id = ?`, [revisionId]);
    return this.findingsOf(rows.map((r) => parseFindingRow(r.finding)));
  }

  /** The findings of rows as read, in their order, each with its advisory (records read once per digest, shared). */
  private findingsOf(rows: readonly ParsedFindingRow[]): Promise<Finding[]> {
    return this.advisories.resolve(rows, (digests) => this.advisoryRecords(digests));
  }

  /** The advisory records of these digests (those the store holds). */
  private async advisoryRecords(digests: readonly string[]): Promise<{ digest: string; record: string }[]> {
    const records: { digest: string; record: string }[] = [];
    for (const batch of chunks(digests, ROWS_PER_INSERT)) {
      records.push(...(await this.sql.query<{ digest: string; record: string }>(`SELECT digest, record FROM advisories WHERE digest IN (${batch.map(() => '?').join(', ')})`, batch)));
    }
    return records;
  }

  /** Rows selecting revision_id and finding, as findings by revision id (into `out`, where present). */
  private async findingsByRevision(rows: readonly { revision_id: number; finding: string }[], out: Map<number, Finding[]>): Promise<void> {
    const findings = await this.findingsOf(rows.map((r) => parseFindingRow(r.finding)));
    rows.forEach((r, i) => out.get(Number(r.revision_id))?.push(findings[i] as Finding));
  }

  async appendHistory(e: { appId: number; at: string; action: HistoryAction; revisionId: number; previousRevisionId: number | null; by: string }): Promise<void> {
    await this.sql.run(`INSERT INTO history (app_id, at, action, revision_id, previous_revision_id, by) VALUES (?, ?, ?, ?, ?, ?)`, [
      e.appId,
      e.at,
      e.action,
      e.revisionId,
      e.previousRevisionId,
      e.by,
    ]);
  }

  async history(appId: number): Promise<HistoryEntry[]> {
    const rows = await this.sql.query<{ at: string; action: HistoryAction; revision_id: number; previous_revision_id: number | null; by: string }>(
      `SELECT at, action, revision_id, previous_revision_id, by FROM history WHERE app_id = ? ORDER BY id`,
      [appId],
    );
    const byId = new Map((await this.revisions(appId)).map((r) => [r.id, r]));
    return rows.map((r) => ({
      at: r.at,
      action: r.action,
      revision: byId.get(Number(r.revision_id)) as RevisionRecord,
      previousRevision: r.previous_revision_id === null ? null : (byId.get(Number(r.previous_revision_id)) ?? null),
      by: r.by,
    }));
  }

  async createSnapshot(name: string, at: string, databases: DatabaseState[]): Promise<SnapshotRecord> {
    const rows = await this.sql.query<{ id: number }>(`INSERT INTO snapshots (name, created_at, databases) VALUES (?, ?, ?) RETURNING id`, [
      name,
      at,
      JSON.stringify(databases),
    ]);
    const id = Number(rows[0]?.id);
    await this.sql.run(
      `INSERT INTO snapshot_apps (snapshot_id, app_id, revision_id, app_name) SELECT ?, id, current_revision, name FROM apps WHERE current_revision IS NOT NULL`,
      [id],
    );
    return (await this.snapshot(name)) as SnapshotRecord;
  }

  async snapshot(name: string): Promise<SnapshotRecord | null> {
    const rows = await this.sql.query<{ id: number; name: string; created_at: string; databases: string }>(
      `SELECT id, name, created_at, databases FROM snapshots WHERE name = ?`,
      [name],
    );
    const row = rows[0];
    if (!row) return null;
    const apps = await this.sql.query<{ app_id: number; name: string; revision_id: number }>(
      `SELECT s.app_id, a.name, s.revision_id FROM snapshot_apps s JOIN apps a ON a.id = s.app_id WHERE s.snapshot_id = ? ORDER BY a.name${byteOrder(this.sql.dialect)}`,
      [row.id],
    );
    return {
      id: Number(row.id),
      name: row.name,
      createdAt: row.created_at,
      databases: JSON.parse(row.databases) as DatabaseState[],
      apps: apps.map((a) => ({ appId: Number(a.app_id), appName: a.name, revisionId: Number(a.revision_id) })),
    };
  }

  async snapshotMembers(snapshotId: number): Promise<SnapshotMember[]> {
    const rows = await this.sql.query<{ app_id: number; recorded_name: string | null; name: string | null; revision_id: number; revision_app: number | null }>(
      `SELECT s.app_id, s.app_name AS recorded_name, a.name, s.revision_id, r.app_id AS revision_app
       FROM snapshot_apps s LEFT JOIN apps a ON a.id = s.app_id LEFT JOIN revisions r ON r.id = s.revision_id
       WHERE s.snapshot_id = ? ORDER BY s.app_id`,
      [snapshotId],
    );
    return rows.map((r) => ({
      appId: Number(r.app_id),
      appName: r.name ?? r.recorded_name,
      appPresent: r.name !== null,
      revisionId: Number(r.revision_id),
      revisionPresent: r.revision_app !== null && Number(r.revision_app) === Number(r.app_id),
    }));
  }

  // Queries, triage and events (fleet-eval).

  async currentFindingsWithId(id: string): Promise<CurrentFinding[]> {
    // group_key holds every id (the advisory's own too); finding_aliases has a row per id, compared
    // regardless of case through its index on UPPER(alias). From the alias groups to their findings
    // (CROSS JOIN: SQLite keeps this order rather than scanning every current finding).
    return this.currentFindingRows(
      `SELECT a.id AS app_id, a.name, f.revision_id, r.digest, r.seq, f.finding
       FROM (SELECT DISTINCT group_key FROM finding_aliases WHERE UPPER(alias) = UPPER(?)) g
       CROSS JOIN findings f CROSS JOIN apps a CROSS JOIN revisions r
       WHERE f.group_key = g.group_key AND a.current_revision = f.revision_id AND r.id = f.revision_id`,
      [id],
    );
  }

  async knowsAdvisory(id: string): Promise<boolean> {
    const rows = await this.sql.query(
      `SELECT 1 FROM advisory_state WHERE UPPER(advisory_id) = UPPER(?) UNION ALL SELECT 1 FROM advisory_aliases WHERE UPPER(alias) = UPPER(?) LIMIT 1`,
      [id, id],
    );
    return rows.length > 0;
  }

  async advisoryEcosystems(id: string): Promise<Ecosystem[]> {
    const rows = await this.sql.query<{ names: string }>(
      `SELECT names FROM advisory_state WHERE UPPER(advisory_id) = UPPER(?)
       UNION ALL SELECT s.names FROM advisory_aliases a JOIN advisory_state s ON s.source = a.source AND s.advisory_id = a.advisory_id
       WHERE UPPER(a.alias) = UPPER(?)`,
      [id, id],
    );
    return [...new Set(rows.flatMap((r) => (JSON.parse(r.names) as [Ecosystem, string][]).map(([ecosystem]) => ecosystem)))].sort();
  }

  async currentFindingsOnPackage(name: string): Promise<CurrentFinding[]> {
    return this.currentFindingsWhere(`f.package_id IN (SELECT p.id FROM packages p WHERE ${PACKAGE_NAMED})`, [name, crateKey(name)]);
  }

  async currentIgnoredFindings(): Promise<CurrentFinding[]> {
    return this.currentFindingsWhere('f.open = 0', []);
  }

  /** Findings of current revisions, in application-name order, that satisfy `where` (over f). */
  private async currentFindingsWhere(where: string, params: SqlValue[]): Promise<CurrentFinding[]> {
    return this.currentFindingRows(
      `SELECT a.id AS app_id, a.name, f.revision_id, r.digest, r.seq, f.finding FROM findings f
       JOIN apps a ON a.current_revision = f.revision_id JOIN revisions r ON r.id = f.revision_id
       WHERE ${where}`,
      params,
    );
  }

  /** The rows of a query selecting app_id, name, revision_id, digest, seq and finding, in application-name order. */
  private async currentFindingRows(sql: string, params: SqlValue[]): Promise<CurrentFinding[]> {
    const rows = await this.sql.query<{ app_id: number; name: string; revision_id: number; digest: string; seq: number; finding: string }>(sql, params);
    const findings = await this.findingsOf(rows.map((r) => parseFindingRow(r.finding)));
    return rows
      .map((r, i) => ({ ...currentRevisionRef(r.name, r), finding: findings[i] as Finding }))
      .sort((a, b) => compareCodePoints(a.app, b.app));
  }

  async currentRevisionsWithPackage(name: string): Promise<(CurrentRevisionRef & { package: PackageKey })[]> {
    return this.packageUse(PACKAGE_NAMED, [name, crateKey(name)]);
  }

  /** Current revisions locking a package (p) that satisfies `where`, with the versions, by application name. */
  private async packageUse(where: string, params: SqlValue[]): Promise<(CurrentRevisionRef & { package: PackageKey })[]> {
    const rows = await this.sql.query<{ app_id: number; app: string; revision_id: number; digest: string; seq: number; ecosystem: Ecosystem; name: string; version: string }>(
      `SELECT a.id AS app_id, a.name AS app, rp.revision_id, r.digest, r.seq, p.ecosystem, p.name, p.version FROM packages p
       JOIN revision_packages rp ON rp.package_id = p.id
       JOIN apps a ON a.current_revision = rp.revision_id
       JOIN revisions r ON r.id = rp.revision_id
       WHERE ${where}`,
      params,
    );
    return rows
      .map((r) => ({ ...currentRevisionRef(r.app, r), package: { ecosystem: r.ecosystem, name: r.name, version: r.version } }))
      .sort((a, b) => compareCodePoints(a.app, b.app) || compareCodePoints(a.package.version, b.package.version));
  }

  async packageNames(): Promise<{ ecosystem: Ecosystem; name: string }[]> {
    return this.sql.query<{ ecosystem: Ecosystem; name: string }>(`SELECT DISTINCT ecosystem, name FROM packages ORDER BY ecosystem, name`);
  }

  async packagesNamed(names: { ecosystem: Ecosystem; name: string }[]): Promise<PackageKey[]> {
    const found: PackageKey[] = [];
    for (const batch of chunks(names, ROWS_PER_INSERT)) {
      found.push(
        ...(await this.sql.query<PackageKey>(
          `SELECT ecosystem, name, version FROM packages WHERE (ecosystem, name) IN (VALUES ${placeholders(batch.length, 2)})`,
          batch.flatMap((n) => [n.ecosystem, n.name]),
        )),
      );
    }
    return found;
  }

  /** Ids of every package of these names (any version). */
  private async packageIdsNamed(names: readonly { ecosystem: Ecosystem; name: string }[]): Promise<number[]> {
    const ids: number[] = [];
    for (const batch of chunks([...names], ROWS_PER_INSERT)) {
      const rows = await this.sql.query<{ id: number }>(
        `SELECT id FROM packages WHERE (ecosystem, name) IN (VALUES ${placeholders(batch.length, 2)})`,
        batch.flatMap((n) => [n.ecosystem, n.name]),
      );
      for (const row of rows) ids.push(Number(row.id));
    }
    return ids;
  }

  async currentRevisionsLockingVersions(packages: PackageKey[]): Promise<number[]> {
    return this.currentRevisionsMatching(
      packages,
      (batch) => `SELECT DISTINCT a.current_revision AS id FROM packages p
         JOIN revision_packages rp ON rp.package_id = p.id
         JOIN apps a ON a.current_revision = rp.revision_id
         WHERE (p.ecosystem, p.name, p.version) IN (VALUES ${placeholders(batch.length, 3)})`,
      (p) => [p.ecosystem, p.name, p.version],
    );
  }

  async currentRevisionsWithFindingsOf(advisoryIds: readonly string[]): Promise<number[]> {
    return this.currentRevisionsMatching(
      [...advisoryIds],
      (batch) => `SELECT DISTINCT f.revision_id AS id FROM findings f
         JOIN apps a ON a.current_revision = f.revision_id
         WHERE f.group_key IN (SELECT group_key FROM finding_aliases WHERE alias IN (${batch.map(() => '?').join(', ')}))`,
      (id) => [id],
    );
  }

  async currentRevisionsEvaluatedOtherwise(states: Record<string, string>[]): Promise<number[]> {
    return (await this.currentEvaluatedAgainst()).filter((r) => !states.some((s) => isDeepStrictEqual(r.against, s))).map((r) => r.id);
  }

  async advanceEvaluatedAgainst(from: Record<string, string>, to: Record<string, string>): Promise<void> {
    await this.setEvaluatedAgainstOf((await this.currentEvaluatedAgainst()).filter((r) => isDeepStrictEqual(r.against, from)).map((r) => r.id), to);
  }

  /** Each current revision's evaluated_against, parsed: compared as maps, so the order it was written in does not matter. */
  private async currentEvaluatedAgainst(): Promise<{ id: number; against: Record<string, string> }[]> {
    const rows = await this.sql.query<{ id: number; evaluated_against: string }>(
      `SELECT r.id, r.evaluated_against FROM apps a JOIN revisions r ON r.id = a.current_revision ORDER BY r.id`,
    );
    return rows.map((r) => ({ id: Number(r.id), against: JSON.parse(r.evaluated_against) as Record<string, string> }));
  }

  async currentFailingFindings(): Promise<CurrentFinding[]> {
    return this.currentFindingsWhere('f.fails_policy = 1', []);
  }

  async addTriage(d: TriageDecision): Promise<StoredTriageDecision> {
    const rows = await this.sql.query<{ id: number }>(
      `INSERT INTO triage (app_id, alias_key, package_name, package_range, state, justification, reason, expires, by, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [d.appId, d.aliasKey, d.packageName, d.packageRange, d.state, d.justification, d.reason, d.expires, d.by, d.at],
    );
    const id = Number(rows[0]?.id);
    // NULLs compared through COALESCE: `IS` is SQLite's spelling, `IS NOT DISTINCT FROM` PostgreSQL's.
    await this.sql.run(
      `UPDATE triage SET superseded_by = ? WHERE superseded_by IS NULL AND id <> ? AND COALESCE(app_id, -1) = ? AND alias_key = ?
         AND COALESCE(package_name, '') = ? AND COALESCE(package_range, '') = ?`,
      [id, id, d.appId ?? -1, d.aliasKey, d.packageName ?? '', d.packageRange ?? ''],
    );
    return { ...d, id };
  }

  async triageDecisions(appIds?: readonly number[]): Promise<StoredTriageDecision[]> {
    type Row = {
      id: number;
      app_id: number | null;
      alias_key: string;
      package_name: string | null;
      package_range: string | null;
      state: StoredTriageDecision['state'];
      justification: StoredTriageDecision['justification'];
      reason: string;
      expires: string | null;
      by: string;
      at: string;
    };
    const select = `SELECT id, app_id, alias_key, package_name, package_range, state, justification, reason, expires, by, at FROM triage WHERE superseded_by IS NULL`;
    let rows: Row[];
    if (appIds === undefined) rows = await this.sql.query<Row>(`${select} ORDER BY id`);
    else {
      // The fleet's decisions and these applications' own, each found by its index (triage_app):
      // a page of applications does not read the decisions of every other one.
      rows = await this.sql.query<Row>(`${select} AND app_id IS NULL`);
      for (const batch of chunks([...new Set(appIds)], ROWS_PER_INSERT)) {
        rows.push(...(await this.sql.query<Row>(`${select} AND app_id IN (${batch.map(() => '?').join(', ')})`, batch)));
      }
      rows.sort((a, b) => Number(a.id) - Number(b.id));
    }
    return rows.map((r) => ({
      id: Number(r.id),
      appId: r.app_id === null ? null : Number(r.app_id),
      aliasKey: r.alias_key,
      packageName: r.package_name,
      packageRange: r.package_range,
      state: r.state,
      justification: r.justification,
      reason: r.reason,
      expires: r.expires,
      by: r.by,
      at: r.at,
    }));
  }

  /** In a transaction's store: the event order lock (addEvent) is held until its commit. */
  private holdsEventOrder = false;

  async addEvent(event: { type: string; body: string | Uint8Array; at: string }, targets: string[]): Promise<number> {
    const body = compressedEventBody(event.body);
    // Event ids must become visible in id order: readers of the feed (GET /events, Last-Event-ID)
    // go on from the highest id they saw. PostgreSQL hands out identity values outside
    // transactions, so a long command's event could commit after a later id another had already
    // committed, and never be read. One transaction at a time holds this lock from its first event
    // to its commit (SQLite has one writer at a time already).
    // Taken once per transaction (a store made for one has no driver): the lock lasts to its commit.
    if (this.sql.dialect === 'postgres' && !this.holdsEventOrder) {
      await this.sql.query(`SELECT pg_advisory_xact_lock(${EVENT_ORDER_LOCK})`);
      this.holdsEventOrder = this.driver === null;
    }
    const rows = await this.sql.query<{ id: number }>(`INSERT INTO events (at, type, body, body_zstd) VALUES (?, ?, '', ?) RETURNING id`, [
      event.at,
      event.type,
      body,
    ]);
    const id = Number(rows[0]?.id);
    for (const target of targets) {
      await this.sql.run(`INSERT INTO outbox (event_id, target, attempts, next_attempt_at) VALUES (?, ?, 0, ?)`, [id, target, event.at]);
    }
    return id;
  }

  async dueDeliveries(target: string, now: string, limit: number, maxStoredBytes = Number.POSITIVE_INFINITY): Promise<OutboxDelivery[]> {
    const due = `FROM outbox o JOIN events e ON e.id = o.event_id WHERE o.delivered_at IS NULL AND o.target = ? AND o.next_attempt_at <= ?`;
    let upTo = '';
    const params: SqlValue[] = [target, now];
    if (maxStoredBytes !== Number.POSITIVE_INFINITY) {
      // The bodies' stored sizes first (no body read): the deliveries up to the budget, at least one.
      const sizes = await this.sql.query<{ event_id: number; target: string; size: number | string }>(
        `SELECT o.event_id, o.target, LENGTH(e.body) + COALESCE(LENGTH(e.body_zstd), 0) AS size ${due} ORDER BY o.event_id, o.target LIMIT ?`,
        [target, now, limit],
      );
      const last = lastWithinBudget(sizes, maxStoredBytes);
      if (last === null) return [];
      upTo = ' AND (o.event_id < ? OR (o.event_id = ? AND o.target <= ?))';
      params.push(Number(last.event_id), Number(last.event_id), last.target);
    }
    const rows = await this.sql.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} ${due}${upTo} ORDER BY o.event_id, o.target LIMIT ?`, [...params, limit]);
    return rows.map(deliveryOf);
  }

  async claimDelivery(d: OutboxDelivery, leaseUntil: string): Promise<boolean> {
    const changed = await this.sql.run(
      `UPDATE outbox SET next_attempt_at = ? WHERE event_id = ? AND target = ? AND delivered_at IS NULL AND next_attempt_at = ?`,
      [leaseUntil, d.eventId, d.target, d.nextAttemptAt],
    );
    return changed === 1;
  }

  async deliveryDone(d: OutboxDelivery, at: string, pruneBefore: string): Promise<void> {
    await this.transaction(async (tx) => {
      const { sql } = tx as SqlFleetStore;
      await sql.run(`UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE event_id = ? AND target = ?`, [at, d.eventId, d.target]);
      await sql.run(`DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?`, [pruneBefore]);
    });
  }

  async deliveryFailed(d: OutboxDelivery, nextAttemptAt: string, error: string): Promise<void> {
    await this.sql.run(`UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE event_id = ? AND target = ?`, [
      nextAttemptAt,
      error,
      d.eventId,
      d.target,
    ]);
  }

  async redirectDeliveries(to: string | null, at: string): Promise<number> {
    if (to === null) return this.sql.run(`DELETE FROM outbox WHERE delivered_at IS NULL`);
    return this.transaction(async (tx) => {
      const { sql } = tx as SqlFleetStore;
      // An event already queued for (or delivered to) `to` is not queued twice.
      await sql.run(`DELETE FROM outbox WHERE delivered_at IS NULL AND target <> ? AND event_id IN (SELECT event_id FROM outbox WHERE target = ?)`, [to, to]);
      return sql.run(`UPDATE outbox SET target = ?, attempts = 0, next_attempt_at = ?, last_error = NULL WHERE delivered_at IS NULL AND target <> ?`, [to, at, to]);
    });
  }

  async deliveries(): Promise<(OutboxDelivery & { deliveredAt: string | null; lastError: string | null })[]> {
    const rows = await this.sql.query<DeliveryRow & { delivered_at: string | null; last_error: string | null }>(
      `SELECT ${DELIVERY_COLUMNS}, o.delivered_at, o.last_error FROM outbox o JOIN events e ON e.id = o.event_id ORDER BY o.event_id, o.target`,
    );
    return rows.map((r) => ({ ...deliveryOf(r), deliveredAt: r.delivered_at, lastError: r.last_error }));
  }

  // Sync over thousands of revisions (fleet-speed).

  async revisionsToEvaluate(ids: readonly number[]): Promise<RevisionToEvaluate[]> {
    const found: RevisionToEvaluate[] = [];
    for (const batch of chunks(ids, ROWS_PER_INSERT)) {
      const rows = await this.sql.query<RevisionRow & { app: string; graph: Buffer }>(
        `SELECT ${REVISION_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')}, a.name AS app, g.graph FROM revisions r JOIN apps a ON a.id = r.app_id
         JOIN revision_graphs g ON g.revision_id = r.id WHERE r.id IN (${batch.map(() => '?').join(', ')})`,
        batch,
      );
      for (const row of rows) found.push({ revision: revisionOf(row), app: row.app, graph: row.graph });
    }
    return found.sort((a, b) => a.revision.id - b.revision.id);
  }

  async storedFindingsOf(ids: readonly number[], onlyNames?: readonly { ecosystem: Ecosystem; name: string }[]): Promise<Map<number, StoredFindingRow[]>> {
    const found = new Map<number, StoredFindingRow[]>();
    if (onlyNames !== undefined && onlyNames.length === 0) return found;
    // The packages of those names, by id: a sync re-matching a few names reads only their findings.
    let packageFilter = '';
    let packageParams: SqlValue[] = [];
    if (onlyNames !== undefined) {
      const packageIds = await this.packageIdsNamed(onlyNames);
      if (packageIds.length === 0) return found;
      // Past this many, every finding is read (the statement's parameters have a limit): still a superset.
      if (packageIds.length <= MAX_PACKAGE_FILTER) {
        packageFilter = ` AND f.package_id IN (${packageIds.map(() => '?').join(', ')})`;
        packageParams = packageIds;
      }
    }
    for (const batch of chunks(ids, ROWS_PER_INSERT)) {
      // The key's columns with each row: its text is parsed only for a finding asked for (LazyStoredFinding).
      const rows = await this.sql.query<{
        revision_id: number;
        target: string;
        package_id: number;
        group_key: string;
        advisory_id: string;
        ecosystem: Ecosystem;
        name: string;
        version: string;
        finding: string;
      }>(
        `SELECT f.revision_id, f.target, f.package_id, f.group_key, f.advisory_id, p.ecosystem, p.name, p.version, f.finding
         FROM findings f JOIN packages p ON p.id = f.package_id
         WHERE f.revision_id IN (${batch.map(() => '?').join(', ')})${packageFilter}`,
        [...batch, ...packageParams],
      );
      const digests = rows.map((r) => findingRowDigest(r.finding));
      const advisories = await this.advisories.advisories(digests, (wanted) => this.advisoryRecords(wanted));
      rows.forEach((row, i) => {
        const id = Number(row.revision_id);
        let list = found.get(id);
        if (!list) found.set(id, (list = []));
        const digest = digests[i] as string;
        const advisory = advisories.get(digest);
        if (advisory === undefined) throw new Error(`the fleet store has no advisory record ${digest}`);
        list.push(
          new LazyStoredFinding(
            findingKeyOf(row.target, row.ecosystem, row.name, row.version, row.advisory_id),
            row.ecosystem,
            row.name,
            row.target,
            Number(row.package_id),
            row.group_key,
            row.finding as FindingRowText,
            advisory,
          ),
        );
      });
    }
    return found;
  }

  async rewriteFindings(changes: readonly { revisionId: number; remove: readonly StoredFindingRow[]; add: readonly EncodedFinding[] }[], recordOf: (digest: string) => string | undefined): Promise<void> {
    const removed = changes.flatMap((c) => c.remove.map((row) => ({ revisionId: c.revisionId, row })));
    if (this.sql.dialect === 'sqlite') {
      // SQLite: one statement by the key, prepared once, run per row. The multi-row DELETE below
      // had a text of its own for nearly every batch (its rows and revisions vary), and SQLite
      // took about 20 ms to prepare each (a VALUES list of 500 row values): a second of a sync's
      // main thread at 10,000 applications, where running a prepared statement costs microseconds.
      for (const { revisionId, row } of removed) {
        await this.sql.run(`DELETE FROM findings WHERE revision_id = ? AND target = ? AND package_id = ? AND group_key = ?`, [revisionId, row.target, row.packageId, row.groupKey]);
      }
    } else {
      await this.deleteFindingsByKey(removed);
    }
    await this.insertEncodedFindings(
      changes.flatMap((c) => c.add.map((row) => ({ revisionId: c.revisionId, row }))),
      recordOf,
    );
    // The counts the fleet's lists sort by follow the findings: one statement per round, not one per revision.
    const recount = changes.filter((c) => c.remove.length > 0 || c.add.length > 0).map((c) => c.revisionId);
    for (const batch of boundedChunks(recount, ROWS_PER_INSERT)) await this.sql.run(recountRevisions(batch.length), batch);
  }

  /** PostgreSQL: findings deleted by their key, a batch of rows per statement (one round trip each). */
  private async deleteFindingsByKey(removed: readonly { revisionId: number; row: StoredFindingRow }[]): Promise<void> {
    // The findings table's key: revision, lockfile, package, alias group (ids typed: PostgreSQL reads VALUES' parameters as text).
    const key = '(CAST(? AS BIGINT), ?, CAST(? AS BIGINT), ?)';
    for (const batch of chunks(removed, ROWS_PER_INSERT)) {
      // The revisions named again on their own: the key's index is searched by revision (SQLite
      // planned a row value IN (VALUES ...) alone as a scan of the whole table for each batch).
      const revisions = [...new Set(batch.map((r) => r.revisionId))];
      await this.sql.run(
        `DELETE FROM findings WHERE revision_id IN (${revisions.map(() => 'CAST(? AS BIGINT)').join(', ')})
         AND (revision_id, target, package_id, group_key) IN (VALUES ${batch.map(() => key).join(', ')})`,
        [...revisions, ...batch.flatMap(({ revisionId, row }) => [revisionId, row.target, row.packageId, row.groupKey])],
      );
    }
  }

  /** From revision_counts (kept with every revision's findings, as the fleet pages read them): one row per application, no finding read. */
  async currentFailingCount(): Promise<number> {
    const rows = await this.sql.query<{ n: number }>(
      `SELECT COALESCE(SUM(c.failing), 0) AS n FROM apps a JOIN revision_counts c ON c.revision_id = a.current_revision`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async setNotAudited(changes: readonly { revisionId: number; packages: readonly NotAuditedPackage[] }[]): Promise<void> {
    for (const c of changes) {
      await this.sql.run(`UPDATE revisions SET not_audited = ? WHERE id = ?`, [c.packages.length === 0 ? null : JSON.stringify(c.packages), c.revisionId]);
    }
  }

  async currentNotAudited(): Promise<CurrentNotAudited[]> {
    const rows = await this.sql.query<{ app: string; app_id: number; revision_id: number; digest: string; seq: number; not_audited: string }>(
      `SELECT a.name AS app, a.id AS app_id, r.id AS revision_id, r.digest, r.seq, r.not_audited FROM apps a JOIN revisions r ON r.id = a.current_revision
       WHERE r.not_audited IS NOT NULL`,
    );
    return rows
      .map((r) => ({
        app: r.app,
        appId: Number(r.app_id),
        revisionId: Number(r.revision_id),
        digest: r.digest,
        seq: Number(r.seq),
        packages: JSON.parse(r.not_audited) as NotAuditedPackage[],
      }))
      .sort((a, b) => compareCodePoints(a.app, b.app));
  }

  async setEvaluatedAgainstOf(revisionIds: readonly number[], against: Record<string, string>): Promise<void> {
    for (const batch of chunks(revisionIds, ROWS_PER_INSERT)) {
      await this.sql.run(`${this.updateMany} revisions SET evaluated_against = ? WHERE id IN (${batch.map(() => '?').join(', ')})`, [JSON.stringify(against), ...batch]);
    }
  }

  // Pages of the fleet (the dashboard).

  async fleetPage(q: FleetPageQuery): Promise<{ total: number; rows: FleetPageRow[] }> {
    // Every condition is an uncorrelated subquery, run once (not once per application).
    const where: string[] = ['a.current_revision IS NOT NULL'];
    const params: SqlValue[] = [];
    if (q.search !== null) {
      // LIKE wildcards in the search stay literal; ids and app names compare regardless of case.
      // An advisory id is looked for among findings (through the alias index), anything else among package names.
      const escaped = q.search.replace(/[\\%_]/g, (c) => `\\${c}`);
      const withId = findingWithId(q.search);
      const other = q.searchIsAdvisoryId
        ? `a.current_revision IN (SELECT f.revision_id FROM findings f WHERE ${withId.where})`
        : `a.current_revision IN (SELECT rp.revision_id FROM revision_packages rp WHERE rp.package_id IN (SELECT p.id FROM packages p WHERE ${PACKAGE_NAMED}))`;
      where.push(`(${caseless(this.sql.dialect, 'a.name')} LIKE ${caseless(this.sql.dialect, '?')} ESCAPE '\\' OR ${other})`);
      params.push(`%${escaped}%`, ...(q.searchIsAdvisoryId ? withId.params : [q.search, crateKey(q.search)]));
    }
    if (q.level !== null) {
      where.push(`a.current_revision IN (SELECT f.revision_id FROM findings f WHERE f.level = ? AND f.open = 1)`);
      params.push(q.level);
    }
    const filter = where.join(' AND ');
    const totalRows = await this.sql.query<{ n: number }>(`SELECT COUNT(*) AS n FROM apps a WHERE ${filter}`, params);
    const name = `a.name${byteOrder(this.sql.dialect)}`;
    const most = q.descending ? 'ASC' : 'DESC';
    const order =
      q.sort === 'name'
        ? `${name} ${q.descending ? 'DESC' : 'ASC'}`
        : q.sort === 'revised'
          ? `r.created_at ${most}, ${name}`
          : `${FINDING_LEVELS.map((l) => `c.open_${l} ${most}`).join(', ')}, ${name}`;
    const rows = await this.sql.query<Record<string, unknown> & { app_id: number; name: string; revision_id: number; digest: string; seq: number; created_at: string; failing: number; not_audited: number }>(
      `SELECT a.id AS app_id, a.name, a.current_revision AS revision_id, r.digest, r.seq, r.created_at, c.failing,
         CASE WHEN r.not_audited IS NULL THEN 0 ELSE 1 END AS not_audited, ${FINDING_LEVELS.map((l) => `c.open_${l}`).join(', ')}
       FROM apps a JOIN revisions r ON r.id = a.current_revision JOIN revision_counts c ON c.revision_id = a.current_revision
       WHERE ${filter} ORDER BY ${order} LIMIT ? OFFSET ?`,
      [...params, q.limit, q.offset],
    );
    const page = rows.map((r) => ({
      ...currentRevisionRef(r.name, r),
      revisedAt: r.created_at,
      open: Object.fromEntries(FINDING_LEVELS.map((l) => [l, Number(r[`open_${l}`] ?? 0)])) as LevelCounts,
      failing: Number(r.failing),
      notAudited: Number(r.not_audited) === 1,
    }));
    return { total: Number(totalRows[0]?.n ?? 0), rows: page };
  }

  // The fleet server (server-api).

  async addToken(t: { name: string; hash: string; readOnly: boolean; at: string }): Promise<TokenRecord | null> {
    const live = await this.sql.query(`SELECT 1 FROM api_tokens WHERE name = ? AND revoked_at IS NULL`, [t.name]);
    if (live.length > 0) return null;
    const rows = await this.sql.query<TokenRow>(
      `INSERT INTO api_tokens (name, hash, read_only, created_at, revoked_at) VALUES (?, ?, ?, ?, NULL) RETURNING ${TOKEN_COLUMNS}`,
      [t.name, t.hash, t.readOnly ? 1 : 0, t.at],
    );
    return tokenOf(rows[0] as TokenRow);
  }

  async tokenByHash(hash: string): Promise<TokenRecord | null> {
    const rows = await this.sql.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE hash = ? AND revoked_at IS NULL`, [hash]);
    return rows[0] ? tokenOf(rows[0]) : null;
  }

  async revokeToken(name: string, at: string): Promise<boolean> {
    return (await this.sql.run(`UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`, [at, name])) > 0;
  }

  async tokens(): Promise<TokenRecord[]> {
    return (await this.sql.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens ORDER BY id`)).map(tokenOf);
  }

  /** WHERE text (over `apps a`) and parameters of the applications a filter keeps: those with a current revision and a finding matching it. */
  private appsWhere(filter: AppsFilter): { where: string[]; params: SqlValue[] } {
    const where = ['a.current_revision IS NOT NULL'];
    const params: SqlValue[] = [];
    if (filter.search !== undefined && filter.search !== '') {
      where.push(`${caseless(this.sql.dialect, 'a.name')} LIKE ${caseless(this.sql.dialect, '?')} ESCAPE '\\'`);
      params.push(`%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    // The findings' level, open and fails_policy columns, not their JSON: one pass over the findings, not one per application.
    const conditions: string[] = [];
    const findingParams: SqlValue[] = [];
    if (filter.state === 'failing') conditions.push('f.fails_policy = 1');
    if (filter.state === 'ignored') conditions.push('f.open = 0');
    if (filter.state === 'warning') conditions.push('f.fails_policy = 0 AND f.open = 1');
    if (filter.severity !== undefined) {
      const levels = SEVERITY_LEVELS.slice(SEVERITY_LEVELS.indexOf(filter.severity));
      conditions.push(`f.level IN (${levels.map(() => '?').join(', ')})`);
      findingParams.push(...levels);
    }
    if (conditions.length > 0) {
      const matching = `a.current_revision IN (SELECT f.revision_id FROM findings f WHERE ${conditions.join(' AND ')})`;
      // Not audited is failing whatever its findings (status and show exit 2): a list of the failing never leaves it out.
      where.push(filter.state === 'failing' ? `(${matching} OR a.current_revision IN (SELECT r.id FROM revisions r WHERE r.not_audited IS NOT NULL))` : matching);
      params.push(...findingParams);
    }
    return { where, params };
  }

  async addSession(session: { hash: string; tokenId: number; at: string; expiresAt: string }): Promise<void> {
    await this.sql.run(`INSERT INTO dashboard_sessions (id_hash, token_id, created_at, expires_at) VALUES (?, ?, ?, ?)`, [
      session.hash,
      session.tokenId,
      session.at,
      session.expiresAt,
    ]);
  }

  async sessionByHash(hash: string, now: string): Promise<SessionRecord | null> {
    const rows = await this.sql.query<TokenRow & { id_hash: string; session_created_at: string; expires_at: string }>(
      `SELECT s.id_hash, s.created_at AS session_created_at, s.expires_at, ${TOKEN_COLUMNS.split(', ').map((c) => `t.${c}`).join(', ')}
       FROM dashboard_sessions s JOIN api_tokens t ON t.id = s.token_id
       WHERE s.id_hash = ? AND s.expires_at > ? AND t.revoked_at IS NULL`,
      [hash, now],
    );
    const row = rows[0];
    return row === undefined ? null : { hash: row.id_hash, token: tokenOf(row), createdAt: row.session_created_at, expiresAt: row.expires_at };
  }

  async deleteSession(hash: string): Promise<boolean> {
    return (await this.sql.run(`DELETE FROM dashboard_sessions WHERE id_hash = ?`, [hash])) > 0;
  }

  async deleteExpiredSessions(now: string): Promise<number> {
    return this.sql.run(`DELETE FROM dashboard_sessions WHERE expires_at <= ?`, [now]);
  }

  async appsPage(filter: AppsFilter, page: PageRequest): Promise<Page<{ app: AppRecord; revision: RevisionRecord }>> {
    const { where, params } = this.appsWhere(filter);
    const whereText = where.join(' AND ');
    const total = await this.count(`SELECT COUNT(*) AS n FROM apps a WHERE ${whereText}`, params);
    const rows = await this.sql.query<AppRow & { [K in keyof RevisionRow as `r_${K}`]: RevisionRow[K] }>(
      `SELECT a.id, a.name, a.current_revision, a.source_kind, a.created_at, ${REVISION_COLUMNS.split(', ').map((c) => `r.${c} AS r_${c}`).join(', ')}
       FROM apps a JOIN revisions r ON r.id = a.current_revision WHERE ${whereText}
       ORDER BY a.name${byteOrder(this.sql.dialect)} LIMIT ? OFFSET ?`,
      [...params, page.limit, page.offset],
    );
    return {
      total,
      items: rows.map((row) => ({
        app: appOf(row),
        revision: revisionOf({
          id: row.r_id,
          app_id: row.r_app_id,
          digest: row.r_digest,
          seq: row.r_seq,
          created_at: row.r_created_at,
          origin: row.r_origin,
          documents: row.r_documents,
          evaluated_against: row.r_evaluated_against,
          not_audited: row.r_not_audited,
        }),
      })),
    };
  }

  async findingsOfRevisions(revisionIds: readonly number[]): Promise<Map<number, Finding[]>> {
    const out = new Map<number, Finding[]>(revisionIds.map((id) => [id, []]));
    for (const batch of chunks([...new Set(revisionIds)], ROWS_PER_INSERT)) {
      const rows = await this.sql.query<{ revision_id: number; finding: string }>(
        `SELECT revision_id, finding FROM findings WHERE revision_id IN (${batch.map(() => '?').join(', ')})`,
        batch,
      );
      await this.findingsByRevision(rows, out);
    }
    return out;
  }

  async revisionFootprints(revisionIds: readonly number[]): Promise<Map<number, RevisionFootprint>> {
    const out = new Map<number, RevisionFootprint>(revisionIds.map((id) => [id, { packageIds: [], findings: [] }]));
    for (const batch of chunks([...new Set(revisionIds)], ROWS_PER_INSERT)) {
      const marks = batch.map(() => '?').join(', ');
      // One row per revision, its package ids as one text: a revision locks hundreds of packages.
      // Not ORDER BY in the aggregate (SQLite sorts them again, in a temporary B-tree): they come
      // in the key's order as read, and are sorted here only when they do not.
      const packages = await this.sql.query<{ revision_id: number; ids: string }>(
        `SELECT revision_id, string_agg(CAST(package_id AS TEXT), ',') AS ids FROM revision_packages WHERE revision_id IN (${marks}) GROUP BY revision_id`,
        batch,
      );
      for (const row of packages) {
        const entry = out.get(Number(row.revision_id));
        if (entry === undefined) continue;
        const ids = row.ids.split(',').map(Number);
        entry.packageIds = ids.every((id, i) => i === 0 || (ids[i - 1] as number) < id) ? ids : ids.sort((a, b) => a - b);
      }
      const findings = await this.sql.query<{ revision_id: number; package_id: number; advisory_id: string }>(
        `SELECT revision_id, package_id, advisory_id FROM findings WHERE revision_id IN (${marks}) ORDER BY revision_id, target, package_id, group_key`,
        batch,
      );
      for (const row of findings) {
        const revisionId = Number(row.revision_id);
        out.get(revisionId)?.findings.push({ revisionId, packageId: Number(row.package_id), advisoryId: row.advisory_id });
      }
    }
    return out;
  }

  async packagesById(ids: readonly number[]): Promise<Map<number, PackageKey>> {
    const out = new Map<number, PackageKey>();
    for (const batch of chunks([...new Set(ids)], ROWS_PER_INSERT)) {
      const rows = await this.sql.query<PackageKey & { id: number }>(`SELECT id, ecosystem, name, version FROM packages WHERE id IN (${batch.map(() => '?').join(', ')})`, batch);
      for (const r of rows) out.set(Number(r.id), { ecosystem: r.ecosystem, name: r.name, version: r.version });
    }
    return out;
  }

  async findingsWithKeys(keys: readonly FindingKey[]): Promise<Finding[]> {
    const text = (k: FindingKey): string => `${k.revisionId}\0${k.packageId}\0${k.advisoryId}`;
    const rows = new Map<string, string>();
    for (const batch of chunks([...new Set(keys.map((k) => k.revisionId))], ROWS_PER_INSERT)) {
      const inBatch = new Set(batch);
      const packageIds = [...new Set(keys.filter((k) => inBatch.has(k.revisionId)).map((k) => k.packageId))];
      // Their packages' findings only (past the statement's parameter limit every finding: still a superset).
      const packageFilter = packageIds.length <= MAX_PACKAGE_FILTER ? ` AND package_id IN (${packageIds.map(() => '?').join(', ')})` : '';
      const found = await this.sql.query<{ revision_id: number; package_id: number; advisory_id: string; finding: string }>(
        `SELECT revision_id, package_id, advisory_id, finding FROM findings WHERE revision_id IN (${batch.map(() => '?').join(', ')})${packageFilter}
         ORDER BY revision_id, target, package_id, group_key`,
        packageFilter === '' ? batch : [...batch, ...packageIds],
      );
      // In the store's order: the last with a key is the one kept.
      for (const r of found) rows.set(text({ revisionId: Number(r.revision_id), packageId: Number(r.package_id), advisoryId: r.advisory_id }), r.finding);
    }
    return this.findingsOf(
      keys.map((k) => {
        const row = rows.get(text(k));
        if (row === undefined) throw new Error(`the fleet store has no finding of ${k.advisoryId} on package ${k.packageId} in revision ${k.revisionId}`);
        return parseFindingRow(row);
      }),
    );
  }

  /**
   * The packages of these ids (repeats allowed), each read once by this store: a package row is
   * never changed or removed, so an id read from a committed row names that package for good.
   * Inside a transaction (whose rows a rollback may undo) nothing is remembered past the call.
   */
  private async packageKeys(ids: readonly number[]): Promise<Map<number, PackageKey>> {
    const known = this.driver === null ? new Map<number, PackageKey>() : this.packagesRead;
    const wanted = [...new Set(ids)];
    let missing = wanted.filter((id) => !known.has(id));
    // A long-running server remembers at most PACKAGES_REMEMBERED, or this call's when more.
    if (known === this.packagesRead && known.size + missing.length > PACKAGES_REMEMBERED) {
      known.clear();
      missing = wanted;
    }
    if (missing.length > 0) for (const [id, key] of await this.packagesById(missing)) known.set(id, key);
    return known;
  }

  async findingLinesOfRevisions(revisionIds: readonly number[]): Promise<Map<number, FindingLine[]>> {
    const out = new Map<number, FindingLine[]>(revisionIds.map((id) => [id, []]));
    // The advisory's digest, where the row's JSON holds the advisory: read by the database, the row never handed over.
    const digest = this.sql.dialect === 'sqlite' ? `json_extract(f.finding, '$.advisory')` : `(f.finding::json ->> 'advisory')`;
    for (const batch of chunks([...new Set(revisionIds)], ROWS_PER_INSERT)) {
      // The packages by id afterwards, each once (packageKeys), not joined to every finding: the
      // findings of a fleet cite a few thousand packages, and the join was a fifth of the query.
      const rows = await this.sql.query<{ revision_id: number; target: string; digest: string; package_id: number; fails_policy: number; open: number }>(
        `SELECT f.revision_id, f.target, ${digest} AS digest, f.package_id, f.fails_policy, f.open
         FROM findings f WHERE f.revision_id IN (${batch.map(() => '?').join(', ')})
         ORDER BY f.revision_id, f.target, f.package_id, f.group_key`,
        batch,
      );
      const advisories = await this.advisories.advisories(
        rows.map((r) => r.digest),
        (digests) => this.advisoryRecords(digests),
      );
      const packages = await this.packageKeys(rows.map((r) => Number(r.package_id)));
      for (const r of rows) {
        const advisory = advisories.get(r.digest);
        if (advisory === undefined) throw new Error(`the fleet store has no advisory record ${r.digest}`);
        const pkg = packages.get(Number(r.package_id));
        if (pkg === undefined) throw new Error(`the fleet store has no package ${r.package_id}`);
        out.get(Number(r.revision_id))?.push({
          target: r.target,
          advisory,
          package: pkg,
          ignored: Number(r.open) === 0,
          failsPolicy: Number(r.fails_policy) === 1,
        });
      }
    }
    return out;
  }

  async appSummariesPage(filter: AppsFilter, page: PageRequest): Promise<Page<AppSummaryRow> & { before: number }> {
    const { where, params } = this.appsWhere(filter);
    const name = `a.name${byteOrder(this.sql.dialect)}`;
    const whereText = where.join(' AND ');
    const total = await this.count(`SELECT COUNT(*) AS n FROM apps a WHERE ${whereText}`, params);
    // Keyset: after a name, the index on the name starts there; OFFSET would join and drop every row before it.
    const after = page.after ?? null;
    const before = after === null ? page.offset : await this.count(`SELECT COUNT(*) AS n FROM apps a WHERE ${whereText} AND ${name} <= ?`, [...params, after]);
    const rows = await this.sql.query<Record<string, unknown> & { app_id: number; name: string; revision_id: number; digest: string; seq: number; created_at: string; failing: number; not_audited: number }>(
      `SELECT a.id AS app_id, a.name, a.current_revision AS revision_id, r.digest, r.seq, r.created_at, c.failing,
         CASE WHEN r.not_audited IS NULL THEN 0 ELSE 1 END AS not_audited, ${FINDING_LEVELS.map((l) => `c.open_${l}`).join(', ')}
       FROM apps a JOIN revisions r ON r.id = a.current_revision JOIN revision_counts c ON c.revision_id = a.current_revision
       WHERE ${whereText}${after === null ? '' : ` AND ${name} > ?`} ORDER BY ${name} LIMIT ?${after === null ? ' OFFSET ?' : ''}`,
      after === null ? [...params, page.limit, page.offset] : [...params, after, page.limit],
    );
    return {
      total,
      before,
      items: rows.map((r) => ({
        ...currentRevisionRef(r.name, r),
        revisedAt: r.created_at,
        open: openCounts(r),
        failing: Number(r.failing),
        notAudited: Number(r.not_audited) === 1,
      })),
    };
  }

  async findingsMentioning(revisionIds: readonly number[], ids: readonly string[]): Promise<Map<number, Finding[]>> {
    const out = new Map<number, Finding[]>(revisionIds.map((id) => [id, []]));
    if (revisionIds.length === 0 || ids.length === 0) return out;
    for (const revisions of chunks([...new Set(revisionIds)], ROWS_PER_INSERT)) {
      for (const batch of chunks([...new Set(ids.map((i) => i.toUpperCase()))], ROWS_PER_INSERT)) {
        const rows = await this.sql.query<{ revision_id: number; finding: string }>(
          `SELECT f.revision_id, f.finding FROM findings f
           WHERE f.revision_id IN (${revisions.map(() => '?').join(', ')})
             AND f.group_key IN (SELECT group_key FROM finding_aliases WHERE UPPER(alias) IN (${batch.map(() => '?').join(', ')}))`,
          [...revisions, ...batch],
        );
        await this.findingsByRevision(rows, out);
      }
    }
    return out;
  }

  async currentLevelCounts(): Promise<LevelCounts> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT ${FINDING_LEVELS.map((l) => `SUM(c.open_${l}) AS open_${l}`).join(', ')} FROM apps a JOIN revision_counts c ON c.revision_id = a.current_revision`,
    );
    return Object.fromEntries(FINDING_LEVELS.map((l) => [l, Number(rows[0]?.[`open_${l}`] ?? 0)])) as LevelCounts;
  }

  async findingsOverTime(appId: number | null, maxPoints: number): Promise<TimelinePoint[]> {
    // Computed by the database, at most maxPoints rows handed over (the history is never read
    // whole into the process): each entry's change to the total (its count less the application's
    // previous entry's), the running total after the last entry of each instant, and past
    // maxPoints instants the last of each of maxPoints equal spans of time, as the chart draws them.
    const postgres = this.sql.dialect === 'postgres';
    const ms = postgres ? `CAST(ROUND(EXTRACT(EPOCH FROM CAST(at AS TIMESTAMPTZ)) * 1000) AS BIGINT)` : `CAST(ROUND((julianday(at) - 2440587.5) * 86400000.0) AS INTEGER)`;
    const span = `(CAST(${postgres ? 'GREATEST' : 'MAX'}(1, last - first) AS DOUBLE PRECISION) / ?)`;
    // The last instant ends the last span (not a span of its own).
    const bucket = `${postgres ? 'LEAST' : 'MIN'}(? - 1, ${postgres ? `FLOOR((t - first) / ${span})` : `CAST((t - first) / ${span} AS INTEGER)`})`;
    const count = FINDING_LEVELS.map((l) => `c.open_${l}`).join(' + ');
    const rows = await this.sql.query<{ at: string; total: number | string }>(
      `WITH entries AS (
         SELECT h.id, h.at, ${count} - COALESCE(LAG(${count}) OVER (PARTITION BY h.app_id ORDER BY h.at, h.id), 0) AS delta
         FROM history h JOIN revision_counts c ON c.revision_id = h.revision_id${appId === null ? '' : ' WHERE h.app_id = ?'}
       ), totals AS (
         SELECT at, SUM(delta) OVER (ORDER BY at, id ROWS UNBOUNDED PRECEDING) AS total, ROW_NUMBER() OVER (PARTITION BY at ORDER BY id DESC) AS nth FROM entries
       ), points AS (
         SELECT at, total, ${ms} AS t FROM totals WHERE nth = 1
       ), framed AS (
         SELECT at, total, t, MIN(t) OVER () AS first, MAX(t) OVER () AS last, COUNT(*) OVER () AS n FROM points
       ), bucketed AS (
         SELECT at, total, n, ROW_NUMBER() OVER (PARTITION BY ${bucket} ORDER BY at DESC) AS nth FROM framed
       )
       SELECT at, total FROM bucketed WHERE n <= ? OR nth = 1 ORDER BY at`,
      [...(appId === null ? [] : [appId]), maxPoints, maxPoints, maxPoints],
    );
    return rows.map((r) => ({ at: r.at, value: Number(r.total) }));
  }

  async currentFindingsWithIdPage(id: string, page: PageRequest): Promise<Page<CurrentFinding>> {
    const { where, params } = findingWithId(id);
    const from = `FROM findings f JOIN apps a ON a.current_revision = f.revision_id WHERE ${where}`;
    const total = await this.count(`SELECT COUNT(DISTINCT a.id) AS n ${from}`, params);
    const ids = await this.sql.query<{ id: number }>(
      `SELECT a.id, a.name ${from} GROUP BY a.id, a.name ORDER BY a.name${byteOrder(this.sql.dialect)} LIMIT ? OFFSET ?`,
      [...params, page.limit, page.offset],
    );
    if (ids.length === 0) return { total, items: [] };
    const appIds = ids.map((r) => Number(r.id));
    return { total, items: await this.currentFindingsWhere(`(${where}) AND a.id IN (${appIds.map(() => '?').join(', ')})`, [...params, ...appIds]) };
  }

  async packageUsePage(
    { ecosystem, name, version }: { ecosystem: Ecosystem | null; name: string; version: string | null },
    page: PageRequest,
  ): Promise<Page<CurrentRevisionRef & { package: PackageKey }> & { findings: CurrentFinding[] }> {
    // A version without build metadata is also every locked version that adds some (`111.10.2+1.1.1g`): sameRelease.
    const bare = version !== null && !version.includes('+');
    const versionWhere = `${ecosystem === null ? '' : ' AND p.ecosystem = ?'}${version === null ? '' : bare ? ' AND (p.version = ? OR substr(p.version, 1, ?) = ?)' : ' AND p.version = ?'}`;
    const versionParams: SqlValue[] = version === null ? [] : bare ? [version, version.length + 1, `${version}+`] : [version];
    const params: SqlValue[] = [name, crateKey(name), ...(ecosystem === null ? [] : [ecosystem]), ...versionParams];
    const from = `FROM packages p JOIN revision_packages rp ON rp.package_id = p.id JOIN apps a ON a.current_revision = rp.revision_id
       WHERE ${PACKAGE_NAMED}${versionWhere}`;
    const total = await this.count(`SELECT COUNT(DISTINCT a.id) AS n ${from}`, params);
    const ids = await this.sql.query<{ id: number }>(
      `SELECT a.id, a.name ${from} GROUP BY a.id, a.name ORDER BY a.name${byteOrder(this.sql.dialect)} LIMIT ? OFFSET ?`,
      [...params, page.limit, page.offset],
    );
    if (ids.length === 0) return { total, items: [], findings: [] };
    const appIds = ids.map((r) => Number(r.id));
    const inApps = `a.id IN (${appIds.map(() => '?').join(', ')})`;
    const items = await this.packageUse(`${PACKAGE_NAMED}${versionWhere} AND ${inApps}`, [...params, ...appIds]);
    const findings = await this.currentFindingsWhere(
      `f.package_id IN (SELECT p.id FROM packages p WHERE ${PACKAGE_NAMED}${versionWhere}) AND ${inApps}`,
      [...params, ...appIds],
    );
    return { total, items, findings };
  }

  async historyPage(appId: number, page: PageRequest): Promise<Page<HistoryEntry>> {
    const total = await this.count(`SELECT COUNT(*) AS n FROM history WHERE app_id = ?`, [appId]);
    const rows = await this.sql.query<{ at: string; action: HistoryAction; revision_id: number; previous_revision_id: number | null; by: string }>(
      `SELECT at, action, revision_id, previous_revision_id, by FROM history WHERE app_id = ? ORDER BY id LIMIT ? OFFSET ?`,
      [appId, page.limit, page.offset],
    );
    const wanted = [...new Set(rows.flatMap((r) => [Number(r.revision_id), ...(r.previous_revision_id === null ? [] : [Number(r.previous_revision_id)])]))];
    const byId = new Map<number, RevisionRecord>();
    for (const batch of chunks(wanted, ROWS_PER_INSERT)) {
      const found = await this.sql.query<RevisionRow>(`SELECT ${REVISION_COLUMNS} FROM revisions WHERE id IN (${batch.map(() => '?').join(', ')})`, batch);
      for (const r of found) byId.set(Number(r.id), revisionOf(r));
    }
    return {
      total,
      items: rows.map((r) => ({
        at: r.at,
        action: r.action,
        revision: byId.get(Number(r.revision_id)) as RevisionRecord,
        previousRevision: r.previous_revision_id === null ? null : (byId.get(Number(r.previous_revision_id)) ?? null),
        by: r.by,
      })),
    };
  }

  async eventsAfter(afterId: number, limit: number, maxStoredBytes = Number.POSITIVE_INFINITY): Promise<FleetEventRecord[]> {
    let upTo: number | null = null;
    if (maxStoredBytes !== Number.POSITIVE_INFINITY) {
      // The bodies' stored sizes first (no body read): the events up to the budget, at least one.
      const sizes = await this.sql.query<{ id: number; size: number | string }>(
        `SELECT id, LENGTH(body) + COALESCE(LENGTH(body_zstd), 0) AS size FROM events WHERE id > ? ORDER BY id LIMIT ?`,
        [afterId, limit],
      );
      const last = lastWithinBudget(sizes, maxStoredBytes);
      if (last === null) return [];
      upTo = Number(last.id);
    }
    const rows = await this.sql.query<{ id: number; type: string; at: string } & StoredEventBody>(
      `SELECT id, type, body, body_zstd, at FROM events WHERE id > ?${upTo === null ? '' : ' AND id <= ?'} ORDER BY id LIMIT ?`,
      upTo === null ? [afterId, limit] : [afterId, upTo, limit],
    );
    return rows.map((r) => ({ id: Number(r.id), type: r.type, body: eventBody(r), at: r.at }));
  }

  async lastEventId(): Promise<number> {
    return this.count(`SELECT COALESCE(MAX(id), 0) AS n FROM events`, []);
  }

  private async count(sql: string, params: readonly SqlValue[]): Promise<number> {
    return Number((await this.sql.query<{ n: number | string }>(sql, params))[0]?.n ?? 0);
  }
}

interface TokenRow {
  id: number;
  name: string;
  hash: string;
  read_only: number;
  created_at: string;
  revoked_at: string | null;
}

const TOKEN_COLUMNS = 'id, name, hash, read_only, created_at, revoked_at';

function tokenOf(r: TokenRow): TokenRecord {
  return { id: Number(r.id), name: r.name, hash: r.hash, readOnly: Number(r.read_only) === 1, createdAt: r.created_at, revokedAt: r.revoked_at };
}

/**
 * The open_* columns of a revision_counts row by level, as an object literal: a list builds one per
 * application per request, and a literal (unlike Object.fromEntries over computed keys) has a fixed shape that
 * is cheap to build and to serialise.
 */
function openCounts(r: Record<string, unknown>): LevelCounts {
  return {
    critical: Number(r.open_critical ?? 0),
    high: Number(r.open_high ?? 0),
    medium: Number(r.open_medium ?? 0),
    low: Number(r.open_low ?? 0),
    none: Number(r.open_none ?? 0),
    unscored: Number(r.open_unscored ?? 0),
    informational: Number(r.open_informational ?? 0),
  };
}

/** ORDER BY in code-point order: SQLite's BINARY already is; PostgreSQL's default collation is not. */
const byteOrder = (dialect: Dialect): string => (dialect === 'postgres' ? ' COLLATE "C"' : '');

/** `expression` in upper case, every letter's (SQLite's UPPER() does ASCII only: SQLITE_UPPER_TEXT), for a search regardless of case. */
const caseless = (dialect: Dialect, expression: string): string => (dialect === 'postgres' ? `UPPER(${expression})` : `${SQLITE_UPPER_TEXT}(${expression})`);

/** Findings (f) about an advisory with `id` as its id or one of its aliases: see currentFindingsWithId. */
function findingWithId(id: string): { where: string; params: SqlValue[] } {
  // finding_aliases has a row per id of each alias group findings were stored under (the
  // advisory's own id too), compared regardless of case through its index on UPPER(alias).
  return { where: `f.group_key IN (SELECT group_key FROM finding_aliases WHERE UPPER(alias) = UPPER(?))`, params: [id] };
}

interface DeliveryRow extends StoredEventBody {
  event_id: number;
  target: string;
  type: string;
  attempts: number;
  next_attempt_at: string;
}

const DELIVERY_COLUMNS = 'o.event_id, o.target, e.type, e.body, e.body_zstd, o.attempts, o.next_attempt_at';

function deliveryOf(r: DeliveryRow): OutboxDelivery {
  return { eventId: Number(r.event_id), target: r.target, type: r.type, body: eventBody(r), attempts: Number(r.attempts), nextAttemptAt: r.next_attempt_at };
}

/**
 * A package named NAME (first parameter) or, for crates, whose crates.io key is the second
 * parameter: crates compare regardless of case and of '-' against '_' (package-names.ts).
 */
const PACKAGE_NAMED = `((p.ecosystem = 'npm' AND p.name = ?) OR (p.ecosystem = 'cargo' AND replace(lower(p.name), '-', '_') = ?))`;

const crateKey = (name: string): string => name.toLowerCase().replace(/-/g, '_');

/** An application's current revision as a query's row names it (ids may come back as strings from PostgreSQL). */
function currentRevisionRef(app: string, r: { app_id: number; revision_id: number; digest: string; seq: number }): CurrentRevisionRef {
  return { app, appId: Number(r.app_id), revisionId: Number(r.revision_id), revision: r.digest, seq: Number(r.seq) };
}

/** Test hook: the rows a bulk write must insert into a table before its indexes are set aside (at least; BULK_ROWS otherwise). */
const BULK_ROWS_ENV = 'STOWAGE_TEST_BULK_INDEX_ROWS';

/**
 * Rows inserted into a table by one transaction from which its secondary indexes are set aside,
 * at least: below that, an index of the rows inserted fits SQLite's page cache (2 MB by default)
 * and inserting into it at random costs little.
 */
const BULK_ROWS = 100_000;

/** Tables whose secondary indexes a bulk write sets aside: rows go into them at random places of those indexes. */
type BulkTable = 'revision_packages';

/**
 * SQLite: a transaction that inserts many rows into a table with a secondary index keyed
 * otherwise than the rows come (revision_packages_package: each revision's rows land all over
 * the index) pays a random B-tree insert per row, most of them pages out of the cache: a
 * thousand applications' 900,000 rows took 4-8 s that way, 0.7 s inserted without the index and
 * the index created again afterwards. So once one transaction has inserted into a table the rows
 * of as many revisions as the store held before it (and at least BULK_ROWS rows), the table's secondary indexes are
 * dropped, and `restore` creates them again, from the text they were created with, before the
 * commit. DDL is transactional in SQLite: a rolled-back or killed transaction leaves them as they
 * were, and readers in WAL mode keep their snapshot, indexes included. A small add into a large
 * fleet never reaches its threshold: rebuilding the index would cost more than the inserts.
 * PostgreSQL is never asked: DROP INDEX would lock its readers out for the whole transaction.
 */
class BulkIndexes {
  private readonly tables = new Map<
    BulkTable,
    { least: number; heldRevisions: number; inserted: number; revisions: number; dropped: { name: string; sql: string; stats: SqlValue[][] }[] | null }
  >();

  constructor(private readonly sql: SqlExecutor) {}

  /** Before the `rows` rows of revision `revisionId` are inserted into `table`: sets its indexes aside once the threshold is reached. */
  async willInsert(table: BulkTable, revisionId: number, rows: number): Promise<void> {
    let state = this.tables.get(table);
    if (state === undefined) {
      // The revisions the store held before this one (ids ascend), not the table's rows: a WITHOUT
      // ROWID table has no rowid whose maximum counts them, and counting them reads them all (9
      // million at 10,000 applications), where a fleet's revisions are thousands of short rows.
      const held = await this.sql.query<{ n: number }>(`SELECT COUNT(*) AS n FROM revisions WHERE id < ?`, [revisionId]);
      const least = Number(process.env[BULK_ROWS_ENV] ?? BULK_ROWS);
      state = { least, heldRevisions: Number(held[0]?.n ?? 0), inserted: 0, revisions: 0, dropped: null };
      this.tables.set(table, state);
    }
    state.inserted += rows;
    state.revisions += 1;
    if (state.dropped !== null || state.inserted < state.least || state.revisions < state.heldRevisions) return;
    const indexes = await this.sql.query<{ name: string; sql: string }>(
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`,
      [table],
    );
    // The planner's statistics of each index (ANALYZE's; DROP INDEX deletes them), put back with it.
    const analysed = await sqliteAnalysed(this.sql);
    state.dropped = [];
    for (const index of indexes) {
      const stats = analysed
        ? (await this.sql.query<{ tbl: string; idx: string; stat: string }>(`SELECT tbl, idx, stat FROM sqlite_stat1 WHERE idx = ?`, [index.name])).map((r) => [r.tbl, r.idx, r.stat])
        : [];
      await this.sql.run(`DROP INDEX ${quoteName(index.name)}`);
      state.dropped.push({ ...index, stats });
    }
  }

  /** Names of the indexes set aside, in order. */
  setAside(): string[] {
    return [...this.tables.values()].flatMap((s) => (s.dropped ?? []).map((d) => d.name));
  }

  /** Creates the indexes set aside again, with their statistics: the last statements of the transaction. */
  async restore(): Promise<void> {
    for (const state of this.tables.values()) {
      for (const index of state.dropped ?? []) {
        await this.sql.run(index.sql);
        for (const stat of index.stats) await this.sql.run(`INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)`, stat);
      }
      state.dropped = null;
    }
  }
}

/** An identifier of the store's own schema, quoted. */
const quoteName = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** Package ids by ecosystem, name and version: three lookups of the package's own strings. */
class PackageIdMap {
  private readonly byEcosystem = new Map<string, Map<string, Map<string, number>>>();

  get(p: PackageKey): number | undefined {
    return this.byEcosystem.get(p.ecosystem)?.get(p.name)?.get(p.version);
  }

  set(p: PackageKey, id: number): void {
    let names = this.byEcosystem.get(p.ecosystem);
    if (names === undefined) this.byEcosystem.set(p.ecosystem, (names = new Map()));
    let versions = names.get(p.name);
    if (versions === undefined) names.set(p.name, (versions = new Map()));
    versions.set(p.version, id);
  }
}

/** A stored finding as storedFindingsOf reads it: its row parsed the first time its finding is asked for. */
class LazyStoredFinding implements StoredFindingRow {
  private parsed: Finding | null = null;

  constructor(
    readonly findingKey: string,
    readonly ecosystem: Ecosystem,
    readonly name: string,
    readonly target: string,
    readonly packageId: number,
    readonly groupKey: string,
    readonly key: FindingRowText,
    private readonly advisory: Advisory,
  ) {}

  get finding(): Finding {
    if (this.parsed === null) {
      const finding = parseFindingRow(this.key).partial;
      // In the digest's place among the finding's keys, as AdvisoryRecords.resolve puts it.
      finding.advisory = this.advisory;
      this.parsed = finding;
    }
    return this.parsed;
  }
}

/**
 * The last of `rows` (in reading order) whose stored sizes, added up from the first, stay within
 * `maxBytes`, and at least the first: a page of stored bodies that is never empty while any is
 * due. Null when there are no rows.
 */
function lastWithinBudget<T extends { size: number | string }>(rows: readonly T[], maxBytes: number): T | null {
  let total = 0;
  let last: T | null = null;
  for (const row of rows) {
    total += Number(row.size);
    if (last !== null && total > maxBytes) break;
    last = row;
  }
  return last;
}
