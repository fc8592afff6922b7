import { Compressor, decompressBytes } from '../revision.js';

/**
 * How the store keeps an event's body: since EVENT_BODIES_COMPRESSED_VERSION, its UTF-8 text
 * zstd-compressed in events.body_zstd, `body` left empty (a sync's or a first add's events are
 * hundreds of megabytes of JSON at 10,000 applications, compressed to about a twentieth);
 * before, the text in `body` and body_zstd null. Every reader gets the text as it was recorded.
 */

export interface StoredEventBody {
  body: string;
  body_zstd: Buffer | null;
}

/**
 * Bodies are compressed as the store's documents are (zstd level 1, JSON of many alike changes
 * to about a twentieth), with the memory they compress into kept whatever its size: a sync's
 * parts are about 20 MB each.
 */
const bodies = new Compressor(Number.POSITIVE_INFINITY);

/** The body's text, or its UTF-8, compressed. */
export function compressedEventBody(body: string | Uint8Array): Buffer {
  return bodies.compress(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
}

/** The body's text, as it was given to addEvent. */
export function eventBody(r: StoredEventBody): string {
  return r.body_zstd === null ? r.body : decompressBytes(r.body_zstd).toString('utf8');
}

/**
 * Stored (compressed) bytes of event bodies read at once, by the event stream and the webhook's
 * deliveries: about 20 MB of text. A first add or a sync of 10,000 applications records tens of
 * events of 20-50 MB of text each; read 100 or 1,000 at a time they were all held at once.
 */
export const EVENT_READ_BYTES = 1024 * 1024;
