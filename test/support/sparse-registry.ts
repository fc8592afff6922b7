import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse } from 'smol-toml';
import type { TomlTable, TomlValue } from 'smol-toml';

/**
 * A Cargo sparse registry on 127.0.0.1 for tests: `config.json`, index files and `.crate`
 * tarballs, built from crate sources on disk (Debian ships real ones under
 * /usr/share/cargo/registry). Every request is recorded, and failures can be staged: a
 * tampered `.crate`, N server errors, a 404.
 */

/** Where Debian's librust-*-dev packages put crate sources. */
export const DEBIAN_CRATES = '/usr/share/cargo/registry';

export interface CrateFile {
  path: string;
  data: Buffer;
  executable?: boolean;
}

/** One published version, as the registry serves it. */
export interface PublishedCrate {
  name: string;
  version: string;
  /** The `.crate` bytes (gzipped tar of `name-version/...`). */
  bytes: Buffer;
  /** sha256 of `bytes`, hex: the index `cksum` and the lockfile `checksum`. */
  cksum: string;
  /** The index line for this version. */
  entry: IndexEntry;
}

export interface IndexDependency {
  name: string;
  req: string;
  features: string[];
  optional: boolean;
  default_features: boolean;
  target: string | null;
  kind: 'normal' | 'dev' | 'build';
  package?: string;
}

export interface IndexEntry {
  name: string;
  vers: string;
  deps: IndexDependency[];
  cksum: string;
  features: Record<string, string[]>;
  features2?: Record<string, string[]>;
  yanked: boolean;
  links: string | null;
  rust_version?: string;
  v: number;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** A ustar header for one regular file; `name` split into prefix/name when over 100 bytes. */
function tarHeader(path: string, size: number, mode: number): Buffer {
  const header = Buffer.alloc(BLOCK, 0);
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(path) > 100) {
    const cut = path.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(path.slice(cut + 1)) > 100) throw new Error(`path too long for ustar: ${path}`);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
  }
  header.write(name, 0, 100, 'utf8');
  header.write(octal(mode, 8), 100, 8, 'ascii');
  header.write(octal(0, 8), 108, 8, 'ascii');
  header.write(octal(0, 8), 116, 8, 'ascii');
  header.write(octal(size, 12), 124, 12, 'ascii');
  header.write(octal(0, 12), 136, 12, 'ascii');
  header.write('        ', 148, 8, 'ascii');
  header.write('0', 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return header;
}

/** A deterministic gzipped tarball of regular files, in the order given. */
export function tarGz(files: readonly { path: string; data: Buffer; mode: number }[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    parts.push(tarHeader(file.path, file.data.length, file.mode), file.data);
    const pad = (BLOCK - (file.data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return gzipSync(Buffer.concat(parts), { level: 9 });
}

/** A `.crate` as `cargo package` lays it out: every file under `name-version/`, sorted. */
export function buildCrate(name: string, version: string, files: readonly CrateFile[]): Buffer {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return tarGz(sorted.map((f) => ({ path: `${name}-${version}/${f.path}`, data: f.data, mode: f.executable ? 0o755 : 0o644 })));
}

/**
 * The files of a crate source directory as a registry would have packaged them. Debian's
 * additions (`debian/`, its empty `.cargo-checksum.json`) are left out; `Cargo.toml.orig` is
 * added, as crates.io tarballs carry it.
 */
export function crateFilesFromDirectory(dir: string): CrateFile[] {
  const files: CrateFile[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(dir, rel)).sort()) {
      const relPath = rel ? `${rel}/${entry}` : entry;
      if (relPath === 'debian' || relPath === '.cargo-checksum.json') continue;
      const st = lstatSync(join(dir, relPath));
      if (st.isDirectory()) walk(relPath);
      else if (st.isFile()) files.push({ path: relPath, data: readFileSync(join(dir, relPath)), executable: (st.mode & 0o111) !== 0 });
    }
  };
  walk('');
  const manifest = files.find((f) => f.path === 'Cargo.toml');
  if (!manifest) throw new Error(`${dir}: no Cargo.toml`);
  if (!files.some((f) => f.path === 'Cargo.toml.orig')) files.push({ path: 'Cargo.toml.orig', data: manifest.data });
  return files;
}

function table(value: TomlValue | undefined): TomlTable | undefined {
  return value !== undefined && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) ? (value as TomlTable) : undefined;
}

