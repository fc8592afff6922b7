import { homedir } from 'node:os';
import { join } from 'node:path';
import { StowageError, systemErrorReason } from './errors.js';
import { makeDirectory } from './make-directory.js';

/**
 * Where stowage keeps synced advisory databases and their indexes:
 * `$STOWAGE_CACHE_DIR`, else `$XDG_CACHE_HOME/stowage`, else `~/.cache/stowage`.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STOWAGE_CACHE_DIR) return env.STOWAGE_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'stowage');
  return join(homedir(), '.cache', 'stowage');
}

/**
 * A failure to write the cache, as the one line the user sees: the file, what stowage was
 * doing, the system's reason and what to do about it. Errors already phrased pass through.
 */
export function cacheWriteError(err: unknown, file: string, action: string): StowageError {
  if (err instanceof StowageError) return err;
  return new StowageError(
    `cannot ${action}: ${systemErrorReason(err)}; the cache directory must be writable and have free space ` +
      '(or choose another with --cache-dir or STOWAGE_CACHE_DIR)',
    file,
  );
}

/** Makes `dir` (and its parents) for the cache; a failure names the directory it could not make, with the real reason (EROFS, EACCES, ENOSPC). */
export function makeCacheDirectory(dir: string): void {
  try {
    makeDirectory(dir);
  } catch (err) {
    throw cacheWriteError(err, (err as NodeJS.ErrnoException).path ?? dir, 'make a cache directory');
  }
}
