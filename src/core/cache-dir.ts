import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where stowage keeps synced advisory databases and their indexes:
 * `$STOWAGE_CACHE_DIR`, else `$XDG_CACHE_HOME/stowage`, else `~/.cache/stowage`.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STOWAGE_CACHE_DIR) return env.STOWAGE_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'stowage');
  return join(homedir(), '.cache', 'stowage');
}
