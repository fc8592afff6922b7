import type { Ecosystem, Package, PackageSource } from './package.js';
import { withoutUserInfo } from './credentials.js';
import { compareText } from './compare-text.js';
import { ownValue } from './own-value.js';

/**
 * Package URLs (purl, ECMA-427) for locked packages, as SBOMs and vulnerability databases
 * name them: `pkg:cargo/NAME@VERSION`, `pkg:npm/%40scope/name@version`.
 *
 * Encoding: every character outside the purl's unreserved set (letters, digits, `.-_~`) is
 * percent-encoded, except `:`, which the specification says is never encoded; so a `+` in a
 * version is `%2B` (`0.11.0%2Bwasi-snapshot-preview1`) and the npm scope's `@` is `%40`.
 * Qualifier values keep their `/` unencoded, as the specification's own test suite writes
 * them (`vcs_url=git://host.com/path/to/repo.git%404345abcd34343`).
 */

interface PurlType {
  type: string;
  /** npm names are lower-cased in purls (the npm type definition says so); crate names keep their case. */
  lowercase: boolean;
  /** npm's `@scope/name`: the scope is the purl namespace. */
  scoped: boolean;
}

const PURL_TYPES: Record<Ecosystem, PurlType> = {
  cargo: { type: 'cargo', lowercase: false, scoped: false },
  npm: { type: 'npm', lowercase: true, scoped: true },
};

/** npm's git shorthands and the hosts they stand for. */
const GIT_SHORTHAND_HOSTS: Record<string, string> = {
  github: 'github.com',
  gitlab: 'gitlab.com',
  bitbucket: 'bitbucket.org',
  gist: 'gist.github.com',
};

/**
 * The purl of a locked package, or null when nothing outside this checkout identifies it
 * (path and workspace packages, a tarball on the local disk, a yarn `patch:`): a bare
 * `pkg:cargo/NAME@VERSION` would claim it is the registry's package of that name.
 *
 * - registry: no qualifier for the public registry; `repository_url` for any other.
 * - git: `vcs_url=git+URL@COMMIT` (the SPDX VCS location syntax the purl spec points to).
 * - a tarball fetched by URL: `download_url`.
 */
export function purlOf(pkg: Package): string | null {
  const purlType = PURL_TYPES[pkg.ecosystem];
  const qualifiers = new Map<string, string>();
  const { source } = pkg;
  switch (source.kind) {
    case 'registry':
      // The purl type's default repository is the public registry (crates.io, registry.npmjs.org).
      if (!source.isDefaultRegistry && source.url) qualifiers.set('repository_url', registryUrl(withoutUserInfo(source.url)));
      break;
    case 'git': {
      const vcs = gitLocation(source);
      if (vcs) qualifiers.set('vcs_url', vcs);
      break;
    }
    case 'other':
      if (!source.url || !/^https?:\/\//i.test(source.url)) return null;
      qualifiers.set('download_url', withoutUserInfo(source.url));
      break;
    default:
      return null;
  }
  let name = purlType.lowercase ? pkg.name.toLowerCase() : pkg.name;
  let path = '';
  if (purlType.scoped && name.startsWith('@') && name.includes('/')) {
    const slash = name.indexOf('/');
    path = `${encodePurlComponent(name.slice(0, slash))}/`;
    name = name.slice(slash + 1);
  }
  path += encodePurlComponent(name);
  let purl = `pkg:${purlType.type}/${path}@${encodePurlComponent(pkg.version)}`;
  if (qualifiers.size > 0) {
    const pairs = [...qualifiers].sort(([a], [b]) => compareText(a, b));
    purl += `?${pairs.map(([key, value]) => `${key}=${encodeQualifierValue(value)}`).join('&')}`;
  }
  return purl;
}

/**
 * Where a git package's source is, in the SPDX VCS syntax `git+TRANSPORT://HOST/PATH@REVISION`
 * that both SPDX `downloadLocation` and the purl `vcs_url` qualifier use. npm's shorthands
 * (`github:user/repo`) become their https URLs; Cargo's `?branch=` / `?rev=` query is dropped,
 * as the locked commit already says which tree it is. Null when the URL is not a git URL.
 */
export function gitLocation(source: PackageSource): string | null {
  if (source.kind !== 'git' || !source.url) return null;
  // An SBOM is published: a lockfile's `https://user:token@host/` names the place, not the login.
  let url = withoutUserInfo(source.url);
  const shorthand = /^([a-z]+):([^/].*)$/.exec(url);
  const host = shorthand?.[1] === undefined ? undefined : ownValue(GIT_SHORTHAND_HOSTS, shorthand[1]);
  if (host !== undefined && shorthand?.[2] !== undefined) url = `https://${host}/${shorthand[2].replace(/\.git$/, '')}.git`;
  const query = url.indexOf('?');
  if (query >= 0) url = url.slice(0, query);
  if (!url.startsWith('git+')) {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return null;
    url = `git+${url}`;
  }
  return source.rev ? `${url}@${source.rev}` : url;
}

/** Cargo spells a sparse index `sparse+https://…`: the registry's URL is the part after the protocol marker. */
function registryUrl(url: string): string {
  return url.startsWith('sparse+') ? url.slice('sparse+'.length) : url;
}

function encodePurlComponent(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%3A/g, ':');
}

