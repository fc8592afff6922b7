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
}

/** Past the largest packages and image layers distributions ship. */
export const SHIPPED_LIMITS: Readonly<ShippedLimits> = {
  maxBytes: 16 * 1024 * 1024 * 1024,
  maxEntries: 2_000_000,
  maxKeptFileBytes: 1024 * 1024 * 1024,
};
