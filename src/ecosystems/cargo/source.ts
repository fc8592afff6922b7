import { fileURLToPath } from 'node:url';
import type { PackageSource } from '../../core/package.js';

/*
 * Cargo source ids (`registry+URL`, `sparse+URL`, `git+URL?branch=b#commit`, `path+URL`), read
 * and compared exactly as Cargo does (rust-lang/cargo: cargo-util-schemas `TomlLockfileSourceId`,
 * `SourceId::from_url`, `SourceId`'s `Ord` and `CanonicalUrl::new`):
 *
 * - the kind is what precedes the first `+`, case-sensitive; any other kind, or no `+`, is an
 *   error, and so is a URL the WHATWG URL parser refuses (Rust's `url` crate and Node's `URL`
 *   implement the same standard) or a "cannot-be-a-base" URL (`sparse+https:host/`).
 * - two ids are the same source when their kinds (and, for git, references) are equal and their
 *   canonical URLs are: the parsed URL (scheme and special-scheme host lower-cased, default port,
 *   `.`/`..` segments, tabs and newlines and outer spaces gone), one trailing `/` dropped, and
 *   for a URL whose scheme has no `+` (everything but sparse): github.com URLs forced to https
 *   and their path lower-cased, then a `.git` suffix dropped.
 *
 * So `registry+HTTP://GitHub.com/Rust-Lang/crates.io-index.GIT/` IS crates.io to Cargo: it
 * builds it `--locked` from crates.io (checked with cargo 1.95), and it is matched as crates.io.
 */

/** crates.io's index as Cargo names it: the git index (what Cargo.lock says) and the sparse one. */
export const CRATES_IO_GIT_INDEX = 'https://github.com/rust-lang/crates.io-index';
export const CRATES_IO_SPARSE_INDEX = 'https://index.crates.io/';

export type CargoSourceKind = 'registry' | 'sparse' | 'git' | 'path';

/** A source id as Cargo reads it. */
export interface CargoSourceId {
  kind: CargoSourceKind;
  /**
   * The URL as written after the kind: for sparse, with its `sparse+`, as Cargo keeps it; for
   * git, with its query (the reference) and without the `#commit`; for path, the directory.
   */
  url: string;
  /** Git: the locked commit (the `#fragment` as written; the vendor step checks it is a commit id). */
  rev?: string;
  /** Equal keys are the same source to Cargo (kind, git reference, canonical URL). */
  key: string;
  /** Cargo identifies this source with crates.io (its git or its sparse index). */
  isCratesIo: boolean;
  /**
   * The crates come from crates.io's own index: `isCratesIo`, or a spelling Cargo calls another
   * registry but that still fetches from crates.io's index host (`sparse+https://INDEX.crates.io/`,
   * `sparse+http://index.crates.io/`, `ssh://git@github.com/rust-lang/crates.io-index`). These are
   * crates.io's crates, so advisories apply to them.
   */
  servesCratesIo: boolean;
}

/** A source string Cargo refuses to read; `message` completes "source \"...\" ...". */
export class CargoSourceError extends Error {}

const KINDS: ReadonlySet<string> = new Set(['registry', 'sparse', 'git', 'path']);

