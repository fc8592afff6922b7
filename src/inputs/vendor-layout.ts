import { looksLikeMachineCode } from './binary/object-file.js';
import { parse, type TomlTable } from 'smol-toml';
import { StowageError, errorMessage } from '../core/errors.js';
import type { Ecosystem } from '../core/package.js';
import { digestsFromSri } from '../core/digest.js';
import { isTomlTable } from '../core/toml-values.js';
import { MAX_NPM_TARBALL_BYTES, MAX_NPM_TARBALL_ENTRIES, readUntrustedTar, readUntrustedTree, type ArchiveFile, type UntrustedTarOptions } from '../core/untrusted-tar.js';
import { readZipEntries } from '../advisories/zip.js';

/*
 * Where `stowage vendor` lays each ecosystem's packages out in a vendor archive, and how one
 * vendored package is read back as its package manager installs it. One home for these rules:
 * src/vendoring writes the layout from them, and the audit of an archive (src/inputs) reads it
 * back from them to check that what is vendored is what the archive's SBOM says.
 */

/** A vendored package, as the archive's manifest lists it. */
export interface VendoredPackage {
  ecosystem: Ecosystem;
  name: string;
  version: string;
  /** Where it came from: registry URL, git URL#rev, path. */
  source: string;
  /** The lockfile's checksum (Cargo sha256 hex, npm SRI), or null (git, path). */
  checksum: string | null;
  /** Where it lies in the archive. */
  path: string;
}

// ---- Cargo: `vendor/<dir>/`, as `cargo vendor` writes it ------------------------------------------

/** The directory source the archive's Cargo configuration replaces every vendored source with. */
export const CARGO_VENDOR_DIR = 'vendor';

/**
 * The crate directory of a path, when the path is its Cargo.toml: what cargo's directory source
 * reads as a crate is every directory right under `vendor/` holding a Cargo.toml, whatever its
 * name, except hidden ones (`.git`); the directory's name is no part of what cargo reads.
 */
export function vendoredCrateDir(path: string): string | null {
  const parts = path.split('/');
  if (parts.length !== 3 || parts[0] !== CARGO_VENDOR_DIR || parts[2] !== 'Cargo.toml') return null;
  return (parts[1] as string).startsWith('.') ? null : `${CARGO_VENDOR_DIR}/${parts[1] as string}`;
}

/** What a vendored crate's Cargo.toml says of it: cargo builds the crate under this name and version. */
export interface VendoredCrateManifest {
  name: string;
  version: string;
  /** `package.license`, as written. */
  license: string | null;
  /** `package.license-file`, as written. */
  licenseFile: string | null;
}

/** The largest Cargo.toml read from a vendor archive: far past any real one. */
export const MAX_CRATE_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * A vendored crate's Cargo.toml (`path` names it in messages), read as cargo reads the package
 * it builds: `[package]` (or the old `[project]`), a version of `0.0.0` when none is given.
 */
export function readVendoredCrateManifest(data: Buffer, path: string): VendoredCrateManifest {
  let doc: TomlTable;
  try {
    doc = parse(data.toString('utf8'));
  } catch (err) {
    throw new StowageError(`${path} is not valid TOML: ${errorMessage(err).split('\n')[0]}`);
  }
  if (doc.package !== undefined && doc.project !== undefined) throw new StowageError(`${path} has both [package] and [project]`);
  const table = doc.package ?? doc.project;
  if (!isTomlTable(table)) throw new StowageError(`${path} has no [package] table`);
  if (typeof table.name !== 'string') throw new StowageError(`${path}: package.name is not a string`);
  if (table.version !== undefined && typeof table.version !== 'string') throw new StowageError(`${path}: package.version is not a string`);
  return {
    name: table.name,
    version: table.version ?? '0.0.0',
    license: typeof table.license === 'string' ? table.license : null,
    licenseFile: typeof table['license-file'] === 'string' ? table['license-file'] : null,
  };
}

// ---- npm: npm's cache, yarn v1's offline mirror, yarn berry's cache, pnpm's store ------------------

/** Where npm's cache lies in the archive, relative to the application's root. */
export const NPM_CACHE_DIR = 'vendor/npm-cache';
/** cacache, inside it: content by digest, index entries by key. */
export const NPM_CACACHE_DIR = `${NPM_CACHE_DIR}/_cacache`;
/** Where cacache keeps content: `<algorithm>/<hex[0:2]>/<hex[2:4]>/<hex[4:]>`. */
export const NPM_CACACHE_CONTENT_DIR = `${NPM_CACACHE_DIR}/content-v2`;
/** yarn v1's offline mirror: one tarball per package, named as yarn names it. */
export const YARN_MIRROR_DIR = 'vendor/yarn-offline-mirror';
/** yarn berry's project cache (`cacheFolder`): one zip per package. */
export const YARN_BERRY_CACHE_DIR = '.yarn/cache';
/** pnpm's store (store format v3). */
export const PNPM_STORE_DIR = 'vendor/pnpm-store';
const PNPM_FILES_DIR = `${PNPM_STORE_DIR}/v3/files`;
/** How a package's index file in the store is named: by its tarball's digest, then this. */
export const PNPM_INDEX_SUFFIX = '-index.json';
/** The index of a package without integrity (a git package), in its directory of the store. */
export const PNPM_GIT_INDEX_NAME = 'integrity.json';

