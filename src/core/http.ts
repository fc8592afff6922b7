import { isIP } from 'node:net';
import { StowageError, errorMessage } from './errors.js';
import type { RegistryAllowance } from './registry-allowance.js';

/** How hard to try: every registry client (crate index, npm packuments, downloads) shares these. */
export interface HttpOptions {
  /** Attempts per request on transient errors (network, 429, 5xx). */
  attempts?: number;
  /** Per-attempt timeout. */
  timeoutMs?: number;
  /** First backoff; doubles each retry (jittered: backoffMs), never shorter than the server's Retry-After. */
  backoffMs?: number;
  fetchImpl?: typeof fetch;
  /** How a wait between attempts is waited (tests record it instead). */
  sleep?: (ms: number) => Promise<void>;
  /**
   * The only registries requests may reach (a campaign's: registry-allowance.ts). Every URL,
   * and every redirect's target before it is followed, is checked; a refused one is an error.
   */
  registries?: RegistryAllowance;
}

/** Redirects followed, each checked, when the registries are bounded (fetch's own default limit). */
const MAX_REDIRECTS = 20;

/** `fetch`, its redirects followed only to the allowed registries. */
async function fetchWithin(doFetch: typeof fetch, url: string, init: RequestInit, registries: RegistryAllowance | undefined): Promise<Response> {
  if (registries === undefined) return doFetch(url, init);
  let current = url;
  for (let hop = 0; ; hop++) {
    registries.check(current, hop === 0 ? 'registry' : `${url} redirects to`);
    const response = await doFetch(current, { ...init, redirect: 'manual' });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status > 399 || location === null || response.status === 304) return response;
    await response.body?.cancel();
    if (hop === MAX_REDIRECTS) throw new StowageError(`${url}: more than ${MAX_REDIRECTS} redirects`);
    current = new URL(location, current).href;
  }
}

export interface HttpRequest {
  accept?: string;
  /** Statuses that mean "not there" (returned as null) rather than an error. */
  notFound?: ReadonlySet<number>;
  /** A response larger than this is refused (a registry is not trusted to bound its answers). */
  maxBytes?: number;
  /** Words the failure for the user; `reason` starts with its own separator (`: HTTP 403`, ` after 4 attempts: ECONNRESET`). */
  failure: (reason: string) => string;
}

/** This machine's names as a URL's hostname gives them: what only a process of this machine answers to. */
export const LOOPBACK_HOSTNAMES: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * A URL's hostname that only this machine answers to: LOOPBACK_HOSTNAMES or any 127.0.0.0/8
 * address. Plain http to anything else crosses a network, where whoever is on the way reads and
 * changes what is sent (a token, advisories).
 */
export function isLoopbackHostname(hostname: string): boolean {
  return LOOPBACK_HOSTNAMES.has(hostname) || (isIP(hostname) === 4 && hostname.startsWith('127.'));
}

/**
 * What a Retry-After header asks a client to wait, in milliseconds: delay-seconds (`120`) or an
 * HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`, counted from `nowMs`; a date already past is 0).
 * Null when absent or neither: the client's own backoff decides.
 */
export function retryAfterMs(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const given = header.trim();
  if (/^\d{1,10}$/.test(given)) return Number(given) * 1000;
  // An HTTP date names its weekday and zone: a bare number or other text is no date.
  if (!/^[A-Za-z]{3},\s/.test(given)) return null;
  const at = Date.parse(given);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/** The wait between two attempts (a test gives its own, HttpOptions.sleep, PushRetry.sleep). */
export const waitMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Capped exponential backoff with jitter: after `failures` failed attempts (1 or more), a wait
 * between half and all of `firstMs` doubled per failure up to `capMs`, never shorter than what the
 * server asked (`floorMs`, its Retry-After). The jitter spreads clients refused together (a CI
 * fleet pushing at once) so that they do not come back together.
 */
export function backoffMs(failures: number, options: { firstMs: number; capMs: number; floorMs?: number | null; random?: () => number }): number {
  const ceiling = Math.min(options.capMs, options.firstMs * 2 ** Math.max(0, failures - 1));
  const jitter = (options.random ?? Math.random)() * (ceiling / 2);
  return Math.max(options.floorMs ?? 0, ceiling / 2) + jitter;
}

/**
 * Whether a failed fetch's cause is one a retry may cure: the server refused or cut the
 * connection (restarting, overloaded, closing a connection whose body it would not read), a
 * connection or name lookup that timed out. A name that does not resolve, a TLS failure or a
 * request timed out whole are not.
 */
export function isTransientNetworkError(err: unknown): boolean {
  const cause = (err as { cause?: unknown } | null)?.cause ?? err;
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code);
}

const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED']);

/** A response's body, refused (StowageError naming `url`) once it passes `maxBytes`: nothing past the limit is read or held. */
export async function readCapped(response: Response, url: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new StowageError(`${url}: response of ${declared} bytes is over the ${maxBytes}-byte limit`);
  const chunks: Buffer[] = [];
  let total = 0;
  if (response.body) {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > maxBytes) throw new StowageError(`${url}: response is over the ${maxBytes}-byte limit`);
      chunks.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(chunks);
}

/**
 * GET with getWithRetries' retries (transient network errors, 429, 5xx, after their Retry-After); a
 * permanent error, or the last failed attempt, is one StowageError worded by the caller.
 */