/** Parses a source id as Cargo does; throws CargoSourceError for one Cargo refuses. */
export function parseCargoSourceId(raw: string): CargoSourceId {
  const plus = raw.indexOf('+');
  if (plus === -1) throw new CargoSourceError('is not a source id (`registry+URL`, `sparse+URL`, `git+URL`)');
  const kind = raw.slice(0, plus);
  if (!KINDS.has(kind)) throw new CargoSourceError(`has the source protocol \`${kind}\`, which Cargo does not support`);
  const rest = raw.slice(plus + 1);
  const written = kind === 'sparse' ? raw : rest;
  const url = parseUrl(written);
  switch (kind as CargoSourceKind) {
    case 'registry':
    case 'sparse': {
      const canonical = canonicalUrl(url);
      const isCratesIo = canonical === (kind === 'sparse' ? CRATES_IO_SPARSE_CANONICAL : CRATES_IO_GIT_CANONICAL);
      return {
        kind: kind as CargoSourceKind,
        url: written,
        key: `${kind} ${canonical}`,
        isCratesIo,
        servesCratesIo: isCratesIo || fetchesFromCratesIo(url, kind === 'sparse'),
      };
    }
    case 'git': {
      const reference = gitReference(url);
      const hash = rest.indexOf('#');
      url.hash = '';
      url.search = '';
      const id: CargoSourceId = {
        kind: 'git',
        url: hash === -1 ? rest : rest.slice(0, hash),
        key: `git ${reference} ${canonicalUrl(url)}`,
        isCratesIo: false,
        servesCratesIo: false,
      };
      if (hash !== -1) id.rev = rest.slice(hash + 1);
      return id;
    }
    default: {
      // Cargo reads `path+file:///dir` (it never writes it) as the path package at dir, and
      // panics on any other URL.
      let dir: string;
      try {
        dir = fileURLToPath(url);
      } catch {
        throw new CargoSourceError('is a path source whose URL is not a local `file:` URL');
      }
      return { kind: 'path', url: dir, key: `path ${canonicalUrl(url)}`, isCratesIo: false, servesCratesIo: false };
    }
  }
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CargoSourceError(`has an invalid URL \`${text}\``);
  }
  if (isCannotBeABase(url)) throw new CargoSourceError(`has the URL \`${text}\`, which Cargo does not support (cannot-be-a-base)`);
  return url;
}

const SPECIAL_SCHEMES: ReadonlySet<string> = new Set(['http:', 'https:', 'ws:', 'wss:', 'ftp:', 'file:']);

/** WHATWG "opaque path": a non-special URL whose path does not start with `/` after the scheme. */
function isCannotBeABase(url: URL): boolean {
  return !SPECIAL_SCHEMES.has(url.protocol) && !url.href.slice(url.protocol.length).startsWith('/');
}

/** Cargo's `CanonicalUrl::new`, serialised. */
function canonicalUrl(parsed: URL): string {
  let url = new URL(parsed.href);
  // Strip one trailing slash (url's `pop_if_empty`: never the root `/` itself).
  if (url.pathname.length > 1 && url.pathname.endsWith('/')) url.pathname = url.pathname.slice(0, -1);
  if (!url.protocol.slice(0, -1).includes('+')) {
    if (url.hostname === 'github.com') {
      url = new URL(`https${url.href.slice(url.protocol.length - 1)}`);
      url.pathname = url.pathname.toLowerCase();
    }
    if (url.pathname.endsWith('.git')) {
      const slash = url.pathname.lastIndexOf('/');
      // Cargo pushes the shortened segment back percent-encoded, so a `%` in it becomes `%25`.
      const last = url.pathname.slice(slash + 1, -'.git'.length).replaceAll('%', '%25');
      url.pathname = `${url.pathname.slice(0, slash + 1)}${last}`;
    }
  }
  return url.href;
}

const CRATES_IO_GIT_CANONICAL = canonicalUrl(new URL(CRATES_IO_GIT_INDEX));
const CRATES_IO_SPARSE_CANONICAL = canonicalUrl(new URL(`sparse+${CRATES_IO_SPARSE_INDEX}`));

/**
 * Whether a registry URL Cargo does not identify with crates.io still fetches from crates.io's
 * index host: any letter case, scheme, port or user, trailing `.` on the host, trailing `/`
 * (and `.git` for the git index). A query or fragment makes it another URL.
 */
function fetchesFromCratesIo(url: URL, sparse: boolean): boolean {
  let location: URL;
  try {
    // `sparse+https://…` keeps its host's case (a non-special URL): read it as the https URL Cargo fetches.
    location = new URL(sparse ? url.href.slice('sparse+'.length) : url.href);
  } catch {
    return false;
  }
  if (location.search !== '' || location.hash !== '') return false;
  const host = location.hostname.toLowerCase().replace(/\.$/, '');
  let path = location.pathname.toLowerCase().replace(/\/+$/, '');
  if (sparse) return ['http:', 'https:'].includes(location.protocol) && host === 'index.crates.io' && path === '';
  path = path.replace(/\.git$/, '');
  return ['http:', 'https:', 'git:', 'ssh:'].includes(location.protocol) && host === 'github.com' && path === '/rust-lang/crates.io-index';
}

