import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Advisory } from '../core/advisory.js';
import type { Ecosystem } from '../core/package.js';
import { StowageError, errorMessage } from '../core/errors.js';
import { AdvisoryIndex, IndexDamaged, type IndexStamp } from './advisory-index.js';
import { withCacheLock } from './cache-lock.js';
import { GitError, changedFromHead, headCommit, headCommitFromFiles, type GitCommit } from './git.js';
import { readDatabaseAtCommit } from './git-tree.js';
import { databaseFileKind, directoryFingerprint, listDatabaseFiles, type DatabaseFiles } from './database-files.js';
import type { LoadedAdvisories } from './records.js';
import { evaluationTime } from '../core/clock.js';

// The readers (and their TOML, CVSS and zip libraries) load only when an index is (re)built.
const readers = (): Promise<typeof import('./records.js')> => import('./records.js');
import { dropCachedClone, sourceCacheKey, sourceIdentity, syncGitRemote, type DatabaseSpec, type FetchPolicy } from './source.js';

export interface OpenDatabaseOptions {
  cacheRoot: string;
  fetch: FetchPolicy;
  now?: Date;
}

/** An advisory database ready to query, with what a report must say about it. */
export interface AdvisoryDatabase {
  spec: DatabaseSpec;
  /** As the user named it (URL or path). */
  source: string;
  readonly revision: string;
  readonly revisionDate: string | null;
  readonly advisories: number;
  readonly toolchainAdvisories: number;
  readonly ecosystems: IndexStamp['ecosystems'];
  index: AdvisoryIndex;
  /** True when this run (re)built the index. */
  rebuilt: boolean;
  warnings: string[];
  /**
   * Every advisory about any of `names`, withdrawn ones included. An index found damaged
   * while reading it is rebuilt from the source once (with a warning), then read again.
   */
  lookup(ecosystem: Ecosystem, names: readonly string[]): Promise<Advisory[]>;
}

/** The database over an open index; `rebuild` makes a fresh index from the source. */
export function databaseOverIndex(
  spec: DatabaseSpec,
  index: AdvisoryIndex,
  state: { rebuilt: boolean; warnings: string[]; rebuild?: () => Promise<AdvisoryIndex> },
): AdvisoryDatabase {
  // What the index's stamp says is read from it, so a rebuilt index is described as it is. Its
  // date is asked as of the audit's clock once the index is open (it may be closed before the report).
  let revisionDate = index.revisionDate(evaluationTime());
  const db: AdvisoryDatabase = {
    spec,
    source: spec.name,
    get revision() {
      return db.index.stamp.revision;
    },
    get revisionDate() {
      return revisionDate;
    },
    get advisories() {
      return db.index.stamp.advisories;
    },
    get toolchainAdvisories() {
      return db.index.stamp.toolchainAdvisories;
    },
    get ecosystems() {
      return db.index.stamp.ecosystems;
    },
    index,
    rebuilt: state.rebuilt,
    warnings: state.warnings,
    lookup: async (ecosystem, names) => {
      try {
        return db.index.lookup(ecosystem, names);
      } catch (err) {
        if (!(err instanceof IndexDamaged) || db.rebuilt || state.rebuild === undefined) throw err;
        db.index.close();
        db.index = await state.rebuild();
        revisionDate = db.index.revisionDate(evaluationTime());
        db.rebuilt = true;
        db.warnings.push(`${err.line}: rebuilt it from ${spec.name}`);
        return db.index.lookup(ecosystem, names);
      }
    },
  };
  return db;
}

interface Snapshot {
  fingerprint: string;
  /**
   * Known without reading advisories (git commit), or null for content-hashed sources. `load`
   * may restate it: a git checkout whose work tree differs from HEAD is `COMMIT-dirty`.
   */
  revision: string | null;
  revisionDate: string | null;
  load: () => Promise<LoadedAdvisories>;
  warnings: string[];
  /** The files of a database read from disk, stored with its index (see currentFiles). */
  listing?: DatabaseFiles;
}

/** How a git checkout read in place is named when its advisory files differ from HEAD. */
const DIRTY = '-dirty';

/**
 * A directory's advisory files and their fingerprint. When the index holds the listing it was
 * built from and that listing's fingerprint is unchanged, the tree is not walked again: a file
 * added, deleted or renamed changes its directory's ctime, an edit (even of the same size, even
 * with its mtime set back) the file's own, so an unchanged fingerprint over the old listing
 * means an unchanged tree. Anything else (a file gone, a time moved) walks the tree afresh.
 */
function currentFiles(dir: string, previous: AdvisoryIndex | null, fingerprintOf: (tree: string) => string): { files: DatabaseFiles; fingerprint: string } {
  const listing = previous?.listing();
  if (previous && listing) {
    const files: DatabaseFiles = { root: dir, ...listing };
    let fingerprint: string | null = null;
    try {
      fingerprint = fingerprintOf(directoryFingerprint(files));
    } catch {
      // A listed file or directory is gone: walk.
    }
    if (fingerprint === previous.stamp.fingerprint) return { files, fingerprint };
  }
  const files = listDatabaseFiles(dir);
  return { files, fingerprint: fingerprintOf(directoryFingerprint(files)) };
}

