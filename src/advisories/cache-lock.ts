import { closeSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { cacheWriteError, makeCacheDirectory } from '../core/cache-dir.js';
import { StowageError } from '../core/errors.js';
import { openSqlite } from './advisory-index.js';

/** How long a run waits for another to finish with the same cache entry before giving up. */
const DEFAULT_TIMEOUT_MS = 20 * 60 * 1000;

/**
 * Runs `work` while holding an exclusive lock on `file`, so that stowage processes sharing a
 * cache (CI jobs, parallel builds) clone, fetch and index one database one at a time, and the
 * others then use what the first one made. The lock is SQLite's (a POSIX record lock on the
 * file, `BEGIN EXCLUSIVE`): the kernel releases it when its process ends, however it ends, so
 * there is no stale lock to detect by pid or age, and it holds on NFS where O_EXCL may not.
 * Waiting polls without blocking the event loop, so Ctrl-C still ends a waiting run at once.
 */
export async function withCacheLock<T>(file: string, work: () => Promise<T>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
  let db: Database.Database;
  makeCacheDirectory(dirname(file));
  try {
    // Created by the file system first, so a read-only or full cache is named with its errno.
    closeSync(openSync(file, 'a', 0o644));
    db = openSqlite(file, { timeout: 0 });
  } catch (err) {
    throw cacheWriteError(err, file, 'create a lock in the cache');
  }
  try {
    const started = Date.now();
    for (;;) {
      try {
        db.exec('BEGIN EXCLUSIVE');
        break;
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw cacheWriteError(err, file, 'lock the cache');
        if (Date.now() - started > timeoutMs) {
          throw new StowageError(
            `another stowage process has held this lock for over ${Math.round(timeoutMs / 60000)} minutes; ` +
              'if none is running, delete the file',
            file,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(Math.random() * 60)));
      }
    }
    try {
      return await work();
    } finally {
      db.exec('ROLLBACK');
    }
  } finally {
    db.close();
  }
}
