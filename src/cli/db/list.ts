import { listCachedDatabases } from '../../advisories/cache-inventory.js';
import { cacheDir } from '../../core/cache-dir.js';
import { EXIT_OK } from '../../core/errors.js';
import { terminalText } from '../../core/terminal-text.js';
import { writeStdout } from '../output.js';
import type { DbOptions } from './db.js';
import { renderDbHuman, renderDbJson } from './render.js';

export function listCommand(opts: DbOptions): number {
  const root = opts.cacheDir ?? cacheDir();
  const databases = listCachedDatabases(root);
  if (opts.format === 'json') writeStdout(renderDbJson(databases));
  else if (databases.length === 0) writeStdout(`no advisory database in the cache (${terminalText(root)}); \`stowage db sync\` fetches the defaults\n`);
  else writeStdout(renderDbHuman(databases, false));
  return EXIT_OK;
}
