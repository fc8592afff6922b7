import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { cacheKey } from '../core/cache-key.js';
import { redactCredentials } from '../core/credentials.js';
import { StowageError, errorMessage } from '../core/errors.js';
import { GitError, git, headCommit } from './git.js';

/** The public RustSec database: the default when no `--db` is given. */
export const DEFAULT_DATABASE = 'https://github.com/rustsec/advisory-db.git';

/**
 * Where advisories come from, as the user named it with `--db`.
 * - git-remote: a URL or git bundle, cloned into the cache and fetched forward (`URL#REF`
 *   picks a branch, e.g. `...bundle#osv`).
 * - git-checkout: a local git work tree, read as it is checked out; revision = HEAD.
 * - directory: a plain directory of RustSec advisories or OSV JSON files.
 * - zip: a `.zip` of OSV JSON files (the form osv.dev publishes per ecosystem).
 */
export type DatabaseSpec =
  | { kind: 'git-remote'; url: string; ref: string | null; name: string }
  | { kind: 'git-checkout'; dir: string; name: string }
  | { kind: 'directory'; dir: string; name: string }
  | { kind: 'zip'; file: string; name: string };

/** A URL (`scheme://…`) or scp-like git address (`user@host:path`), as opposed to a path. */
export const URL_LIKE = /^(?:[a-z][a-z0-9+.-]*:\/\/|[\w.-]+@[\w.-]+:)/i;

/** Decides what kind of database a `--db` argument names. Touches the file system only. */
export function parseDatabaseSpec(arg: string, cwd = process.cwd()): DatabaseSpec {
  if (arg.trim() === '') throw new StowageError('--db: empty database source');
  const hash = arg.lastIndexOf('#');
  const withoutRef = hash > 0 ? arg.slice(0, hash) : arg;
  const ref = hash > 0 ? arg.slice(hash + 1) : null;
  if (URL_LIKE.test(arg)) {
    // Only git sees `url`; the name is what reports, errors, the cache and manifests show.
    return { kind: 'git-remote', url: withoutRef, ref: ref || null, name: redactCredentials(arg) };
  }
  const path = resolve(cwd, withoutRef);
  let stat;
  try {
    stat = statSync(path);
  } catch {
    // A path that does not exist may still be meant as a URL of a form we do not know.
    throw new StowageError(`--db ${arg}: no such file or directory, and not a git URL`);
  }
  if (stat.isFile()) {
    if (path.endsWith('.zip')) {
      if (ref) throw new StowageError(`--db ${arg}: a .zip database has no branches`);
      return { kind: 'zip', file: path, name: arg };
    }
    if (isGitBundle(path)) return { kind: 'git-remote', url: path, ref: ref || null, name: arg };
    throw new StowageError(`--db ${arg}: not a database (expected a directory, a .zip of OSV files, a git bundle or URL)`);
  }
  if (!stat.isDirectory()) throw new StowageError(`--db ${arg}: not a file or directory`);
  if (ref || isBareRepository(path)) return { kind: 'git-remote', url: path, ref: ref || null, name: arg };
  if (existsSync(join(path, '.git'))) return { kind: 'git-checkout', dir: path, name: arg };
  return { kind: 'directory', dir: path, name: arg };
}

/** A bare repository has no work tree to read: it is cloned like a remote. */
function isBareRepository(dir: string): boolean {
  return existsSync(join(dir, 'HEAD')) && existsSync(join(dir, 'objects')) && existsSync(join(dir, 'refs'));
}

function isGitBundle(path: string): boolean {
  // Only the signature line is read: a bundle is megabytes.
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(16);
    const n = readSync(fd, head, 0, head.length, 0);
    const text = head.subarray(0, n).toString('latin1');
    return text.startsWith('# v2 git bundle') || text.startsWith('# v3 git bundle');
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** When a git-remote database is fetched: `auto` fetches when the last fetch is over an hour old. */
export type FetchPolicy = 'auto' | 'always' | 'never';

const AUTO_FETCH_INTERVAL_MS = 60 * 60 * 1000;

/** What `sync` left in the cache for a git-remote database. */
interface SyncState {
  url: string;
  ref: string | null;
  commit: string;
  date: string;
  fetchedAt: string;
}

export interface SyncedCheckout {
  dir: string;
  commit: string;
  date: string;
  /** Set when fetching failed and the cached revision was used instead. */
  fetchWarning?: string;
}

export function sourceCacheKey(spec: DatabaseSpec): string {
  // Credentials do not change what a URL serves, and a fast hash of one would let anyone who
  // lists the cache (a CI cache is uploaded) try passwords against it: the key leaves them out.
  const id =
    spec.kind === 'git-remote' ? `git:${redactCredentials(spec.url)}#${spec.ref ?? ''}` : `${spec.kind}:${spec.kind === 'zip' ? spec.file : spec.dir}`;
  return cacheKey(id);
}

function slug(spec: DatabaseSpec): string {
  const base = spec.kind === 'git-remote' ? basename(redactCredentials(spec.url)).replace(/\.(git|bundle)$/, '') : 'db';
  return base.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40) || 'db';
}

