import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `name` in the first directory of `searchPath` (a PATH value, `:`-separated) that holds it, as
 * a full path; null when none does. Relative entries are passed over: they name a directory
 * only relative to whatever the working directory is when the program runs.
 */
export function programOnPath(name: string, searchPath: string | undefined): string | null {
  for (const dir of (searchPath ?? '').split(':')) if (dir.startsWith('/') && existsSync(join(dir, name))) return join(dir, name);
  return null;
}