/** A git source's reference, as a Cargo configuration's `[source]` table names it. */
export interface CargoGitReference {
  kind: 'branch' | 'tag' | 'rev';
  value: string;
}

/**
 * Cargo's `GitReference::from_query`: the last `branch`/`ref`/`tag`/`rev` pair wins (`ref` is an
 * old spelling of `branch`); null: none, the default branch. The query is decoded as Cargo's url
 * crate decodes it (form-urlencoded: `+` is a space, a stray `%` stays), as URLSearchParams does.
 */
export function cargoGitReference(query: URLSearchParams): CargoGitReference | null {
  let reference: CargoGitReference | null = null;
  for (const [key, value] of query) {
    if (key === 'branch' || key === 'ref') reference = { kind: 'branch', value };
    else if (key === 'tag' || key === 'rev') reference = { kind: key, value };
  }
  return reference;
}

function gitReference(url: URL): string {
  const reference = cargoGitReference(url.searchParams);
  return JSON.stringify(reference === null ? 'default' : `${reference.kind}=${reference.value}`);
}

/**
 * A Cargo source id turned into the shared model. The caller has checked it with
 * `parseCargoSourceId` (the lockfile parser refuses what Cargo refuses).
 *
 * - registry+URL: `url` is the index URL without the `registry+` prefix.
 * - sparse+URL: `url` keeps the `sparse+` prefix, the way Cargo's own configuration spells a
 *   sparse index, so a consumer can tell the protocols apart.
 * - git+URL?query#commit: `url` is URL with its query (branch / tag / rev, which a vendored
 *   build needs to name the same reference) but without the `#commit`, which is `rev`.
 * - path+file:///DIR (Cargo never writes it; it reads it): kind `path`, `url` the directory.
 *
 * `isDefaultRegistry` is `servesCratesIo`: crates.io's crates are matched against advisories
 * however the lockfile spells crates.io.
 *
 * Lockfile sources that are absent (workspace members, path dependencies) are not handled
 * here: the lockfile parser decides those with the manifest.
 */
export function parseCargoSource(raw: string): PackageSource {
  const id = parseCargoSourceId(raw);
  switch (id.kind) {
    case 'registry':
    case 'sparse':
      return { kind: 'registry', url: id.url, isDefaultRegistry: id.servesCratesIo };
    case 'git':
      return id.rev ? { kind: 'git', url: id.url, rev: id.rev, isDefaultRegistry: false } : { kind: 'git', url: id.url, isDefaultRegistry: false };
    default:
      return { kind: 'path', url: id.url, isDefaultRegistry: false };
  }
}

/**
 * The part of a source id that identifies the source, as dependency strings and v1 checksum
 * keys spell it: Cargo writes those without the locked `#commit` of a git source. Cargo's
 * comparison, so two spellings of one source give the same identity.
 */
export function sourceIdentity(raw: string): string {
  try {
    return parseCargoSourceId(raw).key;
  } catch {
    const hash = raw.indexOf('#');
    return hash === -1 ? raw : raw.slice(0, hash);
  }
}

/**
 * The source a manifest's git dependency names (`git` and its `branch`, `tag` or `rev`) as
 * Cargo compares it with a lockfile source: `looseGitIdentity` of its key (Cargo ≤ v2 wrote
 * `branch = "master"` as no reference). Null when Cargo could not read it.
 */
export function declaredGitIdentity(spec: { git: string; branch?: unknown; tag?: unknown; rev?: unknown }): string | null {
  try {
    const url = new URL(spec.git);
    for (const key of ['branch', 'tag', 'rev'] as const) {
      const value = spec[key];
      if (typeof value === 'string') url.searchParams.set(key, value);
    }
    return looseGitIdentity(parseCargoSourceId(`git+${url.href}`).key);
  } catch {
    return null;
  }
}

