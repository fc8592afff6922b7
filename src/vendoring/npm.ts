import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, StowageError, errorMessage } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import { digestsFromSri, sriFromDigest, type Digest } from '../core/digest.js';
import type { DownloadRequest } from './download.js';
import type { EcosystemVendor, VendorContext } from './vendor-tree.js';
import { NPM_CACACHE_CONTENT_DIR, NPM_CACACHE_DIR as CACACHE_DIR, NPM_CACHE_DIR, type VendoredPackage } from '../inputs/vendor-layout.js';
import { readTextInput } from '../core/input-files.js';
import { FileSet, checkedUrl, compare, npmrcWithSettings, readConfigFile, refuseCarried, requireInsideProject } from './npm-support.js';
import { vendorPnpm } from './npm-pnpm.js';
import { vendorYarnBerry } from './npm-yarn-berry.js';
import { vendorYarnClassic } from './npm-yarn.js';
import { packGitPackages, type LockedGitPackage } from './npm-git.js';
import { carriedVersion, readTarballManifests, type CarriedPackage } from '../ecosystems/npm/local-tarball.js';
import { lowerCaseScheme, npmSourceFromResolved, parseNpmSpecifier, readResolved, registryTarballVersion } from '../ecosystems/npm/registry-source.js';
import {
  CORGI_ACCEPT,
  PUBLIC_REGISTRY_CONFIG,
  PackumentClient,
  downloadUrlOfResolved,
  packumentUrl,
  readNpmrcRegistries,
  registryFor,
  requestedTarballUrl,
  type NpmRegistryConfig,
  type RegistryVersion,
} from '../ecosystems/npm/registry.js';

/*
 * The offline layout: an npm cache directory (cacache) inside the application, and an `.npmrc`
 * that points npm at it and turns the network off. Why this one:
 *
 * - The lockfile stays exactly as the application wrote it (the file stowage audits and lists in
 *   the SBOM): the vendored files only add to the tree. Rewriting every `resolved` to
 *   `file:vendor/….tgz` also installs with `npm ci`, but replaces the application's lockfile and
 *   turns every registry package into a local file for anything that reads it afterwards.
 * - For a lockfile entry with `resolved` and `integrity`, pacote reads the tarball straight from
 *   the cache by digest (`cacache.get.stream.byDigest`, content-v2/<algo>/<hex>) before it tries
 *   any URL, so the content file alone is enough, whatever host `resolved` names (placeholders
 *   included) and whatever registry is configured at install time. npm verifies the bytes against
 *   the lockfile's integrity itself.
 * - An entry without `resolved` (lockfiles written with omit-lockfile-registry-resolved) makes
 *   npm ask the registry for the packument, then for `dist.tarball`; an entry without
 *   `integrity` fetches `resolved`. Both go through make-fetch-happen's HTTP cache: index-v5
 *   entries keyed `make-fetch-happen:request-cache:<URL npm requests>`. With `offline` npm
 *   answers from them whatever their age, so their `time` is fixed (SOURCE_DATE_EPOCH, else 0)
 *   and the layout is byte-identical for the same lockfile. The packuments are written by
 *   stowage, holding only the locked versions and the fields of each version document that never
 *   change after publishing (not `deprecated`), so they do not drift as the registry does.
 * - A v1 lockfile makes npm fetch every package's packument to fill in what v1 does not record
 *   (bins among it): without them it installs with a warning per package and no bin links, so
 *   v1 lockfiles get packuments for every registry package.
 * - Packuments and index keys depend on the registry npm uses at install time: the project's
 *   `.npmrc` (or the public registry), which the written `.npmrc` pins when it matters.
 *
 * Limits: npm resolves a relative `cache=` against the directory it runs in, so npm must run
 * from the application's root; `npm_config_cache` in the environment overrides the `.npmrc`;
 * npm needs the cache directory writable (it compacts index entries and writes logs there).
 */


/** Settings the written `.npmrc` decides; the application's own lines for them are commented out. */
const OWNED_SETTINGS = ['cache', 'offline', 'prefer-online', 'prefer-offline', 'audit', 'update-notifier'];

