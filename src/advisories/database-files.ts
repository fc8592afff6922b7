import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { StowageError } from '../core/errors.js';

/** The advisory files found in a database tree, before any is read. */
export interface DatabaseFiles {
  root: string;
  /** Paths relative to root, sorted, `/`-separated. */
  rustsec: string[];
  osv: string[];
}

const RUSTSEC_FILE = /^(crates|rust)\/[^/]+\/[^/]+\.md$/;

/** Lists a directory's advisory files. Dot-directories (.git) are not entered. */
export function listDatabaseFiles(root: string): DatabaseFiles {
  const rustsec: string[] = [];
  const osv: string[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw new StowageError(`cannot read database directory: ${(err as Error).message}`, dir);
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full);
      } else if (entry.isFile()) {
        const rel = relative(root, full).split(sep).join('/');
        if (entry.name.endsWith('.json')) osv.push(rel);
        else if (RUSTSEC_FILE.test(rel)) rustsec.push(rel);
      }
    }
  };
  walk(root);
  rustsec.sort();
  osv.sort();
  if (rustsec.length === 0 && osv.length === 0) {
    throw new StowageError(
      'not an advisory database: no RustSec advisories (crates/NAME/RUSTSEC-*.md) and no OSV .json files',
      root,
    );
  }
  return { root, rustsec, osv };
}

/**
 * A cheap identity of a directory's contents (paths, sizes, mtimes) that tells when the
 * index must be rebuilt without reading any advisory.
 */
export function directoryFingerprint(files: DatabaseFiles): string {
  const hash = createHash('sha256');
  for (const rel of [...files.rustsec, ...files.osv]) {
    const st = statSync(join(files.root, rel));
    hash.update(`${rel}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return hash.digest('hex');
}
