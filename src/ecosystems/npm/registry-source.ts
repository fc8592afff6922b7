import type { PackageSource } from '../../core/package.js';
import { npmNameProblem } from '../package-names.js';

/**
 * Where npm-family packages come from, shared by the package-lock, yarn and pnpm parsers:
 * a lockfile's `resolved` URL becomes a PackageSource, and a dependency specifier
 * (`npm:`, `git+`, `github:`, `file:`, `link:`, `workspace:`, `patch:`) is told apart.
 */

export const DEFAULT_NPM_REGISTRY = 'https://registry.npmjs.org/';

/**
 * Hosts that serve the public npm registry. registry.yarnpkg.com is a mirror of it that yarn
 * writes into lockfiles; `registry.invalid` is what the test corpus puts in place of the public
 * host (the files are otherwise unchanged), so it is the same registry.
 */
const PUBLIC_REGISTRY_HOSTS = new Set([
  'registry.npmjs.org',
  'registry.npmjs.com',
  'registry.yarnpkg.com',
  'registry.invalid',
]);

export function isDefaultNpmRegistry(url: string): boolean {
  const host = hostOf(url);
  return host !== undefined && PUBLIC_REGISTRY_HOSTS.has(host);
}

/** The public registry, as npm records it when `resolved` is absent. */
export function defaultNpmRegistrySource(): PackageSource {
  return { kind: 'registry', url: DEFAULT_NPM_REGISTRY, isDefaultRegistry: true };
}

/**
 * The source of a package from its `resolved` value. An absent `resolved` means the default
 * registry: npm omits it on machines configured with `omit-lockfile-registry-resolved`, and
 * older lockfiles omit it for bundled packages.
 */
export function npmSourceFromResolved(resolved: string | undefined): PackageSource {
  if (resolved === undefined || resolved === '') return defaultNpmRegistrySource();
  if (resolved.startsWith('https://') || resolved.startsWith('http://')) {
    if (lastRegistry !== undefined && isTarballUnder(resolved, lastRegistry.url as string)) return lastRegistry;
    const base = registryBaseOfTarball(resolved) ?? registryBaseOfTarball(asRegistryReadsIt(resolved));
    if (base === undefined) {
      // A tarball somewhere else (e.g. a GitHub archive): fetched by URL, not from a registry.
      return { kind: 'other', url: resolved, isDefaultRegistry: false };
    }
    lastRegistry = { kind: 'registry', url: base, isDefaultRegistry: isDefaultNpmRegistry(base) };
    return lastRegistry;
  }
  if (isGitSpecifier(resolved)) return gitSource(resolved);
  if (resolved.startsWith('file:')) {
    const path = resolved.slice('file:'.length);
    return isTarballPath(path)
      ? { kind: 'other', url: resolved, isDefaultRegistry: false }
      : { kind: 'path', url: path, isDefaultRegistry: false };
  }
  // npm writes a link's target as a bare relative path.
  return { kind: 'path', url: resolved, isDefaultRegistry: false };
}

/**
 * The registry of the previous tarball URL, as a source. Lockfiles list thousands of tarballs
 * from one or two registries: checking the next URL against the last base skips the URL parsing,
 * and the packages from that registry share this one source (plain data, never changed once
 * made, as Cargo's reader shares a source among its crates) instead of an object each.
 */
let lastRegistry: PackageSource | undefined;

/** `url` is `<base><name>/-/<file>.tgz` or `<base>@scope/<name>/-/<file>.tgz`. */
function isTarballUnder(url: string, base: string): boolean {
  if (!url.startsWith(base) || !url.endsWith('.tgz')) return false;
  const dash = url.indexOf('/-/', base.length);
  if (dash < 0) return false;
  const slash = url.indexOf('/', base.length);
  if (slash === dash) return true;
  return url.charCodeAt(base.length) === 0x40 /* @ */ && url.indexOf('/', slash + 1) === dash;
}

/**
 * A registry tarball URL is `<registry>/<name>/-/<file>.tgz` (scoped: `<registry>/@scope/name/-/...`,
 * the slash sometimes escaped as %2f); the registry is everything before the name.
 */