function encodeQualifierValue(text: string): string {
  return encodePurlComponent(text).replace(/%2F/g, '/');
}

/** A package URL split into its parts, percent-decoded (the subpath, a path inside the package, is dropped). */
export interface ParsedPurl {
  /** Lower-cased, as the specification normalises it. */
  type: string;
  namespace: string[];
  name: string;
  version: string | null;
  /** Keys lower-cased; pairs with an empty value are dropped, as the specification says. */
  qualifiers: Map<string, string>;
}

/**
 * A purl read by the specification's parsing steps: `#subpath` and `?qualifiers` split off
 * from the right, the `pkg:` scheme (any number of `/` after it), the type, `@version` split
 * from the right, the name, then the namespace segments. The reason when it is not a purl.
 */
export function parsePurl(text: string): { purl: ParsedPurl } | { error: string } {
  let rest = text;
  const hash = rest.lastIndexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const qualifiers = new Map<string, string>();
  const question = rest.lastIndexOf('?');
  if (question >= 0) {
    for (const pair of rest.slice(question + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if (eq <= 0) return { error: `qualifier ${pair} has no key=value` };
      const key = pair.slice(0, eq).toLowerCase();
      if (!/^[a-z.\-_][a-z0-9.\-_]*$/.test(key)) return { error: `qualifier key ${key} is not valid` };
      if (qualifiers.has(key)) return { error: `qualifier ${key} appears twice` };
      const value = percentDecode(pair.slice(eq + 1));
      if (value === null) return { error: `qualifier ${key} has bad percent-encoding` };
      if (value !== '') qualifiers.set(key, value);
    }
    rest = rest.slice(0, question);
  }
  const scheme = /^pkg:\/*/i.exec(rest);
  if (!scheme) return { error: 'does not start with pkg:' };
  rest = rest.slice(scheme[0].length).replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  if (slash <= 0) return { error: 'no type/name' };
  const type = rest.slice(0, slash).toLowerCase();
  if (!/^[a-z.+-][a-z0-9.+-]*$/.test(type)) return { error: `type ${type} is not valid` };
  rest = rest.slice(slash + 1);
  let version: string | null = null;
  const at = rest.lastIndexOf('@');
  // An `@` at the start of a segment is an unencoded npm scope, not a version separator.
  if (at >= 0 && at > rest.lastIndexOf('/') && at > 0) {
    version = percentDecode(rest.slice(at + 1));
    if (version === null) return { error: 'the version has bad percent-encoding' };
    if (version === '') return { error: 'empty version after @' };
    rest = rest.slice(0, at);
  }
  const segments: string[] = [];
  for (const raw of rest.split('/')) {
    if (raw === '') continue;
    const segment = percentDecode(raw);
    if (segment === null) return { error: 'bad percent-encoding' };
    if (segment.includes('/')) return { error: `segment ${segment} holds an encoded /` };
    segments.push(segment);
  }
  const name = segments.pop();
  if (name === undefined || name === '') return { error: 'no name' };
  return { purl: { type, namespace: segments, name, version, qualifiers } };
}

function percentDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/**
 * What the ref of a component without a purl says (`cargo:path:…`, `npm:workspace:…`): a
 * package that nothing outside the application identifies. Null for any other ref.
 */
export function localComponentOf(ref: string): { ecosystem: Ecosystem; kind: 'path' | 'workspace' | 'other' } | null {
  const m = /^(cargo|npm):(path|workspace|other):./s.exec(ref);
  return m ? { ecosystem: m[1] as Ecosystem, kind: m[2] as 'path' | 'workspace' | 'other' } : null;
}