/** One tarball the lockfile installs from a registry or a URL. */
interface LockedTarball {
  /** The lockfile location (`node_modules/a/node_modules/b`), for messages. */
  location: string;
  /** The name it is published under (an alias's target). */
  name: string;
  version: string;
  /** As written; null when the lockfile does not record it and npm asks the registry. */
  resolved: string | null;
  integrity: string | null;
  /** Published on a registry (so it has a packument), as opposed to a tarball by URL. */
  fromRegistry: boolean;
}

/** A tarball with everything needed to fetch it and file it in the cache. */
interface PlannedTarball {
  locked: LockedTarball;
  label: string;
  downloadUrl: string;
  /** What the bytes must hash to: the lockfile's integrity, or the registry's when it has none. */
  digests: Digest[];
  /** The URL npm requests for it at install time, when it goes through the HTTP cache. */
  requestUrl: string | null;
  /** The registry's record, when npm will read this version's packument. */
  packumentVersion: RegistryVersion | null;
}

export const vendorNpm: EcosystemVendor = async (graph, context) => {
  if (graph.format === 'yarn.lock v1') return vendorYarnClassic(graph, context);
  if (graph.format.startsWith('pnpm-lock.yaml')) return vendorPnpm(graph, context);
  if (graph.format.startsWith('yarn.lock berry')) return vendorYarnBerry(graph, context);
  const lockfileName = graph.format.split(' (')[0] ?? graph.format;
  if (!graph.format.startsWith('package-lock.json') && !graph.format.startsWith('npm-shrinkwrap.json')) {
    throw new StowageError(
      `vendoring ${lockfileName} is not supported yet: stowage vendors npm's package-lock.json and npm-shrinkwrap.json, yarn's yarn.lock (v1 and berry) and pnpm's pnpm-lock.yaml`,
      graph.path,
    );
  }
  const { lockfileVersion, tarballs, gits, locations } = readLockedTarballs(graph, context.projectDir);
  if (tarballs.length === 0 && gits.length === 0) return { files: [], packages: [] };

  const npmrcPath = join(context.projectDir, '.npmrc');
  const npmrcText = existsSync(npmrcPath) ? readConfigFile(npmrcPath) : null;
  const env = { ...process.env, ...context.env };
  const config = npmrcText === null ? PUBLIC_REGISTRY_CONFIG : readNpmrcRegistries(npmrcPath, npmrcText, env);

  const client = new PackumentClient();
  const planned = await mapLimit(tarballs, 8, (locked) => planTarball(locked, lockfileVersion, config, client, context));
  const packedGits = await packGitPackages(graph.path, gits, context);

  // One download per distinct tarball, however many locations install it.
  const requests = new Map<string, DownloadRequest>();
  for (const p of planned) {
    const key = downloadKey(p);
    if (!requests.has(key)) requests.set(key, { url: p.downloadUrl, expected: p.digests, label: p.label });
  }
  const keys = [...requests.keys()];
  const bodies = await context.downloader.fetchAll([...requests.values()]);
  const bytesByKey = new Map(keys.map((key, i) => [key, bodies[i] as Buffer]));
  // What a tarball carries is read once, however many locations install it.
  const carriedByKey = new Map<string, CarriedPackage[]>();
  for (const p of planned) {
    if (p.locked.fromRegistry) continue;
    const key = downloadKey(p);
    let carried = carriedByKey.get(key);
    if (carried === undefined) {
      carried = (await readTarballManifests(graph.path, bytesByKey.get(key) as Buffer, `${p.locked.location} (${p.downloadUrl})`)).carried;
      carriedByKey.set(key, carried);
    }
    refuseUnlistedCarried(graph.path, p, carried, locations);
  }

  const files = new FileSet();
  const time = indexTime(env);
  const packuments = new Map<string, { registry: string; versions: Map<string, Record<string, unknown>> }>();
  const packages = new Map<string, VendoredPackage>();
  for (const p of planned) {
    const sri = p.digests.map(sriFromDigest).join(' ');
    const bytes = bytesByKey.get(downloadKey(p)) as Buffer;
    for (const digest of p.digests) files.add(contentPath(digest), bytes);
    if (p.requestUrl !== null) files.add(...indexEntry(p.requestUrl, sri, bytes.length, time, {}, 'application/octet-stream'));
    if (p.packumentVersion !== null) addToPackument(packuments, p, sri, config);
    const id = `${p.locked.name}@${p.locked.version}\n${sri}`;
    if (!packages.has(id)) {
      packages.set(id, {
        ecosystem: graph.ecosystem,
        name: p.locked.name,
        version: p.locked.version,
        source: p.downloadUrl,
        checksum: sri,
        path: contentPath(p.digests[0] as Digest),
      });
    }
  }
  for (const git of packedGits) {
    const digest: Digest = { algorithm: 'sha512', hex: createHash('sha512').update(git.tarball).digest('hex') };
    const sri = sriFromDigest(digest);
    files.add(contentPath(digest), git.tarball);
    files.add(...indexEntry(git.requestUrl, sri, git.tarball.length, time, {}, 'application/x-gzip'));
    const id = `${git.locked.name}@${git.source}`;
    if (!packages.has(id)) {
      packages.set(id, { ecosystem: graph.ecosystem, name: git.locked.name, version: git.locked.version, source: git.source, checksum: sri, path: contentPath(digest) });
    }
  }
  for (const [name, packument] of [...packuments].sort(([a], [b]) => compare(a, b))) {
    const versions = Object.fromEntries([...packument.versions].sort(([a], [b]) => compare(a, b)));
    const body = Buffer.from(JSON.stringify({ name, 'dist-tags': {}, versions }));
    const digest: Digest = { algorithm: 'sha512', hex: createHash('sha512').update(body).digest('hex') };
    files.add(contentPath(digest), body);
    files.add(...indexEntry(packumentUrl(packument.registry, name), sriFromDigest(digest), body.length, time, { accept: CORGI_ACCEPT }, 'application/json'));
  }
  // Index keys name the registry: pin it so that a user-level `registry=` cannot move npm away.
  const pinRegistry = !config.registryIsSet && planned.some((p) => p.requestUrl !== null || p.packumentVersion !== null);
  files.add('.npmrc', Buffer.from(npmrcWithLayout(npmrcPath, npmrcText, pinRegistry ? config.registry : null, context.warn)));

  const sortedPackages = [...packages.values()].sort(
    (a, b) => compare(a.name, b.name) || compare(a.version, b.version) || compare(a.checksum ?? '', b.checksum ?? ''),
  );
  return { files: files.sorted(), packages: sortedPackages };
};

