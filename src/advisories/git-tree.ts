import { posix } from 'node:path';
import { StowageError } from '../core/errors.js';
import { MAX_ADVISORY_BYTES, MISPLACED_ADVISORY, advisoryTooLarge, databaseFileKind } from './database-files.js';
import { GitError, gitBytes } from './git.js';
import type { AdvisoryFileList } from './records.js';

/**
 * A database read at one commit from git's object store (`ls-tree` + `cat-file --batch`), not
 * from a work tree: what is read is exactly the revision the report names, whatever happened
 * to files on disk, and the cached clone needs no work tree at all.
 */
export interface DatabaseAtCommit extends AdvisoryFileList {
  /** Text of every listed file, by path. */
  texts: Map<string, string>;
}

interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  /** A blob's size in bytes; NaN for a tree or a gitlink. */
  size: number;
}

// Strict, as records.ts reads a directory's files: a replacement character is never guessed in.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Symbolic links followed in a row before a chain is called a loop (Linux's own limit). */
const MAX_LINK_HOPS = 40;

/** `<mode> <type> <oid> <size>\t<path>\0` records of `git ls-tree -l -z` (the size padded with spaces, `-` for a tree). */
function parseTree(listing: Buffer, where: string): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  for (const record of listing.toString('utf8').split('\0')) {
    if (record === '') continue;
    const tab = record.indexOf('\t');
    const [mode, type, oid, size] = record.slice(0, tab).split(/ +/);
    if (tab < 0 || !mode || !type || !oid || !size) throw new GitError(`unexpected git ls-tree output: ${JSON.stringify(record.slice(0, 80))}`);
    const path = record.slice(tab + 1);
    // Paths are bytes to git: two that are not UTF-8 (`\xff.json`, `\xfe.json`) read as one
    // name here, and one of the two files was never listed, its advisory never checked.
    if (entries.has(path)) throw new StowageError(`two paths of the tree read as ${JSON.stringify(path)} (not UTF-8): the database is refused`, where);
    entries.set(path, { mode, type, oid, size: size === '-' ? NaN : Number(size) });
  }
  return entries;
}

/** The objects' contents, by oid, from one `git cat-file --batch`. */
async function readBlobs(gitDir: string, oids: readonly string[]): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  const unique = [...new Set(oids)];
  if (unique.length === 0) return blobs;
  const out = await gitBytes(['cat-file', '--batch'], gitDir, `${unique.join('\n')}\n`);
  let at = 0;
  for (const oid of unique) {
    const eol = out.indexOf(0x0a, at);
    const header = out.subarray(at, eol < 0 ? out.length : eol).toString('latin1');
    const [gotOid, type, size] = header.split(' ');
    if (eol < 0 || gotOid !== oid || type !== 'blob' || size === undefined) {
      throw new GitError(`object ${oid} cannot be read (${header || 'no answer'})`);
    }
    const start = eol + 1;
    const end = start + Number(size);
    if (end > out.length) throw new GitError(`object ${oid} is cut short`);
    blobs.set(oid, out.subarray(start, end));
    at = end + 1;
  }
  return blobs;
}

/**
 * Lists and reads the advisory files of `commit` in the repository at `gitDir`. Symbolic links
 * are followed as the directory reader follows them: within the tree only; one that leaves the
 * database, dangles or loops refuses it. `label` names the database in errors.
 */
