import { cachedDatabase } from '../../advisories/cache-inventory.js';
import { openDatabase } from '../../advisories/database.js';
import { parseDatabaseSpec } from '../../advisories/source.js';
import { cacheDir } from '../../core/cache-dir.js';
import { EXIT_OK, StowageError } from '../../core/errors.js';
import { warn, writeStdout } from '../output.js';
import type { DbOptions } from './db.js';
import { renderDbHuman, renderDbJson } from './render.js';

/** One database in detail, as cached; a local source is indexed first (nothing is fetched). */
export async function showCommand(source: string, opts: DbOptions): Promise<number> {
  const root = opts.cacheDir ?? cacheDir();
  const spec = parseDatabaseSpec(source);
  let entry = cachedDatabase(spec, root);
  if (spec.kind === 'git-remote' || spec.kind === 'zip-download') {
    if (entry === null) throw new StowageError(`${spec.name} is not in the cache (${root}); run \`stowage db sync ${spec.name}\` first`);
  } else {
    // A local database is read in place: its index is brought up to date, as an audit would.
    const db = await openDatabase(spec, { cacheRoot: root, fetch: 'never' });
    db.index.close();
    for (const w of db.warnings) warn(w);
    entry = cachedDatabase(spec, root);
    if (entry === null) throw new StowageError('the index just built cannot be read back; delete it and run again', root);
  }
  writeStdout(opts.format === 'json' ? renderDbJson([entry]) : renderDbHuman([entry], true));
  return EXIT_OK;
}
