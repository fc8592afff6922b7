import { cachedDatabase, type CachedDatabase } from '../../advisories/cache-inventory.js';
import { openDatabase } from '../../advisories/database.js';
import { DEFAULT_DATABASES, parseDatabaseSpec } from '../../advisories/source.js';
import { cacheDir } from '../../core/cache-dir.js';
import { EXIT_OK, StowageError } from '../../core/errors.js';
import { warn, writeStdout } from '../output.js';
import type { DbOptions } from './db.js';
import { renderDbHuman, renderDbJson } from './render.js';

/** Fetches each source now and (re)builds its index; the defaults when none is named. */
export async function syncCommand(sources: string[], opts: DbOptions): Promise<number> {
  const root = opts.cacheDir ?? cacheDir();
  // Every source is parsed before the first is fetched: a typo fails before minutes of cloning.
  const specs = (sources.length > 0 ? sources : Object.values(DEFAULT_DATABASES)).map((s) => parseDatabaseSpec(s));
  const synced: CachedDatabase[] = [];
  for (const spec of specs) {
    const db = await openDatabase(spec, { cacheRoot: root, fetch: 'always' });
    db.index.close();
    for (const w of db.warnings) warn(w);
    const entry = cachedDatabase(spec, root);
    if (entry === null) throw new StowageError('the index just built cannot be read back; delete it and run again', root);
    synced.push(entry);
  }
  writeStdout(opts.format === 'json' ? renderDbJson(synced) : renderDbHuman(synced, false));
  return EXIT_OK;
}
