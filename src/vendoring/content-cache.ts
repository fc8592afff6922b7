import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomically } from '../core/atomic-write.js';
import { digestOf, type Digest } from '../core/digest.js';
import { makeDirectory } from '../core/make-directory.js';

/**
 * Downloaded artifacts (.crate files, npm tarballs), stored by content digest: a second
 * vendoring run downloads nothing, and nothing is trusted from the cache without re-hashing.
 * Layout: `<root>/<algorithm>/<hex[0:2]>/<hex>`.
 */
export class ContentCache {
  constructor(readonly root: string) {}

  path(digest: Digest): string {
    return join(this.root, digest.algorithm, digest.hex.slice(0, 2), digest.hex);
  }

  /** The bytes stored under `digest`, re-hashed; a damaged entry is removed and null returned. */
  get(digest: Digest): Buffer | null {
    const file = this.path(digest);
    if (!existsSync(file)) return null;
    const bytes = readFileSync(file);
    if (digestOf(bytes, digest.algorithm).hex !== digest.hex) {
      rmSync(file, { force: true });
      return null;
    }
    return bytes;
  }

  /** Stores bytes under every digest given (the caller has verified them). Atomic per file. */
  put(bytes: Buffer, digests: readonly Digest[]): void {
    for (const digest of digests) {
      const file = this.path(digest);
      if (existsSync(file)) continue;
      makeDirectory(dirname(file));
      writeFileAtomically(file, bytes);
    }
  }
}