function dependencies(section: TomlValue | undefined, kind: IndexDependency['kind'], target: string | null): IndexDependency[] {
  const deps: IndexDependency[] = [];
  for (const [key, spec] of Object.entries(table(section) ?? {})) {
    if (typeof spec === 'string') {
      deps.push({ name: key, req: spec, features: [], optional: false, default_features: true, target, kind });
      continue;
    }
    const t = table(spec) ?? {};
    const dep: IndexDependency = {
      name: key,
      req: typeof t.version === 'string' ? t.version : '*',
      features: Array.isArray(t.features) ? t.features.map(String) : [],
      optional: t.optional === true,
      default_features: t['default-features'] !== false && t.default_features !== false,
      target,
      kind,
    };
    if (typeof t.package === 'string') dep.package = t.package;
    deps.push(dep);
  }
  return deps;
}

/** The index line for a crate, from its (normalized) Cargo.toml, as crates.io derives it. */
export function indexEntryFromManifest(manifestText: string, cksum: string): IndexEntry {
  const doc = parse(manifestText);
  const pkg = table(doc.package);
  if (!pkg || typeof pkg.name !== 'string' || typeof pkg.version !== 'string') throw new Error('manifest without package name/version');
  const deps: IndexDependency[] = [];
  const sections = (t: TomlTable, target: string | null): void => {
    deps.push(...dependencies(t.dependencies, 'normal', target));
    deps.push(...dependencies(t['dev-dependencies'] ?? t.dev_dependencies, 'dev', target));
    deps.push(...dependencies(t['build-dependencies'] ?? t.build_dependencies, 'build', target));
  };
  sections(doc, null);
  for (const [target, body] of Object.entries(table(doc.target) ?? {})) sections(table(body) ?? {}, target);
  deps.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const features: Record<string, string[]> = {};
  const features2: Record<string, string[]> = {};
  for (const [feature, enables] of Object.entries(table(doc.features) ?? {})) {
    const list = Array.isArray(enables) ? enables.map(String) : [];
    // Index format v2 keeps the `dep:` / `?/` syntax apart, where older Cargo cannot see it.
    if (list.some((f) => f.startsWith('dep:') || f.includes('?/'))) features2[feature] = list;
    else features[feature] = list;
  }
  const entry: IndexEntry = {
    name: pkg.name,
    vers: pkg.version,
    deps,
    cksum,
    features,
    yanked: false,
    links: typeof pkg.links === 'string' ? pkg.links : null,
    v: Object.keys(features2).length > 0 ? 2 : 1,
  };
  if (entry.v === 2) entry.features2 = features2;
  if (typeof pkg['rust-version'] === 'string') entry.rust_version = pkg['rust-version'];
  return entry;
}

export function publishCrate(files: readonly CrateFile[]): PublishedCrate {
  const manifest = files.find((f) => f.path === 'Cargo.toml');
  if (!manifest) throw new Error('crate without Cargo.toml');
  const pkg = table(parse(manifest.data.toString('utf8')).package);
  const name = String(pkg?.name);
  const version = String(pkg?.version);
  const bytes = buildCrate(name, version, files);
  const cksum = createHash('sha256').update(bytes).digest('hex');
  return { name, version, bytes, cksum, entry: indexEntryFromManifest(manifest.data.toString('utf8'), cksum) };
}

/** A crate Debian ships, by directory name (`itoa-1.0.1`); throws when the package is missing. */
export function debianCrate(dirName: string, tweak?: (files: CrateFile[]) => void): PublishedCrate {
  const dir = join(DEBIAN_CRATES, dirName);
  if (!existsSync(join(dir, 'Cargo.toml'))) {
    throw new Error(`${dir} is missing: install Debian's librust-${dirName.replace(/-[0-9].*$/, '')}-dev`);
  }
  const files = crateFilesFromDirectory(dir);
  tweak?.(files);
  return publishCrate(files);
}

/** The index directory of a crate name, case kept (1, 2, 3 and 4+ letter rules). */
function prefixOf(name: string): string {
  if (name.length <= 2) return `${name.length}`;
  if (name.length === 3) return `3/${name[0]}`;
  return `${name.slice(0, 2)}/${name.slice(2, 4)}`;
}

/** The sparse index path of a crate name: lowercased, under its prefix. */
function indexPath(name: string): string {
  const n = name.toLowerCase();
  return `${prefixOf(n)}/${n}`;
}

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
}

