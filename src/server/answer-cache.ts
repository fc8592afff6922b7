import { createHash } from 'node:crypto';
import { compareText } from '../core/compare-text.js';

/**
 * The serialized JSON of the server's list answers (GET /apps in both views, GET
 * /advisories/{id}/affected), reused while the store has not changed: each entry is kept under
 * its exact query and the store's generation (FleetStore.generation: changes on every commit,
 * from this process or another), so a write anywhere is seen by the next request.
 *
 * What the generation cannot see is time: a triage decision that expires changes an answer
 * without any write. So an entry lives at most `ttlMs` (1 s by default) by the server's clock:
 * an expired decision is served as still in force for at most that long.
 *
 * Per process, bounded by `maxBytes` (the bodies' and keys' lengths), least recently used out
 * first. Requests for the same answer while it is being built wait for that one build.
 */

export interface CachedAnswer {
  body: string;
  /** A strong ETag of the body: If-None-Match with it is answered 304. */
  etag: string;
}

interface Entry extends CachedAnswer {
  generation: string;
  /** When it was built, by the server's clock (ms). */
  at: number;
  bytes: number;
}

export interface AnswerCacheOptions {
  maxBytes: number;
  ttlMs: number;
  now: () => Date;
  generation: () => Promise<string | null>;
  /** The JSON text as sent (the server's answerText), made once when the answer is built, not at each request. */
  text?: (json: string) => Promise<string>;
}

export const DEFAULT_ANSWER_CACHE = { maxBytes: 64 * 1024 * 1024, ttlMs: 1000 };

const etagOf = (body: string): string => `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;

export class AnswerCache {
  private readonly entries = new Map<string, Entry>();
  private readonly building = new Map<string, Promise<CachedAnswer>>();
  private bytes = 0;

  constructor(private readonly options: AnswerCacheOptions) {}

  /** The answer to `key` at the store's current generation: kept, or built by `build` (and kept). */
  async answer(key: string, build: () => Promise<unknown>): Promise<CachedAnswer> {
    // Read before building: a commit during the build only makes the kept body newer than its generation.
    const generation = await this.options.generation();
    if (generation === null) return await this.built(await build());
    const now = this.options.now().getTime();
    const kept = this.entries.get(key);
    if (kept !== undefined) {
      this.entries.delete(key);
      this.bytes -= kept.bytes;
      if (kept.generation === generation && now >= kept.at && now - kept.at < this.options.ttlMs) {
        this.entries.set(key, kept);
        this.bytes += kept.bytes;
        return kept;
      }
    }
    const flight = `${generation}\n${now}\n${key}`;
    let pending = this.building.get(flight);
    if (pending === undefined) {
      pending = build().then(async (value) => this.keep(key, generation, now, await this.built(value)));
      this.building.set(flight, pending);
      const done = (): void => void this.building.delete(flight);
      pending.then(done, done);
    }
    return pending;
  }

  private async built(value: unknown): Promise<CachedAnswer> {
    const json = JSON.stringify(value);
    const body = this.options.text === undefined ? json : await this.options.text(json);
    return { body, etag: etagOf(body) };
  }

  private keep(key: string, generation: string, at: number, answer: CachedAnswer): CachedAnswer {
    const bytes = answer.body.length + key.length + generation.length;
    if (bytes > this.options.maxBytes) return answer;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    this.entries.set(key, { ...answer, generation, at, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.options.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
    return answer;
  }
}

/** A query's cache key: the path and its parameters in name order (first value of each, as the handlers read them). */
export function answerKey(path: string, query: Record<string, string>): string {
  const params = new URLSearchParams(Object.entries(query).sort(([a], [b]) => compareText(a, b)));
  return `${path}?${params.toString()}`;
}