/**
 * Whether a manifest dependency's `registry-index` fetches crates.io's crates: Cargo reads the
 * value as `SourceId::for_registry` does (a `sparse+` URL a sparse index, any other a git
 * index), so `https://github.com/rust-lang/crates.io-index` and `sparse+https://index.crates.io/`
 * are crates.io (cargo 1.95 locks them as crates.io's sources).
 */
export function isCratesIoRegistryIndex(value: string): boolean {
  try {
    return parseCargoSourceId(value.startsWith('sparse+') ? value : `registry+${value}`).servesCratesIo;
  } catch {
    return false;
  }
}

/** Whether Cargo identifies this source id (as Cargo.lock or `.cargo/config.toml` spells it) with crates.io. */
export function isCratesIoSource(raw: string): boolean {
  try {
    return parseCargoSourceId(raw).isCratesIo;
  } catch {
    return false;
  }
}

/**
 * Whether a registry URL written without Cargo's kind prefix (a purl's `repository_url`, which
 * stowage writes as the index URL without `sparse+`) is crates.io: its git index or its sparse
 * index in any spelling that reaches crates.io's index host, or crates.io itself (the purl
 * type's default repository). Written with the prefix, as a Cargo.lock `source` copied over
 * (`sparse+https://index.crates.io/`, `registry+https://github.com/rust-lang/crates.io-index`),
 * it is read as that source id.
 */
export function isCratesIoRegistryUrl(url: string): boolean {
  const prefixed = /^(registry|sparse)\+/.test(url) ? [url] : [];
  for (const candidate of [...prefixed, `registry+${url}`, `sparse+${url}`]) {
    try {
      if (parseCargoSourceId(candidate).servesCratesIo) return true;
    } catch {
      // Not a URL Cargo reads: not crates.io.
    }
  }
  try {
    const parsed = new URL(url);
    return ['http:', 'https:'].includes(parsed.protocol) && parsed.hostname.replace(/\.$/, '') === 'crates.io' && /^\/*$/.test(parsed.pathname) && parsed.search === '' && parsed.hash === '';
  } catch {
    return false;
  }
}

/**
 * The crate and version a crates.io download URL serves, or null when the URL is not one:
 * `https://static.crates.io/crates/NAME/NAME-VERSION.crate` (the file itself),
 * `https://static.crates.io/crates/NAME/VERSION/download` (the index's `dl` with Cargo's default
 * path) and `https://crates.io/api/v1/crates/NAME/VERSION/download` (the API that redirects there).
 */
export function cratesIoDownload(url: string): { name: string; version: string } | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
  if (parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '' || parsed.port !== '') return null;
  const host = parsed.hostname.replace(/\.$/, '');
  const segments = parsed.pathname.split('/').slice(1).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return '\0';
    }
  });
  if (host === 'static.crates.io' && segments[0] === 'crates' && segments.length === 3) {
    const [, name, file] = segments as [string, string, string];
    if (!file.startsWith(`${name}-`) || !file.endsWith('.crate')) return null;
    return { name, version: file.slice(name.length + 1, -'.crate'.length) };
  }
  if (host === 'static.crates.io' && segments[0] === 'crates' && segments.length === 4 && segments[3] === 'download') {
    return { name: segments[1] as string, version: segments[2] as string };
  }
  if (host === 'crates.io' && segments.length === 6 && segments.slice(0, 3).join('/') === 'api/v1/crates' && segments[5] === 'download') {
    return { name: segments[3] as string, version: segments[4] as string };
  }
  return null;
}

/**
 * A looser identity for git sources: Cargo ≤ v2 lockfiles wrote the `master` branch as no
 * reference at all in dependency strings while newer Cargo writes `?branch=master` on the
 * package itself. Used only after an exact lookup failed.
 */
export function looseGitIdentity(identity: string): string | null {
  if (!identity.startsWith('git ')) return null;
  return identity.replace(/^git "branch=master" /, 'git "default" ');
}