/** `previous`: the index as it stands, whose stored listing may spare a directory walk. */
async function snapshot(spec: DatabaseSpec, options: OpenDatabaseOptions, previous: AdvisoryIndex | null): Promise<Snapshot> {
  switch (spec.kind) {
    case 'git-remote': {
      const synced = await syncGitRemote(spec, options.cacheRoot, options.fetch, options.now);
      const snap: Snapshot = {
        fingerprint: synced.commit,
        revision: synced.commit,
        revisionDate: synced.date,
        load: async () => {
          const { loadFiles } = await readers();
          const where = (rel: string): string => `${spec.name}@${snap.revision?.slice(0, 12) ?? ''}:${rel}`;
          let tree;
          try {
            tree = await readDatabaseAtCommit(synced.gitDir, synced.commit, spec.name);
          } catch (err) {
            if (!(err instanceof GitError)) throw err;
            // The clone's objects are damaged (a cache cleaner, a full disk while fetching):
            // clone again once, and describe the index by what was cloned.
            if (options.fetch === 'never') {
              throw new StowageError(
                `the cached clone of ${spec.name} is damaged (git: ${err.message}); run without --no-fetch to clone it again`,
                synced.gitDir,
              );
            }
            await dropCachedClone(spec, options.cacheRoot);
            const again = await syncGitRemote(spec, options.cacheRoot, 'always', options.now);
            snap.warnings.push(`the cached clone of ${spec.name} was damaged (git: ${err.message}); cloned it again`);
            Object.assign(snap, { fingerprint: again.commit, revision: again.commit, revisionDate: again.date });
            tree = await readDatabaseAtCommit(again.gitDir, again.commit, spec.name).catch((e: unknown) => {
              throw e instanceof GitError ? new StowageError(`cannot read the advisory database just cloned: git: ${e.message}`, again.gitDir) : e;
            });
          }
          const texts = tree.texts;
          return loadFiles(tree, (rel) => texts.get(rel) as string, where);
        },
        warnings: synced.fetchWarning ? [synced.fetchWarning] : [],
      };
      return snap;
    }
    case 'git-checkout': {
      const headOf = async (): Promise<GitCommit> => {
        try {
          return await headCommit(spec.dir);
        } catch (err) {
          throw new StowageError(`not a readable git checkout: ${(err as GitError).message}`, spec.dir);
        }
      };
      // HEAD read from .git's files when git's layout allows: a warm run starts no git.
      const commit = headCommitFromFiles(spec.dir) ?? (await headOf()).commit;
      // The files are read from the work tree, which may differ from HEAD (an advisory being
      // written, a file deleted): their sizes and ctimes are part of the fingerprint, and an
      // index read from a work tree that differs from HEAD does not claim HEAD's commit.
      const { files, fingerprint } = currentFiles(spec.dir, previous, (tree) => `${commit}:${tree}`);
      const snap: Snapshot = {
        fingerprint,
        revision: commit,
        revisionDate: null,
        listing: files,
        load: async () => {
          const head = await headOf();
          snap.revisionDate = head.date;
          const fromHead = await changedFromHead(spec.dir).catch((err: unknown) => {
            throw new StowageError(`cannot compare the work tree with its HEAD commit: git: ${errorMessage(err)}`, spec.dir);
          });
          // A sparse checkout's advisories outside its cone are in HEAD but never in the work
          // tree: an index of what is there would pass every package they name.
          const hidden = fromHead.hidden.filter((rel) => databaseFileKind(rel) !== null);
          if (hidden.length > 0) {
            throw new StowageError(
              `a sparse checkout: ${hidden.length} advisory file${hidden.length === 1 ? ' is' : 's are'} in HEAD but not in the work tree (${hidden[0]}${hidden.length > 1 ? ', …' : ''}), so ${hidden.length === 1 ? 'it' : 'they'} cannot be read: refused (git sparse-checkout disable, or name the repository by its URL or bundle)`,
              spec.dir,
            );
          }
          const changed = fromHead.changed.filter((rel) => databaseFileKind(rel) !== null);
          snap.revision = changed.length > 0 ? `${head.commit}${DIRTY}` : head.commit;
          return (await readers()).loadDirectory(files);
        },
        warnings: [],
      };
      return snap;
    }
    case 'directory': {
      const { files, fingerprint } = currentFiles(spec.dir, previous, (tree) => tree);
      return {
        fingerprint,
        revision: null,
        revisionDate: null,
        listing: files,
        load: async () => (await readers()).loadDirectory(files),
        warnings: [],
      };
    }
    case 'zip-download': {
      const { syncZipDownload } = await import('./zip-download.js');
      const downloaded = await syncZipDownload(spec, options.cacheRoot, options.fetch, options.now);
      return {
        // The bytes' own hash, taken when they were downloaded: a new copy is a new index.
        fingerprint: `sha256:${downloaded.state.sha256}`,
        revision: null,
        revisionDate: null,
        load: async () => (await readers()).loadZip(downloaded.file, spec.name),
        warnings: downloaded.fetchWarning ? [downloaded.fetchWarning] : [],
      };
    }
    case 'zip': {
      let st;
      try {
        st = statSync(spec.file);
      } catch (err) {
        throw new StowageError(`cannot read: ${(err as Error).message}`, spec.file);
      }
      return {
        // ctime and inode change when the file is replaced, even by `cp -p` or `curl -R`.
        fingerprint: `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`,
        revision: null,
        revisionDate: null,
        load: async () => (await readers()).loadZip(spec.file),
        warnings: [],
      };
    }
  }
}

