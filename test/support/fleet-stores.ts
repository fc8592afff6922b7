import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import pg from 'pg';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { PostgresDriver } from '../../src/fleet/store/postgres-driver.js';
import type { SqlDriver, SqlExecutor } from '../../src/fleet/store/sql.js';
import { SqliteDriver } from '../../src/fleet/store/sqlite-driver.js';
import { tempDir } from './shared.js';

/**
 * The fleet's two stores, for tests that run the same body on both: a fresh SQLite file in a
 * temporary directory, and a fresh PostgreSQL database (CREATE DATABASE on the server at
 * STOWAGE_TEST_POSTGRES, default postgres://127.0.0.1:5432/postgres), dropped afterwards.
 * PostgreSQL unreachable: its tests are skipped with the reason, except under CI=true, where
 * they fail (CI starts PostgreSQL: .ci/run).
 */

export const STORE_KINDS = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export const POSTGRES_ADMIN_URL = process.env.STOWAGE_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestStore {
  kind: StoreKind;
  /** What --store / STOWAGE_FLEET_STORE takes. */
  store: string;
  /** Removes the file or drops the database. */
  dispose(): Promise<void>;
}

let reachable: Promise<string | null> | undefined;

/** Null when PostgreSQL answers, else why not. */
function whyNoPostgres(): Promise<string | null> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return null;
    } catch (err) {
      return `PostgreSQL not reachable at ${POSTGRES_ADMIN_URL}: ${(err as Error).message}`;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

/**
 * The `skip` option for a node:test test on this store kind: false when it can run, the reason
 * when PostgreSQL is not reachable locally. Under CI=true an unreachable PostgreSQL throws.
 */
export async function skipUnless(kind: StoreKind): Promise<string | false> {
  if (kind === 'sqlite') return false;
  const why = await whyNoPostgres();
  if (why === null) return false;
  if (process.env.CI === 'true') throw new Error(`${why} (CI must run the fleet tests on PostgreSQL: see .ci/run)`);
  return why;
}

/**
 * skipUnless for every kind, asked before any test is registered: node:test starts a test as
 * soon as it is declared, and a test that blocks (spawnSync) would starve the connection check.
 */
export async function storeSkips(): Promise<Record<StoreKind, string | false>> {
  return { sqlite: await skipUnless('sqlite'), postgres: await skipUnless('postgres') };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * A fresh, empty store of this kind. `linguisticCollation`: the PostgreSQL database sorts text
 * by ICU's English collation (`a` < `B`), as a cluster made with a locale such as en_US.UTF-8
 * does, rather than by the test cluster's C.UTF-8 (code points).
 */
export async function freshStore(kind: StoreKind, { linguisticCollation = false }: { linguisticCollation?: boolean } = {}): Promise<TestStore> {
  if (kind === 'sqlite') {
    const dir = tempDir('fleet-store');
    return {
      kind,
      store: join(dir, 'fleet.sqlite'),
      dispose: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    };
  }
  const database = `stowage_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    // The name is ours (hex): no user text in this statement.
    await admin.query(`CREATE DATABASE ${database}${linguisticCollation ? ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en'` : ''}`);
  } finally {
    await admin.end();
  }
  return {
    kind,
    store: withDatabase(POSTGRES_ADMIN_URL, database),
    dispose: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The events the fleet's outbox holds (for a webhook that is never reached), oldest first. */
export async function queuedEvents(store: TestStore): Promise<{ type: string; body: Record<string, unknown> }[]> {
  const opened = await openFleetStore(store.store);
  try {
    return (await opened.deliveries()).sort((a, b) => a.eventId - b.eventId).map((d) => ({ type: d.type, body: JSON.parse(d.body) as Record<string, unknown> }));
  } finally {
    await opened.close();
  }
}

/** Runs `work` in one transaction on the store's own SQL connection (to make a store as an older stowage left it). */
export async function withStore<T>(store: TestStore, work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  const driver: SqlDriver = store.kind === 'sqlite' ? SqliteDriver.open(store.store) : await PostgresDriver.open(store.store);
  try {
    return await driver.transaction(work);
  } finally {
    await driver.close();
  }
}
