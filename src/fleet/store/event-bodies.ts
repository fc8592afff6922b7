import zstd from 'zstd-napi/binding.js';
import { decompressBytes } from '../revision.js';

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

/** zstd level 1, as the store's documents: the fastest of its levels, JSON of many alike changes still to about a twentieth. */
const ZSTD_LEVEL = 1;

/**
 * One compression context and the memory it compresses into, kept from one event to the next
 * and grown to the largest (a sync's parts are about 20 MB each): a fresh buffer of that size
 * per part is memory outside V8's heap that V8 answers with full collections.
 */
let context: zstd.CCtx | null = null;
let destination = Buffer.alloc(0);

/** The body's text, or its UTF-8, compressed. */
export function compressedEventBody(body: string | Uint8Array): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (context === null) {
    context = new zstd.CCtx();
    context.setParameter(zstd.CParameter.compressionLevel, ZSTD_LEVEL);
  }
  const bound = zstd.compressBound(bytes.length);
  if (destination.length < bound) destination = Buffer.allocUnsafeSlow(bound);
  // A copy the size of the frame, not a view of the memory kept.
  return Buffer.from(destination.subarray(0, context.compress2(destination, bytes)));
}

/** The body's text, as it was given to addEvent. */
export function eventBody(r: StoredEventBody): string {
  return r.body_zstd === null ? r.body : decompressBytes(r.body_zstd).toString('utf8');
}
