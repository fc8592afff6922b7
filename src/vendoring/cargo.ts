import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { stringify } from 'smol-toml';
import type { TomlTable, TomlValue } from 'smol-toml';
import { StowageError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import type { Package } from '../core/package.js';
import type { DownloadRequest } from './download.js';
import { readUntrustedTar } from '../core/untrusted-tar.js';
import type { EcosystemVendor, VendorContext } from './vendor-tree.js';
import { CARGO_VENDOR_DIR as VENDOR_DIR, readVendoredCrateManifest, type VendoredPackage } from '../inputs/vendor-layout.js';
import { GitCheckout, type GitTreeEntry } from '../core/git-checkout.js';
import { gitCrateManifest } from '../ecosystems/cargo/git-crate.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { readCargoConfig, readCargoFetchConfig, type CargoConfig } from '../ecosystems/cargo/cargo-config.js';
import { lockfileSource, ProjectRegistries } from '../ecosystems/cargo/registry.js';
import { compareCargoVersions, parseCargoVersion } from '../ecosystems/cargo/version.js';
import { isTomlTable } from '../core/toml-values.js';
import { redactCredentials } from '../core/credentials.js';
import { cargoGitReference, isCratesIoSource, sourceIdentity } from '../ecosystems/cargo/source.js';

/**
 * Cargo's vendor layout, as `cargo vendor` writes it:
 *
 *   vendor/<name>/                 the highest version of each crate
 *   vendor/<name>-<version>/       every other version
 *   vendor/<dir>/.cargo-checksum.json   {"files":{path:sha256},"package":<.crate sha256 | null>}
 *   .cargo/config.toml             crates-io (and each git source) replaced by `vendor`; the
 *                                  project's own settings kept (its `.cargo/config` when Cargo reads that)
 *
 * Registry crates are the `.crate` contents exactly (cargo ≥ 1.89 extracts them directly),
 * verified twice before use: the lockfile checksum must equal the index `cksum`, and the
 * downloaded bytes must hash to it. Git crates are read from the locked commit, found by
 * name in the repository (which may be a workspace), and keep the repository's Cargo.toml:
 * cargo ≥ 1.8x writes a normalized one instead (as `cargo package` does), so a manifest that
 * inherits from its workspace is refused rather than vendored broken. Path and workspace
 * packages are the application's own and are not vendored.
 */

const VENDORED_SOURCES = 'vendored-sources';

/** Cargo's own unpack limit for one crate; past it a `.crate` is a decompression bomb. */
const MAX_CRATE_UNPACKED_BYTES = 512 * 1024 * 1024;
const MAX_CRATE_ENTRIES = 200_000;

/** One crate on its way into `vendor/`. */
interface VendorUnit {
  pkg: Package;
  /** The source as Cargo.lock spells it, without a git `#commit`: the config.toml key. */
  sourceId: string;
  /** The crate's files, relative to its directory. */
  files: ArchiveFile[];
  /** `package` of `.cargo-checksum.json`. */
  checksum: string | null;
}

/**
 * Which files of a crate `cargo vendor` leaves out: git's own files anywhere, which would
 * otherwise change how the vendored tree behaves when committed. (`.cargo-ok` is Cargo's
 * unpack marker; it is dropped while unpacking.)
 */
function isVendoredFile(relativePath: string): boolean {
  const parts = relativePath.split('/');
  const base = parts[parts.length - 1];
  if (base === '.gitignore' || base === '.gitattributes' || base === '.git') return false;
  return !parts.slice(0, -1).includes('.git');
}

function pkgLabel(pkg: Package): string {
  return `${pkg.name} ${pkg.version}`;
}

// ---------------------------------------------------------------------------------------------
// Registry crates

async function vendorRegistryCrates(packages: readonly Package[], config: CargoConfig, context: VendorContext): Promise<VendorUnit[]> {
  if (packages.length === 0) return [];
  const registries = new ProjectRegistries(config);
  const located = packages.map((pkg) => ({ pkg, index: registries.indexOf(pkg) }));

  // The index is consulted only for what must be downloaded: a crate already in the content
  // cache matched the lockfile checksum (and the index cksum) when it was first fetched, so a
  // second run, or a verify on a machine with the cache, needs no network at all.
  const requests = located.map(({ pkg, index }): DownloadRequest => {
    const label = pkgLabel(pkg);
    if (pkg.checksum === null) {
      throw new StowageError(`${label}: Cargo.lock records no checksum for this registry crate; run \`cargo generate-lockfile\` or \`cargo update -p ${pkg.name}\``);
    }
    const lockChecksum = pkg.checksum.toLowerCase();
    const url = async (): Promise<string> => {
      const entry = await index.entry(pkg.name, pkg.version);
      if (entry.cksum !== lockChecksum) {
        throw new StowageError(
          `${label}: the Cargo.lock checksum ${lockChecksum} does not match the checksum ${entry.cksum} ` +
            `that registry \`${index.name}\` (${index.indexUrl}) publishes; refusing to vendor it`,
        );
      }
      if (entry.yanked) context.warn(`${label} is yanked in registry \`${index.name}\`; vendoring the locked version anyway`);
      return index.downloadUrl(pkg.name, pkg.version, entry.cksum);
    };
    return { url, expected: [{ algorithm: 'sha256', hex: lockChecksum }], label };
  });

  const tarballs = await context.downloader.fetchAll(requests);
  const units: VendorUnit[] = [];
  for (const [i, { pkg }] of located.entries()) {
    const label = pkgLabel(pkg);
    const files = await unpackCrate(tarballs[i] as Buffer, pkg, label);
    units.push({ pkg, sourceId: lockfileSource(pkg), files, checksum: (pkg.checksum as string).toLowerCase() });
  }
  return units;
}

/** The files of a `.crate`, relative to its `name-version/` directory, as cargo vendor keeps them. */
async function unpackCrate(bytes: Buffer, pkg: Package, label: string): Promise<ArchiveFile[]> {
  const top = `${pkg.name}-${pkg.version}`;
  // As cargo unpacks it: every entry in `name-version/` (so it cannot overwrite another
  // crate), the last entry for a path winning, as tar-rs writes the file again.
  const entries = await readUntrustedTar(bytes, {
    label: `${label} (.crate)`,
    compression: 'gz',
    maxBytes: MAX_CRATE_UNPACKED_BYTES,
    maxEntries: MAX_CRATE_ENTRIES,
    topDirectory: top,
    stripComponents: 1,
    duplicates: 'as-extracted',
  });
  const files: ArchiveFile[] = [];
  for (const entry of entries) {
    const path = entry.path;
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base === '.cargo-ok') continue;
    if (!isVendoredFile(path)) continue;
    files.push({ path, mode: entry.mode, data: entry.data });
  }
  const manifest = files.find((f) => f.path === 'Cargo.toml');
  if (manifest === undefined) throw new StowageError(`${label}: the .crate has no ${top}/Cargo.toml`);
  // Cargo builds a registry crate only when its Cargo.toml is the package the lockfile locks
  // (cargo 1.95: "failed to find itoa v1.0.2 (registry ...) in path source"), and a directory
  // source offers each vendored crate under its Cargo.toml's name and version: a crate that says
  // it is another package or version would be vendored into an archive that cannot build.
  let crate;
  try {
    crate = readVendoredCrateManifest(manifest.data, `${top}/Cargo.toml`);
  } catch (err) {
    throw new StowageError(`${label} (.crate): ${err instanceof StowageError ? err.line : String(err)}`);
  }
  if (crate.name !== pkg.name || crate.version !== pkg.version) {
    throw new StowageError(`${label} (.crate): ${top}/Cargo.toml is ${crate.name} ${crate.version}, not the crate the lockfile locks; cargo refuses to build it`);
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// Git crates

/** The first `key.workspace = true` of a manifest, which only a workspace root can resolve. */
function inheritedKey(manifest: TomlTable): string | null {
  const pkg = manifest.package;
  if (isTomlTable(pkg)) {
    for (const [key, value] of Object.entries(pkg)) if (isTomlTable(value) && value.workspace === true) return `package.${key}`;
  }
  if (isTomlTable(manifest.lints) && manifest.lints.workspace === true) return 'lints';
  const depTables = (where: string, table: TomlTable): string | null => {
    for (const section of ['dependencies', 'dev-dependencies', 'dev_dependencies', 'build-dependencies', 'build_dependencies']) {
      const deps = table[section];
      if (!isTomlTable(deps)) continue;
      for (const [name, spec] of Object.entries(deps)) if (isTomlTable(spec) && spec.workspace === true) return `${where}${section}.${name}`;
    }
    return null;
  };
  const top = depTables('', manifest);
  if (top) return top;
  if (isTomlTable(manifest.target)) {
    for (const [target, body] of Object.entries(manifest.target)) {
      if (!isTomlTable(body)) continue;
      const found = depTables(`target.${target}.`, body);
      if (found) return found;
    }
  }
  return null;
}

/** A gitignore-style pattern of `package.include` / `package.exclude`, as a path test. */
function globMatcher(pattern: string): (path: string, isDir: boolean) => boolean {
  let p = pattern;
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.slice(0, -1);
  const anchored = p.startsWith('/') || p.slice(0, -1).includes('/');
  if (p.startsWith('/')) p = p.slice(1);
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '*' && p[i + 1] === '*') {
      if (p[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = p.indexOf(']', i + 1);
      if (close === -1) re += '\\[';
      else {
        re += `[${p.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  const regex = new RegExp(anchored ? `^${re}$` : `^(?:.*/)?${re}$`);
  return (path, isDir) => (!dirOnly || isDir) && regex.test(path);
}

/** Cargo's include/exclude: a file is matched when it or any directory above it matches. */
function patternSet(patterns: readonly string[]): (path: string) => boolean {
  const rules = patterns.map((raw) => {
    const negated = raw.startsWith('!');
    return { negated, match: globMatcher(negated ? raw.slice(1) : raw) };
  });
  return (path) => {
    const parts = path.split('/');
    let matched = false;
    for (let depth = 1; depth <= parts.length; depth++) {
      const prefix = parts.slice(0, depth).join('/');
      const isDir = depth < parts.length;
      for (const rule of rules) if (rule.match(prefix, isDir)) matched = !rule.negated;
    }
    return matched;
  };
}

function stringList(value: TomlValue | undefined): string[] | null {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : null;
}

async function vendorGitCrates(packages: readonly Package[], context: VendorContext): Promise<VendorUnit[]> {
  if (packages.length === 0) return [];
  const bySource = new Map<string, Package[]>();
  for (const pkg of packages) {
    const key = `${pkg.source.url ?? ''}#${pkg.source.rev ?? ''}`;
    let list = bySource.get(key);
    if (!list) bySource.set(key, (list = []));
    list.push(pkg);
  }
  const workDir = await mkdtemp(join(tmpdir(), 'stowage-git-'));
  const units: VendorUnit[] = [];
  try {
    for (const group of bySource.values()) {
      const first = group[0] as Package;
      const withQuery = first.source.url ?? '';
      const query = withQuery.indexOf('?');
      const url = query === -1 ? withQuery : withQuery.slice(0, query);
      const rev = first.source.rev ?? '';
      const checkout = await GitCheckout.fetch(url, rev, `${pkgLabel(first)} (git ${url})`, 'Cargo.lock', context, workDir);
      try {
        for (const pkg of group) units.push(await gitUnit(checkout, pkg, url));
      } finally {
        await checkout.remove();
      }
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  return units;
}

/** One crate of a git checkout: found by its Cargo.toml name (the repository may be a workspace). */
async function gitUnit(checkout: GitCheckout, pkg: Package, url: string): Promise<VendorUnit> {
  const label = `${pkgLabel(pkg)} (git ${url}#${checkout.rev.slice(0, 8)})`;
  const found = await gitCrateManifest(checkout, pkg, label);
  const inherited = inheritedKey(found.manifest);
  if (inherited) {
    throw new StowageError(
      `${label}: ${found.path} inherits \`${inherited}\` from its workspace, which a vendored copy cannot resolve; stowage does not rewrite such manifests yet`,
    );
  }

  const root = found.dir === '' ? '' : `${found.dir}/`;
  const inPackage = [...checkout.tree.values()].filter((e) => e.path.startsWith(root)).map((e) => ({ ...e, rel: e.path.slice(root.length) }));
  // Directories holding a Cargo.toml of their own are other packages: not part of this one.
  const nested = inPackage
    .filter((e) => e.rel !== 'Cargo.toml' && e.rel.endsWith('/Cargo.toml'))
    .map((e) => e.rel.slice(0, -'Cargo.toml'.length));
  const pkgTable = found.manifest.package as TomlTable;
  const include = stringList(pkgTable.include);
  const exclude = stringList(pkgTable.exclude);
  const included = include ? patternSet(include) : null;
  const excluded = exclude ? patternSet(exclude) : null;

  const chosen: { rel: string; entry: GitTreeEntry }[] = [];
  for (const e of inPackage) {
    if (nested.some((dir) => e.rel.startsWith(dir))) continue;
    if (!isVendoredFile(e.rel)) continue;
    if (e.rel !== 'Cargo.toml') {
      if (included && !included(e.rel)) continue;
      if (!included && excluded?.(e.rel)) continue;
    }
    if (e.type === 'commit') throw new StowageError(`${label}: ${e.path} is a git submodule, which stowage does not vendor`);
    let target: GitTreeEntry = e;
    if (e.mode === '120000') target = await resolveSymlink(checkout, e, label);
    chosen.push({ rel: e.rel, entry: target });
  }
  const blobs = await checkout.blobs(chosen.map((c) => c.entry.object));
  const files: ArchiveFile[] = chosen.map(({ rel, entry }) => ({
    path: rel,
    mode: entry.mode === '100755' ? 0o755 : 0o644,
    data: Buffer.from(blobs.get(entry.object) as Buffer),
  }));
  return { pkg, sourceId: lockfileSource(pkg), files, checksum: null };
}

/** Cargo copies what a symlink points at; only targets inside the repository are followed. */
async function resolveSymlink(checkout: GitCheckout, link: GitTreeEntry, label: string): Promise<GitTreeEntry> {
  let current = link;
  for (let hops = 0; hops < 16 && current.mode === '120000'; hops++) {
    const target = (await checkout.blobs([current.object])).get(current.object)?.toString('utf8') ?? '';
    const parts = current.path.split('/').slice(0, -1);
    for (const part of target.split('/')) {
      if (part === '..') {
        if (parts.pop() === undefined) throw new StowageError(`${label}: symlink ${link.path} points outside the repository`);
      } else if (part !== '.' && part !== '') parts.push(part);
    }
    if (target.startsWith('/')) throw new StowageError(`${label}: symlink ${link.path} points outside the repository`);
    const next = checkout.tree.get(parts.join('/'));
    if (!next || next.type !== 'blob') throw new StowageError(`${label}: symlink ${link.path} does not point at a file in the repository`);
    current = next;
  }
  if (current.mode === '120000') throw new StowageError(`${label}: symlink ${link.path} loops`);
  return current;
}

// ---------------------------------------------------------------------------------------------
// Layout

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function compareVersions(a: string, b: string): number {
  let parsedA;
  let parsedB;
  try {
    parsedA = parseCargoVersion(a);
    parsedB = parseCargoVersion(b);
  } catch {
    return compareBytes(a, b);
  }
  // Cargo's semver orders build metadata last (rustsec's order ignores it).
  return compareCargoVersions(parsedA, parsedB) || compareBytes(parsedA.build, parsedB.build);
}

/** `.cargo-checksum.json` as serde_json writes it: compact, keys in byte order. */
function cargoChecksumJson(files: readonly ArchiveFile[], packageChecksum: string | null): Buffer {
  const sorted = [...files].sort((a, b) => compareBytes(a.path, b.path));
  const map: Record<string, string> = {};
  for (const f of sorted) map[f.path] = digestHex(f.data);
  return Buffer.from(JSON.stringify({ files: map, package: packageChecksum }), 'utf8');
}

function digestHex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

function tomlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function tomlKey(key: string): string {
  return BARE_KEY.test(key) ? key : tomlString(key);
}

/** The git reference a source id names in its query (`?branch=`, `?tag=`, `?rev=`). */
function gitReference(sourceId: string): { git: string; kind?: 'branch' | 'tag' | 'rev'; value?: string } {
  const withoutScheme = sourceId.slice('git+'.length);
  const q = withoutScheme.indexOf('?');
  if (q === -1) return { git: withoutScheme };
  const git = withoutScheme.slice(0, q);
  // The reference Cargo reads from the lockfile's source (the last one given, `ref` a branch):
  // a table naming another is not the lockfile's source, and cargo then fetches it, which an
  // offline build cannot (cargo 1.95 keeps `?branch=main&rev=C` under --locked and builds rev C).
  const reference = cargoGitReference(new URLSearchParams(withoutScheme.slice(q + 1)));
  return reference === null ? { git } : { git, ...reference };
}

/**
 * The `.cargo/config.toml` `cargo vendor` prints: each vendored source replaced by the directory.
 * crates.io, however the lockfile spells it, is `[source.crates-io]`; any other source gets one
 * table, keyed by its first spelling: Cargo refuses two tables that define the same source.
 * `settings` (the project's own configuration, see shippedCargoSettings) come first, unchanged.
 */
export function vendorConfigToml(sourceIds: Iterable<string>, settings: TomlTable = {}): string {
  const tables = new Map<string, [string, string][]>();
  const defined = new Set<string>();
  for (const id of sourceIds) {
    const identity = sourceIdentity(id);
    if (defined.has(identity)) continue;
    defined.add(identity);
    if (isCratesIoSource(id)) {
      tables.set('crates-io', [['replace-with', VENDORED_SOURCES]]);
    } else if (id.startsWith('git+')) {
      const ref = gitReference(id);
      const rows: [string, string][] = [['git', ref.git]];
      if (ref.kind && ref.value !== undefined) rows.push([ref.kind, ref.value]);
      rows.push(['replace-with', VENDORED_SOURCES]);
      tables.set(id, rows);
    } else {
      tables.set(id, [
        ['registry', id.startsWith('registry+') ? id.slice('registry+'.length) : id],
        ['replace-with', VENDORED_SOURCES],
      ]);
    }
  }
  tables.set(VENDORED_SOURCES, [['directory', VENDOR_DIR]]);
  const names = [...tables.keys()].sort(compareBytes);
  const sources = names
    .map((name) => [`[source.${tomlKey(name)}]`, ...(tables.get(name) ?? []).map(([k, v]) => `${tomlKey(k)} = ${tomlString(v)}`)].join('\n') + '\n')
    .join('\n');
  return Object.keys(settings).length === 0 ? sources : `${stringify(settings)}\n${sources}`;
}

/**
 * What of the project's own Cargo configuration the archive's keeps. Extracting the archive
 * replaces the project's file, so its other settings (`[build] rustflags`, `[env]`, `[target]`,
 * `[profile]`…) travel in it, or the offline build would not be the project's build. Its
 * `[source]` tables give way to the vendored sources; registry tokens are credentials and are
 * never shipped (comments are not kept).
 */
function shippedCargoSettings(config: CargoConfig, warn: (message: string) => void): TomlTable {
  const kept: TomlTable = {};
  const removed: string[] = [];
  const withoutToken = (table: TomlTable, where: string): TomlTable => {
    if (table.token === undefined) return table;
    removed.push(`${where}.token`);
    return Object.fromEntries(Object.entries(table).filter(([key]) => key !== 'token'));
  };
  for (const [key, value] of Object.entries(config.settings)) {
    if (key === 'source') continue;
    if (key === 'registry' && isTomlTable(value)) {
      kept[key] = withoutToken(value, 'registry');
    } else if (key === 'registries' && isTomlTable(value)) {
      kept[key] = Object.fromEntries(
        Object.entries(value).map(([name, body]) => [name, isTomlTable(body) ? withoutToken(body, `registries.${name}`) : body]),
      );
    } else {
      kept[key] = value;
    }
  }
  if (removed.length > 0) {
    warn(`${config.path ?? '.cargo/config.toml'}: credentials (${removed.join(', ')}) left out of the archive's Cargo configuration; an offline build needs none`);
  }
  return kept;
}

/** Where the archive's configuration goes: the file Cargo reads (it prefers a legacy `.cargo/config`). */
function vendorConfigPath(config: CargoConfig): string {
  return config.path !== null && basename(config.path) === 'config' ? '.cargo/config' : '.cargo/config.toml';
}

/** As the manifest (shipped in the SRPM) records it: credentials in the URL redacted. */
function sourceDescription(pkg: Package): string {
  if (pkg.source.kind === 'git') return redactCredentials(`${pkg.source.url ?? ''}#${pkg.source.rev ?? ''}`);
  return redactCredentials(pkg.source.url ?? '');
}

export const vendorCargo: EcosystemVendor = async (graph: DependencyGraph, context: VendorContext) => {
  const registry: Package[] = [];
  const git: Package[] = [];
  const seen = new Set<string>();
  for (const pkg of graph.packages) {
    const key = `${pkg.name}\0${pkg.version}\0${lockfileSource(pkg)}\0${pkg.source.rev ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    switch (pkg.source.kind) {
      case 'registry':
        registry.push(pkg);
        break;
      case 'git':
        git.push(pkg);
        break;
      case 'path': {
        // The application's own sources travel with it; a path out of its directory does not.
        const where = pkg.source.url ?? '';
        if (where === '..' || where.startsWith('../') || where.startsWith('/')) {
          context.warn(`${pkgLabel(pkg)}: path dependency ${where} lies outside the application directory and is not vendored`);
        }
        break;
      }
      case 'workspace':
        break;
      default:
        throw new StowageError(`${pkgLabel(pkg)}: source ${pkg.source.url ?? pkg.source.kind} is not a registry, git or path source`, graph.path);
    }
  }

  const config = readCargoConfig(context.projectDir);
  const units = [...(await vendorRegistryCrates(registry, readCargoFetchConfig(context.projectDir), context)), ...(await vendorGitCrates(git, context))];

  // cargo vendor: the highest version of a name gets the bare directory, the others a suffix.
  const byName = new Map<string, VendorUnit[]>();
  for (const unit of units) {
    let list = byName.get(unit.pkg.name);
    if (!list) byName.set(unit.pkg.name, (list = []));
    const twin = list.find((u) => u.pkg.version === unit.pkg.version);
    if (twin) {
      throw new StowageError(
        `found duplicate version of package \`${unit.pkg.name} v${unit.pkg.version}\` vendored from two sources: ${twin.sourceId} and ${unit.sourceId}`,
        graph.path,
      );
    }
    list.push(unit);
  }

  const files: ArchiveFile[] = [];
  const packages: VendoredPackage[] = [];
  const sourceIds = new Set<string>();
  for (const [name, list] of byName) {
    list.sort((a, b) => compareVersions(a.pkg.version, b.pkg.version));
    const highest = (list[list.length - 1] as VendorUnit).pkg.version;
    for (const unit of list) {
      const dir = `${VENDOR_DIR}/${unit.pkg.version === highest ? name : `${name}-${unit.pkg.version}`}`;
      for (const f of unit.files) files.push({ path: `${dir}/${f.path}`, mode: f.mode, data: f.data });
      files.push({ path: `${dir}/.cargo-checksum.json`, mode: 0o644, data: cargoChecksumJson(unit.files, unit.checksum) });
      packages.push({
        ecosystem: 'cargo',
        name,
        version: unit.pkg.version,
        source: sourceDescription(unit.pkg),
        checksum: unit.checksum,
        path: dir,
      });
      sourceIds.add(unit.sourceId);
    }
  }
  const configText = vendorConfigToml([...sourceIds].sort(compareBytes), shippedCargoSettings(config, context.warn));
  files.push({ path: vendorConfigPath(config), mode: 0o644, data: Buffer.from(configText, 'utf8') });
  files.sort((a, b) => compareBytes(a.path, b.path));
  packages.sort((a, b) => compareBytes(a.name, b.name) || compareVersions(a.version, b.version) || compareBytes(a.source, b.source));
  return { files, packages };
};
