import { StowageError } from '../../core/errors.js';
import { DEFAULT_NPM_REGISTRY } from './registry-source.js';
import { httpGet, type HttpOptions } from '../../core/http.js';

/**
 * The npm registry as vendoring sees it: which registry serves a package (the project's
 * `.npmrc`), where a locked tarball is downloaded from, and the registry's own record of a
 * version (the packument) for lockfile entries that do not say where their tarball is.
 */

/** `registry=` and `@scope:registry=` from the project's `.npmrc`; the public registry otherwise. */
export interface NpmRegistryConfig {
  /** With a trailing slash. */
  registry: string;
  /** `@scope` → registry URL with a trailing slash. */
  scopes: ReadonlyMap<string, string>;
  /** True when the `.npmrc` sets `registry=` itself. */
  registryIsSet: boolean;
}

export const PUBLIC_REGISTRY_CONFIG: NpmRegistryConfig = { registry: DEFAULT_NPM_REGISTRY, scopes: new Map(), registryIsSet: false };

/**
 * Reads the registry settings of an `.npmrc` (ini: `key = value`, `;`/`#` comments, `${VAR}`
 * expanded from `env` as npm does). Other settings are not stowage's business here.
 */
export function readNpmrcRegistries(file: string, text: string, env: NodeJS.ProcessEnv): NpmRegistryConfig {
  let registry = DEFAULT_NPM_REGISTRY;
  let registryIsSet = false;
  const scopes = new Map<string, string>();
  const lines = npmrcLines(text);
  for (let i = 0; i < lines.length; i++) {
    const setting = npmrcSetting(lines[i] as string);
    if (setting === null) continue;
    const { key, value } = setting;
    const scope = /^(@[^:/\s]+):registry$/.exec(key);
    if (key !== 'registry' && !scope) continue;
    const expanded = expandEnv(value, env, file, i + 1);
    // Errors quote the value as written: expanded, it may hold a token from the environment.
    let url: URL;
    try {
      url = new URL(expanded);
    } catch {
      throw new StowageError(`${key} is not a URL: ${JSON.stringify(value)}`, file, { line: i + 1 });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new StowageError(`${key} must be an http(s) URL, found ${JSON.stringify(value)}`, file, { line: i + 1 });
    }
    // User-info is a credential: stowage sends none (the registry is read anonymously), and
    // npm's cache keys, which the archive's index reproduces, leave it out.
    url.username = '';
    url.password = '';
    const normalized = withTrailingSlash(url.href);
    if (scope) scopes.set(scope[1] as string, normalized);
    else {
      registry = normalized;
      registryIsSet = true;
    }
  }
  return { registry, scopes, registryIsSet };
}

/** npm's proxy settings: where it sends every registry request instead. */
const PROXY_KEYS = ['proxy', 'https-proxy', 'http-proxy'];

/** The proxies an `.npmrc` sets (`${VAR}` expanded from `env`, as npm does), with their keys. */
export function readNpmrcProxies(file: string, text: string, env: NodeJS.ProcessEnv): { key: string; url: string }[] {
  const found: { key: string; url: string }[] = [];
  for (const [i, line] of npmrcLines(text).entries()) {
    const setting = npmrcSetting(line);
    if (setting === null || !PROXY_KEYS.includes(setting.key.toLowerCase())) continue;
    // A bare `proxy` (true) or `proxy=false`/`null` sets none.
    if (['true', 'false', 'null', ''].includes(setting.value)) continue;
    found.push({ key: setting.key, url: expandEnv(setting.value, env, file, i + 1) });
  }
  return found;
}

/**
 * An `.npmrc`'s lines as npm's ini parser splits them (at every run of `\r` and `\n`): a lone
 * `\r` ends a line too, so a setting after one is a setting, whatever an editor shows. Blank
 * lines, which ini drops, are kept, so that line numbers count as editors do.
 */
export function npmrcLines(text: string): string[] {
  return text.split(/\r\n|[\r\n]/);
}

/** npm's credential settings, bare or scoped to a registry (`//host/:_authToken`); yarn 1 reads the same. */
const CREDENTIAL_KEYS = ['_auth', '_authtoken', '_password', 'username', 'password', 'email', 'certfile', 'keyfile', 'cert', 'key', 'always-auth'];

export function isCredentialSetting(key: string): boolean {
  // Every registry-scoped setting (`//host/:_authToken`, `//host/:username`) is a credential.
  return key.startsWith('//') || CREDENTIAL_KEYS.includes(key.toLowerCase());
}

/** An ini section header (`[name]`): npm reads every setting after one as that section's, not as a setting. */
export function isNpmrcSection(line: string): boolean {
  return /^\[[^\]]*\]\s*$/.test(line);
}

/**
 * One `key=value` line of an `.npmrc` as npm's ini parser reads it, or null for blanks, comments
 * and section headers: the key is everything before the first `=`, both sides trimmed and
 * unquoted (`"…"` as JSON, `'…'` bare) or cut at an unescaped `;` / `#`; `key[]` is the array
 * form of `key`; a bare key is `true`.
 */