// ---- the lockfile's tarballs --------------------------------------------------------------------

type JsonRecord = Record<string, unknown>;

const isRecord = (value: unknown): value is JsonRecord => typeof value === 'object' && value !== null && !Array.isArray(value);
const stringField = (entry: JsonRecord, key: string): string | null => (typeof entry[key] === 'string' ? entry[key] : null);

/**
 * Every tarball the lockfile installs. The graph does not keep `resolved` or bundling, which
 * decide what npm fetches, so the entries are read again here. Bundled packages come inside
 * their parent's tarball; links, workspaces and `file:` packages are the application's source.
 */
function readLockedTarballs(graph: DependencyGraph, projectDir: string): { lockfileVersion: number; tarballs: LockedTarball[]; gits: LockedGitPackage[]; locations: ReadonlyMap<string, string> } {
  const path = graph.path;
  let doc: unknown;
  try {
    doc = JSON.parse(readTextInput(path));
  } catch (err) {
    if (err instanceof StowageError) throw err;
    throw new InputError(path, `invalid JSON: ${errorMessage(err)}`);
  }
  if (!isRecord(doc)) throw new InputError(path, 'expected a JSON object at the top level');
  const lockfileVersion = typeof doc.lockfileVersion === 'number' ? doc.lockfileVersion : 1;
  const reader = new TarballReader(path, projectDir);
  // As npm (and the lockfile reader): `packages` when the file has one, whatever its version.
  if (isRecord(doc.packages)) reader.readPackages(doc.packages);
  else if (isRecord(doc.dependencies)) reader.readTree(doc.dependencies);
  return { lockfileVersion, tarballs: reader.tarballs, gits: reader.gits, locations: reader.locations };
}

