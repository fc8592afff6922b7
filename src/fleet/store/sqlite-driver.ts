import { AsyncLocalStorage } from 'node:async_hooks';
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
 *
 * One process may run several transactions at once (the fleet server, one per request): they
 * wait their turn in a queue, since a connection holds one transaction, and statements outside a
 * transaction go to a second connection, so a reader never sees another request's uncommitted
 * writes (WAL: it reads the last commit).
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly writer: Connection;
  private readonly reader: Connection;
  /** Resolves when the transactions queued so far are done. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Set inside a transaction's work: a transaction begun there is a bug, not one to queue (it would wait for itself). */
  private readonly inside = new AsyncLocalStorage<true>();

  private constructor(db: Database.Database, readerDb: Database.Database) {
    this.writer = new Connection(db);
    this.reader = new Connection(readerDb);
  }

  static open(file: string): SqliteDriver {
    const db = openSqlite(file, {});
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a killed process; only a power cut may lose the last one.
    db.pragma('synchronous = NORMAL');
    const readerDb = openSqlite(file, {});
    readerDb.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return new SqliteDriver(db, readerDb);
  }

  query<R extends object = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    return this.reader.query<R>(sql, params);
  }

  /** Outside a transaction, a write is its own transaction, taking its turn like the others. */
  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.transaction((tx) => tx.run(sql, params));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.inside.getStore() === true) return Promise.reject(new Error('nested fleet store transaction'));
    const turn = this.queue.then(() => this.inside.run(true, () => this.writer.transaction(work)));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /**
   * The read connection's PRAGMA data_version: it changes when any other connection commits,
   * this process's write connection or another process's (a `fleet triage` from the command
   * line). The read connection itself never writes, so every commit is counted.
   */
  async generation(): Promise<string | null> {
    const rows = await this.reader.query<{ data_version: number }>('PRAGMA data_version');
    const version = rows[0]?.data_version;
    return version === undefined ? null : String(version);
  }

  close(): Promise<void> {
    this.writer.close();
    this.reader.close();
    return Promise.resolve();
  }
}

/** One connection and its prepared statements. */
class Connection implements SqlExecutor {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

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
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = await work(this);
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  close(): void {
    this.db.close();
  }
}
