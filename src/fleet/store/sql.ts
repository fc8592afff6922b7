/**
 * The one seam between the fleet and its two stores: SQL text with `?` placeholders and bound
 * parameters only (untrusted names and versions never become SQL), run by a driver for a
 * dialect. The PostgreSQL driver numbers the placeholders ($1, $2, ...).
 */

export type Dialect = 'sqlite' | 'postgres';

/**
 * SQLite's UPPER() changes ASCII letters only, where PostgreSQL's changes every letter: a search
 * for `é` found `École` on PostgreSQL and nothing on SQLite. The fleet's searches fold case with
 * this function instead (sql-store.ts, caseless), each character by its one-character upper case
 * (Unicode's simple case mapping, as PostgreSQL's UPPER() under C.UTF-8 or a glibc locale does:
 * `é` is `É`, `ß` stays `ß`). Not the built-in's name: indexes on UPPER(alias) stay as they were built.
 */
export const SQLITE_UPPER_TEXT = 'stowage_upper';

/** What a bound parameter may be: BLOB/BYTEA as a Buffer, identities and sizes as numbers. */
export type SqlValue = string | number | Buffer | null;

export type SqlRow = Record<string, unknown>;

/** Runs statements, in or outside a transaction. */
export interface SqlExecutor {
  readonly dialect: Dialect;
  /** Rows of a SELECT (or of an INSERT ... RETURNING). */
  query<R extends object = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
  /** A statement without rows; how many rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface TransactionOptions {
  /**
   * The transaction writes much of the store (a sync, or an add, of many applications). SQLite:
   * its commit leaves the WAL's checkpoint to a thread of its own while the command goes on, and
   * close() waits for it (sqlite-driver.ts). PostgreSQL: nothing changes.
   */
  bulk?: boolean;
}

export interface SqlDriver extends SqlExecutor {
  /**
   * `work` in one transaction, committed when it resolves, rolled back when it throws. Writers
   * are serialised (SQLite: BEGIN IMMEDIATE; PostgreSQL: SERIALIZABLE, retried on a
   * serialisation failure), so `work` must do nothing but store work: it may run again.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * A value that changes whenever anything committed to the store changes, by this process or
   * another (SQLite: the read connection's PRAGMA data_version; PostgreSQL: the WAL insert
   * position), or null when the driver cannot tell (answers are then never reused).
   */
  generation(): Promise<string | null>;
  close(): Promise<void>;
}

/**
 * `?` -> `$1`, `$2`... outside quoted text. Written by hand: the statements are stowage's own
 * (no user text is ever spliced in), so quotes are the only context to respect.
 */
export function numberedPlaceholders(sql: string): string {
  let n = 0;
  let out = '';
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote !== null) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === '?') {
      out += `$${++n}`;
      continue;
    }
    out += ch;
  }
  return out;
}
