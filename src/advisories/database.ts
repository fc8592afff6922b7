import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Advisory } from '../core/advisory.js';
import type { Ecosystem } from '../core/package.js';
import { StowageError } from '../core/errors.js';
import { AdvisoryIndex, IndexDamaged, type IndexStamp } from './advisory-index.js';
import { GitError, headCommit } from './git.js';
import { directoryFingerprint, listDatabaseFiles } from './database-files.js';
import type { LoadedAdvisories } from './records.js';

// The readers (and their TOML, CVSS and zip libraries) load only when an index is (re)built.
const readers = (): Promise<typeof import('./records.js')> => import('./records.js');
import { sourceCacheKey, syncGitRemote, type DatabaseSpec, type FetchPolicy } from './source.js';

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
  // What the index's stamp says is read from it, so a rebuilt index is described as it is.
  const db: AdvisoryDatabase = {
    spec,
    source: spec.name,
    get revision() {
      return db.index.stamp.revision;
    },
    get revisionDate() {
      return db.index.stamp.revisionDate;
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
  /** Known without reading advisories (git commit), or null for content-hashed sources. */
  revision: string | null;
  revisionDate: string | null;
  load: () => Promise<LoadedAdvisories>;
  warnings: string[];
}

async function snapshot(spec: DatabaseSpec, options: OpenDatabaseOptions): Promise<Snapshot> {
  switch (spec.kind) {
    case 'git-remote': {
      const synced = await syncGitRemote(spec, options.cacheRoot, options.fetch, options.now);
      return {
        fingerprint: synced.commit,
        revision: synced.commit,
        revisionDate: synced.date,
        load: async () => (await readers()).loadDirectory(listDatabaseFiles(synced.dir)),
        warnings: synced.fetchWarning ? [synced.fetchWarning] : [],
      };
    }
    case 'git-checkout': {
      let head;
      try {
        head = await headCommit(spec.dir);
      } catch (err) {
        throw new StowageError(`not a readable git checkout: ${(err as GitError).message}`, spec.dir);
      }
      // The files are read from the work tree, which may differ from HEAD (an advisory being
      // written, a file deleted): their sizes and mtimes are part of the fingerprint.
      const files = listDatabaseFiles(spec.dir);
      return {
        fingerprint: `${head.commit}:${directoryFingerprint(files)}`,
        revision: head.commit,
        revisionDate: head.date,
        load: async () => (await readers()).loadDirectory(files),
        warnings: [],
      };
    }
    case 'directory': {
      const files = listDatabaseFiles(spec.dir);
      return {
        fingerprint: directoryFingerprint(files),
        revision: null,
        revisionDate: null,
        load: async () => (await readers()).loadDirectory(files),
        warnings: [],
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
  const snap = await snapshot(spec, options);
  const file = indexPath(options.cacheRoot, spec);
  const build = async (): Promise<AdvisoryIndex> => {
    const loaded = await snap.load();
    const stamp: IndexStamp = {
      revision: snap.revision ?? loaded.contentHash,
      revisionDate: snap.revisionDate ?? loaded.newestDate,
      fingerprint: snap.fingerprint,
      advisories: loaded.advisories.length,
      toolchainAdvisories: loaded.toolchainAdvisories,
      ecosystems: countByEcosystem(loaded.advisories),
    };
    return AdvisoryIndex.build(file, stamp, loaded.advisories);
  };
  let index = AdvisoryIndex.open(file);
  let rebuilt = false;
  if (!index || index.stamp.fingerprint !== snap.fingerprint) {
    index?.close();
    index = await build();
    rebuilt = true;
  }
  return databaseOverIndex(spec, index, { rebuilt, warnings: snap.warnings, rebuild: build });
}
