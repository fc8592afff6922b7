import pg from 'pg';
import { StowageError, errorMessage } from '../../core/errors.js';
import { numberedPlaceholders, type SqlDriver, type SqlExecutor, type SqlRow, type SqlValue } from './sql.js';

/** SQLSTATEs after which a transaction is run again: serialisation failure, deadlock, unique race. */
const RETRYABLE = new Set(['40001', '40P01', '23505']);
const MAX_ATTEMPTS = 20;

/** BIGINT (int8) and NUMERIC counts come back as numbers: every id and size fits in 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** The URL for messages: never the password. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

class ClientExecutor implements SqlExecutor {
  readonly dialect = 'postgres' as const;
  constructor(private readonly client: pg.PoolClient | pg.Pool) {}

  async query<R extends object = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    const result = await this.client.query<SqlRow>({ text: numberedPlaceholders(sql), values: params as SqlValue[], types: TYPES });
    return result.rows as R[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const result = await this.client.query({ text: numberedPlaceholders(sql), values: params as SqlValue[], types: TYPES });
    return result.rowCount ?? 0;
  }
}

/**
 * A fleet shared by several machines: node-postgres's pool; every transaction SERIALIZABLE, run
 * again (a bounded number of times, with a short random pause) when PostgreSQL reports that a
 * concurrent transaction made it impossible to serialise, so two commands at once neither lose
 * nor duplicate anything.
 */
export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  private readonly direct: ClientExecutor;

  private constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
  ) {
    this.direct = new ClientExecutor(pool);
  }

  static async open(url: string, connections = 2): Promise<PostgresDriver> {
    const location = redactedUrl(url);
    const pool = new pg.Pool({ connectionString: url, max: connections });
    // An idle client's error (the server restarted) must not crash the process.
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      client.release();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new StowageError(`cannot connect to the fleet store: ${errorMessage(err)}`, location);
    }
    return new PostgresDriver(pool, location);
  }

  query<R extends object = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    return this.direct.query<R>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.direct.run(sql, params);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        const result = await work(new ClientExecutor(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (err as { code?: unknown }).code;
        if (attempt >= MAX_ATTEMPTS || typeof code !== 'string' || !RETRYABLE.has(code)) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
      } finally {
        client.release();
      }
    }
  }

  /**
   * The cluster's WAL insert position: a commit's record is inserted before the transaction is
   * visible to others, so any commit the next read can see has moved it (with or without
   * synchronous_commit, unlike the write position). Writes to other databases of the cluster
   * move it too: only a needless miss, never a stale answer. Null on a standby (in recovery, no
   * WAL is inserted there): nothing is reused.
   */
  async generation(): Promise<string | null> {
    try {
      const rows = await this.direct.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
      return rows[0]?.lsn ?? null;
    } catch {
      return null;
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
