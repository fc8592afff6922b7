import { readdirSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
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
/** Inside a crate's directory of a RustSec tree (files directly in crates/, a README, are not rustsec's). */
const RUSTSEC_TREE = /^(crates|rust)\/[^/]+\//;
/** RustSec's database holds about 3,000 entries, GHSA's whole export under 300,000. */
const MAX_WALKED_ENTRIES = 2_000_000;

/**
 * What a file at `rel` (relative to the database root, `/`-separated) is to the readers:
 * any `.json` is an OSV record, `crates|rust/NAME/*.md` a RustSec advisory, and anything else
 * inside a crate's directory an advisory misplaced (rustsec would not read it: refuse, never
 * skip); nothing under a dot-directory (.git, .github) and no dot-file is read.
 */
export function databaseFileKind(rel: string): 'rustsec' | 'osv' | 'misplaced' | null {
  if (rel.split('/').some((part) => part.startsWith('.'))) return null;
  if (rel.endsWith('.json')) return 'osv';
  if (RUSTSEC_FILE.test(rel)) return 'rustsec';
  return RUSTSEC_TREE.test(rel) ? 'misplaced' : null;
}

/**
 * The largest advisory file read, as a zip's entries are capped (zip.ts): RustSec's largest is
 * a few KiB, GitHub's a few hundred. A larger one is no advisory, and past 512 MiB JavaScript
 * could not even hold its text.
 */
export const MAX_ADVISORY_BYTES = 32 * 1024 * 1024;

export function advisoryTooLarge(size: number): string {
  return `advisory is ${size} bytes, over the ${MAX_ADVISORY_BYTES}-byte limit`;
}

/** The refusal of a file `databaseFileKind` calls misplaced. */
export const MISPLACED_ADVISORY = 'not where a RustSec advisory can be (crates/NAME/ID.md or rust/NAME/ID.md): refusing the database';

/**
 * Lists a directory's advisory files. Dot-directories (.git) are not entered. A symbolic link
 * is followed when it resolves inside the database (a checkout may link one advisory or
 * directory to another); one that leads out of it, dangles or loops, and any entry that is
 * neither file, directory nor link (a FIFO would block the read), refuses the database: a file
 * skipped is an advisory not checked.
 */
export function listDatabaseFiles(root: string): DatabaseFiles {
  const rustsec: string[] = [];
  const osv: string[] = [];
  const directories: string[] = [];
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch (err) {
    throw new StowageError(`cannot read database directory: ${(err as Error).message}`, root);
  }
  // The real directories on the way down, to tell a loop; and a bound on the whole walk, as
  // links between directories could multiply it without end.
  const chain = new Map<string, string>();
  let visited = 0;
  const walk = (rel: string, real: string): void => {
    const dir = rel === '' ? root : join(root, rel);
    const ancestor = chain.get(real);
    if (ancestor !== undefined) {
      throw new StowageError(
        `symbolic link loops back to ${ancestor === '' ? 'the database root' : ancestor}: refusing the database`,
        dir,
      );
    }
    directories.push(rel);
    chain.set(real, rel);
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw new StowageError(`cannot read database directory: ${(err as Error).message}`, dir);
    }
    visited += entries.length;
    if (visited > MAX_WALKED_ENTRIES) {
      throw new StowageError(`more than ${MAX_WALKED_ENTRIES} entries reached (through symbolic links?): refusing the database`, root);
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const full = join(root, path);
      let target = join(real, entry.name);
      let st: Dirent | Stats = entry;
      if (entry.isSymbolicLink()) {
        target = insideTarget(realRoot, full);
        try {
          st = statSync(target);
        } catch (err) {
          throw new StowageError(`cannot read: ${(err as Error).message}`, full);
        }
      }
      if (st.isDirectory()) {
        walk(path, target);
      } else if (st.isFile()) {
        const kind = databaseFileKind(path);
        if (kind === 'osv') osv.push(path);
        else if (kind === 'rustsec') rustsec.push(path);
        else if (kind === 'misplaced') throw new StowageError(MISPLACED_ADVISORY, full);
      } else {
        throw new StowageError('neither a file, a directory nor a symbolic link: refusing the database', full);
      }
    }
    chain.delete(real);
  };
  walk('', realRoot);
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

/** Where the link at `link` leads, when that is inside `realRoot`; anything else refuses the database. */
function insideTarget(realRoot: string, link: string): string {
  let target: string;
  try {
    target = realpathSync(link);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ELOOP' ? 'loops' : code === 'ENOENT' ? 'dangles (its target does not exist)' : `cannot be followed (${(err as Error).message})`;
    throw new StowageError(`symbolic link ${why}: refusing the database`, link);
  }
  const within = relative(realRoot, target);
  if (within === '..' || within.startsWith(`..${sep}`) || isAbsolute(within)) {
    throw new StowageError(`symbolic link leads outside the database (to ${target}): refusing the database`, link);
  }
  return target;
}

/**
 * A cheap identity of a directory's contents that tells when the index must be rebuilt
 * without reading any advisory: how many files and directories, their total size, and a hash
 * of every one's status-change and modification times, size and inode. Any write, create,
 * delete, rename or replacement sets a ctime to "now", even a `cp -p` or `touch -d` that sets
 * an old mtime; ctime itself cannot be set back. Every entry's times are mixed in, not only the
 * newest: a file dated in the future (`touch -d`, unpacked from an archive made by a clock
 * ahead or in another time zone) would otherwise stand newest over every later edit, and a
 * same-size edit (a `fixed` version moved from 1.0.0 to 2.0.0) would leave the index stale.
 */
export function directoryFingerprint(files: DatabaseFiles): string {
  let count = 0;
  let bytes = 0;
  // Two FNV-1a lanes over the bits of each entry's ctimeMs, mtimeMs, size and inode, in the listing's
  // order (no node:crypto to load: a warm audit's start-up would pay more for it than for the stats).
  let low = 0x811c9dc5;
  let high = 0x050c5d1f;
  const times = new Float64Array(4);
  const words = new Uint32Array(times.buffer);
  // The listed paths are relative and `/`-separated: appended to the root as they are, since
  // path.join's normalizing of thousands of them costs more than the stats (a warm audit's).
  const prefix = files.root.endsWith(sep) || files.root.endsWith('/') ? files.root : files.root + sep;
  for (const list of [files.directories, files.rustsec, files.osv]) {
    for (let i = 0; i < list.length; i++) {
      const rel = list[i] as string;
      const st = statSync(rel === '' ? files.root : prefix + rel);
      count++;
      if (st.isFile()) bytes += st.size;
      times[0] = st.ctimeMs;
      times[1] = st.mtimeMs;
      times[2] = st.size;
      times[3] = st.ino;
      for (let w = 0; w < 8; w++) {
        low = Math.imul(low ^ (words[w] as number), 0x01000193);
        high = Math.imul(high ^ (words[w] as number), 0x01000193) ^ (low >>> 15);
      }
    }
  }
  const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
  return `${count}:${bytes}:${hex(high)}${hex(low)}`;
}