/**
 * A tarball by URL is whatever its server sends, and npm installs every package it carries under a
 * `node_modules/` of its own, bundled or not (npm 11.19: `npm ci` of a lockfile naming only
 * carrier installs node_modules/carrier/node_modules/minimist 1.2.0 from carrier's http tarball).
 * The audit saw only what the lockfile lists (a bundle's `inBundle` entries): a carried package it
 * does not list was not audited, and the archive is refused. (A registry's tarball is the version
 * the registry published, and the advisories are about that version.)
 */
function refuseUnlistedCarried(lockfile: string, planned: PlannedTarball, carried: readonly CarriedPackage[], locations: ReadonlyMap<string, string>): void {
  const { location } = planned.locked;
  // Listed at another version, it is not what the audit saw either: npm installs the bundle as the
  // tarball holds it (npm 11.19: an inBundle entry saying minimist 1.2.6, the tarball's 1.2.0 installed).
  refuseCarried(lockfile, location, planned.downloadUrl, carried.filter((c) => locations.get(`${location}/${c.path}`) !== c.version));
}

/** One download per distinct tarball: its URL and the digests it is verified by. */
function downloadKey(p: PlannedTarball): string {
  return `${p.downloadUrl}\n${p.digests.map(sriFromDigest).join(' ')}`;
}

/** The version a lockfile entry gives, as a carried package's (CarriedPackage) is read: '' for none. */
function listedVersion(entry: unknown): string {
  return carriedVersion(isRecord(entry) ? entry.version : undefined);
}

class TarballReader {
  readonly tarballs: LockedTarball[] = [];
  /** Every location the lockfile lists (bundled ones included), with the version it gives ('' for none). */
  readonly locations = new Map<string, string>();
  readonly gits: LockedGitPackage[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly path: string,
    private readonly projectDir: string,
  ) {}

  /** v2/v3 `packages`: one entry per installed location. */
  readPackages(packages: JsonRecord): void {
    for (const location in packages) {
      const entry = packages[location];
      this.locations.set(location, listedVersion(entry));
      if (location === '' || !isRecord(entry) || entry.link === true) continue;
      if (!location.startsWith('node_modules/') && !location.includes('/node_modules/')) {
        this.requireInsideProject(location, location);
        continue;
      }
      if (entry.inBundle === true) continue;
      const name = stringField(entry, 'name') ?? location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const version = stringField(entry, 'version');
      const resolved = this.resolvedAsRead(location, stringField(entry, 'resolved'));
      const integrity = stringField(entry, 'integrity');
      if (resolved === null) {
        // npm leaves an optional or peer dependency it did not install without a version.
        if (version === null) continue;
        this.add({ location, name, version, resolved, integrity, fromRegistry: true });
        continue;
      }
      this.addResolved(location, name, version ?? '', resolved, integrity);
    }
  }

  /**
   * v1 `dependencies`: nested; "version" holds the specifier of anything not from a registry.
   * Walked with a stack of the levels still to read, not by recursion: any depth is a lockfile.
   */
  readTree(top: JsonRecord): void {
    const levels: Array<{ tree: JsonRecord; parent: string }> = [{ tree: top, parent: '' }];
    for (let level = levels.pop(); level !== undefined; level = levels.pop()) {
      // Children are read after their level, in reverse so that the first is read first.
      const nested = this.readTreeLevel(level.tree, level.parent);
      for (let i = nested.length - 1; i >= 0; i--) levels.push(nested[i] as { tree: JsonRecord; parent: string });
    }
  }

