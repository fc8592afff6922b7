/**
 * A short, stable name for a cache entry, from the text that identifies it (a database's URL or
 * path): 64-bit FNV-1a over its UTF-8 bytes, as 16 hex digits. Not a cryptographic hash, and
 * not used as one: it only keeps two sources' cache entries apart. It is written here rather
 * than taken from node:crypto because loading that module costs a warm audit more than all of
 * its cache bookkeeping.
 */
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;

export function cacheKey(text: string): string {
  let hash = FNV_OFFSET;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME) & MASK_64;
  }
  return hash.toString(16).padStart(16, '0');
}
