import { expansionCap } from '../core/untrusted-tar.js';

/**
 * How far what shipped may expand when stowage reads it (a `.deb`'s data, an RPM's payload, an
 * image layer): one home for the caps, so a decompression bomb meets the same limits whatever
 * carries it. Past any cap the artifact is refused in one line.
 */
export interface ShippedLimits {
  /** File bytes one archive (a data.tar, a payload, a layer) expands to, counted as inflated. */
  maxBytes: number;
  /** Entries of one archive. */
  maxEntries: number;
  /** One file read whole (a binary, a package.json): past any real one. */
  maxKeptFileBytes: number;
  /** How many times its own compressed size one archive (a layer, a vendor archive) may expand to; Infinity: maxBytes alone. */
  maxExpansion: number;
  /**
   * How many times an artifact's own size the files it holds that are read whole (binaries,
   * package.json files), all together, may come to, and at least how many bytes
   * (`keptBytesCap`): they are all in memory at once.
   */
  maxKeptExpansion: number;
  minKeptBytes: number;
}

/** Past the largest packages and image layers distributions ship. */
export const SHIPPED_LIMITS: Readonly<ShippedLimits> = {
  maxBytes: 16 * 1024 * 1024 * 1024,
  maxEntries: 2_000_000,
  maxKeptFileBytes: 1024 * 1024 * 1024,
  maxExpansion: Infinity,
  // Executables compress 2.4-3.6 times (Debian's bat, fd-find, hyperfine and ripgrep, xz); a
  // gigabyte of zeros behind an ELF header, a thousand times: sixteen gigabytes of them took
  // 16 MB, and all of it was held in memory.
  maxKeptExpansion: 16,
  minKeptBytes: 512 * 1024 * 1024,
};

/**
 * What an upload to the fleet server (`fleet push`) may expand to: a client's 64 MiB would
 * otherwise cost the server the general caps' inflating (16 GiB a layer, 4 GiB a vendor archive),
 * minutes of CPU for one request. Real inputs expand far less (measured: an npm cache 2.3 times,
 * Debian crate sources 6.4 times; image layers of binaries 2-4 times), so 32 times an archive's own
 * size (at least 16 MiB), and a quarter of a million entries a layer (a large node_modules image
 * holds about 100,000 files).
 */
export const UPLOAD_LIMITS: Readonly<ShippedLimits> = {
  ...SHIPPED_LIMITS,
  maxEntries: 250_000,
  maxExpansion: 32,
};

/** The caps of one archive of `compressedBytes` read under `limits`: maxBytes lowered by its expansion ratio, when capped, and why. */
export function archiveCaps(limits: ShippedLimits, compressedBytes: number): { maxBytes: number; maxBytesReason?: string } {
  if (limits.maxExpansion === Infinity) return { maxBytes: limits.maxBytes };
  return { maxBytes: expansionCap(limits.maxBytes, compressedBytes, limits.maxExpansion), maxBytesReason: `an upload's archive may expand to ${limits.maxExpansion} times its size, at least 16 MiB` };
}

/**
 * The cap on the bytes of the files read whole (binaries, package.json files) that an artifact
 * of `compressedBytes` (a `.deb`'s data member, an RPM's payload, an image archive) holds, all
 * together: `maxKeptExpansion` times its size, at least `minKeptBytes`, and why.
 */
export function keptBytesCap(limits: ShippedLimits, compressedBytes: number): { maxKeptBytes: number; maxKeptBytesReason: string } {
  return {
    maxKeptBytes: Math.max(limits.minKeptBytes, limits.maxKeptExpansion * compressedBytes),
    maxKeptBytesReason: `the files read whole may come to ${limits.maxKeptExpansion} times the archive's own size, at least ${limits.minKeptBytes / 1024 / 1024} MiB`,
  };
}
