import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { StowageError, systemErrorReason } from '../../core/errors.js';
import { migrate } from './migrations.js';
import { SqlFleetStore } from './sql-store.js';
import type { FleetStore } from './store.js';
import type { SqlDriver } from './sql.js';
import { makeDirectory } from '../../core/make-directory.js';

/** The environment variable naming the store when --store is not given. */
export const STORE_ENV = 'STOWAGE_FLEET_STORE';

export const isPostgresUrl = (store: string): boolean => /^postgres(ql)?:\/\//i.test(store);

/** `$XDG_DATA_HOME/stowage/fleet.sqlite`, else `~/.local/share/stowage/fleet.sqlite`. */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env): string {
  const dataHome = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(dataHome, 'stowage', 'fleet.sqlite');
}

/** What STORE names: --store, else $STOWAGE_FLEET_STORE, else the default path. */
export function storeLocation(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const named = given ?? (env[STORE_ENV] || undefined);
  return named ?? defaultStorePath(env);
}

export interface OpenOptions {
  /** PostgreSQL: connections the process may hold at once (default 2, a command's need; the server answers many requests at once). */
  connections?: number;
}

/**
 * Opens the fleet store STORE names (a path or a postgres:// URL), applying pending migrations.
 * A missing SQLite file is created (with its directory).
 */
export async function openFleetStore(given: string | undefined, env: NodeJS.ProcessEnv = process.env, options: OpenOptions = {}): Promise<FleetStore> {
  const store = storeLocation(given, env);
  let driver: SqlDriver;
  let location: string;
  if (isPostgresUrl(store)) {
    // Loaded only for a PostgreSQL store: pg is no part of a SQLite fleet's start-up.
    const { PostgresDriver } = await import('./postgres-driver.js');
    const pgDriver = await PostgresDriver.open(store, options.connections);
    driver = pgDriver;
    location = pgDriver.location;
  } else {
    location = store;
    const file = resolve(store);
    try {
      makeDirectory(dirname(file));
    } catch (err) {
      throw new StowageError(`cannot create the fleet store's directory: ${systemErrorReason(err)}`, dirname(file));
    }
    const { SqliteDriver } = await import('./sqlite-driver.js');
    try {
      driver = SqliteDriver.open(file);
    } catch (err) {
      throw new StowageError(`cannot open the fleet store: ${systemErrorReason(err)}`, store);
    }
  }
  try {
    await migrate(driver, location);
  } catch (err) {
    await driver.close();
    if (err instanceof StowageError) throw err;
    throw new StowageError(`cannot read the fleet store (is it a stowage fleet store?): ${systemErrorReason(err)}`, location);
  }
  return SqlFleetStore.over(driver, location);
}
