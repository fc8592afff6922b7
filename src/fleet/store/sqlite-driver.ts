import { AsyncLocalStorage } from 'node:async_hooks';
import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { openSqlite } from '../../advisories/advisory-index.js';
import { BUSY_TIMEOUT_MS, checkpointInThread, type CheckpointResult } from './checkpoint.js';
import { SQLITE_UPPER_TEXT, type SqlDriver, type SqlExecutor, type SqlRow, type SqlValue, type TransactionOptions } from './sql.js';

/** SQLite's default: a commit that leaves this many frames or more in the WAL checkpoints it. */
const AUTOCHECKPOINT_PAGES = 1000;

export interface SqliteOptions {
  /** For tests: a bulk transaction's WAL checkpointed in a thread from this many bytes of WAL (default: what the commit would have checkpointed). */
  backgroundCheckpointFrom?: number;
}

const NOT_PRINTABLE_ASCII = /[^ -~]/; // Printable ASCII alone; anything else (a control character too) takes the long way.

/** SQLITE_UPPER_TEXT: each character by its one-character upper case (Unicode's simple case mapping). */
function upperText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  // Printable ASCII alone (most names): the same, without a string built a character at a time (a scan
  // of 100,000 names for GET /apps?q= took 250 ms this way, 55 ms with this; UPPER() 19 ms).
  if (!NOT_PRINTABLE_ASCII.test(value)) return value.toUpperCase();
  let out = '';
  for (const c of value) {
    const upper = c.toUpperCase();
    out += upper.length === c.length ? upper : c;
  }
  return out;
}

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
 *
 * A commit checkpoints the WAL into the database file once it holds AUTOCHECKPOINT_PAGES
 * frames (SQLite's autocheckpoint), inside the COMMIT. A bulk transaction (a sync or an add of
 * thousands of applications) writes hundreds of megabytes of WAL: its checkpoint (4.9 s of the
 * COMMIT of a 10,000-application sync under load) runs instead in a thread of its own with its
 * own connection (checkpoint.ts), while the command writes its output; close() waits for it, so
 * no command ends with it undone. A killed process leaves a consistent store whatever the
 * checkpoint's progress (the WAL keeps every committed frame until the database file has it).
 * While it runs, the writer's commits do not checkpoint (one checkpoint at a time); afterwards
 * they do again, so a long-lived process (`fleet serve`) never grows the WAL without bound.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly writer: Connection;
  private readonly reader: Connection;
  /** Resolves when the transactions queued so far are done. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Set inside a transaction's work: a transaction begun there is a bug, not one to queue (it would wait for itself). */
  private readonly inside = new AsyncLocalStorage<true>();
  /** The checkpoints of bulk transactions' WAL under way in their thread, in turn; null when none is. */
  private background: Promise<CheckpointResult | null> | null = null;
  private lastCheckpoint: Promise<CheckpointResult | null> = Promise.resolve(null);
  /** WAL bytes from which a bulk transaction's checkpoint is worth a thread: what its commit would have checkpointed. */
  private readonly backgroundFrom: number;

  private constructor(
    private readonly file: string,
    db: Database.Database,
    readerDb: Database.Database,
    options: SqliteOptions,
  ) {
    this.writer = new Connection(db);
    this.reader = new Connection(readerDb);
    this.backgroundFrom = options.backgroundCheckpointFrom ?? AUTOCHECKPOINT_PAGES * Number(db.pragma('page_size', { simple: true }));
    // SQLite reuses the WAL file when it starts over, never shrinking it: once a bulk transaction had
    // grown it, its size (walBytes) said "large" after every later commit, however small, and each
    // bulk one (every push to `fleet serve`) started a thread. The first commit after the WAL starts
    // over now truncates it to half the threshold, so its size is the frames written since.
    db.pragma(`journal_size_limit = ${Math.floor(this.backgroundFrom / 2)}`);
  }

  static open(file: string, options: SqliteOptions = {}): SqliteDriver {
    const db = openSqlite(file, {});
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a killed process; only a power cut may lose the last one.
    db.pragma('synchronous = NORMAL');
    db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    const readerDb = openSqlite(file, {});
    readerDb.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    for (const connection of [db, readerDb]) connection.function(SQLITE_UPPER_TEXT, { deterministic: true }, upperText);
    return new SqliteDriver(file, db, readerDb, options);
  }

  query<R extends object = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    return this.reader.query<R>(sql, params);
  }

  /** Outside a transaction, a write is its own transaction, taking its turn like the others. */
  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.transaction((tx) => tx.run(sql, params));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (this.inside.getStore() === true) return Promise.reject(new Error('nested fleet store transaction'));
    const bulk = options.bulk === true;
    const turn = this.queue.then(() =>
      this.inside.run(true, async () => {
        let committed = false;
        try {
          // Just before its COMMIT, a bulk transaction's writer stops checkpointing: the thread will.
          const result = await this.writer.transaction(work, () => {
            if (bulk) this.writer.autocheckpoint(0);
          });
          committed = true;
          return result;
        } finally {
          // Started before the caller goes on (a bulk commit's caller renders its output next).
          if (bulk) this.inside.exit(() => this.checkpointInBackground(committed));
        }
      }),
    );
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /**
   * After a bulk transaction: its WAL checkpointed in a thread, after any checkpoint under way,
   * unless it is smaller than what the commit would have checkpointed or it rolled back (then the
   * writer checkpoints as before). The writer's commits checkpoint again once no checkpoint is
   * under way. A thread that fails leaves the frames to the next checkpoint (SQLite's
   * autocheckpoint ignores its failures too): the WAL keeps them meanwhile, and the last
   * connection to close checkpoints them.
   */
  private checkpointInBackground(committed: boolean): void {
    if (committed && this.walBytes() >= this.backgroundFrom) {
      const mine = (this.background ?? Promise.resolve(null)).then(() => checkpointInThread(this.file)).catch(() => null);
      this.background = this.lastCheckpoint = mine;
      void mine.then(() => {
        if (this.background !== mine) return;
        this.background = null;
        if (this.writer.open) this.writer.autocheckpoint(AUTOCHECKPOINT_PAGES);
      });
    } else if (this.background === null) {
      this.writer.autocheckpoint(AUTOCHECKPOINT_PAGES);
    }
  }

  /** The WAL file's size: the frames written since it last started over, or half the thread's threshold (journal_size_limit), whichever is more. */
  private walBytes(): number {
    try {
      return statSync(`${this.file}-wal`).size;
    } catch {
      return 0;
    }
  }

  /** The last bulk transaction's checkpoint in a thread, once done: what it checkpointed; null when none ran in a thread (or it failed). */
  checkpointed(): Promise<CheckpointResult | null> {
    return this.lastCheckpoint;
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

  /** Closes the connections, then waits for a checkpoint under way (which, its connection the last open, also deletes the WAL). */
  async close(): Promise<void> {
    this.writer.close();
    this.reader.close();
    await this.background;
  }
}

/** One connection and its prepared statements. */
class Connection implements SqlExecutor {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  get open(): boolean {
    return this.db.open;
  }

  /** Sets the connection's autocheckpoint: a commit checkpoints from this many frames in the WAL (0: never). */
  autocheckpoint(pages: number): void {
    this.db.pragma(`wal_autocheckpoint = ${pages}`);
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

  /** `work` in a transaction; `beforeCommit` runs once it is done, just before the COMMIT. */
  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>, beforeCommit: () => void = () => undefined): Promise<T> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = await work(this);
      beforeCommit();
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