export async function readDatabaseAtCommit(gitDir: string, commit: string, label: string): Promise<DatabaseAtCommit> {
  const entries = parseTree(await gitBytes(['ls-tree', '-r', '-t', '-l', '-z', '--full-tree', commit], gitDir), `${label}@${commit.slice(0, 12)}`);
  const children = new Map<string, string[]>();
  for (const path of entries.keys()) {
    const dir = posix.dirname(path);
    const key = dir === '.' ? '' : dir;
    const list = children.get(key);
    if (list) list.push(path);
    else children.set(key, [path]);
  }
  const linkOids = [...entries.values()].filter((e) => e.mode === '120000').map((e) => e.oid);
  const linkBlobs = await readBlobs(gitDir, linkOids);
  const refuse = (path: string, why: string): never => {
    throw new StowageError(`symbolic link ${path} ${why}: the database is refused`, `${label}@${commit.slice(0, 12)}`);
  };

  /** Where `path` really is, every link along it followed; '' is the root. */
  const resolvePath = (path: string, shown: string, hops: number): string => {
    let real = '';
    const parts = path === '' ? [] : path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const next = real === '' ? (parts[i] as string) : `${real}/${parts[i] as string}`;
      const entry = entries.get(next);
      if (entry === undefined) refuse(shown, 'points to nothing in the tree');
      if (entry?.mode !== '120000') {
        real = next;
        continue;
      }
      if (hops >= MAX_LINK_HOPS) refuse(shown, 'is part of a loop');
      const target = (linkBlobs.get(entry.oid) as Buffer).toString('utf8');
      const joined = posix.normalize(posix.join(posix.dirname(next), target, ...parts.slice(i + 1)));
      if (posix.isAbsolute(target) || joined === '..' || joined.startsWith('../')) refuse(shown, `leaves the database (-> ${target})`);
      return resolvePath(joined === '.' ? '' : joined, shown, hops + 1);
    }
    return real;
  };

  const files: [path: string, oid: string, size: number][] = [];
  const walk = (real: string, shown: string, inside: readonly string[]): void => {
    for (const path of children.get(real) ?? []) {
      const name = posix.basename(path);
      if (name.startsWith('.')) continue;
      const as = shown === '' ? name : `${shown}/${name}`;
      const target = entries.get(path)?.mode === '120000' ? resolvePath(path, as, 0) : path;
      const entry = target === '' ? { type: 'tree', oid: '', size: NaN } : entries.get(target);
      if (entry?.type === 'tree') {
        // A directory link back to a directory it sits in would list the same files forever.
        if (inside.includes(target)) refuse(as, 'is part of a loop');
        walk(target, as, [...inside, target]);
      } else if (entry?.type === 'blob') {
        files.push([as, entry.oid, entry.size]);
      }
      // Gitlinks (submodules) hold no files of this tree.
    }
  };
  walk('', '', ['']);

  const rustsec: string[] = [];
  const osv: string[] = [];
  const wanted: [string, string][] = [];
  for (const [path, oid, size] of files) {
    const kind = databaseFileKind(path);
    if (kind === null) continue;
    if (kind === 'misplaced') throw new StowageError(`${MISPLACED_ADVISORY} (at commit ${commit})`, `${label}: ${path}`);
    // Checked before any is read: git would hand every blob over in one buffer.
    if (size > MAX_ADVISORY_BYTES) throw new StowageError(advisoryTooLarge(size), `${label}@${commit.slice(0, 12)}:${path}`);
    (kind === 'rustsec' ? rustsec : osv).push(path);
    wanted.push([path, oid]);
  }
  if (wanted.length === 0) {
    throw new StowageError(
      `not an advisory database at commit ${commit}: no RustSec advisories (crates/NAME/RUSTSEC-*.md) and no OSV .json files`,
      label,
    );
  }
  rustsec.sort();
  osv.sort();
  const blobs = await readBlobs(gitDir, wanted.map(([, oid]) => oid));
  const texts = new Map<string, string>();
  for (const [path, oid] of wanted) {
    try {
      texts.set(path, UTF8.decode(blobs.get(oid) as Buffer));
    } catch {
      // As the directory and zip readers refuse it: decoded leniently, a byte in an ecosystem or
      // package name would become U+FFFD, and the record would name nobody's package, silently.
      throw new StowageError('advisory is not UTF-8 text', `${label}@${commit.slice(0, 12)}:${path}`);
    }
  }
  return { rustsec, osv, texts };
}
