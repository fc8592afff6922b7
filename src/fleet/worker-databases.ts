import { databaseOverIndex, withRememberedLookups, type AdvisoryDatabase } from '../advisories/database.js';
import { AdvisoryIndex, IndexDamaged } from '../advisories/advisory-index.js';
import type { DatabaseSpec } from '../advisories/source.js';

/**
 * The advisory databases of a fleet command as its worker threads (add-pool.ts, sync-pool.ts)
 * get them: each worker reopens the indexes the command opened (files, read-only) and checks they
 * are the very same; anything else is left to the main thread.
 */

/** A database as a worker reopens it: its index file, and what the command's copy says of it. */
export interface WorkerDatabase {
  spec: DatabaseSpec;
  file: string;
  fingerprint: string;
  revision: string;
  rebuilt: boolean;
  warnings: string[];
}

/** The command's databases as its workers reopen them. */
export function workerDatabases(databases: readonly AdvisoryDatabase[]): WorkerDatabase[] {
  return databases.map((db) => ({
    spec: db.spec,
    file: db.index.file,
    fingerprint: db.index.stamp.fingerprint,
    revision: db.index.stamp.revision,
    rebuilt: db.rebuilt,
    warnings: [...db.warnings],
  }));
}

/** An index a worker cannot rebuild: the main thread does the job itself (and rebuilds the index). */
class LeftToMainThread extends Error {}

/**
 * The command's databases, reopened in a worker; null when an index is not the one the command
 * opened. A damaged index throws LeftToMainThread: the main thread redoes the work (and rebuilds it).
 */
export function reopen(databases: readonly WorkerDatabase[]): AdvisoryDatabase[] | null {
  const opened: AdvisoryDatabase[] = [];
  for (const d of databases) {
    const index = AdvisoryIndex.open(d.file);
    if (index === null || index.stamp.fingerprint !== d.fingerprint || index.stamp.revision !== d.revision) {
      index?.close();
      for (const db of opened) db.index.close();
      return null;
    }
    const db = databaseOverIndex(d.spec, index, { rebuilt: d.rebuilt, warnings: d.warnings });
    const guarded = Object.create(db) as AdvisoryDatabase;
    guarded.lookup = async (ecosystem, names) => {
      try {
        return await db.lookup(ecosystem, names);
      } catch (err) {
        throw err instanceof IndexDamaged ? new LeftToMainThread(err.line) : err;
      }
    };
    opened.push(withRememberedLookups(guarded));
  }
  return opened;
}
