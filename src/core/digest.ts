import { createHash } from 'node:crypto';

/** A content digest as registries publish them: Cargo's sha256 hex, npm's SRI (sha512, sha1 in old lockfiles). */
export type DigestAlgorithm = 'sha256' | 'sha512' | 'sha1';

export interface Digest {
  algorithm: DigestAlgorithm;
  /** Lowercase hex. */
  hex: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128, sha1: 40 };

export function formatDigest(d: Digest): string {
  return `${d.algorithm}:${d.hex}`;
}

/** Cargo's lockfile checksum: 64 hex digits of sha256. */
export function digestFromCargoChecksum(checksum: string): Digest | null {
  const hex = checksum.toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? { algorithm: 'sha256', hex } : null;
}

/**
 * An SRI string (`sha512-BASE64 sha1-BASE64`) as npm writes `integrity`. Unknown algorithms
 * are left out; the strongest first.
 */
export function digestsFromSri(sri: string): Digest[] {
  const out: Digest[] = [];
  for (const token of sri.trim().split(/\s+/)) {
    const dash = token.indexOf('-');
    if (dash < 0) continue;
    const algorithm = token.slice(0, dash) as DigestAlgorithm;
    if (!(algorithm in HEX_LENGTH)) continue;
    const hex = Buffer.from(token.slice(dash + 1).replace(/\?.*$/, ''), 'base64').toString('hex');
    if (hex.length === HEX_LENGTH[algorithm]) out.push({ algorithm, hex });
  }
  const strength: Record<DigestAlgorithm, number> = { sha512: 0, sha256: 1, sha1: 2 };
  return out.sort((a, b) => strength[a.algorithm] - strength[b.algorithm]);
}

export function sriFromDigest(d: Digest): string {
  return `${d.algorithm}-${Buffer.from(d.hex, 'hex').toString('base64')}`;
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm): Digest {
  return { algorithm, hex: createHash(algorithm).update(bytes).digest('hex') };
}

/** The first expected digest the bytes do not match, or null when all match. */
export function firstMismatch(bytes: Uint8Array, expected: readonly Digest[]): { expected: Digest; actual: Digest } | null {
  for (const want of expected) {
    const actual = digestOf(bytes, want.algorithm);
    if (actual.hex !== want.hex) return { expected: want, actual };
  }
  return null;
}

/** RFC 4648 base32, lower case, without padding. */
export function base32(bytes: Buffer): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}
