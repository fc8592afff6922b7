import Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Advisory } from '../core/advisory.js';
import type { Ecosystem } from '../core/package.js';
import { TOOL_VERSION } from '../core/tool.js';
import { StowageError } from '../core/errors.js';
import { advisoryNameKeys, lockfileNameKey } from '../ecosystems/package-names.js';
import { cacheWriteError, makeCacheDirectory } from '../core/cache-dir.js';
import { timestampMs } from '../core/timestamp.js';
import { DAY_MS } from './database-age.js';

/**
 * better-sqlite3's addon, named by its path: the package would find it through `bindings`,
 * which probes a dozen paths on every start and, with better-sqlite3's JavaScript bundled into
 * stowage's own file, would probe the wrong directory.
 */
const NATIVE_BINDING = ((): string | undefined => {
  try {
    const candidate = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
    return existsSync(candidate) ? candidate : undefined;
  } catch {
    return undefined;
  }
})();

export function openSqlite(file: string, options: Database.Options): Database.Database {
  if (NATIVE_BINDING === undefined) {
    throw new StowageError("better-sqlite3's native addon (build/Release/better_sqlite3.node) is not installed; reinstall stowage's dependencies (npm ci)");
  }
  return new Database(file, { ...options, nativeBinding: NATIVE_BINDING });
}

/**
 * Bumped whenever the stored Advisory shape or the schema changes; with the tool's version, so
 * a stowage upgrade (whose readers may have been fixed) rebuilds every index once.
 */
const INDEX_FORMAT = `5/${TOOL_VERSION}`;

export interface IndexStamp {
  /** The source the index was built from (source.ts sourceIdentity): `stowage db` lists it. */
  source: string;
  /** What the index was built from: git commit or `sha256:` content hash. */
  revision: string;
  /**
   * When that revision was made, RFC 3339, when the source says (a git commit's date); null for a
   * directory or zip, whose date is its newest record's as of the audit's clock (revisionDate()).
   */
  revisionDate: string | null;
  /** Cheap identity of the source used to decide whether to rebuild (commit, or file stats). */
  fingerprint: string;
  advisories: number;
  toolchainAdvisories: number;
  /** Advisories per ecosystem: an audit refuses to call a graph clean that no database covers. */
  ecosystems: Partial<Record<Ecosystem, number>>;
}

/**
 * The advisory files and directories of a database read from disk, as listed when its index was
 * built (paths relative to its root): a warm run re-stats them instead of walking the tree again.
 */
export interface StoredListing {
  rustsec: string[];
  osv: string[];
  directories: string[];
}

/** An index that opened but fails when read: a cache to rebuild, not an input error. */
export class IndexDamaged extends StowageError {}

/**
 * The compiled form of one advisory database: an SQLite file keyed by (ecosystem, package),
 * stamped with the source revision. Built once per revision; an audit reads only the rows of
 * the package names it holds.
 */
export class AdvisoryIndex {
  private readonly lookupStatement: Database.Statement<[string, string], { body: string }>;
  /** Every row of an ecosystem, in lookupStatement's order: see lookup. */
  private scanStatement: Database.Statement<[string], { package: string; body: string }> | undefined;

  private constructor(
    private readonly db: Database.Database,
    readonly stamp: IndexStamp,
    private readonly listingText: string | undefined,
  ) {
    this.lookupStatement = db.prepare(
      'SELECT body FROM advisory WHERE ecosystem = ? AND package IN (SELECT value FROM json_each(?)) ORDER BY id, rowid',
    );
  }

  /** Opens an existing index, or returns null when there is none or it is of another format. */
  static open(file: string): AdvisoryIndex | null {
    let db: Database.Database | undefined;
    try {
      db = openSqlite(file, { readonly: true, fileMustExist: true });
      const rows = db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[];
      const meta = new Map(rows.map((r) => [r.key, r.value]));
      if (meta.get('format') !== INDEX_FORMAT) {
        db.close();
        return null;
      }
      const stamp = JSON.parse(meta.get('stamp') ?? 'null') as IndexStamp | null;
      if (!stamp) {
        db.close();
        return null;
      }
      return new AdvisoryIndex(db, stamp, meta.get('listing'));
    } catch {
      // Missing, damaged or foreign file: the caller rebuilds it.
      db?.close();
      return null;
    }
  }

