import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomically } from '../core/atomic-write.js';
import { cacheWriteError } from '../core/cache-dir.js';
import { redactCredentials } from '../core/credentials.js';
import { StowageError } from '../core/errors.js';
import { httpGetRevalidated, type HttpOptions } from '../core/http.js';
import { refreshRemote, slug, sourceCacheKey, type DatabaseSpec, type FetchPolicy } from './source.js';

type ZipDownloadSpec = Extract<DatabaseSpec, { kind: 'zip-download' }>;

/** osv.dev's whole npm export is tens of megabytes; a server is not trusted to bound its answer. */
const MAX_DOWNLOAD_BYTES = 1024 * 1024 * 1024;

/** What the cache records of a download: enough to revalidate it and to tell a new copy. */
export interface DownloadState {
  url: string;
  etag: string | null;
  lastModified: string | null;
  sha256: string;
  bytes: number;
  fetchedAt: string;
}

/** A downloaded database in the cache. */
export interface DownloadedZip {
  file: string;
  state: DownloadState;
  /** Set when the server could not be asked and the cached copy was used instead. */
  fetchWarning?: string;
}

export function downloadLayout(spec: ZipDownloadSpec, cacheRoot: string) {
  const dbRoot = join(cacheRoot, 'db');
  const name = `${slug(spec)}-${sourceCacheKey(spec)}`;
  return { dbRoot, file: join(dbRoot, `${name}.zip`), stateFile: join(dbRoot, `${name}.zip.json`), lockFile: join(dbRoot, `${name}.lock`) };
}

type Layout = ReturnType<typeof downloadLayout>;

export function readDownloadState(file: string): DownloadState | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<DownloadState>;
    if (typeof parsed.sha256 === 'string' && typeof parsed.fetchedAt === 'string' && typeof parsed.bytes === 'number') {
      return { url: String(parsed.url), etag: parsed.etag ?? null, lastModified: parsed.lastModified ?? null, sha256: parsed.sha256, bytes: parsed.bytes, fetchedAt: parsed.fetchedAt };
    }
  } catch {
    // Missing or damaged: not downloaded yet.
  }
  return null;
}

function cachedCopy(layout: Layout): DownloadState | null {
  const state = readDownloadState(layout.stateFile);
  return state !== null && existsSync(layout.file) ? state : null;
}

/**
 * Downloads a `.zip` database into the cache, or revalidates the copy held (ETag,
 * Last-Modified), under the same rules as a git remote: asked when the last check is over an
 * hour old (`always`: now; `never`: not at all, and nothing cached is an error), one process at
 * a time, and a server that cannot be reached while a copy is cached is a warning, not an error.
 */
export async function syncZipDownload(spec: ZipDownloadSpec, cacheRoot: string, policy: FetchPolicy, now: Date = new Date(), http: HttpOptions = {}): Promise<DownloadedZip> {
  const layout = downloadLayout(spec, cacheRoot);
  const use = (state: DownloadState, fetchWarning?: string): DownloadedZip => ({
    file: layout.file,
    state,
    ...(fetchWarning ? { fetchWarning: `${fetchWarning}; using the cached copy of ${state.fetchedAt}` } : {}),
  });
  return refreshRemote<DownloadState, DownloadedZip>({
    name: spec.name,
    dbRoot: layout.dbRoot,
    lockFile: layout.lockFile,
    policy,
    now,
    held: () => cachedCopy(layout),
    use,
    refresh: async (held) => {
      try {
        return await download(spec, layout, held, now, http);
      } catch (err) {
        if (!(err instanceof StowageError) || err instanceof CacheNotWritten) throw err;
        // Nothing cached: the audit cannot be done, and the user is told what would let it.
        if (held === null) throw new StowageError(`${err.message} (${DOWNLOAD_ADVICE})`, err.file, err.position);
        // A server that cannot be reached while a copy is cached: the copy, with a warning.
        return use(held, `could not fetch ${spec.name} (${err.line})`);
      }
    },
  });
}

/** What to do when a database cannot be downloaded and none is cached (as a git clone's failure says). */
const DOWNLOAD_ADVICE = 'check the --db source and the network; offline, name a local copy: --db DIR or --db FILE.zip of OSV records';

/** The download reached the server but the cache refused it: an error, not "server down". */
class CacheNotWritten extends StowageError {}

/** Holds the lock. Writes the zip, then its state, each atomically: never half a download. */
async function download(spec: ZipDownloadSpec, layout: Layout, held: DownloadState | null, now: Date, http: HttpOptions): Promise<DownloadedZip> {
  const answer = await httpGetRevalidated(
    spec.url,
    held,
    { maxBytes: MAX_DOWNLOAD_BYTES, failure: (reason) => `cannot download advisory database ${spec.name}${reason}` },
    http,
  );
  const state: DownloadState =
    answer.status === 'not-modified'
      ? { ...(held as DownloadState), fetchedAt: now.toISOString() }
      : {
          url: redactCredentials(spec.url),
          etag: answer.etag,
          lastModified: answer.lastModified,
          sha256: createHash('sha256').update(answer.body).digest('hex'),
          bytes: answer.body.length,
          fetchedAt: now.toISOString(),
        };
  try {
    if (answer.status === 'ok') {
      // A changed copy replaces the old one only with its state beside it: the state goes
      // first out, so a crash between the two leaves no state vouching for the wrong bytes.
      rmSync(layout.stateFile, { force: true });
      writeFileAtomically(layout.file, answer.body);
    }
    writeFileAtomically(layout.stateFile, Buffer.from(JSON.stringify(state, null, 2) + '\n'));
  } catch (err) {
    throw new CacheNotWritten(cacheWriteError(err, layout.dbRoot, `store the download of ${spec.name}`).line);
  }
  return { file: layout.file, state };
}
