import { existsSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { parseSyml, stringifySyml } from '@yarnpkg/parsers';
import { InputError, StowageError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import { readTextInput } from '../core/input-files.js';
import { DEFAULT_NPM_REGISTRY } from '../ecosystems/npm/registry-source.js';
import { downloadUrlOfResolved, isCredentialSetting, registryTarballUrl } from '../ecosystems/npm/registry.js';
import { isRecord, parseYamlText } from '../ecosystems/npm/lockfile-reading.js';
import { withoutUserInfo } from '../core/credentials.js';
import type { DownloadRequest } from './download.js';
import type { VendorContext, VendorResult } from './vendor-tree.js';
import { YARN_BERRY_CACHE_DIR as YARN_CACHE_DIR, type VendoredPackage } from '../inputs/vendor-layout.js';
import { FileSet, checkedUrl, compare, readConfigFile, requireInsideProject } from './npm-support.js';
import { yarnCacheFileName, yarnCacheZip } from './yarn-cache-zip.js';
import { berryGitPackage, packBerryGitPackages, type BerryGitPackage } from './npm-yarn-berry-git.js';
import { redactCredentials } from '../core/credentials.js';

/*
 * yarn berry (yarn.lock with `__metadata`): yarn's own cache, in the project (`.yarn/cache`,
 * as a "zero-install" project commits it), and a `.yarnrc.yml` that keeps the cache there and
 * turns the network off. A plain `yarn install --immutable` then takes every package from the
 * cache, checks each zip against the lockfile's checksum itself, and changes nothing.
 *
 * berry's lockfile records no tarball digest: its `checksum` is the sha512 of the zip yarn makes
 * from the tarball. So stowage makes that zip (yarn-cache-zip.ts) from the registry tarball and
 * checks it against the lockfile before anything is kept: the download is verified, and the zip
 * is the one yarn would accept. Only the zips of yarn 4's default `compressionLevel: 0` (cache
 * keys ending in `c0`) are reproducible this way; deflated ones (yarn 2 and 3, `mixed`) depend on
 * libzip's deflate and are refused.
 */


/** Settings the written `.yarnrc.yml` decides; the application's own values for them are replaced. */
const OWNED_SETTINGS: Readonly<Record<string, string | boolean>> = {
  cacheFolder: `./${YARN_CACHE_DIR}`,
  enableGlobalCache: false,
  // With the mirror on, yarn names a project cache's zips by their checksum (what is written),
  // whatever yarn's own cache key; it copies to the mirror only what it had to fetch: nothing.
  enableMirror: true,
  enableNetwork: false,
  enableTelemetry: false,
};

/** One zip to make for the cache. */
interface CachedZip {
  name: string;
  version: string;
  label: string;
  url: string;
  checksum: string;
  hex: string;
  fileName: string;
}

export async function vendorYarnBerry(graph: DependencyGraph, context: VendorContext): Promise<VendorResult> {
  const yarnrcPath = join(context.projectDir, '.yarnrc.yml');
  const existing = existsSync(yarnrcPath) ? readConfigFile(yarnrcPath) : null;
  const registries = yarnRegistries(yarnrcPath, existing === null ? {} : readYarnrc(yarnrcPath, existing), { ...process.env, ...context.env });
  const { zips, gits } = readCachedZips(graph.path, context.projectDir, registries);
  const requests: DownloadRequest[] = zips.map((z) => ({
    url: z.url,
    expected: [{ algorithm: 'sha512', hex: z.hex }],
    label: z.label,
    convert: (tarball) => yarnCacheZip(tarball, z.name, z.label),
  }));
  const bodies = await context.downloader.fetchAll(requests);
  const gitZips = await packBerryGitPackages(graph.path, gits.map((g) => g.git), context);

  const files = new FileSet();
  const packages: VendoredPackage[] = [];
  zips.forEach((z, i) => {
    const path = `${YARN_CACHE_DIR}/${z.fileName}`;
    files.add(path, bodies[i] as Buffer);
    packages.push({ ecosystem: graph.ecosystem, name: z.name, version: z.version, source: z.url, checksum: z.checksum, path });
  });
  gits.forEach(({ git, fileName }, i) => {
    const path = `${YARN_CACHE_DIR}/${fileName}`;
    files.add(path, gitZips[i] as Buffer);
    packages.push({ ecosystem: graph.ecosystem, name: git.name, version: git.version, source: redactCredentials(`${git.urls[0] ?? ''}#${git.commit}`), checksum: git.checksum, path });
  });
  files.add('.yarnrc.yml', Buffer.from(yarnrcYmlWithCache(yarnrcPath, existing, context.warn)));
  packages.sort((a, b) => compare(a.name, b.name) || compare(a.version, b.version));
  return { files: files.sorted(), packages };
}

/**
 * Whether a resolution's reference is a git repository, as yarn's git resolver tells
 * (gitUtils.isGitUrl): `git:`/`git+` URLs, and http(s) URLs of a repository with a `#commit=`
 * (or `head=`, `tag=`, `semver=`) fragment, which is how yarn locks GitHub dependencies.
 */
function isGitReference(reference: string): boolean {
  if (/^git(\+[a-z]+)?:/i.test(reference)) return true;
  return /^https?:/i.test(reference) && /#(.*&)?(commit|head|tag|semver)=/.test(reference);
}

/** Every zip the lockfile's packages need; the application's own (workspaces, links, files) need none. */
function readCachedZips(path: string, projectDir: string, registries: YarnRegistries): { zips: CachedZip[]; gits: { git: BerryGitPackage; fileName: string }[] } {
  const doc = parseYamlText(path, readTextInput(path));
  if (!isRecord(doc)) throw new InputError(path, 'not a yarn.lock: expected a mapping of entries');
  const zips: CachedZip[] = [];
  const gits: { git: BerryGitPackage; fileName: string }[] = [];
  const resolutions = new Set<string>();
  for (const value of Object.values(doc)) if (isRecord(value) && typeof value.resolution === 'string') resolutions.add(value.resolution);
  for (const [key, value] of Object.entries(doc)) {
    if (key === '__metadata' || !isRecord(value)) continue;
    const resolution = typeof value.resolution === 'string' ? value.resolution : '';
    const at = resolution.indexOf('@', 1);
    const name = resolution.slice(0, at);
    const reference = resolution.slice(at + 1);
    const version = typeof value.version === 'string' ? value.version : '';
    const label = `${name}@${version}`;
    const where = `${resolution} (entry "${key}")`;
    const protocol = /^([a-z][a-z0-9+.-]*):/i.exec(reference)?.[1] ?? '';
    let url: string;
    if (isGitReference(reference)) {
      const checksum = zipChecksum(path, where, value.checksum);
      const git = berryGitPackage(path, name, version, reference, where, checksum);
      gits.push({ git, fileName: yarnCacheFileName(name, reference, checksum.hex) });
      continue;
    }
    switch (protocol) {
      case 'workspace':
        continue;
      case 'link':
      case 'portal':
      case 'file':
        // The application's own files: yarn reads (and zips) them from the source tree.
        requireInsideProject(path, projectDir, label, decodeURIComponent(reference.slice(protocol.length + 1).split(/#|::/)[0] ?? '.'));
        continue;
      case 'npm':
        url = registryTarballUrl(registryOf(registries, name), name, reference.slice('npm:'.length));
        break;
      case 'http':
      case 'https':
        url = downloadUrlOfResolved(checkedUrl(reference.split('#')[0] ?? reference, label));
        break;
      case 'patch':
        requirePatchInputs(path, projectDir, where, reference, resolutions);
        continue;
      default:
        throw new StowageError(`${where}: ${protocol === '' ? 'this' : `the ${protocol}:`} reference cannot be vendored for yarn berry yet (exec:)`, path);
    }
    const { full: checksum, hex } = zipChecksum(path, where, value.checksum);
    zips.push({ name, version, label, url, checksum, hex, fileName: yarnCacheFileName(name, reference, hex) });
  }
  return { zips, gits };
}

/**
 * A `patch:` resolution needs no zip of its own: yarn makes it at install, offline, from the
 * package it patches (its own lockfile entry, vendored as any other) and the patches, and checks
 * the result against the entry's checksum (yarn 4.9.2 installs `fsevents@patch:…#optional!builtin<compat/fsevents>`
 * with the network off from fsevents@npm:2.3.2's zip alone). So the patched package must have
 * its entry, and each patch must be yarn's own (`builtin<…>`) or a file in the application,
 * which the archive is extracted beside: `~/…` from the project's root, a relative path from the
 * workspace the `locator` parameter names. Anything else is refused, naming the entry.
 */
function requirePatchInputs(path: string, projectDir: string, where: string, reference: string, resolutions: ReadonlySet<string>): void {
  const params = reference.indexOf('::');
  const range = params < 0 ? reference : reference.slice(0, params);
  const hash = range.indexOf('#');
  let base: string;
  let locator: string | null;
  try {
    base = decodeURIComponent(range.slice('patch:'.length, hash < 0 ? undefined : hash));
    locator = params < 0 ? null : new URLSearchParams(reference.slice(params + 2)).get('locator');
  } catch {
    throw new StowageError(`${where}: the patched locator is not percent-encoded`, path);
  }
  if (!resolutions.has(base)) {
    throw new StowageError(`${where}: the package it patches, ${base}, has no entry in the lockfile, so yarn would fetch it at install`, path);
  }
  const sources = hash < 0 ? [] : decodeURIComponent(range.slice(hash + 1)).split('&');
  for (const source of sources) {
    // As yarn reads a patch source: flags (`optional!`) before the last `!`, then the patch.
    const patch = source.slice(source.lastIndexOf('!') + 1);
    if (/^builtin<[^>]+>$/.test(patch)) continue;
    if (patch.startsWith('~/')) {
      requirePatchFile(path, projectDir, where, patch.slice(2));
      continue;
    }
    const workspace = locator === null ? null : /^(?:@[^/@]+\/)?[^/@]+@workspace:(.*)$/.exec(locator);
    if (patch.startsWith('/') || workspace?.[1] === undefined) {
      throw new StowageError(`${where}: the patch ${patch} is not a file of the application's workspaces, so the archive cannot hold it`, path);
    }
    requirePatchFile(path, projectDir, where, posix.join(workspace[1], patch));
  }
}

/** A patch file (relative to the project's root, where yarn.lock is) yarn reads at install: inside the application, and there. */
function requirePatchFile(path: string, projectDir: string, where: string, file: string): void {
  requireInsideProject(path, projectDir, where, file, 'the patch');
  if (!existsSync(join(dirname(path), file))) throw new StowageError(`${where}: the patch ${file} is not in the application, and yarn applies it at install`, path);
}

/** The lockfile's checksum of a zip stowage can reproduce (yarn 4, compressionLevel 0), or a refusal. */
function zipChecksum(path: string, where: string, value: unknown): { full: string; hex: string } {
  const checksum = typeof value === 'string' ? value : null;
  const parsed = checksum === null ? null : /^(\d+c0)\/([0-9a-f]{128})$/.exec(checksum);
  if (checksum === null) throw new StowageError(`${where}: the lockfile records no checksum, so its bytes cannot be verified`, path);
  if (parsed === null) {
    throw new StowageError(
      `${where}: checksum ${JSON.stringify(checksum.slice(0, 20))}… is not a yarn 4 zip checksum of compressionLevel 0 (cache key "<n>c0/"): deflated zips cannot be reproduced; lock again with yarn 4's default compressionLevel`,
      path,
    );
  }
  return { full: checksum, hex: parsed[2] as string };
}

/** The registries yarn installs `npm:` packages from: `npmRegistryServer`, and per scope `npmScopes.<scope>.npmRegistryServer`. */
interface YarnRegistries {
  /** With a trailing slash. */
  registry: string;
  /** Scope without its `@` → registry URL with a trailing slash. */
  scopes: ReadonlyMap<string, string>;
}

/** The application's `.yarnrc.yml` as a mapping of settings. */
function readYarnrc(path: string, text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseSyml(text);
  } catch (err) {
    throw new InputError(path, `not valid YAML: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  if (parsed !== null && parsed !== undefined && !isRecord(parsed)) throw new InputError(path, 'expected a mapping of settings');
  return (parsed ?? {}) as Record<string, unknown>;
}

/**
 * berry's lockfile names no registry: an `npm:` package comes from the registry the project's
 * `.yarnrc.yml` configures (yarn's default, registry.yarnpkg.com, serves the public registry's
 * tarballs), so that is where it is downloaded from; the lockfile's checksum is checked either way.
 * `${NAME}` and `${NAME:-default}` are expanded from the environment as yarn does.
 */
function yarnRegistries(path: string, settings: Record<string, unknown>, env: NodeJS.ProcessEnv): YarnRegistries {
  const server = (value: unknown, key: string): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new InputError(path, `${key} must be a URL, found ${JSON.stringify(value)}`);
    const expanded = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (whole, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new InputError(path, `${key}: \${${name}} is not set in the environment`);
    });
    let url: URL;
    try {
      url = new URL(expanded);
    } catch {
      // The value as written: expanded, it may hold a token from the environment.
      throw new InputError(path, `${key} is not a URL: ${JSON.stringify(value)}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InputError(path, `${key} must be an http(s) URL, found ${JSON.stringify(value)}`);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.href.endsWith('/') ? url.href : `${url.href}/`;
  };
  const scopes = new Map<string, string>();
  const npmScopes = settings.npmScopes;
  if (isRecord(npmScopes)) {
    for (const [scope, scoped] of Object.entries(npmScopes)) {
      const url = isRecord(scoped) ? server(scoped.npmRegistryServer, `npmScopes.${scope}.npmRegistryServer`) : undefined;
      if (url !== undefined) scopes.set(scope.replace(/^@/, ''), url);
    }
  }
  return { registry: server(settings.npmRegistryServer, 'npmRegistryServer') ?? DEFAULT_NPM_REGISTRY, scopes };
}

function registryOf(registries: YarnRegistries, name: string): string {
  return (name.startsWith('@') ? registries.scopes.get(name.slice(1, name.indexOf('/'))) : undefined) ?? registries.registry;
}

/**
 * The application's `.yarnrc.yml` with the cache settings in place of its own (each one it had
 * is reported), and without credentials (the archive is shipped). Comments are not kept when a
 * setting or credential had to be replaced: the file is read and written as YAML.
 */
export function yarnrcYmlWithCache(path: string, existing: string | null, warn: (message: string) => void): string {
  const settings = existing === null ? {} : readYarnrc(path, existing);
  const removed: string[] = [];
  const withoutCredentials = (value: unknown, where: string): unknown => {
    if (typeof value === 'string') {
      if (withoutUserInfo(value) === value) return value;
      removed.push(where);
      return withoutUserInfo(value);
    }
    if (!isRecord(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      const at = where === '' ? key : `${where}.${key}`;
      if (/^npmAuth(Token|Ident)$/.test(key) || isCredentialSetting(key)) removed.push(at);
      else out[key] = withoutCredentials(inner, at);
    }
    return out;
  };
  const kept = withoutCredentials(settings, '') as Record<string, unknown>;
  const overridden = Object.keys(OWNED_SETTINGS).filter((key) => key in kept && String(kept[key]) !== String(OWNED_SETTINGS[key]));
  if (overridden.length > 0) warn(`${path}: ${overridden.join(', ')} replaced by the vendored layout's settings in the archive's .yarnrc.yml`);
  if (removed.length > 0) warn(`${path}: credentials (${removed.join(', ')}) left out of the archive's .yarnrc.yml; an offline install needs none`);
  const header = '# stowage: install from the vendored yarn cache (.yarn/cache), without the network.\n';
  if (existing !== null && overridden.length === 0 && removed.length === 0) {
    // Nothing to take out: the application's file as it is (comments kept), the settings after it.
    const missing = Object.fromEntries(Object.entries(OWNED_SETTINGS).filter(([key]) => !(key in kept)));
    return `${existing.replace(/\s*$/, '\n')}\n${header}${stringifySyml(missing)}`;
  }
  return `${header}${stringifySyml({ ...kept, ...OWNED_SETTINGS })}`;
}