  /** The entries of one `dependencies` map; the maps they nest, to be read next. */
  private readTreeLevel(tree: JsonRecord, parent: string): Array<{ tree: JsonRecord; parent: string }> {
    const nested: Array<{ tree: JsonRecord; parent: string }> = [];
    for (const key in tree) {
      const entry = tree[key];
      const location = parent === '' ? `node_modules/${key}` : `${parent}/node_modules/${key}`;
      this.locations.set(location, listedVersion(entry));
      if (!isRecord(entry)) continue;
      if (entry.bundled === true) {
        // Inside its bundler's tarball, with all it nests: listed, never fetched.
        this.listBundled(entry, location);
        continue;
      }
      const raw = lowerCaseScheme(stringField(entry, 'version') ?? '');
      const resolved = this.resolvedAsRead(location, stringField(entry, 'resolved'));
      const integrity = stringField(entry, 'integrity');
      const spec = parseNpmSpecifier(raw);
      switch (spec.type) {
        case 'range':
          this.add({ location, name: key, version: raw, resolved, integrity, fromRegistry: true });
          break;
        case 'alias':
          this.add({ location, name: spec.name, version: spec.range, resolved, integrity, fromRegistry: true });
          break;
        case 'tarball':
          // npm 5.0 wrote a registry tarball's URL as the version: it is that version.
          this.addResolved(location, key, registryTarballVersion(key, spec.url) ?? '', resolved ?? spec.url, integrity);
          break;
        case 'git':
          // v1 writes the specifier as the version: the package's own version is not recorded.
          this.addGit({ location, name: key, version: '', resolved: resolved ?? raw });
          break;
        case 'file':
        case 'link':
          this.requireInsideProject(location, spec.path);
          break;
        default:
          throw new InputError(this.path, `${location}: "${raw}" is not something npm installs from a package-lock`);
      }
      if (isRecord(entry.dependencies)) nested.push({ tree: entry.dependencies, parent: location });
    }
    return nested;
  }

  /** The locations a v1 bundled entry nests, at any depth (a stack, not recursion). */
  private listBundled(entry: JsonRecord, location: string): void {
    const todo: Array<{ entry: JsonRecord; location: string }> = [{ entry, location }];
    for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
      const deps = next.entry.dependencies;
      if (!isRecord(deps)) continue;
      for (const key in deps) {
        const child = deps[key];
        const at = `${next.location}/node_modules/${key}`;
        this.locations.set(at, listedVersion(child));
        if (isRecord(child)) todo.push({ entry: child, location: at });
      }
    }
  }

  /** `resolved` as npm reads it (the lockfile reader has refused what npm would misread). */
  private resolvedAsRead(location: string, resolved: string | null): string | null {
    if (resolved === null || resolved === '') return null;
    const read = readResolved(resolved);
    if ('problem' in read) throw new InputError(this.path, `${location}: "resolved" ${JSON.stringify(resolved)} ${read.problem}`);
    return read.value;
  }

  private addResolved(location: string, name: string, version: string, resolved: string, integrity: string | null): void {
    if (resolved.startsWith('https://') || resolved.startsWith('http://')) {
      const fromRegistry = npmSourceFromResolved(resolved).kind === 'registry';
      this.add({ location, name, version, resolved, integrity, fromRegistry });
      return;
    }
    const source = npmSourceFromResolved(resolved);
    if (source.kind === 'git') {
      this.addGit({ location, name, version, resolved });
      return;
    }
    // `file:` tarballs and directories, and link targets: files of the application.
    this.requireInsideProject(location, resolved.startsWith('file:') ? resolved.slice(5) : resolved);
  }

  /** The same tarball at several locations is fetched and filed once. */
  private add(tarball: LockedTarball): void {
    const key = [tarball.name, tarball.version, tarball.resolved, tarball.integrity].join('\n');
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.tarballs.push(tarball);
  }

  private addGit(git: LockedGitPackage): void {
    const key = ['git', git.name, git.version, git.resolved].join('\n');
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.gits.push(git);
  }

  private requireInsideProject(location: string, path: string): void {
    requireInsideProject(this.path, this.projectDir, location, path);
  }
}