/** pnpm's file name in its store: by the hex digest, `-exec` for executables, `-index.json` for a package's index. */
export function pnpmContentPath(hex: string, kind: ArchiveFile['mode'] | 'index'): string {
  const base = `${PNPM_FILES_DIR}/${hex.slice(0, 2)}/${hex.slice(2)}`;
  return kind === 'index' ? `${base}${PNPM_INDEX_SUFFIX}` : kind === 0o755 ? `${base}-exec` : base;
}

/** Whether a vendored package's path is its index in a pnpm store (by integrity, or a git package's by id). */
export function isPnpmIndexPath(path: string): boolean {
  return path.startsWith(`${PNPM_STORE_DIR}/v3/`) && (path.endsWith(PNPM_INDEX_SUFFIX) || path.endsWith(`/${PNPM_GIT_INDEX_NAME}`));
}

/** A package's package.json in a vendored pnpm store, found through its index (for licences). */
export function pnpmStoredManifest(indexPath: string, byPath: ReadonlyMap<string, ArchiveFile>): Buffer | null {
  const path = pnpmStoredManifestPath(indexPath, byPath);
  return path === null ? null : (byPath.get(path)?.data ?? null);
}

/** Where the store holds the package.json a package's index names, or null when it names none. */
export function pnpmStoredManifestPath(indexPath: string, byPath: ReadonlyMap<string, ArchiveFile>): string | null {
  const index = byPath.get(indexPath);
  if (index === undefined || !isPnpmIndexPath(indexPath)) return null;
  const record = JSON.parse(index.data.toString('utf8')) as { files?: Record<string, { integrity?: string; mode?: number }> };
  const entry = record.files?.['package.json'];
  const digest = entry?.integrity === undefined ? undefined : digestsFromSri(entry.integrity)[0];
  if (digest === undefined) return null;
  return pnpmContentPath(digest.hex, entry?.mode === 0o755 ? 0o755 : 0o644);
}

/**
 * The files of an npm tarball, read as npm extracts it: its one top directory (usually
 * `package/`, whatever it is named) stripped, a repeated path's last entry kept.
 */
export function readNpmTarball(bytes: Buffer, label: string, onEntry?: UntrustedTarOptions['onEntry']): Promise<ArchiveFile[]> {
  return readUntrustedTar(bytes, { ...NPM_TARBALL_READING, label: `${label} (npm tarball)`, ...(onEntry !== undefined ? { onEntry } : {}) });
}

/** How an npm tarball is read: as npm extracts it, with npm's caps. */
const NPM_TARBALL_READING = {
  compression: 'gz',
  maxBytes: MAX_NPM_TARBALL_BYTES,
  maxEntries: MAX_NPM_TARBALL_ENTRIES,
  stripComponents: 1,
  duplicates: 'as-extracted',
} as const;

/**
 * How a plain tar of a package's own files at its top is read (what yarn v1 keeps in its offline
 * mirror for a git dependency: `git archive` of the commit), with the same caps.
 */
const PLAIN_TAR_READING = { ...NPM_TARBALL_READING, compression: 'none', stripComponents: 0 } as const;

/**
 * One vendored npm package as its package manager will install it, whichever layout holds it
 * (npm's cache or yarn v1's mirror: the tarball; pnpm's store: the package's index; yarn berry's
 * cache: the zip, the package under `node_modules/<name>/`): the paths of its files, relative to
 * the package's directory, and the bytes of its package.json (null when it has none).
 */
export interface VendoredNpmPackage {
  paths: string[];
  manifest: Buffer | null;
  /**
   * The files whose first bytes are one machine's code (looksLikeMachineCode: an ELF, PE or
   * Mach-O file, whatever its name, such as clipboardy's `fallbacks/linux/xsel`). Read from npm
   * tarballs and pnpm's store; a yarn berry zip's files are not opened (empty).
   */
  machineCode: string[];
  /**
   * The package.json of each package it bundles (`node_modules/…/package.json` inside it, at any
   * depth), by its path in the package: the package manager installs them from it as they are.
   */
  bundled: Map<string, Buffer>;
}

/** A bundled package's package.json, relative to the package's directory: `node_modules/[@scope/]name/package.json`, at any depth. */
const BUNDLED_MANIFEST = /^(?:node_modules\/(?:@[^/]+\/)?[^/@][^/]*\/)+package\.json$/;
/** The package.json of a package at the top of a yarn berry zip: `node_modules/[@scope/]name/package.json`. */
const ZIP_TOP_MANIFEST = /^node_modules\/((?:@[^/]+\/)?[^/@][^/]*)\/package\.json$/;
/** The directory of the package at the top of a yarn berry zip. */
const ZIP_TOP_DIR = /^node_modules\/(?:@[^/]+\/)?[^/@][^/]*\//;

