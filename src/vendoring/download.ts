import { StowageError } from '../core/errors.js';
import type { ContentCache } from './content-cache.js';
import { firstMismatch, formatDigest, type Digest } from '../core/digest.js';
import { httpGet, type HttpOptions } from '../core/http.js';

export interface DownloadRequest {
  /**
   * Where to fetch from; a function is called only on a cache miss, so whatever it costs
   * (a registry index lookup) is skipped when the content is already cached.
   */
  url: string | (() => Promise<string>);
  /** What the bytes must hash to; at least one. Verified before anything is cached or used. */
  expected: readonly Digest[];
  /** Names the artifact in messages, e.g. `serde 1.0.210`. */
  label: string;
  /**
   * Makes the artifact from what the URL serves (yarn berry's cache zip from an npm tarball,
   * since its lockfile records only the zip's checksum): `expected` is then the made artifact's,
   * and that is what is verified and cached.
   */
  convert?: (downloaded: Buffer) => Promise<Buffer>;
}

export interface DownloadProgress {
  /** Requests finished (from the cache or the network). */
  done: number;
  total: number;
  /** Bytes received from the network so far. */
  bytes: number;
  fromCache: number;
}

export interface DownloaderOptions extends HttpOptions {
  cache: ContentCache;
  /** Downloads in flight at once. */
  concurrency?: number;
  onProgress?: (progress: DownloadProgress) => void;
}

/**
 * Fetches artifacts with bounded parallelism, retries with backoff on transient failures, and
 * verifies every byte against the lockfile's checksums. Verified bytes go to the content cache;
 * a request whose digest is cached makes no network call at all.
 */
export class Downloader {
  private readonly progress: DownloadProgress = { done: 0, total: 0, bytes: 0, fromCache: 0 };

  constructor(private readonly options: DownloaderOptions) {}

  get stats(): Readonly<DownloadProgress> {
    return this.progress;
  }

  /** Downloads all, in parallel; results in request order. The first failure rejects. */
  async fetchAll(requests: readonly DownloadRequest[]): Promise<Buffer[]> {
    this.progress.total += requests.length;
    const results: Buffer[] = new Array<Buffer>(requests.length);
    let next = 0;
    let failed: unknown = null;
    const worker = async (): Promise<void> => {
      while (failed === null && next < requests.length) {
        const i = next++;
        try {
          results[i] = await this.fetchOne(requests[i] as DownloadRequest);
        } catch (err) {
          failed ??= err;
        }
      }
    };
    const workers = Array.from({ length: Math.max(1, Math.min(this.options.concurrency ?? 8, requests.length)) }, worker);
    await Promise.all(workers);
    if (failed !== null) throw failed;
    return results;
  }

  async fetchOne(request: DownloadRequest): Promise<Buffer> {
    if (request.expected.length === 0) throw new StowageError(`${request.label}: no checksum to verify the download against`);
    const primary = request.expected[0] as Digest;
    const cached = this.options.cache.get(primary);
    // The cache re-hashed the primary digest already; only the others remain to check.
    if (cached && firstMismatch(cached, request.expected.slice(1)) === null) {
      this.progress.fromCache++;
      this.finished();
      return cached;
    }
    const url = typeof request.url === 'string' ? request.url : await request.url();
    const downloaded = await this.download(url, request.label);
    const bytes = request.convert === undefined ? downloaded : await request.convert(downloaded);
    const mismatch = firstMismatch(bytes, request.expected);
    if (mismatch) {
      const what = request.convert === undefined ? `for ${url}` : `of what stowage made from ${url}`;
      throw new StowageError(`${request.label}: checksum mismatch ${what}: expected ${formatDigest(mismatch.expected)}, got ${formatDigest(mismatch.actual)}`);
    }
    this.options.cache.put(bytes, request.expected);
    this.finished();
    return bytes;
  }

  private finished(): void {
    this.progress.done++;
    this.options.onProgress?.({ ...this.progress });
  }

  private async download(url: string, label: string): Promise<Buffer> {
    const bytes = (await httpGet(url, { failure: (reason) => `${label}: cannot download ${url}${reason}` }, this.options)) as Buffer;
    this.progress.bytes += bytes.length;
    return bytes;
  }

}