// ---- where each tarball comes from ------------------------------------------------------------

async function planTarball(
  locked: LockedTarball,
  lockfileVersion: number,
  config: NpmRegistryConfig,
  client: PackumentClient,
  context: VendorContext,
): Promise<PlannedTarball> {
  const label = locked.version === '' ? `${locked.name} (${locked.location})` : `${locked.name}@${locked.version}`;
  const lockDigests = locked.integrity === null ? [] : digestsFromSri(locked.integrity);
  if (locked.integrity !== null && lockDigests.length === 0) {
    throw new StowageError(`${label}: integrity ${JSON.stringify(locked.integrity)} has no sha512, sha256 or sha1 digest`);
  }
  // npm reads the packument for an entry without `resolved`, and for every package of a v1
  // lockfile (to fill in what v1 does not record).
  const needsPackument = locked.fromRegistry && (locked.resolved === null || lockfileVersion < 2);
  let registryVersion: RegistryVersion | null = null;
  if (needsPackument || lockDigests.length === 0) {
    if (!locked.fromRegistry) {
      throw new StowageError(`${label}: the lockfile records no integrity for ${locked.resolved}, and no registry vouches for it`);
    }
    const registry = locked.resolved === null ? registryFor(config, locked.name) : registryBase(locked.resolved);
    registryVersion = await client.version(registry, locked.name, locked.version);
  }

  let digests = lockDigests;
  if (digests.length === 0) {
    const fromRegistry = registryVersion?.integrity ? digestsFromSri(registryVersion.integrity) : [];
    if (fromRegistry.length === 0) throw new StowageError(`${label}: neither the lockfile nor the registry gives an integrity to verify it by`);
    context.warn(`${label}: the lockfile records no integrity; verifying against the registry's ${registryVersion?.integrity}`);
    digests = fromRegistry;
  }

  let downloadUrl: string;
  let requestUrl: string | null = null;
  if (locked.resolved === null) {
    const tarball = (registryVersion as RegistryVersion).tarball;
    downloadUrl = checkedUrl(tarball, label);
    requestUrl = requestedTarballUrl(tarball, false, config, locked.name);
  } else {
    downloadUrl = downloadUrlOfResolved(checkedUrl(locked.resolved, label));
    if (lockDigests.length === 0) requestUrl = requestedTarballUrl(locked.resolved, true, config, locked.name);
  }
  return { locked, label, downloadUrl, digests, requestUrl, packumentVersion: needsPackument ? registryVersion : null };
}

/** The registry a registry tarball URL belongs to (placeholder hosts: the public registry). */
function registryBase(resolved: string): string {
  const source = npmSourceFromResolved(downloadUrlOfResolved(resolved));
  return source.url ?? resolved;
}

// ---- packuments ----------------------------------------------------------------------------

/**
 * The fields of a version document npm uses to install it, all fixed at publish time.
 * `deprecated` (changed after publishing) and signatures are left out, so the packument is the
 * same tomorrow; npm only warns from them.
 */
const MANIFEST_FIELDS = [
  'name',
  'version',
  'dependencies',
  'optionalDependencies',
  'peerDependencies',
  'peerDependenciesMeta',
  'bundleDependencies',
  'bundledDependencies',
  'bin',
  'directories',
  'engines',
  'os',
  'cpu',
  'libc',
  'license',
  'funding',
  'hasInstallScript',
  '_hasShrinkwrap',
];

function addToPackument(
  packuments: Map<string, { registry: string; versions: Map<string, Record<string, unknown>> }>,
  p: PlannedTarball,
  sri: string,
  config: NpmRegistryConfig,
): void {
  const found = p.packumentVersion as RegistryVersion;
  let packument = packuments.get(p.locked.name);
  if (packument === undefined) {
    packument = { registry: registryFor(config, p.locked.name), versions: new Map() };
    packuments.set(p.locked.name, packument);
  }
  const manifest: Record<string, unknown> = {};
  for (const field of MANIFEST_FIELDS) {
    if (found.manifest[field] !== undefined) manifest[field] = canonical(found.manifest[field]);
  }
  manifest.name = p.locked.name;
  manifest.version = p.locked.version;
  manifest.dist = { integrity: sri, tarball: found.tarball };
  const known = packument.versions.get(p.locked.version);
  if (known !== undefined && JSON.stringify(known) !== JSON.stringify(manifest)) {
    throw new StowageError(`${p.label}: the lockfile records it twice with different integrity; npm's registry record can hold only one`);
  }
  packument.versions.set(p.locked.version, manifest);
}