function registryBaseOfTarball(url: string): string | undefined {
  const dash = url.indexOf('/-/');
  if (dash < 0 || !/\.tgz(?:[?#].*)?$/.test(url)) return undefined;
  let cut = url.lastIndexOf('/', dash - 1);
  if (cut < 0) return undefined;
  const scope = url.lastIndexOf('/', cut - 1);
  if (scope >= 0 && url[scope + 1] === '@' && !url.slice(scope + 1, cut).includes('%')) cut = scope;
  const base = url.slice(0, cut + 1);
  return /^https?:\/\/[^/]+\//.test(base) ? base : undefined;
}

/**
 * A lockfile's `resolved` as npm reads it (npm-package-arg, then the WHATWG URL parser that
 * fetches it), or the reason stowage cannot take it as written:
 * - a URL scheme is matched in any letter case (`HTTPS://` is fetched as `https://`), and an
 *   http(s) URL is the one npm requests: host lower-cased, `.`/`..` segments and `\` resolved;
 * - whitespace around the value makes npm take it for a directory in the project, not a URL
 *   (what it installs then depends on the machine's cache): refused, like control characters,
 *   which the URL parser would silently drop.
 */
export function readResolved(resolved: string): { value: string } | { problem: string } {
  // Lockfiles hold thousands of URLs already in the parser's form (PLAIN_HTTP_URL matches no
  // space, control character or upper-case scheme; dot segments are tested apart): settled here.
  if (PLAIN_HTTP_URL.test(resolved) && !DOT_SEGMENT.test(resolved)) return { value: resolved };
  if (resolved !== resolved.trim()) {
    return { problem: 'has whitespace around it, so npm reads it as a directory in the project, not as what it names' };
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(resolved)) return { problem: 'holds control characters' };
  const value = lowerCaseScheme(resolved);
  if (!value.startsWith('https://') && !value.startsWith('http://')) return { value };
  if (/\s/.test(value)) return { problem: 'is not a URL: it holds whitespace' };
  // Lockfiles hold thousands of URLs already in the parser's form: skip parsing those.
  if (PLAIN_HTTP_URL.test(value) && !DOT_SEGMENT.test(value)) return { value };
  try {
    return { value: new URL(value).href };
  } catch {
    return { problem: 'is not a valid URL' };
  }
}

/**
 * An http(s) URL the WHATWG parser leaves as it is: a lower-case host name (not an address, no
 * port or credentials) and a path of characters it does not encode. Dot segments (`/.`, `%2e`)
 * are tested apart.
 */
const PLAIN_HTTP_URL = /^https?:\/\/(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*\/[\w.~@%+=&?#/-]*$/;

/** A `.` or `..` path segment, spelt or percent-encoded, which the URL parser resolves. */
const DOT_SEGMENT = /\/\.|%2e/i;

/** `HTTPS://…` → `https://…`, `NPM:…` → `npm:…`: npm-package-arg matches schemes in any letter case. */
export function lowerCaseScheme<T extends string | undefined>(spec: T): T {
  const scheme = spec === undefined ? undefined : /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(spec)?.[1];
  if (spec === undefined || scheme === undefined || scheme === scheme.toLowerCase()) return spec;
  return (scheme.toLowerCase() + spec.slice(scheme.length)) as T;
}

/**
 * The package a registry tarball URL holds, by the registry's layout
 * (`<registry>/<name>/-/<unscoped name>-<version>.tgz`, a scope's slash possibly as %2f):
 * `version` is null when the file is not named for the package. Null for any other URL.
 */
export function registryTarballIdentity(url: string): { name: string; version: string | null } | null {
  const bare = asRegistryReadsIt(url);
  const dash = bare.indexOf('/-/');
  if (dash < 0 || !bare.endsWith('.tgz') || registryBaseOfTarball(bare) === undefined) return null;
  const head = bare.slice(0, dash);
  const cut = head.lastIndexOf('/');
  let name = head.slice(cut + 1);
  if (/^@[^%]+%2f/i.test(name)) name = name.replace(/%2f/i, '/');
  else {
    const scope = head.lastIndexOf('/', cut - 1);
    if (scope >= 0 && head[scope + 1] === '@') name = head.slice(scope + 1);
  }
  const file = bare.slice(bare.lastIndexOf('/') + 1, -'.tgz'.length);
  const unscoped = name.slice(name.lastIndexOf('/') + 1);
  return { name, version: file.startsWith(`${unscoped}-`) ? file.slice(unscoped.length + 1) : null };
}

/**
 * The version of `name` a registry tarball URL holds (`…/name/-/name-1.2.3.tgz`), or null when
 * the URL is not one. Early npm 5 lockfiles wrote such URLs as the "version" of some entries.
 */
export function registryTarballVersion(name: string, url: string): string | null {
  if (npmSourceFromResolved(url).kind !== 'registry') return null;
  const bare = asRegistryReadsIt(url);
  // The package's own path on the registry: `/<name>/-/` (a scope's `%2f` decoded by asRegistryReadsIt).
  if (!bare.includes(`/${name}/-/`)) return null;
  const file = bare.split('/').pop() ?? '';
  const base = name.slice(name.lastIndexOf('/') + 1);
  if (!file.startsWith(`${base}-`) || !file.endsWith('.tgz')) return null;
  const version = file.slice(base.length + 1, -'.tgz'.length);
  return /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/.test(version) ? version : null;
}

/**
 * A tarball URL without its query and fragment, its path read as the public registry reads it:
 * escapes of ASCII characters decoded, trailing whitespace and control characters dropped, then
 * `\` taken for `/` and `.`/`..` segments resolved (never above the host).
 * registry.npmjs.org serves minimist 1.2.5 for `/minimist/%2D/minimist-1.2.5%2etgz` and for
 * `/minimist/-/minimist-1.2.5.tgz%20` (or `%00`, `%0a`), and npm 11 installs it from such a
 * `resolved` under `"version": "1.2.6"`: read as written, the URL is no registry tarball and the
 * entry's version is taken on trust. A scope's `%2f` is decoded too (`@s%2fa` is `@s/a`). It
 * serves minimist 1.2.5 for `/@any/minimist/-/..%2F..%2F..%2Fminimist/-/minimist-1.2.5.tgz`
 * (`%5C` too), which the WHATWG parser and npm leave as written: read before the segments are
 * resolved, that URL is the tarball of `@any/minimist`.
 */
function asRegistryReadsIt(url: string): string {
  const bare = url.replace(/[?#].*$/, '');
  if (!bare.includes('%')) return bare;
  const path = bare.search(/[^/]\/[^/]/);
  if (path < 0) return bare;
  const decoded = bare.slice(path + 1).replace(/%([0-7][0-9a-f])/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  // eslint-disable-next-line no-control-regex
  const trimmed = decoded.replace(/[\u0000-\u0020]+$/, '');
  return bare.slice(0, path + 1) + withoutDotSegments(trimmed.replace(/\\/g, '/'));
}

/** An absolute path with its `.` and `..` segments resolved, as RFC 3986 says (`/a/b/..` is `/a/`). */
function withoutDotSegments(path: string): string {
  if (!/\/\.\.?(?:\/|$)/.test(path)) return path;
  const kept: string[] = [];
  const segments = path.slice(1).split('/');
  for (const [i, segment] of segments.entries()) {
    if (segment === '..') kept.pop();
    if (segment === '.' || segment === '..') {
      if (i === segments.length - 1) kept.push('');
    } else kept.push(segment);
  }
  return `/${kept.join('/')}`;
}

function hostOf(url: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^/:?#]+)/i.exec(url);
  return m?.[1]?.toLowerCase();
}

const GIT_PREFIXES = ['git+', 'git://', 'github:', 'gitlab:', 'bitbucket:', 'gist:'];

function isGitSpecifier(spec: string): boolean {
  return GIT_PREFIXES.some((p) => spec.startsWith(p));
}

/** `git+ssh://git@host/repo.git#commit` → url without the fragment, rev = the fragment. */
function gitSource(spec: string): PackageSource {
  const hash = spec.indexOf('#');
  if (hash < 0) return { kind: 'git', url: spec, isDefaultRegistry: false };
  return { kind: 'git', url: spec.slice(0, hash), rev: spec.slice(hash + 1), isDefaultRegistry: false };
}

/** yarn v1 writes a local tarball's `resolved` with its hash after `#` (`file:./x.tgz#<sha1>`). */
function isTarballPath(path: string): boolean {
  return /\.(?:tgz|tar\.gz|tar)(?:#[^/]*)?$/i.test(path);
}

/**
 * Why a lockfile's registry package cannot be audited under its name, or null: a name no npm
 * package can have (npmNameProblem). The registry serves something for it all the same: it
 * decodes a tarball URL's escapes (`/lod%61sh/-/lod%61sh-4.17.4.tgz` is lodash 4.17.4, which npm
 * 11 installs under `"name": "lod%61sh"`), so the package installed is not the one its name
 * would be matched as.
 */
export function registryNameProblem(name: string): string | null {
  const problem = npmNameProblem(name);
  return problem === null ? null : `the package name ${JSON.stringify(name)} ${problem}: no npm package has it, so what is installed under it cannot be audited as it`;
}

/** A dependency specifier as written in package.json or a lockfile, by form. */
export type NpmSpecifier =
  /** `npm:name@range`: an alias; the dependent calls it by another name. */
  | { type: 'alias'; name: string; range: string }
  /** `git+…`, `git://…`, `github:user/repo`, `user/repo`: `committish` is the part after `#`. */
  | { type: 'git'; url: string; committish?: string }
  /** `file:path`: a directory or a tarball on disk. */
  | { type: 'file'; path: string }
  /** `link:path` (yarn, pnpm): a symlink to a directory. */
  | { type: 'link'; path: string }
  /** `workspace:range` (yarn, pnpm): a member of the same workspace. */
  | { type: 'workspace'; range: string }
  /** `patch:name@range#patchfile` (yarn berry): `range` is URL-decoded. */
  | { type: 'patch'; name: string; range: string; patch: string }
  /** `http(s)://…`: a tarball by URL. */
  | { type: 'tarball'; url: string }
  /** Anything else: a semver range, exact version or dist-tag. */
  | { type: 'range'; range: string };

export function parseNpmSpecifier(spec: string): NpmSpecifier {
  // Versions and ranges are by far the most common; they start with a digit or an operator.
  if (/^[\d^~<>=*]/.test(spec)) return { type: 'range', range: spec };
  if (spec.startsWith('npm:')) {
    const { name, rest } = splitNameAtRange(spec.slice(4));
    return { type: 'alias', name, range: rest };
  }
  if (isGitSpecifier(spec)) {
    const hash = spec.indexOf('#');
    return hash < 0 ? { type: 'git', url: spec } : { type: 'git', url: spec.slice(0, hash), committish: spec.slice(hash + 1) };
  }
  if (spec.startsWith('file:')) return { type: 'file', path: spec.slice(5) };
  if (spec.startsWith('link:')) return { type: 'link', path: spec.slice(5) };
  if (spec.startsWith('workspace:')) return { type: 'workspace', range: spec.slice(10) };
  if (spec.startsWith('patch:')) {
    const body = spec.slice(6);
    const hash = body.indexOf('#');
    const descriptor = hash < 0 ? body : body.slice(0, hash);
    const { name, rest } = splitNameAtRange(descriptor);
    let range = rest;
    try {
      range = decodeURIComponent(rest);
    } catch {
      // Not percent-encoded after all: keep it as written.
    }
    return { type: 'patch', name, range, patch: hash < 0 ? '' : body.slice(hash + 1) };
  }
  if (spec.startsWith('https://') || spec.startsWith('http://')) return { type: 'tarball', url: spec };
  // GitHub shorthand `user/repo` or `user/repo#ref`: npm reads it as a git dependency.
  if (/^[^@.\s/][^\s/]*\/[^\s/]+$/.test(spec.split('#')[0] ?? '') && !/^[<>=~^\d]/.test(spec)) {
    const hash = spec.indexOf('#');
    const url = `github:${hash < 0 ? spec : spec.slice(0, hash)}`;
    return hash < 0 ? { type: 'git', url } : { type: 'git', url, committish: spec.slice(hash + 1) };
  }
  return { type: 'range', range: spec };
}

/** `@scope/name@range` or `name@range`: the `@` that separates them is not a leading one. */
function splitNameAtRange(descriptor: string): { name: string; rest: string } {
  const at = descriptor.indexOf('@', 1);
  return at < 0 ? { name: descriptor, rest: '' } : { name: descriptor.slice(0, at), rest: descriptor.slice(at + 1) };
}