function countByEcosystem(advisories: readonly Advisory[]): IndexStamp['ecosystems'] {
  const counts: IndexStamp['ecosystems'] = {};
  for (const a of advisories) counts[a.ecosystem] = (counts[a.ecosystem] ?? 0) + 1;
  return counts;
}

export function indexPath(cacheRoot: string, spec: DatabaseSpec): string {
  return join(cacheRoot, 'index', `${sourceCacheKey(spec)}.sqlite`);
}

/**
 * Makes a database queryable: syncs it if it is a remote, then opens its index, rebuilding the
 * index only when the source's revision (or, for plain files, their sizes and mtimes) changed.
 */
export async function openDatabase(spec: DatabaseSpec, options: OpenDatabaseOptions): Promise<AdvisoryDatabase> {
  const file = indexPath(options.cacheRoot, spec);
  let index = AdvisoryIndex.open(file);
  let snap: Snapshot;
  try {
    snap = await snapshot(spec, options, index);
  } catch (err) {
    index?.close();
    throw err;
  }
  const build = async (): Promise<AdvisoryIndex> => {
    const loaded = await snap.load();
    const stamp: IndexStamp = {
      source: sourceIdentity(spec),
      revision: snap.revision ?? loaded.contentHash,
      revisionDate: snap.revisionDate,
      fingerprint: snap.fingerprint,
      advisories: loaded.advisories.length,
      toolchainAdvisories: loaded.toolchainAdvisories,
      ecosystems: countByEcosystem(loaded.advisories),
    };
    const listing = snap.listing && { rustsec: snap.listing.rustsec, osv: snap.listing.osv, directories: snap.listing.directories };
    return AdvisoryIndex.build(file, stamp, loaded.advisories, listing);
  };
  // Processes sharing the cache build an index one at a time; those that waited open it.
  const buildLocked = (force: boolean): Promise<AdvisoryIndex> =>
    withCacheLock(`${file}.lock`, async () => {
      const meanwhile = force ? null : AdvisoryIndex.open(file);
      if (meanwhile && meanwhile.stamp.fingerprint === snap.fingerprint) return meanwhile;
      meanwhile?.close();
      return build();
    });
  let rebuilt = false;
  if (!index || index.stamp.fingerprint !== snap.fingerprint) {
    index?.close();
    index = await buildLocked(false);
    rebuilt = true;
  }
  const warnings = snap.warnings;
  if (spec.kind === 'git-checkout' && index.stamp.revision.endsWith(DIRTY)) {
    warnings.push(
      `${spec.name}: advisory files in the work tree differ from its HEAD commit; they were read as they are, ` +
        `and the revision is reported as ${index.stamp.revision}`,
    );
  }
  try {
    return databaseOverIndex(spec, index, { rebuilt, warnings, rebuild: () => buildLocked(true) });
  } catch (err) {
    // Its records' dates unreadable: damaged as a lookup may find it, and rebuilt the same way.
    if (!(err instanceof IndexDamaged) || rebuilt) throw err;
    index.close();
    warnings.push(`${err.line}: rebuilt it from ${spec.name}`);
    return databaseOverIndex(spec, await buildLocked(true), { rebuilt: true, warnings });
  }
}

/**
 * The same database, with each lookup remembered for as long as the returned object is used:
 * a fleet evaluating thousands of revisions asks for the same names (an application's
 * revisions, applications made from one code base) again and again. Keyed on the names as
 * asked for, in their order, so every answer is the very list (and order) the index gives: a
 * lockfile lists its packages in one order (a sorted, deduplicated key cost a sort of every name
 * per lookup; the same names in another order are only looked up once more).
 */
export function withRememberedLookups(db: AdvisoryDatabase): AdvisoryDatabase {
  const answers = new Map<string, Promise<Advisory[]>>();
  const remembering = Object.create(db) as AdvisoryDatabase;
  remembering.lookup = (ecosystem, names) => {
    const key = `${ecosystem}\0${names.join('\0')}`;
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = db.lookup(ecosystem, names);
      answers.set(key, answer);
      answer.catch(() => answers.delete(key));
    }
    return answer;
  };
  return remembering;
}