export function npmrcSetting(line: string): { key: string; value: string } | null {
  if (/^\s*([;#]|$)/.test(line) || isNpmrcSection(line)) return null;
  const match = /^([^=]+)(=(.*))?$/.exec(line);
  if (!match) return null;
  const rawKey = iniValue(match[1] as string);
  const key = rawKey.length > 2 && rawKey.endsWith('[]') ? rawKey.slice(0, -2) : rawKey;
  return { key, value: match[2] === undefined ? 'true' : iniValue(match[3] as string) };
}

/** The value an `.npmrc` gives `key` outside any section (the last line setting it wins), or undefined. */
export function npmrcTopLevelSetting(text: string, key: string): string | undefined {
  let value: string | undefined;
  for (const line of npmrcLines(text)) {
    if (isNpmrcSection(line)) break;
    const setting = npmrcSetting(line);
    if (setting?.key === key) value = setting.value;
  }
  return value;
}

/** ini's `unsafe`: a quoted value unquoted, else cut at the first unescaped `;` or `#`. */
function iniValue(raw: string): string {
  const text = raw.trim();
  if ((text.startsWith('"') && text.endsWith('"')) || (text.startsWith("'") && text.endsWith("'"))) {
    const inner = text.startsWith("'") ? text.slice(1, -1) : text;
    try {
      const parsed: unknown = JSON.parse(inner);
      return typeof parsed === 'string' ? parsed : String(parsed);
    } catch {
      return inner;
    }
  }
  let out = '';
  let escaped = false;
  for (const ch of text) {
    if (escaped) {
      out += '\\;#'.includes(ch) ? ch : `\\${ch}`;
      escaped = false;
    } else if (ch === ';' || ch === '#') {
      break;
    } else if (ch === '\\') {
      escaped = true;
    } else {
      out += ch;
    }
  }
  return (escaped ? `${out}\\` : out).trim();
}

/** npm's `${VAR}` (an error when unset) and `${VAR?}` (empty when unset); `\${` is literal. */
function expandEnv(value: string, env: NodeJS.ProcessEnv, file: string, line: number): string {
  return value.replace(/(\\*)\$\{([^${}?]+)(\?)?\}/g, (whole, escapes: string, name: string, optional: string | undefined) => {
    if (escapes.length % 2 === 1) return whole.slice(1);
    const found = env[name];
    if (found !== undefined) return escapes + found;
    if (optional) return escapes;
    throw new StowageError(`\${${name}} is not set in the environment`, file, { line });
  });
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** The registry npm asks for `name` (a scope's own registry wins). */
export function registryFor(config: NpmRegistryConfig, name: string): string {
  if (name.startsWith('@')) {
    const scoped = config.scopes.get(name.slice(0, name.indexOf('/')));
    if (scoped !== undefined) return scoped;
  }
  return config.registry;
}

/** `<registry>/<name>`, a scoped name's slash escaped as npm sends it (`@scope%2fname`). */
export function packumentUrl(registry: string, name: string): string {
  return `${withTrailingSlash(registry)}${name.replace('/', '%2f')}`;
}

/** A registry's tarball of `name@version`, as npm publishes it: `<registry>/<name>/-/<unscoped name>-<version>.tgz`. */
export function registryTarballUrl(registry: string, name: string, version: string): string {
  return `${withTrailingSlash(registry)}${name}/-/${name.slice(name.lastIndexOf('/') + 1)}-${version}.tgz`;
}

const PUBLIC_REGISTRY_HOST = new URL(DEFAULT_NPM_REGISTRY).hostname;

/**
 * Hosts that stand for the public registry when found in `resolved`. registry.yarnpkg.com and
 * registry.npmjs.com serve the same tarballs (npm itself rewrites yarnpkg URLs); hosts under the
 * reserved names of RFC 2606 (`.invalid`, `.example`, example.com/net/org) are placeholders
 * that anonymised lockfiles (the test corpus uses `registry.invalid`) put in place of the public
 * host: nothing can be downloaded from them, and the path after the host is the public one.
 */
function standsForPublicRegistry(host: string): boolean {
  return (
    host === 'registry.yarnpkg.com' ||
    host === 'registry.npmjs.com' ||
    host.endsWith('.invalid') ||
    host === 'invalid' ||
    host.endsWith('.example') ||
    /(^|\.)example\.(com|net|org)$/.test(host)
  );
}

/**
 * Where to download a lockfile's `resolved` tarball from (placeholder hosts → the public
 * registry). Credentials in the URL are dropped: they would end up in the archive's manifest.
 */
export function downloadUrlOfResolved(resolved: string): string {
  const url = new URL(resolved);
  url.username = '';
  url.password = '';
  url.hash = '';
  if (!standsForPublicRegistry(url.hostname)) return url.href;
  const publicUrl = new URL(DEFAULT_NPM_REGISTRY);
  url.protocol = publicUrl.protocol;
  url.host = publicUrl.host;
  return url.href;
}

/**
 * The URL npm requests at install time for a locked tarball, which is the key its cache is
 * searched by. Two rewrites with npm's default `replace-registry-host=npmjs` apply to a
 * registry.npmjs.org URL: arborist moves a lockfile's `resolved` onto the configured registry
 * (keeping that registry's path), then pacote moves any URL still on registry.npmjs.org onto the
 * package's registry (replacing the path). `fromLockfile` is false for a packument's
 * `dist.tarball`, which only the second applies to.
 */
export function requestedTarballUrl(url: string, fromLockfile: boolean, config: NpmRegistryConfig, name: string): string {
  let requested = new URL(url);
  if (fromLockfile && requested.hostname === PUBLIC_REGISTRY_HOST) {
    const target = new URL(config.registry);
    requested.protocol = target.protocol;
    requested.hostname = target.hostname;
    requested.port = target.port;
    const prefix = target.pathname.replace(/\/$/, '');
    if (prefix !== '' && requested.pathname !== prefix && !requested.pathname.startsWith(`${prefix}/`)) {
      requested.pathname = prefix + requested.pathname;
    }
  }
  if (requested.host === PUBLIC_REGISTRY_HOST) requested = new URL(requested.pathname, registryFor(config, name));
  requested.hash = '';
  requested.username = '';
  requested.password = '';
  return requested.href;
}

/** What npm asks a registry for to install from a lockfile: the abbreviated ("corgi") packument. */
export const CORGI_ACCEPT = 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*';

/** One version as the registry's packument records it. */
export interface RegistryVersion {
  name: string;
  version: string;
  /** `dist.tarball`. */
  tarball: string;
  /** `dist.integrity`, or `dist.shasum` as a sha1 SRI; null when the registry gives neither. */
  integrity: string | null;
  /** The version document, as the registry sent it. */
  manifest: Record<string, unknown>;
}

export type PackumentClientOptions = HttpOptions;

type JsonRecord = Record<string, unknown>;

const isRecord = (value: unknown): value is JsonRecord => typeof value === 'object' && value !== null && !Array.isArray(value);


/** Fetches packuments, each name once per client. */
export class PackumentClient {
  private readonly packuments = new Map<string, Promise<JsonRecord>>();

  constructor(private readonly options: PackumentClientOptions = {}) {}

  private packument(url: string, name: string): Promise<JsonRecord> {
    let pending = this.packuments.get(url);
    if (pending === undefined) {
      pending = this.fetchPackument(url, name);
      this.packuments.set(url, pending);
    }
    return pending;
  }

  /** Every version document `registry`'s packument lists for `name`, by version. */
  async versions(registry: string, name: string): Promise<ReadonlyMap<string, JsonRecord>> {
    const versions = (await this.packument(packumentUrl(registry, name), name)).versions;
    return new Map(isRecord(versions) ? Object.entries(versions).filter((e): e is [string, JsonRecord] => isRecord(e[1])) : []);
  }

  /** `name@version` from `registry`'s packument; a StowageError naming the package if it is not there. */
  async version(registry: string, name: string, version: string): Promise<RegistryVersion> {
    const url = packumentUrl(registry, name);
    const packument = await this.packument(url, name);
    const versions = packument.versions;
    const doc = isRecord(versions) ? versions[version] : undefined;
    if (!isRecord(doc)) throw new StowageError(`${name}@${version}: ${url} does not list version ${version}`);
    const dist = doc.dist;
    if (!isRecord(dist) || typeof dist.tarball !== 'string') {
      throw new StowageError(`${name}@${version}: ${url} gives no dist.tarball for version ${version}`);
    }
    let integrity: string | null = null;
    if (typeof dist.integrity === 'string') integrity = dist.integrity;
    else if (typeof dist.shasum === 'string' && /^[0-9a-f]{40}$/i.test(dist.shasum)) {
      integrity = `sha1-${Buffer.from(dist.shasum, 'hex').toString('base64')}`;
    }
    return { name, version, tarball: dist.tarball, integrity, manifest: doc };
  }

  private async fetchPackument(url: string, name: string): Promise<JsonRecord> {
    const failure = (reason: string): string => `${name}: cannot read the registry's record ${url}${reason}`;
    const bytes = (await httpGet(url, { accept: CORGI_ACCEPT, failure }, this.options)) as Buffer;
    let doc: unknown;
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch {
      // Not the parser's message: it quotes the body, and the registry is the application's
      // choice (.npmrc), so its answer may be an internal service's, shown to whoever reads this.
      throw new StowageError(`${name}: the registry's record ${url} is not JSON (${bytes.length} bytes)`);
    }
    if (!isRecord(doc)) throw new StowageError(`${name}: the registry's record ${url} is not a JSON object`);
    return doc;
  }

}
