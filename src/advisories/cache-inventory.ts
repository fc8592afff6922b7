import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AdvisoryIndex, type IndexStamp } from './advisory-index.js';
import { databaseAgeDays } from './database-age.js';
import { indexPath } from './database.js';
import { cacheLayout, readSyncState, type DatabaseSpec } from './source.js';
import { downloadLayout, readDownloadState } from './zip-download.js';
import { compareText } from '../core/compare-text.js';


/** One database as the cache holds it: what `stowage db list|sync|show` report. */
export interface CachedDatabase {
  /** As `--db` takes it: the URL (credentials redacted, `#branch`), or the absolute path. */
  source: string;
  kind: DatabaseSpec['kind'];
  revision: string;
  revisionDate: string | null;
  ageDays: number | null;
  advisories: number;
  toolchainAdvisories: number;
  ecosystems: IndexStamp['ecosystems'];
  /** Advisory entries by kind (vulnerability, unmaintained, unsound, notice), one per affected package as `advisories` counts. */
  kinds: Record<string, number>;
  /** When the remote was last asked (git fetch, HTTP revalidation); null for a local source. */
  fetchedAt: string | null;
  /** Bytes the cache holds for it: the index, and the clone or download. */
  bytes: number;
  index: string;
  /** The clone or downloaded zip; null for a local source, read in place. */
  cached: string | null;
}

/** The source a stamp names, split back into its kind and `--db` form (see sourceIdentity). */
function stampedSource(identity: string): { kind: DatabaseSpec['kind']; source: string; spec: DatabaseSpec | null } | null {
  const colon = identity.indexOf(':');
  const kind = identity.slice(0, colon);
  const rest = identity.slice(colon + 1);
  if (kind === 'git') {
    const hash = rest.lastIndexOf('#');
    const url = rest.slice(0, hash);
    const ref = rest.slice(hash + 1) || null;
    const source = ref ? `${url}#${ref}` : url;
    return { kind: 'git-remote', source, spec: { kind: 'git-remote', url, ref, name: source } };
  }
  if (kind === 'zip-download') return { kind, source: rest, spec: { kind, url: rest, name: rest } };
  if (kind === 'git-checkout' || kind === 'directory' || kind === 'zip') return { kind, source: rest, spec: null };
  return null;
}

/** Bytes under `path` (a file or a directory tree), links not followed; 0 when absent. */
function diskBytes(path: string): number {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of readdirSync(path)) total += diskBytes(join(path, name));
  return total;
}

function describe(index: AdvisoryIndex, file: string, now: Date): CachedDatabase | null {
  const stamp = index.stamp;
  const source = stampedSource(stamp.source ?? '');
  if (source === null) return null;
  let cached: string | null = null;
  let fetchedAt: string | null = null;
  if (source.spec?.kind === 'git-remote') {
    // The index is named by the source's key; the clone and its state, by the same key.
    const layout = cacheLayout(source.spec, join(file, '..', '..'));
    cached = layout.gitDir;
    fetchedAt = readSyncState(layout.stateFile)?.fetchedAt ?? null;
  } else if (source.spec?.kind === 'zip-download') {
    const layout = downloadLayout(source.spec, join(file, '..', '..'));
    cached = layout.file;
    fetchedAt = readDownloadState(layout.stateFile)?.fetchedAt ?? null;
  }
  const revisionDate = index.revisionDate(now);
  return {
    source: source.source,
    kind: source.kind,
    revision: stamp.revision,
    revisionDate,
    ageDays: databaseAgeDays(revisionDate, now),
    advisories: stamp.advisories,
    toolchainAdvisories: stamp.toolchainAdvisories,
    ecosystems: stamp.ecosystems,
    kinds: index.countByKind(),
    fetchedAt,
    bytes: diskBytes(file) + (cached !== null && existsSync(cached) ? diskBytes(cached) : 0),
    index: file,
    cached: cached !== null && existsSync(cached) ? cached : null,
  };
}

/** Every database whose index the cache holds, in the order of their sources. */
export function listCachedDatabases(cacheRoot: string, now: Date = new Date()): CachedDatabase[] {
  const dir = join(cacheRoot, 'index');
  const files = existsSync(dir) ? readdirSync(dir).filter((name) => /^[0-9a-f]{16}\.sqlite$/.test(name)) : [];
  const found: CachedDatabase[] = [];
  for (const name of files) {
    const file = join(dir, name);
    const index = AdvisoryIndex.open(file);
    if (index === null) continue; // another stowage version's index, or one being written
    try {
      const entry = describe(index, file, now);
      if (entry !== null) found.push(entry);
    } finally {
      index.close();
    }
  }
  return found.sort((a, b) => compareText(a.source, b.source));
}

/** The cached database of `spec`, or null when the cache holds no index of it. */
export function cachedDatabase(spec: DatabaseSpec, cacheRoot: string, now: Date = new Date()): CachedDatabase | null {
  const file = indexPath(cacheRoot, spec);
  const index = AdvisoryIndex.open(file);
  if (index === null) return null;
  try {
    return describe(index, file, now);
  } finally {
    index.close();
  }
}
