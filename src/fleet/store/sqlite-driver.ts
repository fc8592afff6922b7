import type Database from 'better-sqlite3';
import { openSqlite } from '../../advisories/advisory-index.js';
import type { SqlDriver, SqlExecutor, SqlRow, SqlValue } from './sql.js';

/** How long a writer waits for another process's transaction before giving up (SQLITE_BUSY). */
const BUSY_TIMEOUT_MS = 60_000;

/**
 * The embedded store: one SQLite file in WAL mode (readers never block the writer), writers
 * serialised by BEGIN IMMEDIATE, which takes the write lock up front so two processes never
 * deadlock upgrading a read lock. Statements are prepared once per text and reused: a bulk
 * `fleet add` runs the same few statements hundreds of thousands of times.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement>();
  private depth = 0;

  private constructor(private readonly db: Database.Database) {}

  static open(file: string): SqliteDriver {
    const db = openSqlite(file, {});
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a killed process; only a power cut may lose the last one.
    db.pragma('synchronous = NORMAL');
    return new SqliteDriver(db);
  }

  private statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) this.statements.set(sql, (stmt = this.db.prepare(sql)));
    return stmt;
  }

  query<R extends object = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    return Promise.resolve(this.statement(sql).all(...params) as R[]);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return Promise.resolve(this.statement(sql).run(...params).changes);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.depth > 0) throw new Error('nested fleet store transaction');
    this.db.exec('BEGIN IMMEDIATE');
    this.depth++;
    try {
      const result = await work(this);
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.depth--;
    }
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}
