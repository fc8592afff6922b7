import type { Ecosystem } from '../core/package.js';

/**
 * How a package name in an advisory is compared with a package name in a lockfile: the one
 * rule both sides use (the advisory index stores advisories under `advisoryNameKeys`, an
 * audit looks lockfile packages up under `lockfileNameKey`).
 *
 * - cargo: crates.io refuses a crate whose name differs from an existing one only in case or
 *   in `-` against `_` (its canonical crate name), so an advisory spelling `Serde-JSON` can
 *   only mean `serde_json`: names compare in that canonical form.
 * - npm: names are case-sensitive on the registry, and legacy packages with capitals exist
 *   beside lowercase ones (`JSONStream` and `jsonstream` are two packages), so names compare
 *   exactly. But no package created since 2017 may hold a capital letter, so an advisory
 *   naming `Axios` most likely means `axios` (GHSA-8hc4-vh64-cxmj does): a name with
 *   capitals is matched both as written and in lowercase. The audit warns whenever the
 *   lockfile's spelling is not the advisory's.
 */
export function advisoryNameKeys(ecosystem: Ecosystem, name: string): string[] {
  if (ecosystem === 'cargo') return [canonicalCrateName(name)];
  const lower = name.toLowerCase();
  return lower === name ? [name] : [name, lower];
}

/** The key a lockfile package is looked up under; see advisoryNameKeys. */
export function lockfileNameKey(ecosystem: Ecosystem, name: string): string {
  return ecosystem === 'cargo' ? canonicalCrateName(name) : name;
}

/**
 * A set of lockfile name keys, asked whether a lockfile's package name has one of them (a
 * restricted audit: src/audit/paths.ts's NameFilter). A fleet sync asks it of every name of
 * thousands of graphs kept as bytes, of which it wants a few: an ASCII name is first looked at
 * in its bytes, folded as lockfileNameKey folds it (cargo: `A-Z` to `a-z`, `-` to `_`; npm: as it
 * is), hashed into a table of bits where every ASCII key set its bit. A name whose bit is unset
 * has no key of the set (an ASCII name's key is its bytes folded, and ASCII), and is never made
 * a string; the others are asked by their key.
 */
export class LockfileNameKeys {
  private readonly bits = new Int32Array(1 << (KEY_HASH_BITS - 5));
  private readonly fold: Uint8Array;

  constructor(
    private readonly ecosystem: Ecosystem,
    private readonly keys: ReadonlySet<string>,
  ) {
    this.fold = ecosystem === 'cargo' ? CARGO_FOLD : NO_FOLD;
    const codes: number[] = [];
    for (const key of keys) {
      codes.length = 0;
      for (let i = 0; i < key.length; i++) codes.push(key.charCodeAt(i));
      // A key not ASCII is no ASCII name's: those names are never looked up by their bytes.
      if (codes.some((c) => c >= 0x80)) continue;
      const h = this.hash(codes, 0, codes.length);
      this.bits[h >>> 5] = (this.bits[h >>> 5] as number) | (1 << (h & 31));
    }
  }

  has(name: string): boolean {
    return this.keys.has(lockfileNameKey(this.ecosystem, name));
  }

  /** False when the ASCII name `bytes[start, end)` has no key of the set. */
  mayHaveAscii(bytes: Uint8Array, start: number, end: number): boolean {
    const h = this.hash(bytes, start, end);
    return ((this.bits[h >>> 5] as number) & (1 << (h & 31))) !== 0;
  }

  /** FNV-1a of the codes folded, to KEY_HASH_BITS bits. */
  private hash(codes: ArrayLike<number>, start: number, end: number): number {
    const fold = this.fold;
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ (fold[codes[i] as number] as number), 0x01000193);
    return (h ^ (h >>> KEY_HASH_BITS)) & ((1 << KEY_HASH_BITS) - 1);
  }
}

/** Bits of LockfileNameKeys' table (8 KiB): a sync's few hundred keys leave most names' bits unset. */
const KEY_HASH_BITS = 16;

/** Per ASCII code, the code lockfileNameKey gives it. */
const NO_FOLD = Uint8Array.from({ length: 128 }, (_, c) => c);
const CARGO_FOLD = NO_FOLD.map((c) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c === 0x2d ? 0x5f : c));

/** crates.io's uniqueness rule: case-insensitive, `-` and `_` equivalent. */
function canonicalCrateName(name: string): string {
  // Remembered: a fleet sync asks for the same few thousand names once per package of every graph it re-matches.
  let canonical = canonicalCrateNames.get(name);
  if (canonical === undefined) {
    canonical = name.toLowerCase().replace(/-/g, '_');
    if (canonicalCrateNames.size >= REMEMBERED_CRATE_NAMES) canonicalCrateNames.clear();
    canonicalCrateNames.set(name, canonical);
  }
  return canonical;
}

const canonicalCrateNames = new Map<string, string>();
/** More distinct names than crates.io holds are forgotten and remembered afresh (a long-running server). */
const REMEMBERED_CRATE_NAMES = 1_000_000;

/** Why an advisory's spelling of a package differs from the lockfile's, for the audit's warning. */
export function spellingNote(ecosystem: Ecosystem, advisoryName: string, lockfileName: string): string {
  return ecosystem === 'cargo'
    ? `names the crate "${advisoryName}": crates.io names are unique regardless of case and of "-" against "_", so it was matched to ${lockfileName}`
    : `names the npm package "${advisoryName}", a spelling no new npm package may have (capital letters): it was matched to ${lockfileName} as well`;
}

/** Why no crate can have this name (RustSec's rule: ASCII letters, digits, `-` and `_`); null when some crate can. */
export function crateNameProblem(name: string): string | null {
  if (name === '') return 'is empty';
  if (!/^[A-Za-z0-9_-]+$/.test(name)) return 'holds a character other than ASCII letters, digits, "-" and "_"';
  return null;
}

/**
 * Why no npm package can have this name (validate-npm-package-name's errors, which bind old
 * packages too); null when some package can. Capitals, over-long names and `~'!()*` are only
 * refused for new packages, so they pass.
 */
export function npmNameProblem(name: string): string | null {
  if (name === '') return 'is empty';
  if (name.trim() !== name) return 'has leading or trailing spaces';
  if (name.startsWith('.') || name.startsWith('_') || name.startsWith('-')) return `starts with "${name[0]}"`;
  if (['node_modules', 'favicon.ico'].includes(name.toLowerCase())) return 'is a reserved name';
  if (encodeURIComponent(name) === name) return null;
  const scoped = /^@([^/]+)\/([^/]+)$/.exec(name);
  if (scoped && encodeURIComponent(scoped[1] as string) === scoped[1] && encodeURIComponent(scoped[2] as string) === scoped[2]) {
    return scoped[2]?.startsWith('.') ? 'has a package part that starts with "."' : null;
  }
  return 'holds characters that are not URL-safe';
}