export async function httpGet(url: string, request: HttpRequest, options: HttpOptions = {}): Promise<Buffer | null> {
  const answer = await getWithRetries(url, request, {}, options);
  if (answer.status === 'ok') return answer.body;
  if (answer.status === 'not-found') return null;
  throw new StowageError(request.failure(': HTTP 304 Not Modified to an unconditional request'));
}

/** Validators of a copy already held: the server answers 304 when it still serves the same. */
export interface CachedCopy {
  etag: string | null;
  lastModified: string | null;
}

export type RevalidatedAnswer =
  | { status: 'not-modified' }
  | { status: 'ok'; body: Buffer; etag: string | null; lastModified: string | null };

/**
 * A conditional GET (If-None-Match / If-Modified-Since from `cached`), with httpGet's retries:
 * 'not-modified' when the server still serves the copy held, else the new body and its validators.
 */
export async function httpGetRevalidated(url: string, cached: CachedCopy | null, request: HttpRequest, options: HttpOptions = {}): Promise<RevalidatedAnswer> {
  const headers: Record<string, string> = {};
  if (cached?.etag) headers['if-none-match'] = cached.etag;
  if (cached?.lastModified) headers['if-modified-since'] = cached.lastModified;
  const answer = await getWithRetries(url, request, headers, options);
  if (answer.status === 'ok') return answer;
  if (answer.status === 'not-modified' && cached !== null) return answer;
  throw new StowageError(request.failure(answer.status === 'not-found' ? ': not found' : ': HTTP 304 Not Modified to an unconditional request'));
}

type Answer = RevalidatedAnswer | { status: 'not-found' };

/**
 * The longest Retry-After a GET waits for (a registry or database download rate limiting, a
 * server in maintenance): a longer one fails the request at once, naming the wait asked, rather
 * than holding a build for it or coming back sooner than asked.
 */
const MAX_RETRY_AFTER_MS = 60_000;

/** The longest wait between two attempts of a GET when the server asks for none. */
const LONGEST_BACKOFF_MS = 30_000;

/** Whether a failed fetch may be tried again: the network's transient failures, and an attempt that ran out of time. */
function worthRetrying(err: unknown): boolean {
  return isTransientNetworkError(err) || (err as { name?: unknown } | null)?.name === 'TimeoutError';
}

/**
 * The retry policy of every GET (registry index and packuments, package and database downloads),
 * the same as `fleet push`'s: 429 and 5xx answers, transient network failures and attempts that
 * time out are tried again, up to `attempts` in all, after a capped, jittered exponential backoff
 * (backoffMs) never shorter than the server's Retry-After, which is honoured up to
 * MAX_RETRY_AFTER_MS. Other failures (4xx, a name that does not resolve, TLS) are final at once.
 */
async function getWithRetries(url: string, request: HttpRequest, extraHeaders: Record<string, string>, options: HttpOptions): Promise<Answer> {
  const attempts = options.attempts ?? 4;
  const doFetch = options.fetchImpl ?? fetch;
  const sleep = options.sleep ?? waitMs;
  const headers: Record<string, string> = { 'user-agent': 'stowage', ...extraHeaders };
  if (request.accept) headers.accept = request.accept;
  let lastError = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let asked: number | null = null;
    try {
      const response = await fetchWithin(doFetch, url, { signal: AbortSignal.timeout(options.timeoutMs ?? 60_000), headers }, options.registries);
      if (request.notFound?.has(response.status)) {
        await response.body?.cancel();
        return { status: 'not-found' };
      }
      if (response.status === 304) {
        await response.body?.cancel();
        return { status: 'not-modified' };
      }
      if (response.status === 429 || response.status >= 500) {
        await response.body?.cancel();
        lastError = `HTTP ${response.status}`;
        asked = retryAfterMs(response.headers.get('retry-after'), Date.now());
        if (asked !== null && asked > MAX_RETRY_AFTER_MS && attempt < attempts) {
          throw new StowageError(request.failure(`: HTTP ${response.status}, asking to be sent again in ${Math.ceil(asked / 1000)} s (stowage waits at most ${MAX_RETRY_AFTER_MS / 1000} s)`));
        }
      } else if (!response.ok) {
        await response.body?.cancel();
        throw new StowageError(request.failure(`: HTTP ${response.status} ${response.statusText}`.trimEnd()));
      } else {
        const body = await readCapped(response, url, request.maxBytes ?? Number.MAX_SAFE_INTEGER);
        return { status: 'ok', body, etag: response.headers.get('etag'), lastModified: response.headers.get('last-modified') };
      }
    } catch (err) {
      if (err instanceof StowageError) throw err;
      const cause = (err as { cause?: { code?: string } }).cause;
      // The code when there is one (ECONNRESET); else what the cause says (fetch's "bad port"), not "fetch failed".
      const reason = cause?.code ?? errorMessage(cause ?? err);
      if (!worthRetrying(err)) throw new StowageError(request.failure(`: ${reason}`));
      lastError = reason;
    }
    if (attempt < attempts) await sleep(backoffMs(attempt, { firstMs: options.backoffMs ?? 250, capMs: LONGEST_BACKOFF_MS, floorMs: asked }));
  }
  throw new StowageError(request.failure(` after ${attempts} attempts: ${lastError}`));
}
