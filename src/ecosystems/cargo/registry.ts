import { StowageError } from '../../core/errors.js';
import { httpGet, type HttpOptions } from '../../core/http.js';
import type { Package } from '../../core/package.js';
import { registryLocation, type CargoConfig } from './cargo-config.js';

/**
 * A client for Cargo's sparse registry protocol: `config.json` at the index root (where
 * `.crate` files are downloaded from), and one index file per crate name listing every
 * published version with its `cksum`. Index files carry no digest of their own, so they are
 * fetched with plain retries; the `.crate` bytes go through the verifying Downloader.
 */

/** The index's `config.json`. */
export interface RegistryConfigJson {
  /** Download URL template (or prefix, when it has no markers). */
  dl: string;
  api: string | null;
}

/** One dependency of an index entry: the crate it names (after a rename) and the requirement. */
export interface IndexDependency {
  /** The dependency's crate name (`package` when the manifest renames it, else `name`). */
  crate: string;
  req: string;
  kind: 'normal' | 'dev' | 'build';
}

/** One line of an index file: the fields vendoring and the fix planner need. */
export interface IndexEntry {
  name: string;
  vers: string;
  /** sha256 of the `.crate`, lowercase hex. */
  cksum: string;
  yanked: boolean;
  deps: IndexDependency[];
}

const DL_MARKERS = ['{crate}', '{version}', '{prefix}', '{lowerprefix}', '{sha256-checksum}'] as const;

/**
 * The directory a crate's index file lies in, as Cargo computes it (not lowercased here):
 * `1`, `2`, `3/{first letter}`, or `{first two}/{next two}` letters.
 */
export function cratePrefix(name: string): string {
  const chars = [...name];
  switch (chars.length) {
    case 1:
      return '1';
    case 2:
      return '2';
    case 3:
      return `3/${chars[0]}`;
    default:
      return `${chars.slice(0, 2).join('')}/${chars.slice(2, 4).join('')}`;
  }
}

/** The index file of a crate, relative to the index root: its lowercased name under its prefix. */
export function indexFilePath(name: string): string {
  const lower = name.toLowerCase();
  return `${cratePrefix(lower)}/${lower}`;
}

/**
 * Where a `.crate` is downloaded from: `dl` with its markers replaced, or, when `dl` has none
 * of them, `dl` + `/{crate}/{version}/download` (crates.io's original form). As in Cargo, the
 * suffix is appended verbatim, so a `dl` ending in `/` gives `//`.
 */
export function crateDownloadUrl(dl: string, name: string, version: string, cksum: string): string {
  if (!DL_MARKERS.some((marker) => dl.includes(marker))) return `${dl}/${name}/${version}/download`;
  const prefix = cratePrefix(name);
  return dl
    .replaceAll('{crate}', name)
    .replaceAll('{version}', version)
    .replaceAll('{prefix}', prefix)
    .replaceAll('{lowerprefix}', prefix.toLowerCase())
    .replaceAll('{sha256-checksum}', cksum);
}

export type SparseIndexOptions = HttpOptions;

/** An index file can hold thousands of versions; nothing real comes near this. */
const MAX_INDEX_FILE_BYTES = 64 * 1024 * 1024;
const MAX_CONFIG_BYTES = 1024 * 1024;
/** Cargo reads these statuses as "no such crate". */
const NOT_FOUND = new Set([404, 410, 451]);



/** An index entry's `deps` (absent: none), or null when it is malformed. */
function indexDependencies(value: unknown): IndexDependency[] | null {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return null;
  const deps: IndexDependency[] = [];
  for (const dep of value as unknown[]) {
    if (dep === null || typeof dep !== 'object') return null;
    const { name, req, kind, package: renamed } = dep as Record<string, unknown>;
    if (typeof name !== 'string' || typeof req !== 'string') return null;
    const crate = typeof renamed === 'string' ? renamed : name;
    deps.push({ crate, req, kind: kind === 'dev' || kind === 'build' ? kind : 'normal' });
  }
  return deps;
}

/** A sparse index at one base URL. Each file is fetched at most once per instance. */
export class SparseIndex {
  private configPromise: Promise<RegistryConfigJson> | null = null;
  private readonly files = new Map<string, Promise<IndexEntry[] | null>>();

  /**
   * @param indexUrl the index root, ending in `/` (no `sparse+`)
   * @param name how the user knows the registry, for messages (`crates-io`, a config name)
   */
  constructor(
    readonly indexUrl: string,
    readonly name: string,
    private readonly options: SparseIndexOptions = {},
  ) {}

  /** `config.json`: `dl` (required) and `api`. */
  config(): Promise<RegistryConfigJson> {
    this.configPromise ??= this.loadConfig();
    return this.configPromise;
  }