export interface SparseRegistryOptions {
  /** The `dl` of config.json, relative to the server's origin; default: no markers (`/api/v1/crates`). */
  dl?: string;
}

export class SparseRegistry {
  readonly requests: RecordedRequest[] = [];
  private readonly crates = new Map<string, PublishedCrate>();
  private readonly failures = new Map<string, { status: number; remaining: number }>();
  private readonly replacements = new Map<string, Buffer>();
  private readonly indexOverrides = new Map<string, string>();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
    private readonly options: SparseRegistryOptions,
    crates: readonly PublishedCrate[],
  ) {
    for (const c of crates) this.crates.set(`${c.name}@${c.version}`, c);
  }

  static async start(crates: readonly PublishedCrate[], options: SparseRegistryOptions = {}): Promise<SparseRegistry> {
    const holder: { registry?: SparseRegistry } = {};
    const server = createServer((req, res) => holder.registry?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.registry = new SparseRegistry(server, `http://127.0.0.1:${port}`, options, crates);
    return holder.registry;
  }

  /** The sparse index base, as `.cargo/config.toml` names it (without `sparse+`). */
  get indexUrl(): string {
    return `${this.origin}/index/`;
  }

  get published(): PublishedCrate[] {
    return [...this.crates.values()];
  }

  crate(name: string, version: string): PublishedCrate {
    const found = this.crates.get(`${name}@${version}`);
    if (!found) throw new Error(`no crate ${name} ${version} in the test registry`);
    return found;
  }

  /** The path a `.crate` is downloaded from under the default `dl`. */
  static downloadPath(name: string, version: string): string {
    return `/api/v1/crates/${name}/${version}/download`;
  }

  /** Requests for `.crate` files so far. */
  get crateDownloads(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.endsWith('/download') || r.path.endsWith('.crate'));
  }

  /** The next `times` requests for `path` answer `status`. */
  failNext(path: string, status: number, times = 1): void {
    this.failures.set(path, { status, remaining: times });
  }

  /** Serves `bytes` instead of the published `.crate` (the index keeps the true cksum). */
  tamper(name: string, version: string, bytes: Buffer): void {
    this.replacements.set(`${name}@${version}`, bytes);
  }

  /** Publishes `cksum` in the index for this version instead of the true one. */
  overrideIndexCksum(name: string, version: string, cksum: string): void {
    this.indexOverrides.set(`${name}@${version}`, cksum);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', this.origin).pathname;
    const send = (status: number, body: string | Buffer, type = 'application/octet-stream'): void => {
      this.requests.push({ method: req.method ?? 'GET', path, status });
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const failure = this.failures.get(path);
    if (failure && failure.remaining > 0) {
      failure.remaining--;
      send(failure.status, `staged failure ${failure.status}\n`, 'text/plain');
      return;
    }
    if (path === '/index/config.json') {
      const dl = `${this.origin}${this.options.dl ?? '/api/v1/crates'}`;
      send(200, JSON.stringify({ dl, api: this.origin }), 'application/json');
      return;
    }
    if (path.startsWith('/index/')) {
      const lines = this.published
        .filter((c) => `/index/${indexPath(c.name)}` === path)
        .map((c) => {
          const cksum = this.indexOverrides.get(`${c.name}@${c.version}`) ?? c.cksum;
          return JSON.stringify({ ...c.entry, cksum }) + '\n';
        });
      if (lines.length === 0) send(404, 'not found\n', 'text/plain');
      else send(200, lines.join(''), 'text/plain');
      return;
    }
    const crate = this.findCrate(path);
    if (crate) {
      send(200, this.replacements.get(`${crate.name}@${crate.version}`) ?? crate.bytes);
      return;
    }
    send(404, 'not found\n', 'text/plain');
  }

  private findCrate(path: string): PublishedCrate | undefined {
    for (const c of this.crates.values()) {
      const template = this.options.dl;
      const expected = template
        ? template
            .replaceAll('{crate}', c.name)
            .replaceAll('{version}', c.version)
            .replaceAll('{prefix}', prefixOf(c.name))
            .replaceAll('{lowerprefix}', prefixOf(c.name).toLowerCase())
            .replaceAll('{sha256-checksum}', c.cksum)
        : SparseRegistry.downloadPath(c.name, c.version);
      if (expected === path) return c;
    }
    return undefined;
  }
}