  /** Writes a new index beside `file` and moves it into place, so readers never see half of one. */
  static build(file: string, stamp: IndexStamp, advisories: readonly Advisory[], listing?: StoredListing): AdvisoryIndex {
    const tmp = `${file}.tmp-${process.pid}`;
    let db: Database.Database;
    makeCacheDirectory(dirname(file));
    try {
      rmSync(tmp, { force: true });
      db = openSqlite(tmp, {});
    } catch (err) {
      // Named by the index it would become: the temporary name means nothing to the user.
      throw cacheWriteError(err, file, 'write the advisory index');
    }
    try {
      db.pragma('journal_mode = OFF');
      db.pragma('synchronous = OFF');
      db.exec(`
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE advisory (ecosystem TEXT NOT NULL, package TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL);
        -- package: the name's match key (package-names.ts); an advisory has a row per key.
        CREATE TABLE record_date (at INTEGER NOT NULL, date TEXT NOT NULL);
        -- each advisory's modified (else published) date as given, and as an instant (ms): see revisionDate().
      `);
      const insert = db.prepare('INSERT INTO advisory (ecosystem, package, id, body) VALUES (?, ?, ?, ?)');
      const insertMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      const insertDate = db.prepare('INSERT INTO record_date (at, date) VALUES (?, ?)');
      db.transaction(() => {
        for (const a of advisories) {
          const body = JSON.stringify(a);
          for (const key of advisoryNameKeys(a.ecosystem, a.package)) insert.run(a.ecosystem, key, a.id, body);
          const date = a.modified ?? a.published;
          const at = date ? timestampMs(date) : NaN;
          if (date && !Number.isNaN(at)) insertDate.run(at, date);
        }
        insertMeta.run('format', INDEX_FORMAT);
        insertMeta.run('stamp', JSON.stringify(stamp));
        if (listing !== undefined) insertMeta.run('listing', JSON.stringify(listing));
      })();
      db.exec('CREATE INDEX advisory_by_package ON advisory (ecosystem, package); CREATE INDEX record_date_by_instant ON record_date (at)');
      db.close();
      renameSync(tmp, file);
    } catch (err) {
      if (db.open) db.close();
      rmSync(tmp, { force: true });
      // SQLITE_FULL (a full disk), SQLITE_IOERR, EACCES on the rename: the cache's fault, named.
      throw cacheWriteError(err, file, 'write the advisory index');
    }
    const index = AdvisoryIndex.open(file);
    if (!index) throw new StowageError('the advisory index just written cannot be read back; delete it and run again', file);
    return index;
  }

  /**
   * Every advisory about any of the lockfile package `names` in `ecosystem` (compared as
   * package-names.ts says), withdrawn ones included.
   */
  lookup(ecosystem: Ecosystem, names: readonly string[]): Advisory[] {
    if (names.length === 0) return [];
    const keys = [...new Set(names.map((name) => lockfileNameKey(ecosystem, name)))];
    let rows: { body: string }[];
    try {
      // An index with no more advisories of the ecosystem than names asked for (a directory of
      // a hundred GHSA records, and a lockfile of 1,400 names) is read whole and filtered here:
      // SQLite's IN over json_each of every name costs twice that. The same rows, in the same
      // order, either way.
      if ((this.stamp.ecosystems[ecosystem] ?? 0) <= keys.length) {
        const asked = new Set(keys);
        this.scanStatement ??= this.db.prepare('SELECT package, body FROM advisory WHERE ecosystem = ? ORDER BY id, rowid');
        rows = this.scanStatement.all(ecosystem).filter((row) => asked.has(row.package));
      } else {
        rows = this.lookupStatement.all(ecosystem, JSON.stringify(keys));
      }
    } catch (err) {
      throw new IndexDamaged(`the advisory index is damaged (${(err as Error).message})`, this.db.name);
    }
    // An advisory stored under two keys that both were asked for comes back once.
    const seen = new Set<string>();
    const advisories: Advisory[] = [];
    for (const row of rows) {
      if (seen.has(row.body)) continue;
      seen.add(row.body);
      try {
        advisories.push(JSON.parse(row.body) as Advisory);
      } catch (err) {
        throw new IndexDamaged(`the advisory index is damaged (${(err as Error).message})`, this.db.name);
      }
    }
    return advisories;
  }

  /**
   * The revision's date as of `now` (the audit's clock, STOWAGE_NOW): the commit's when the source
   * has one, else the newest date a record carries, compared as instants (`…T10:00:00+02:00` is
   * before `…T09:00:00Z`), none more than a day past `now` (a day of leeway for clocks and zones):
   * a date past it is no date a record was really changed on, and one record dated 2099 must not
   * make a stale database look fresh. Asked of the index at each audit, never kept in it, so that
   * the answer is the same from a fresh index as from one built under another clock.
   */
  revisionDate(now: Date): string | null {
    if (this.stamp.revisionDate !== null) return this.stamp.revisionDate;
    try {
      const row = this.db.prepare('SELECT date FROM record_date WHERE at <= ? ORDER BY at DESC, rowid LIMIT 1').get(now.getTime() + DAY_MS) as { date: string } | undefined;
      return row?.date ?? null;
    } catch (err) {
      throw new IndexDamaged(`the advisory index is damaged (${(err as Error).message})`, this.db.name);
    }
  }

  /** The index's file (a worker thread of `fleet add` opens it again). */
  get file(): string {
    return this.db.name;
  }

  /** The files of the directory the index was built from (see StoredListing), when it was one. */
  listing(): StoredListing | null {
    if (this.listingText === undefined) return null;
    try {
      return JSON.parse(this.listingText) as StoredListing;
    } catch {
      return null;
    }
  }

  /** Advisory entries (one per affected package) by kind: vulnerability, unmaintained, ...; for `stowage db`. */
  countByKind(): Record<string, number> {
    const rows = this.db
      .prepare("SELECT json_extract(body, '$.kind') AS kind, COUNT(DISTINCT body) AS n FROM advisory GROUP BY 1")
      .all() as { kind: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.kind, r.n]));
  }

  /**
   * Every advisory the index holds, withdrawn ones included: what the fleet compares with the
   * advisories it last evaluated against, to learn what a database move changed.
   */
  everyAdvisory(): Advisory[] {
    let rows: { body: string }[];
    try {
      // One row per name key (an npm name with capitals has two): the same body, read once.
      rows = this.db.prepare('SELECT DISTINCT body FROM advisory ORDER BY id').all() as { body: string }[];
      return rows.map((row) => JSON.parse(row.body) as Advisory);
    } catch (err) {
      throw new IndexDamaged(`the advisory index is damaged (${(err as Error).message})`, this.db.name);
    }
  }

  close(): void {
    this.db.close();
  }
}