/**
 * Clones a git-remote database into the cache, or fetches it forward per `policy`. A fetch
 * that fails while a cached clone exists is a warning, not an error: the revision's age is
 * reported and the staleness policy decides.
 */
export async function syncGitRemote(
  spec: Extract<DatabaseSpec, { kind: 'git-remote' }>,
  cacheRoot: string,
  policy: FetchPolicy,
  now: Date = new Date(),
): Promise<SyncedCheckout> {
  const dbRoot = join(cacheRoot, 'db');
  const name = `${slug(spec)}-${sourceCacheKey(spec)}`;
  const dir = join(dbRoot, name);
  const stateFile = join(dbRoot, `${name}.json`);
  const state = readSyncState(stateFile);
  const cloned = state !== null && existsSync(join(dir, '.git'));

  if (cloned && state) {
    const age = now.getTime() - Date.parse(state.fetchedAt);
    const due = policy === 'always' || (policy === 'auto' && !(age >= 0 && age < AUTO_FETCH_INTERVAL_MS));
    if (!due) return { dir, commit: state.commit, date: state.date };
    try {
      const branch = spec.ref ? `refs/heads/${spec.ref}` : 'HEAD';
      // From the URL itself, not `origin`: the clone's config holds only the redacted URL.
      await git(['fetch', '--quiet', '--force', '--no-tags', '--', spec.url, `${branch}`], dir);
      await git(['reset', '--quiet', '--hard', 'FETCH_HEAD'], dir);
      await forgetCredentials(dir, spec);
      const head = await headCommit(dir);
      writeSyncState(stateFile, { url: redactCredentials(spec.url), ref: spec.ref, ...head, fetchedAt: now.toISOString() });
      return { dir, ...head };
    } catch (err) {
      return {
        dir,
        commit: state.commit,
        date: state.date,
        fetchWarning: `could not fetch ${spec.name} (${errorMessage(err)}); using the cached revision`,
      };
    }
  }

  if (policy === 'never') {
    throw new StowageError(`database ${spec.name} is not in the cache (${dbRoot}) and fetching is disabled (--no-fetch)`);
  }
  mkdirSync(dbRoot, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    const args = ['clone', '--quiet', '--single-branch'];
    if (spec.ref) args.push('--branch', spec.ref);
    await git([...args, '--', spec.url, tmp]);
    await forgetCredentials(tmp, spec);
    const head = await headCommit(tmp);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    writeSyncState(stateFile, { url: redactCredentials(spec.url), ref: spec.ref, ...head, fetchedAt: now.toISOString() });
    return { dir, ...head };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const reason = err instanceof GitError ? err.message : errorMessage(err);
    throw new StowageError(`cannot clone advisory database ${spec.name}: ${reason}`);
  }
}

/**
 * `git clone` writes the URL it was given, password included, to the clone's config; the cache
 * keeps the redacted one (fetches name the real URL on the command line).
 */
async function forgetCredentials(dir: string, spec: Extract<DatabaseSpec, { kind: 'git-remote' }>): Promise<void> {
  const shown = redactCredentials(spec.url);
  if (shown !== spec.url) await git(['config', 'remote.origin.url', shown], dir);
}

function readSyncState(file: string): SyncState | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<SyncState>;
    if (typeof parsed.commit === 'string' && typeof parsed.date === 'string' && typeof parsed.fetchedAt === 'string') {
      return parsed as SyncState;
    }
  } catch {
    // A missing or damaged state file means "not synced": the clone is redone.
  }
  return null;
}

function writeSyncState(file: string, state: SyncState): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, file);
}
