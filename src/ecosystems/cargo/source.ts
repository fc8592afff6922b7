import type { PackageSource } from '../../core/package.js';

/** The crates.io index as Cargo.lock names it (git protocol, and the sparse protocol). */
const CRATES_IO_GIT_INDEX = 'https://github.com/rust-lang/crates.io-index';
const CRATES_IO_SPARSE_INDEX = 'sparse+https://index.crates.io/';

/**
 * A Cargo source id as written in Cargo.lock (`registry+URL`, `sparse+URL`,
 * `git+URL?branch=b#commit`), turned into the shared model.
 *
 * - registry+URL: `url` is the index URL without the `registry+` prefix.
 * - sparse+URL: `url` keeps the `sparse+` prefix, the way Cargo's own configuration spells a
 *   sparse index, so a consumer can tell the protocols apart.
 * - git+URL?query#commit: `url` is URL with its query (branch / tag / rev, which a vendored
 *   build needs to name the same reference) but without the `#commit`, which is `rev`.
 * - anything else: kind `other`, `url` verbatim; Cargo writes no other kinds today.
 *
 * Lockfile sources that are absent (workspace members, path dependencies) are not handled
 * here: the lockfile parser decides those with the manifest.
 */
export function parseCargoSource(raw: string): PackageSource {
  if (raw.startsWith('registry+')) {
    const url = raw.slice('registry+'.length);
    return { kind: 'registry', url, isDefaultRegistry: url === CRATES_IO_GIT_INDEX };
  }
  if (raw.startsWith('sparse+')) {
    return { kind: 'registry', url: raw, isDefaultRegistry: isCratesIoSparse(raw) };
  }
  if (raw.startsWith('git+')) {
    const hash = raw.indexOf('#');
    const url = raw.slice('git+'.length, hash === -1 ? raw.length : hash);
    const rev = hash === -1 ? '' : raw.slice(hash + 1);
    return rev ? { kind: 'git', url, rev, isDefaultRegistry: false } : { kind: 'git', url, isDefaultRegistry: false };
  }
  return { kind: 'other', url: raw, isDefaultRegistry: false };
}

function isCratesIoSparse(raw: string): boolean {
  // Cargo canonicalises the trailing slash; a hand-written config may leave it off.
  return raw === CRATES_IO_SPARSE_INDEX || raw === CRATES_IO_SPARSE_INDEX.slice(0, -1);
}

/**
 * The part of a source id that identifies the source, as dependency strings and v1 checksum
 * keys spell it: Cargo writes those without the locked `#commit` of a git source.
 */
export function sourceIdentity(raw: string): string {
  const hash = raw.indexOf('#');
  return hash === -1 ? raw : raw.slice(0, hash);
}

/**
 * A looser identity for git sources: Cargo ≤ v2 lockfiles wrote the `master` branch as no
 * reference at all in dependency strings while newer Cargo writes `?branch=master` on the
 * package itself. Used only after an exact lookup failed.
 */
export function looseGitIdentity(identity: string): string | null {
  if (!identity.startsWith('git+')) return null;
  const query = identity.indexOf('?');
  if (query === -1) return identity;
  const params = identity
    .slice(query + 1)
    .split('&')
    .filter((p) => p !== 'branch=master');
  return params.length === 0 ? identity.slice(0, query) : `${identity.slice(0, query)}?${params.join('&')}`;
}
