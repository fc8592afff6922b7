import { isDeepStrictEqual } from 'node:util';
import type { Finding } from '../../core/finding.js';
import type { Ecosystem } from '../../core/package.js';
import type { SqlDriver, SqlExecutor, SqlValue } from './sql.js';
import {
  aliasGroupKey,
  type AdvisoryStateEntry,
  type AppRecord,
  type AppSourceKind,
  type DatabaseState,
  type FleetSettings,
  type FleetStore,
  type HistoryAction,
  type HistoryEntry,
  type NewRevision,
  type CurrentFinding,
  type CurrentRevisionRef,
  type OutboxDelivery,
  type PackageKey,
  type RevisionRecord,
  type RevisionSource,
  type SnapshotRecord,
} from './store.js';
import type { CampaignStore } from './campaign-store.js';
import { SqlCampaignStore } from './sql-campaign-store.js';
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
}

interface AppRow {
  id: number;
  name: string;
  current_revision: number | null;
  source_kind: AppSourceKind;
  created_at: string;
}

const REVISION_COLUMNS = 'id, app_id, digest, seq, created_at, origin, documents, evaluated_against';

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

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

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

/** FleetStore over an SqlDriver: the only place the fleet's SQL lives, the same text for both dialects. */
export class SqlFleetStore implements FleetStore {
  /**
   * Package ids this transaction has seen: a bulk add meets the same packages in most
   * applications. Per transaction, so ids of a rolled-back attempt are never reused.
   */
  private readonly knownPackages = new Map<string, number>();
  readonly campaigns: CampaignStore;

  private constructor(
    private readonly sql: SqlExecutor,
    private readonly driver: SqlDriver | null,
    readonly location: string,
  ) {
    this.campaigns = new SqlCampaignStore(sql);
  }

  static over(driver: SqlDriver, location: string): SqlFleetStore {
    return new SqlFleetStore(driver, driver, location);
  }

  async close(): Promise<void> {
    await this.driver?.close();
  }