/** Object keys sorted, recursively: the same bytes whatever order the registry sent them in. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort(compare)
      .map((key) => [key, canonical(value[key])]),
  );
}

// ---- cacache ---------------------------------------------------------------------------------

/** cacache's content address: `content-v2/<algorithm>/<hex[0:2]>/<hex[2:4]>/<hex[4:]>`. */
function contentPath(digest: Digest): string {
  const { algorithm, hex } = digest;
  return `${NPM_CACACHE_CONTENT_DIR}/${algorithm}/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex.slice(4)}`;
}

/**
 * One make-fetch-happen cache entry, as cacache's index stores it: the bucket is named by the
 * sha256 of the key, each line is `\n<sha1 of the JSON>\t<JSON>`.
 */
function indexEntry(
  url: string,
  integrity: string,
  size: number,
  time: number,
  reqHeaders: Record<string, string>,
  contentType: string,
): [string, Buffer] {
  const key = `make-fetch-happen:request-cache:${url}`;
  const json = JSON.stringify({
    key,
    integrity,
    time,
    size,
    metadata: { time, url, reqHeaders, resHeaders: { 'content-type': contentType }, options: { compress: true } },
  });
  const bucket = createHash('sha256').update(key).digest('hex');
  const line = `\n${createHash('sha1').update(json).digest('hex')}\t${json}`;
  return [`${CACACHE_DIR}/index-v5/${bucket.slice(0, 2)}/${bucket.slice(2, 4)}/${bucket.slice(4)}`, Buffer.from(line)];
}

/** Index entries are stamped with SOURCE_DATE_EPOCH when set, else 0: offline npm never checks. */
function indexTime(env: NodeJS.ProcessEnv): number {
  const epoch = env.SOURCE_DATE_EPOCH;
  return epoch !== undefined && /^\d+$/.test(epoch) ? Number(epoch) * 1000 : 0;
}

// ---- .npmrc ----------------------------------------------------------------------------------

/**
 * A value as ini writes one safely: bare when ini reads it back unchanged, else JSON-quoted
 * (a `;` or `#` would start a comment, quotes would be taken off). Control characters have no
 * place in a setting: refused.
 */
export function npmrcValue(value: string): string {
  if ([...value].some((ch) => ch.charCodeAt(0) < 0x20 || ch === '\u007f')) throw new StowageError(`${JSON.stringify(value)} cannot be written into an .npmrc: it holds a control character`);
  return /^[^\s;#"'\\][^;#"\\]*$/.test(value) && !/\s$/.test(value) ? value : JSON.stringify(value);
}

/**
 * The application's `.npmrc` with npm's cache layout appended (see npmrcWithSettings); the
 * registry is pinned when the cache's index keys name it.
 */
export function npmrcWithLayout(path: string, existing: string | null, pinRegistry: string | null, warn: (message: string) => void): string {
  const settings = [
    '; stowage: install from the vendored npm cache, without the network.',
    `; npm reads a relative cache path from the directory it runs in: run npm here.`,
    `cache=${NPM_CACHE_DIR}`,
    'offline=true',
    '; an offline audit cannot reach the advisory service yet prints "found 0 vulnerabilities".',
    'audit=false',
    'update-notifier=false',
  ];
  if (pinRegistry !== null) settings.push(`registry=${npmrcValue(pinRegistry)}`);
  return npmrcWithSettings(path, existing, OWNED_SETTINGS, settings, warn);
}

// ---- helpers ---------------------------------------------------------------------------------

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
