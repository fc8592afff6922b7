import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StowageError } from '../core/errors.js';

/** The advisory files found in a database tree, before any is read. */
export interface DatabaseFiles {
  root: string;
  /** Paths relative to root, sorted, `/`-separated. */
  rustsec: string[];
  osv: string[];
  /** The directories walked, relative to root (`` is the root): their times change when entries come and go. */
  directories: string[];
}

const RUSTSEC_FILE = /^(crates|rust)\/[^/]+\/[^/]+\.md$/;

/**
 * What a file at `rel` (relative to the database root, `/`-separated) is to the readers:
 * any `.json` is an OSV record, `crates|rust/NAME/*.md` a RustSec advisory; nothing under a
 * dot-directory (.git, .github) and no dot-file is read.
 */
export function databaseFileKind(rel: string): 'rustsec' | 'osv' | null {
  if (rel.split('/').some((part) => part.startsWith('.'))) return null;
  if (rel.endsWith('.json')) return 'osv';
  return RUSTSEC_FILE.test(rel) ? 'rustsec' : null;
}

/** Lists a directory's advisory files. Dot-directories (.git) are not entered. */
export function listDatabaseFiles(root: string): DatabaseFiles {
  const rustsec: string[] = [];
  const osv: string[] = [];
  const directories: string[] = [];
  const walk = (rel: string): void => {
    directories.push(rel);
    const dir = rel === '' ? root : join(root, rel);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw new StowageError(`cannot read database directory: ${(err as Error).message}`, dir);
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        walk(path);
      } else if (entry.isFile()) {
        const kind = databaseFileKind(path);
        if (kind === 'osv') osv.push(path);
        else if (kind === 'rustsec') rustsec.push(path);
      }
    }
  };
  walk('');
  rustsec.sort();
  osv.sort();
  if (rustsec.length === 0 && osv.length === 0) {
    throw new StowageError(
      'not an advisory database: no RustSec advisories (crates/NAME/RUSTSEC-*.md) and no OSV .json files',
      root,
    );
  }
  return { root, rustsec, osv, directories };
}

/**
 * A cheap identity of a directory's contents that tells when the index must be rebuilt
 * without reading any advisory: how many files and directories, their total size, and the
 * newest status-change time (ctime) among them. Any write, create, delete, rename or
 * replacement changes a ctime to "now", newer than all before, even a `cp -p` or `touch -d`
 * that sets an old mtime; ctime itself cannot be set back.
 */
export function directoryFingerprint(files: DatabaseFiles): string {
  let count = 0;
  let bytes = 0;
  let newest = 0;
  for (const list of [files.directories, files.rustsec, files.osv]) {
    for (const rel of list) {
      const st = statSync(rel === '' ? files.root : join(files.root, rel));
      count++;
      if (st.isFile()) bytes += st.size;
      newest = Math.max(newest, st.ctimeMs, st.mtimeMs);
    }
  }
  return `${count}:${bytes}:${newest}`;
}