  transaction<T>(work: (tx: FleetStore) => Promise<T>): Promise<T> {
    if (this.driver === null) return work(this);
    return this.driver.transaction(async (tx) => {
      const result = await work(new SqlFleetStore(tx, null, this.location));
      if (process.env[PAUSE_ENV] === '1') {
        process.stderr.write('stowage: paused before commit (test hook)\n');
        await new Promise(() => setInterval(() => undefined, 1000));
      }
      return result;
    });
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

  async updateAdvisoryState(source: string, entries: AdvisoryStateEntry[], removed: string[]): Promise<void> {
    for (const id of removed) await this.sql.run(`DELETE FROM advisory_state WHERE source = ? AND advisory_id = ?`, [source, id]);
    for (const batch of chunks(entries, ROWS_PER_INSERT)) {
      await this.sql.run(
        `INSERT INTO advisory_state (source, advisory_id, digest, names) VALUES ${placeholders(batch.length, 4)}
         ON CONFLICT (source, advisory_id) DO UPDATE SET digest = excluded.digest, names = excluded.names`,
        batch.flatMap((e) => [source, e.advisoryId, e.digest, JSON.stringify(e.names)]),
      );
    }
  }

  async putDocuments(documents: { digest: string; size: number; content: Buffer }[]): Promise<void> {
    for (const d of documents) {
      await this.sql.run(`INSERT INTO documents (digest, size, content) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING`, [d.digest, d.size, d.content]);
    }
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

  async app(name: string): Promise<AppRecord | null> {
    const rows = await this.sql.query<AppRow>(`SELECT id, name, current_revision, source_kind, created_at FROM apps WHERE name = ?`, [name]);
    return rows[0] ? appOf(rows[0]) : null;
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
    return appOf(rows[0] as AppRow);
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
    const rows = await this.sql.query<{ graph: Buffer }>(`SELECT graph FROM revisions WHERE id = ?`, [id]);
    const graph = rows[0]?.graph;
    if (graph === undefined) throw new Error(`no revision ${id} in the fleet store`);
    return graph;
  }

  async addRevision(r: NewRevision): Promise<RevisionRecord> {
    const seqRows = await this.sql.query<{ next: number }>(`SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM revisions WHERE app_id = ?`, [r.appId]);
    const seq = Number(seqRows[0]?.next ?? 1);
    const rows = await this.sql.query<RevisionRow>(
      `INSERT INTO revisions (app_id, digest, seq, created_at, origin, documents, graph, evaluated_against)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${REVISION_COLUMNS}`,
      [r.appId, r.digest, seq, r.at, r.origin, JSON.stringify(r.documents), r.graph, JSON.stringify(r.evaluatedAgainst)],
    );
    return revisionOf(rows[0] as RevisionRow);
  }

  async setEvaluatedAgainst(revisionId: number, against: Record<string, string>): Promise<void> {
    await this.sql.run(`UPDATE revisions SET evaluated_against = ? WHERE id = ?`, [JSON.stringify(against), revisionId]);
  }

  /** Ids of the packages, inserting those not yet known. */
  private async packageIds(packages: readonly PackageKey[]): Promise<Map<string, number>> {
    const ids = new Map<string, number>();
    const unique = new Map<string, PackageKey>();
    for (const p of packages) {
      const key = packageKeyText(p);
      const known = this.knownPackages.get(key);
      if (known !== undefined) ids.set(key, known);
      else unique.set(key, p);
    }
    for (const batch of chunks([...unique.values()], ROWS_PER_INSERT)) {
      const values = batch.flatMap((p) => [p.ecosystem, p.name, p.version]);
      await this.sql.run(`INSERT INTO packages (ecosystem, name, version) VALUES ${placeholders(batch.length, 3)} ON CONFLICT DO NOTHING`, values);
      const rows = await this.sql.query<{ id: number; ecosystem: Ecosystem; name: string; version: string }>(
        `SELECT id, ecosystem, name, version FROM packages WHERE (ecosystem, name, version) IN (VALUES ${placeholders(batch.length, 3)})`,
        values,
      );
      for (const row of rows) {
        ids.set(packageKeyText(row), Number(row.id));
        if (this.driver === null) this.knownPackages.set(packageKeyText(row), Number(row.id));
      }
    }
    return ids;
  }

  async indexPackages(revisionId: number, packages: PackageKey[]): Promise<void> {
    const ids = [...new Set((await this.packageIds(packages)).values())];
    for (const batch of chunks(ids, ROWS_PER_INSERT)) {
      await this.sql.run(
        `INSERT INTO revision_packages (revision_id, package_id) VALUES ${placeholders(batch.length, 2)} ON CONFLICT DO NOTHING`,
        batch.flatMap((id) => [revisionId, id]),
      );
    }
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
      await this.sql.run(`DELETE FROM findings WHERE revision_id = ?`, [revisionId]);
    } else {
      for (const batch of chunks(onlyNames, ROWS_PER_INSERT)) {
        await this.sql.run(
          `DELETE FROM findings WHERE revision_id = ? AND package_id IN
             (SELECT id FROM packages WHERE (ecosystem, name) IN (VALUES ${placeholders(batch.length, 2)}))`,
          [revisionId, ...batch.flatMap((n) => [n.ecosystem, n.name])],
        );
      }
    }
    if (findings.length === 0) return;
    const ids = await this.packageIds(findings.map((f) => f.package));
    for (const batch of chunks(findings, ROWS_PER_INSERT)) {
      const values: SqlValue[] = [];
      for (const f of batch) {
        values.push(
          revisionId,
          f.target,
          ids.get(packageKeyText(f.package)) as number,
          aliasGroupKey([f.advisory.id, ...f.advisory.aliases]),
          f.advisory.id,
          JSON.stringify(f),
        );
      }
      await this.sql.run(`INSERT INTO findings (revision_id, target, package_id, group_key, advisory_id, finding) VALUES ${placeholders(batch.length, 6)}`, values);
    }
  }

  async findings(revisionId: number): Promise<Finding[]> {
    const rows = await this.sql.query<{ finding: string }>(`SELECT finding FROM findings WHERE revision_id = ?`, [revisionId]);
    return rows.map((r) => JSON.parse(r.finding) as Finding);
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
      `INSERT INTO snapshot_apps (snapshot_id, app_id, revision_id) SELECT ?, id, current_revision FROM apps WHERE current_revision IS NOT NULL`,
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
      `SELECT s.app_id, a.name, s.revision_id FROM snapshot_apps s JOIN apps a ON a.id = s.app_id WHERE s.snapshot_id = ? ORDER BY a.name`,
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

  // Queries, triage and events (fleet-eval).

  async currentFindingsWithId(id: string): Promise<CurrentFinding[]> {
    // group_key holds every id, space-separated: a whole-word LIKE, its wildcards escaped; ids compare
    // regardless of case on both stores (SQLite's LIKE ignores ASCII case, PostgreSQL's does not).
    const pattern = `% ${id.replace(/[\\%_]/g, (c) => `\\${c}`)} %`;
    return this.currentFindingsWhere(`UPPER(f.advisory_id) = UPPER(?) OR UPPER(' ' || f.group_key || ' ') LIKE UPPER(?) ESCAPE '\\'`, [id, pattern]);
  }

  async knowsAdvisory(id: string): Promise<boolean> {
    return (await this.sql.query(`SELECT 1 FROM advisory_state WHERE UPPER(advisory_id) = UPPER(?) LIMIT 1`, [id])).length > 0;
  }

  async currentFindingsOnPackage(name: string): Promise<CurrentFinding[]> {
    return this.currentFindingsWhere(`f.package_id IN (SELECT p.id FROM packages p WHERE ${PACKAGE_NAMED})`, [name, crateKey(name)]);
  }

  /** Findings of current revisions, in application-name order, that satisfy `where` (over f). */
  private async currentFindingsWhere(where: string, params: SqlValue[]): Promise<CurrentFinding[]> {
    const rows = await this.sql.query<{ app_id: number; name: string; revision_id: number; digest: string; seq: number; finding: string }>(
      `SELECT a.id AS app_id, a.name, f.revision_id, r.digest, r.seq, f.finding FROM findings f
       JOIN apps a ON a.current_revision = f.revision_id JOIN revisions r ON r.id = f.revision_id
       WHERE ${where}`,
      params,
    );
    return rows
      .map((r) => ({
        app: r.name,
        appId: Number(r.app_id),
        revisionId: Number(r.revision_id),
        revision: r.digest,
        seq: Number(r.seq),
        finding: JSON.parse(r.finding) as Finding,
      }))
      .sort((a, b) => codePointOrder(a.app, b.app));
  }

  async currentRevisionsWithPackage(name: string): Promise<(CurrentRevisionRef & { package: PackageKey })[]> {
    const rows = await this.sql.query<{ app_id: number; app: string; revision_id: number; digest: string; seq: number; ecosystem: Ecosystem; name: string; version: string }>(
      `SELECT a.id AS app_id, a.name AS app, rp.revision_id, r.digest, r.seq, p.ecosystem, p.name, p.version FROM packages p
       JOIN revision_packages rp ON rp.package_id = p.id
       JOIN apps a ON a.current_revision = rp.revision_id
       JOIN revisions r ON r.id = rp.revision_id
       WHERE ${PACKAGE_NAMED}`,
      [name, crateKey(name)],
    );
    return rows
      .map((r) => ({
        app: r.app,
        appId: Number(r.app_id),
        revisionId: Number(r.revision_id),
        revision: r.digest,
        seq: Number(r.seq),
        package: { ecosystem: r.ecosystem, name: r.name, version: r.version },
      }))
      .sort((a, b) => codePointOrder(a.app, b.app) || codePointOrder(a.package.version, b.package.version));
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

  async currentRevisionsWithFindingsOn(names: { ecosystem: Ecosystem; name: string }[]): Promise<number[]> {
    return this.currentRevisionsMatching(
      names,
      (batch) => `SELECT DISTINCT f.revision_id AS id FROM findings f
         JOIN apps a ON a.current_revision = f.revision_id
         WHERE f.package_id IN (SELECT id FROM packages WHERE (ecosystem, name) IN (VALUES ${placeholders(batch.length, 2)}))`,
      (n) => [n.ecosystem, n.name],
    );
  }

  async currentRevisionsEvaluatedOtherwise(states: Record<string, string>[]): Promise<number[]> {
    return (await this.currentEvaluatedAgainst()).filter((r) => !states.some((s) => isDeepStrictEqual(r.against, s))).map((r) => r.id);
  }

  async advanceEvaluatedAgainst(from: Record<string, string>, to: Record<string, string>): Promise<void> {
    const ids = (await this.currentEvaluatedAgainst()).filter((r) => isDeepStrictEqual(r.against, from)).map((r) => r.id);
    for (const batch of chunks(ids, ROWS_PER_INSERT)) {
      await this.sql.run(`UPDATE revisions SET evaluated_against = ? WHERE id IN (${batch.map(() => '?').join(', ')})`, [JSON.stringify(to), ...batch]);
    }
  }

  /** Each current revision's evaluated_against, parsed: compared as maps, so the order it was written in does not matter. */
  private async currentEvaluatedAgainst(): Promise<{ id: number; against: Record<string, string> }[]> {
    const rows = await this.sql.query<{ id: number; evaluated_against: string }>(
      `SELECT r.id, r.evaluated_against FROM apps a JOIN revisions r ON r.id = a.current_revision ORDER BY r.id`,
    );
    return rows.map((r) => ({ id: Number(r.id), against: JSON.parse(r.evaluated_against) as Record<string, string> }));
  }

  async currentFailingFindings(): Promise<CurrentFinding[]> {
    // Decided on the parsed finding, not by matching its stored text (which depends on field order).
    return (await this.currentFindingsWhere('1 = 1', [])).filter((f) => f.finding.failsPolicy);
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

  async triageDecisions(): Promise<StoredTriageDecision[]> {
    const rows = await this.sql.query<{
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
    }>(
      `SELECT id, app_id, alias_key, package_name, package_range, state, justification, reason, expires, by, at FROM triage
       WHERE superseded_by IS NULL ORDER BY id`,
    );
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

  async addEvent(event: { type: string; body: string; at: string }, targets: string[]): Promise<number> {
    const rows = await this.sql.query<{ id: number }>(`INSERT INTO events (at, type, body) VALUES (?, ?, ?) RETURNING id`, [event.at, event.type, event.body]);
    const id = Number(rows[0]?.id);
    for (const target of targets) {
      await this.sql.run(`INSERT INTO outbox (event_id, target, attempts, next_attempt_at) VALUES (?, ?, 0, ?)`, [id, target, event.at]);
    }
    return id;
  }

  async dueDeliveries(now: string, limit: number): Promise<OutboxDelivery[]> {
    const rows = await this.sql.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM outbox o JOIN events e ON e.id = o.event_id
       WHERE o.delivered_at IS NULL AND o.next_attempt_at <= ? ORDER BY o.event_id, o.target LIMIT ?`,
      [now, limit],
    );
    return rows.map(deliveryOf);
  }

  async claimDelivery(d: OutboxDelivery, leaseUntil: string): Promise<boolean> {
    const changed = await this.sql.run(
      `UPDATE outbox SET next_attempt_at = ? WHERE event_id = ? AND target = ? AND delivered_at IS NULL AND next_attempt_at = ?`,
      [leaseUntil, d.eventId, d.target, d.nextAttemptAt],
    );
    return changed === 1;
  }

  async deliveryDone(d: OutboxDelivery, at: string): Promise<void> {
    await this.sql.run(`UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE event_id = ? AND target = ?`, [
      at,
      d.eventId,
      d.target,
    ]);
  }

  async deliveryFailed(d: OutboxDelivery, nextAttemptAt: string, error: string): Promise<void> {
    await this.sql.run(`UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE event_id = ? AND target = ?`, [
      nextAttemptAt,
      error,
      d.eventId,
      d.target,
    ]);
  }

  async deliveries(): Promise<(OutboxDelivery & { deliveredAt: string | null; lastError: string | null })[]> {
    const rows = await this.sql.query<DeliveryRow & { delivered_at: string | null; last_error: string | null }>(
      `SELECT ${DELIVERY_COLUMNS}, o.delivered_at, o.last_error FROM outbox o JOIN events e ON e.id = o.event_id ORDER BY o.event_id, o.target`,
    );
    return rows.map((r) => ({ ...deliveryOf(r), deliveredAt: r.delivered_at, lastError: r.last_error }));
  }

}

interface DeliveryRow {
  event_id: number;
  target: string;
  type: string;
  body: string;
  attempts: number;
  next_attempt_at: string;
}

const DELIVERY_COLUMNS = 'o.event_id, o.target, e.type, e.body, o.attempts, o.next_attempt_at';

function deliveryOf(r: DeliveryRow): OutboxDelivery {
  return { eventId: Number(r.event_id), target: r.target, type: r.type, body: r.body, attempts: Number(r.attempts), nextAttemptAt: r.next_attempt_at };
}

/**
 * A package named NAME (first parameter) or, for crates, whose crates.io key is the second
 * parameter: crates compare regardless of case and of '-' against '_' (package-names.ts).
 */
const PACKAGE_NAMED = `((p.ecosystem = 'npm' AND p.name = ?) OR (p.ecosystem = 'cargo' AND replace(lower(p.name), '-', '_') = ?))`;

const crateKey = (name: string): string => name.toLowerCase().replace(/-/g, '_');

/** Code-point order: the same on both stores (PostgreSQL would sort by its collation). */
function codePointOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function packageKeyText(p: { ecosystem: string; name: string; version: string }): string {
  return `${p.ecosystem}\0${p.name}\0${p.version}`;
}