  /** Every version an index file lists for `name`, or null when the registry has no such crate. */
  versions(name: string): Promise<IndexEntry[] | null> {
    const path = indexFilePath(name);
    let pending = this.files.get(path);
    if (!pending) this.files.set(path, (pending = this.loadIndexFile(path)));
    return pending;
  }

  /** The index entry of one version; a clear error when the crate or the version is not there. */
  async entry(name: string, version: string): Promise<IndexEntry> {
    const entries = await this.versions(name);
    if (entries === null) throw new StowageError(`${name} ${version}: registry \`${this.name}\` (${this.indexUrl}) has no crate named ${name}`);
    const found = entries.find((e) => e.vers === version && e.name.toLowerCase() === name.toLowerCase());
    if (!found) {
      throw new StowageError(`${name} ${version}: registry \`${this.name}\` (${this.indexUrl}) lists no version ${version} of ${name}`);
    }
    return found;
  }

  /** The `.crate` URL of a version, from `config.json`'s `dl`. */
  async downloadUrl(name: string, version: string, cksum: string): Promise<string> {
    return crateDownloadUrl((await this.config()).dl, name, version, cksum);
  }

  private async loadConfig(): Promise<RegistryConfigJson> {
    const url = new URL('config.json', this.indexUrl).href;
    const bytes = await this.fetch(url, MAX_CONFIG_BYTES);
    if (bytes === null) throw new StowageError(`registry \`${this.name}\`: ${url} not found: ${this.indexUrl} is not a sparse index`);
    let doc: unknown;
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new StowageError(`registry \`${this.name}\`: ${url} is not JSON`);
    }
    const record = doc !== null && typeof doc === 'object' ? (doc as Record<string, unknown>) : {};
    if (typeof record.dl !== 'string' || record.dl === '') throw new StowageError(`registry \`${this.name}\`: ${url} has no "dl" download URL`);
    return { dl: record.dl, api: typeof record.api === 'string' ? record.api : null };
  }

  private async loadIndexFile(path: string): Promise<IndexEntry[] | null> {
    const url = new URL(path, this.indexUrl).href;
    const bytes = await this.fetch(url, MAX_INDEX_FILE_BYTES);
    if (bytes === null) return null;
    const entries: IndexEntry[] = [];
    const lines = bytes.toString('utf8').split('\n');
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue;
      let record: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        record = parsed as Record<string, unknown>;
      } catch {
        throw new StowageError(`registry \`${this.name}\`: ${url}:${i + 1}: not a JSON index entry`);
      }
      const { name, vers, cksum, yanked } = record;
      if (typeof name !== 'string' || typeof vers !== 'string' || typeof cksum !== 'string' || !/^[0-9a-fA-F]{64}$/.test(cksum)) {
        throw new StowageError(`registry \`${this.name}\`: ${url}:${i + 1}: index entry without name, vers or a sha256 cksum`);
      }
      const deps = indexDependencies(record.deps);
      if (deps === null) throw new StowageError(`registry \`${this.name}\`: ${url}:${i + 1}: "deps" is not a list of dependencies with a name and a req`);
      entries.push({ name, vers, cksum: cksum.toLowerCase(), yanked: yanked === true, deps });
    }
    return entries;
  }

  /** GET with retries on transient failures; null for "not found". */
  private fetch(url: string, maxBytes: number): Promise<Buffer | null> {
    return httpGet(url, { notFound: NOT_FOUND, maxBytes, failure: (reason) => `registry \`${this.name}\`: cannot fetch ${url}${reason}` }, this.options);
  }

}

/** The source id Cargo.lock wrote for a package (`registry+URL`, `sparse+URL`, `git+URL`). */
export function lockfileSource(pkg: Package): string {
  const url = pkg.source.url ?? '';
  if (pkg.source.kind === 'git') return `git+${url}`;
  return url.startsWith('sparse+') ? url : `registry+${url}`;
}

/**
 * The sparse index each registry crate of a project is read from, after the project's source
 * replacement (`.cargo/config.toml`); one client per index, so each file is fetched once.
 */
export class ProjectRegistries {
  private readonly indexes = new Map<string, SparseIndex>();

  constructor(
    private readonly config: CargoConfig,
    private readonly options: SparseIndexOptions = {},
  ) {}

  indexOf(pkg: Package): SparseIndex {
    const location = registryLocation(this.config, lockfileSource(pkg));
    let index = this.indexes.get(location.indexUrl);
    if (!index) this.indexes.set(location.indexUrl, (index = new SparseIndex(location.indexUrl, location.name, this.options)));
    return index;
  }
}
