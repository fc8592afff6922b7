import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { writeFileAtomically } from '../core/atomic-write.js';
import { cacheWriteError } from '../core/cache-dir.js';
import { cacheKey } from '../core/cache-key.js';
import { redactCredentials } from '../core/credentials.js';
import { StowageError, errorMessage } from '../core/errors.js';
import { isLoopbackHostname } from '../core/http.js';
import type { Ecosystem } from '../core/package.js';
import { withCacheLock } from './cache-lock.js';
import { GitError, git, headCommit, type GitCommit } from './git.js';

/**
 * The databases an audit reads when no `--db` (or policy `db`) is given: one per ecosystem its
 * lockfiles hold. RustSec's own repository for crates; for npm, the OSV project's export of
 * every npm advisory (GitHub's reviewed advisories among them), one zip over HTTPS.
 */
export const DEFAULT_DATABASES: Readonly<Record<Ecosystem, string>> = {
  cargo: 'https://github.com/rustsec/advisory-db.git',
  npm: 'https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip',
};

/**
 * Where advisories come from, as the user named it with `--db`.
 * - git-remote: a URL or git bundle, cloned into the cache and fetched forward (`URL#REF`
 *   picks a branch or a tag, e.g. `...bundle#osv`).
 * - git-checkout: a local git work tree, read as it is checked out; revision = HEAD.
 * - directory: a plain directory of RustSec advisories or OSV JSON files.
 * - zip: a `.zip` of OSV JSON files (the form osv.dev publishes per ecosystem).
 * - zip-download: such a `.zip` at an https URL, downloaded into the cache and revalidated.
 */
export type DatabaseSpec =
  | { kind: 'git-remote'; url: string; ref: string | null; name: string }
  | { kind: 'git-checkout'; dir: string; name: string }
  | { kind: 'directory'; dir: string; name: string }
  | { kind: 'zip'; file: string; name: string }
  | { kind: 'zip-download'; url: string; name: string };

/** A URL (`scheme://…`) or scp-like git address (`user@host:path`), as opposed to a path. */
export const URL_LIKE = /^(?:[a-z][a-z0-9+.-]*:\/\/|[\w.-]+@[\w.-]+:)/i;

/** Decides what kind of database a `--db` argument names. Touches the file system only. */
export function parseDatabaseSpec(arg: string, cwd = process.cwd()): DatabaseSpec {
  if (arg.trim() === '') throw new StowageError('--db: empty database source');
  const hash = arg.lastIndexOf('#');
  const withoutRef = hash > 0 ? arg.slice(0, hash) : arg;
  const ref = hash > 0 ? arg.slice(hash + 1) : null;
  const download = zipDownloadUrl(arg);
  if (download !== null) {
    if (ref !== null) throw new StowageError(`--db ${redactCredentials(arg)}: a .zip database has no branches`);
    return { kind: 'zip-download', url: arg, name: redactCredentials(arg) };
  }
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
    const head = fileHead(path);
    if (isZipArchive(path, head)) {
      if (ref) throw new StowageError(`--db ${arg}: a .zip database has no branches`);
      return { kind: 'zip', file: path, name: arg };
    }
    if (isGitBundle(head)) return { kind: 'git-remote', url: path, ref: ref || null, name: arg };
    throw new StowageError(`--db ${arg}: not a database (expected a directory, a .zip of OSV files, a git bundle or URL)`);
  }
  if (!stat.isDirectory()) throw new StowageError(`--db ${arg}: not a file or directory`);
  if (ref || isBareRepository(path)) return { kind: 'git-remote', url: path, ref: ref || null, name: arg };
  if (existsSync(join(path, '.git'))) return { kind: 'git-checkout', dir: path, name: arg };
  return { kind: 'directory', dir: path, name: arg };
}

/**
 * The URL when `arg` names a `.zip` over http(s) (its path ends in `.zip`): a download, not a
 * git repository. Plain http is refused beyond loopback (isLoopbackHostname: a test's server, never
 * the network): anyone on the way could change the
 * advisories, and an audit that reads them cannot tell.
 */