export async function readVendoredNpmPackage(pkg: VendoredPackage, byPath: ReadonlyMap<string, ArchiveFile>): Promise<VendoredNpmPackage> {
  const label = `${pkg.name}@${pkg.version}`;
  const stored = byPath.get(pkg.path);
  if (stored === undefined) throw new StowageError(`${label}: the vendor tree has no ${pkg.path}`);
  if (isPnpmIndexPath(pkg.path)) {
    const index = JSON.parse(stored.data.toString('utf8')) as { files?: Record<string, unknown> };
    const manifest = pnpmStoredManifest(pkg.path, byPath);
    if (manifest === null) throw new StowageError(`${label}: the vendored pnpm store has no ${pkg.path} with a package.json`);
    return { paths: Object.keys(index.files ?? {}), manifest, bundled: new Map(), machineCode: pnpmMachineCode(index.files ?? {}, byPath) };
  }
  return readVendoredNpmFile(pkg.path, stored.data, label, pkg.name);
}

/**
 * One npm package's file in a vendor archive, but a pnpm store's (which is many files): npm's
 * cache or yarn v1's mirror, a tarball (or, not gzip, the plain tar yarn v1 mirrors a git
 * dependency as); yarn berry's cache, a zip holding the package at `node_modules/<name>/`. For a
 * zip, `name` is the package's when known; null takes the one package the zip holds at its top,
 * and refuses a zip that holds none or several there.
 */
export async function readVendoredNpmFile(path: string, data: Buffer, label: string, name: string | null): Promise<VendoredNpmPackage> {
  if (path.endsWith('.zip')) {
    const paths: string[] = [];
    const tops = new Set<string>();
    const entries = await readZipEntries(
      path,
      (entry) => {
        const top = ZIP_TOP_MANIFEST.exec(entry)?.[1];
        if (top !== undefined) tops.add(top);
        if (!entry.startsWith('node_modules/')) return false;
        paths.push(entry);
        return top !== undefined || BUNDLED_MANIFEST.test(entry.replace(ZIP_TOP_DIR, ''));
      },
      { bytes: data },
    );
    if (name === null) {
      if (tops.size !== 1) throw new StowageError(`${path}: yarn's zip of one package holds ${tops.size === 0 ? 'no package' : `${tops.size} packages (${[...tops].sort().join(', ')})`} under node_modules/`);
      name = [...tops][0] as string;
    }
    const top = `node_modules/${name}/`;
    const texts = new Map(entries.filter((e) => e.name.startsWith(top)).map((e) => [e.name.slice(top.length), Buffer.from(e.text, 'utf8')]));
    const manifest = texts.get('package.json') ?? null;
    texts.delete('package.json');
    for (const inside of texts.keys()) if (!BUNDLED_MANIFEST.test(inside)) texts.delete(inside);
    return { paths: paths.filter((p) => p.startsWith(top)).map((p) => p.slice(top.length)), manifest, bundled: texts, machineCode: [] };
  }
  // Not gzip: yarn v1's mirror file of a git dependency, the commit's files at the top. Else npm
  // tarballs hold one top directory (usually `package/`), whatever it is named. Read as npm
  // extracts it, so the package.json read is the one npm installs (the last, if repeated).
  // Only the package.json files are held (any letter case: two that a case-insensitive file
  // system takes for one must agree); every other file is counted as it inflates.
  const gzip = data[0] === 0x1f && data[1] === 0x8b;
  const paths = new Set<string>();
  const machineCode = new Set<string>();
  const { files } = await readUntrustedTree(data, {
    ...(gzip ? NPM_TARBALL_READING : PLAIN_TAR_READING),
    label: `${label} (${gzip ? 'npm tarball' : 'tar'})`,
    keep: (path, head) => {
      if (looksLikeMachineCode(head)) machineCode.add(path);
      return /(?:^|\/)package\.json$/i.test(path);
    },
    maxKeptFileBytes: MAX_NPM_TARBALL_BYTES,
    refuseLinks: true,
    onEntry: (entry) => {
      if (entry.kind === 'file') paths.add(entry.path);
    },
  });
  return {
    paths: [...paths],
    manifest: files.find((e) => e.path === 'package.json')?.data ?? null,
    bundled: new Map(files.filter((e) => BUNDLED_MANIFEST.test(e.path)).map((e) => [e.path, e.data])),
    machineCode: [...machineCode].filter((p) => paths.has(p)),
  };
}

/** The files of a pnpm index whose stored content is machine code (looksLikeMachineCode). */
function pnpmMachineCode(files: Record<string, unknown>, byPath: ReadonlyMap<string, ArchiveFile>): string[] {
  const found: string[] = [];
  for (const [name, entry] of Object.entries(files)) {
    const { integrity, mode } = (typeof entry === 'object' && entry !== null ? entry : {}) as { integrity?: unknown; mode?: unknown };
    const digest = typeof integrity === 'string' ? digestsFromSri(integrity)[0] : undefined;
    if (digest === undefined) continue;
    const stored = byPath.get(pnpmContentPath(digest.hex, mode === 0o755 ? 0o755 : 0o644));
    if (stored !== undefined && looksLikeMachineCode(stored.data.subarray(0, 8))) found.push(name);
  }
  return found.sort();
}