function zipDownloadUrl(arg: string): URL | null {
  if (!/^https?:\/\//i.test(arg)) return null;
  let url: URL;
  try {
    url = new URL(arg.replace(/#.*$/, ''));
  } catch {
    return null;
  }
  if (!url.pathname.toLowerCase().endsWith('.zip')) return null;
  const shown = redactCredentials(arg);
  if (url.username !== '' || url.password !== '') {
    throw new StowageError(`--db ${shown}: user and password in a download URL are not supported (a token in the query is)`);
  }
  if (url.protocol === 'http:' && !isLoopbackHostname(url.hostname)) {
    throw new StowageError(`--db ${shown}: plain http is accepted only from this machine (127.0.0.1, ::1, localhost); use https`);
  }
  return url;
}

/** A bare repository has no work tree to read: it is cloned like a remote. */
function isBareRepository(dir: string): boolean {
  return existsSync(join(dir, 'HEAD')) && existsSync(join(dir, 'objects')) && existsSync(join(dir, 'refs'));
}

function isGitBundle(head: Buffer): boolean {
  const text = head.toString('latin1');
  return text.startsWith('# v2 git bundle') || text.startsWith('# v3 git bundle');
}

/** A zip archive, whatever its name's case (`NPM.ZIP`, or no extension at all): its local header's signature. */
function isZipArchive(path: string, head: Buffer): boolean {
  return /\.zip$/i.test(path) || head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'));
}

/** The first 16 bytes of a file (fewer when shorter; none when unreadable): only a signature is read, a database is megabytes. */
function fileHead(path: string): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(16);
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } catch {
    return Buffer.alloc(0);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** When a git-remote database is fetched: `auto` fetches when the last fetch is over an hour old. */
export type FetchPolicy = 'auto' | 'always' | 'never';

const AUTO_FETCH_INTERVAL_MS = 60 * 60 * 1000;

/** Whether a source last fetched at `fetchedAt` must be asked again under `policy`. */
function fetchIsDue(fetchedAt: string, policy: FetchPolicy, now: Date): boolean {
  if (policy === 'never') return false;
  if (policy === 'always') return true;
  const age = now.getTime() - Date.parse(fetchedAt);
  return !(age >= 0 && age < AUTO_FETCH_INTERVAL_MS);
}

/** What `sync` left in the cache for a git-remote database. */
interface SyncState {
  url: string;
  ref: string | null;
  commit: string;
  date: string;
  fetchedAt: string;
}

/** A git-remote database in the cache: a bare clone, read at `commit` from its object store. */
export interface SyncedClone {
  gitDir: string;
  commit: string;
  date: string;
  /** Set when fetching failed and the cached revision was used instead. */
  fetchWarning?: string;
}

export function sourceCacheKey(spec: DatabaseSpec): string {
  // Credentials do not change what a URL serves, and a fast hash of one would let anyone who
  // lists the cache (a CI cache is uploaded) try passwords against it: the key leaves them out.
  return cacheKey(sourceIdentity(spec));
}

/**
 * What a database is, whatever spelling named it: the redacted URL (and branch) of a remote, the
 * absolute path of a local one. It keys the cache, and `stowage db` names sources by it.
 */
export function sourceIdentity(spec: DatabaseSpec): string {
  switch (spec.kind) {
    case 'git-remote':
      return `git:${redactCredentials(spec.url)}#${spec.ref ?? ''}`;
    case 'zip-download':
      return `zip-download:${redactCredentials(spec.url)}`;
    case 'zip':
      return `zip:${spec.file}`;
    default:
      return `${spec.kind}:${spec.dir}`;
  }
}

export function slug(spec: DatabaseSpec): string {
  const base =
    spec.kind === 'git-remote'
      ? basename(redactCredentials(spec.url)).replace(/\.(git|bundle)$/, '')
      : spec.kind === 'zip-download'
        ? new URL(spec.url).pathname.split('/').slice(-2).join('-').replace(/\.zip$/i, '')
        : 'db';
  return base.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40) || 'db';
}

/**
 * Where a git-remote database lives in the cache. The clone is bare: there is no work tree
 * whose files could be deleted or edited behind the revision the report names.
 */
export function cacheLayout(spec: Extract<DatabaseSpec, { kind: 'git-remote' }>, cacheRoot: string) {
  const dbRoot = join(cacheRoot, 'db');
  const name = `${slug(spec)}-${sourceCacheKey(spec)}`;
  return {
    dbRoot,
    gitDir: join(dbRoot, `${name}.git`),
    stateFile: join(dbRoot, `${name}.git.json`),
    lockFile: join(dbRoot, `${name}.lock`),
    /** Before the clone was bare: a work tree and its state file, removed when found. */
    legacy: [join(dbRoot, name), join(dbRoot, `${name}.json`)],
  };
}

type CacheLayout = ReturnType<typeof cacheLayout>;

/**
 * Clones a git-remote database into the cache, or fetches it forward per `policy`. A fetch
 * that fails while a cached clone exists is a warning, not an error: the revision's age is
 * reported and the staleness policy decides. Any number of processes may share the cache:
 * a warm run only reads; cloning and fetching happen under the database's lock, and whoever
 * waited for it uses what the holder fetched.
 */
export async function syncGitRemote(
  spec: Extract<DatabaseSpec, { kind: 'git-remote' }>,
  cacheRoot: string,
  policy: FetchPolicy,
  now: Date = new Date(),
): Promise<SyncedClone> {
  const layout = cacheLayout(spec, cacheRoot);
  return refreshRemote<SyncState, SyncedClone>({
    name: spec.name,
    dbRoot: layout.dbRoot,
    lockFile: layout.lockFile,
    policy,
    now,
    held: () => (existsSync(join(layout.gitDir, 'objects')) ? readSyncState(layout.stateFile) : null),
    use: (state, fetchWarning) => ({
      gitDir: layout.gitDir,
      commit: state.commit,
      date: state.date,
      ...(fetchWarning ? { fetchWarning: `${fetchWarning}; using the cached revision` } : {}),
    }),
    refresh: (state) => (state !== null ? fetchForward(spec, layout, state, now) : cloneFresh(spec, layout, now)),
  });
}

/** How a remote database is kept in the cache; `S` is what its state file records. */
export interface RemoteRefresh<S extends { fetchedAt: string }, R> {
  name: string;
  dbRoot: string;
  lockFile: string;
  policy: FetchPolicy;
  now: Date;
  /** The cached copy's state, or null when there is none. */
  held: () => S | null;
  /** The result for a cached copy; `fetchWarning` says why it was not refreshed. */
  use: (state: S, fetchWarning?: string) => R;
  /** Fetches (or first downloads) the source; called holding the lock. */
  refresh: (held: S | null) => Promise<R>;
}

/**
 * The rules every remote database follows (a git clone, a downloaded zip): the cached copy is
 * used while the policy does not ask for a fetch; `--no-fetch` without one is an error; the
 * fetch happens under the database's lock, and whoever waited for it uses what the holder
 * fetched; a cache that cannot be locked (read-only, shared) falls back to its copy with a
 * warning, and the staleness policy decides.
 */
export async function refreshRemote<S extends { fetchedAt: string }, R>(how: RemoteRefresh<S, R>): Promise<R> {
  const ready = how.held();
  if (ready !== null && !fetchIsDue(ready.fetchedAt, how.policy, how.now)) return how.use(ready);
  if (how.policy === 'never') {
    throw new StowageError(`database ${how.name} is not in the cache (${how.dbRoot}) and fetching is disabled (--no-fetch)`);
  }
  const waitedFrom = Date.now();
  let locked = false;
  try {
    return await withCacheLock(how.lockFile, async () => {
      locked = true;
      const meanwhile = how.held();
      // Another process fetched while this one waited for the lock: its fetch is this one's.
      if (meanwhile !== null && (Date.parse(meanwhile.fetchedAt) >= waitedFrom || !fetchIsDue(meanwhile.fetchedAt, how.policy, how.now))) {
        return how.use(meanwhile);
      }
      return how.refresh(meanwhile);
    });
  } catch (err) {
    const cached = locked ? null : how.held();
    if (cached === null || !(err instanceof StowageError)) throw err;
    return how.use(cached, `could not fetch ${how.name} (${err.line})`);
  }
}

/** Fetches the cached clone forward; on failure, the cached revision with a warning. Holds the lock. */
async function fetchForward(spec: Extract<DatabaseSpec, { kind: 'git-remote' }>, layout: CacheLayout, state: SyncState, now: Date): Promise<SyncedClone> {
  try {
    // `#REF` is a branch or, as `git clone --branch` also takes one, a tag: looked up in that
    // order, as clone looks (a tag was cloned, then never fetched again: every run warned and
    // kept the first revision). When neither is found, the branch's error is the one told.
    const refs = spec.ref ? [`refs/heads/${spec.ref}`, `refs/tags/${spec.ref}`] : ['HEAD'];
    let failure: unknown = null;
    for (const ref of refs) {
      try {
        // From the URL itself, not `origin`: the clone's config holds only the redacted URL, and a
        // fetch by URL writes nothing there, so there are no credentials to forget afterwards.
        await git(['fetch', '--quiet', '--force', '--no-tags', '--', spec.url, ref], layout.gitDir);
        failure = null;
        break;
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== null) throw failure;
    // HEAD of a bare clone is its branch: moving it keeps the fetched commit reachable (an
    // annotated tag's commit, not the tag object).
    await git(['update-ref', 'HEAD', 'FETCH_HEAD^{commit}'], layout.gitDir);
    const head = await headCommit(layout.gitDir);
    writeSyncState(layout.stateFile, { url: redactCredentials(spec.url), ref: spec.ref, ...head, fetchedAt: now.toISOString() });
    return { gitDir: layout.gitDir, ...head };
  } catch (err) {
    if (err instanceof StowageError) throw err;
    return {
      gitDir: layout.gitDir,
      commit: state.commit,
      date: state.date,
      fetchWarning: `could not fetch ${spec.name} (${errorMessage(err)}); using the cached revision`,
    };
  }
}

/** Clones into a temporary directory and renames it into place: never half a clone. Holds the lock. */
async function cloneFresh(spec: Extract<DatabaseSpec, { kind: 'git-remote' }>, layout: CacheLayout, now: Date): Promise<SyncedClone> {
  const tmp = `${layout.gitDir}.tmp-${process.pid}`;
  try {
    // What a run that died while holding the lock left behind, and the layout of older stowage.
    for (const name of readdirSync(layout.dbRoot)) {
      if (name.startsWith(`${basename(layout.gitDir)}.tmp-`)) rmSync(join(layout.dbRoot, name), { recursive: true, force: true });
    }
    for (const old of [...layout.legacy, layout.gitDir, layout.stateFile]) rmSync(old, { recursive: true, force: true });
  } catch (err) {
    throw cacheWriteError(err, layout.dbRoot, 'clear the database cache');
  }
  let head: GitCommit;
  try {
    const args = ['clone', '--quiet', '--bare', '--single-branch'];
    if (spec.ref) args.push('--branch', spec.ref);
    await git([...args, '--', spec.url, tmp]);
    await forgetCredentials(tmp, spec);
    head = await headCommit(tmp);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (err instanceof GitError) throw new StowageError(`cannot clone advisory database ${spec.name} into ${layout.dbRoot}: git: ${err.message} (check the --db source: URL or path, #branch, network)`);
    // Named by the clone it would become: the temporary name means nothing to the user.
    throw cacheWriteError(err, layout.gitDir, `clone advisory database ${spec.name}`);
  }
  try {
    renameSync(tmp, layout.gitDir);
    writeSyncState(layout.stateFile, { url: redactCredentials(spec.url), ref: spec.ref, ...head, fetchedAt: now.toISOString() });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw cacheWriteError(err, layout.gitDir, `store the clone of ${spec.name}`);
  }
  return { gitDir: layout.gitDir, ...head };
}

/**
 * Forgets the cached clone (its objects are damaged), so the next sync clones again.
 * Under the database's lock, so no other run is cloning or fetching into it meanwhile.
 */
export async function dropCachedClone(spec: Extract<DatabaseSpec, { kind: 'git-remote' }>, cacheRoot: string): Promise<void> {
  const layout = cacheLayout(spec, cacheRoot);
  await withCacheLock(layout.lockFile, async () => {
    try {
      rmSync(layout.stateFile, { force: true });
      rmSync(layout.gitDir, { recursive: true, force: true });
    } catch (err) {
      throw cacheWriteError(err, layout.gitDir, 'remove the damaged clone');
    }
  });
}

/**
 * `git clone` writes the URL it was given, password included, to the clone's config; the cache
 * keeps the redacted one (fetches name the real URL on the command line).
 */
async function forgetCredentials(dir: string, spec: Extract<DatabaseSpec, { kind: 'git-remote' }>): Promise<void> {
  const shown = redactCredentials(spec.url);
  if (shown !== spec.url) await git(['config', 'remote.origin.url', shown], dir);
}

export function readSyncState(file: string): SyncState | null {
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
  writeFileAtomically(file, Buffer.from(JSON.stringify(state, null, 2) + '\n'));
}
