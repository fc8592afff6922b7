import { createHash } from 'node:crypto';
import { InputError, StowageError, errorMessage } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import type { Ecosystem } from '../core/package.js';
import { valid } from '../core/semver.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { lockfileNameKey } from '../ecosystems/package-names.js';
import {
  MAX_CRATE_MANIFEST_BYTES,
  NPM_CACACHE_CONTENT_DIR,
  YARN_BERRY_CACHE_DIR,
  YARN_MIRROR_DIR,
  isPnpmIndexPath,
  pnpmStoredManifestPath,
  readVendoredCrateManifest,
  readVendoredNpmFile,
  vendoredCrateDir,
  type VendoredPackage,
} from './vendor-layout.js';
import { MANIFEST_PATH } from '../core/archive.js';

/*
 * What a vendor archive vendors, read from the vendored files themselves as cargo and the npm
 * package managers will read them, and checked against the archive's SBOM and manifest:
 *
 * - Cargo: every directory right under `vendor/` holding a Cargo.toml is a crate cargo's
 *   directory source offers, under the name and version its Cargo.toml gives (the directory's
 *   name is not read by cargo);
 * - npm's cache: every tarball in cacache's content (npm finds one by its integrity, whatever
 *   the manifest says); the cache's other content must be JSON (the packuments stowage writes),
 *   never something npm could unpack as a package;
 * - yarn v1's offline mirror: every file in it (yarn finds one by its file name);
 * - yarn berry's cache: every zip in it, its one package under `node_modules/<name>/`;
 * - pnpm's store: every package index, and the package.json it names, which must hash to the
 *   integrity the index records (pnpm trusts a stored file checked after its mtime);
 *
 * each package by its package.json (npm) or Cargo.toml (cargo), and what npm packages bundle
 * (`node_modules/…/package.json` inside their tarball or zip), as their package manager installs
 * them from it. The packages vendored must be the manifest's, path for path, name and version;
 * the SBOM's packages (registry, git and URL packages: what is vendored) must be the manifest's,
 * both ways, except a package the SBOM lists that a vendored package bundles. The first
 * disagreement refuses the archive, in one line naming it.
 */

/** The largest vendored file read whole: an npm tarball or a yarn zip (npm's own cap on a package unpacked). */
const MAX_VENDORED_FILE_BYTES = 512 * 1024 * 1024;
/** The largest pnpm index read: far past any package's. */
const MAX_PNPM_INDEX_BYTES = 64 * 1024 * 1024;

interface NameVersion {
  name: string;
  version: string;
}

/** What one vendored npm file is, as its package manager installs it. */
interface NpmFileRecord {
  /** Null when it holds no package.json. */
  pkg: NameVersion | null;
  bundled: NameVersion[];
  /** sha512 hex of the file: npm's cache holds one tarball under each digest the lockfile records. */
  sha512: string;
}

/** A package.json's name and version, or why it has none. */
function npmIdentity(data: Buffer, where: string): NameVersion {
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new Error(`${where} is not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
  const record = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : {};
  if (typeof record.name !== 'string' || typeof record.version !== 'string') throw new Error(`${where} names no package (a string name and version)`);
  return { name: record.name, version: record.version };
}

/** An npm version as npm records it in a lockfile: node-semver's clean form (`v1.2.3` is 1.2.3). */
function npmVersion(version: string): string {
  return valid(version) ?? version;
}

/** Whether a file's bytes could be nothing npm unpacks: a JSON object, no NUL (every tar holds one). */
function isJsonDocument(data: Buffer): boolean {
  const text = data.subarray(0, 64).toString('latin1').trimStart();
  return text.startsWith('{') && !data.includes(0);
}

/** Where a pnpm index says its package's package.json is stored, or null when it names none. */
function pnpmIndexedManifest(index: ArchiveFile): string | null {
  try {
    return pnpmStoredManifestPath(index.path, new Map([[index.path, index]]));
  } catch (err) {
    throw new Error(`${index.path} is not a pnpm index: ${errorMessage(err)}`, { cause: err });
  }
}

function directChild(path: string, dir: string): boolean {
  return path.startsWith(`${dir}/`) && !path.slice(dir.length + 1).includes('/');
}

/** The vendored files of one archive, read as they inflate: a record of each, never the file. */
export class VendoredContents {
  /** Crate directory -> what its Cargo.toml says. */
  readonly crates = new Map<string, NameVersion>();
  /** Path -> an npm package's file (npm's cache, yarn's mirror and cache). */
  readonly npmFiles = new Map<string, NpmFileRecord>();
  /** pnpm index path -> where the store holds the package.json it names (null: it names none). */
  private readonly pnpmManifestAt = new Map<string, string | null>();
  /** Stored package.json path -> its package, read in the second pass. */
  private readonly pnpmManifests = new Map<string, NameVersion>();

  constructor(private readonly label: string) {}

  private refuse(message: string): InputError {
    return new InputError(this.label, message);
  }

  /** Whether a file of the archive is read: what a package manager installs packages from. */
  wants(path: string): boolean {
    return (
      vendoredCrateDir(path) !== null ||
      path.startsWith(`${NPM_CACACHE_CONTENT_DIR}/`) ||
      directChild(path, YARN_MIRROR_DIR) ||
      (directChild(path, YARN_BERRY_CACHE_DIR) && path.endsWith('.zip')) ||
      isPnpmIndexPath(path)
    );
  }

  maxBytes(path: string): number {
    if (vendoredCrateDir(path) !== null) return MAX_CRATE_MANIFEST_BYTES;
    if (isPnpmIndexPath(path)) return MAX_PNPM_INDEX_BYTES;
    return MAX_VENDORED_FILE_BYTES;
  }

  async add(file: ArchiveFile): Promise<void> {
    const { path, data } = file;
    const crateDir = vendoredCrateDir(path);
    try {
      if (crateDir !== null) {
        const crate = readVendoredCrateManifest(data, path);
        this.crates.set(crateDir, { name: crate.name, version: crate.version });
      } else if (isPnpmIndexPath(path)) {
        this.pnpmManifestAt.set(path, pnpmIndexedManifest(file));
      } else {
        if (path.startsWith(`${NPM_CACACHE_CONTENT_DIR}/`) && data[0] !== 0x1f && isJsonDocument(data)) return;
        const read = await readVendoredNpmFile(path, data, path, null);
        const bundled: NameVersion[] = [];
        for (const [inside, manifest] of read.bundled) bundled.push(npmIdentity(manifest, `${path}: ${inside}`));
        this.npmFiles.set(path, {
          pkg: read.manifest === null ? null : npmIdentity(read.manifest, `${path}: package.json`),
          bundled,
          sha512: createHash('sha512').update(data).digest('hex'),
        });
      }
    } catch (err) {
      throw this.refuse(err instanceof StowageError ? err.line : errorMessage(err));
    }
  }

  /** The stored package.json of every pnpm index read: what the second pass reads. */
  pnpmManifestPaths(): Set<string> {
    return new Set([...this.pnpmManifestAt.values()].filter((at): at is string => at !== null));
  }

  /** A package.json of the pnpm store: it must hash to its name (the integrity its index records), as pnpm would check it. */
  addPnpmManifest(file: ArchiveFile): void {
    const hex = createHash('sha512').update(file.data).digest('hex');
    const named = file.path.replace(/-exec$/, '').split('/').slice(-2).join('');
    if (hex !== named) throw this.refuse(`${file.path} does not hash to its name (sha512 ${hex.slice(0, 16)}…): the pnpm store was altered`);
    try {
      this.pnpmManifests.set(file.path, npmIdentity(file.data, `${file.path} (package.json)`));
    } catch (err) {
      throw this.refuse(errorMessage(err));
    }
  }

  /** The package a pnpm index installs, or why none can be told. */
  pnpmPackage(indexPath: string): NameVersion | string {
    if (!this.pnpmManifestAt.has(indexPath)) return 'which the archive does not hold';
    const at = this.pnpmManifestAt.get(indexPath) ?? null;
    if (at === null) return 'whose index names no package.json';
    return this.pnpmManifests.get(at) ?? `whose index names ${at}, which the archive does not hold`;
  }

  pnpmIndexPaths(): string[] {
    return [...this.pnpmManifestAt.keys()];
  }
}

/** Ecosystems compared as the audit compares names (cargo's `-`/`_` and case, npm's case). */
function key(ecosystem: Ecosystem, name: string, version: string): string {
  const folded = ecosystem === 'npm' ? name.toLowerCase() : lockfileNameKey(ecosystem, name);
  return `${ecosystem}\0${folded}\0${ecosystem === 'npm' ? npmVersion(version) : version}`;
}

function said(ecosystem: Ecosystem, name: string, version: string): string {
  return ecosystem === 'npm' ? `${name}@${version}` : `${name} ${version}`;
}

/** What the SBOM lists that is vendored: packages of a registry, a git repository or a URL (not a file: tarball of the application's). */
function sbomPackages(graphs: readonly DependencyGraph[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const graph of graphs) {
    for (const pkg of graph.packages) {
      if (pkg.source.kind !== 'registry' && pkg.source.kind !== 'git' && pkg.source.kind !== 'other') continue;
      // An npm package from a file: tarball (and what that tarball carries) is the application's
      // own file, not vendored: stowage's SBOM gives it no purl, so it reads back without a URL.
      if (pkg.source.kind === 'other' && pkg.source.url === null) continue;
      const k = key(pkg.ecosystem, pkg.name, pkg.version);
      if (!out.has(k)) out.set(k, said(pkg.ecosystem, pkg.name, pkg.version));
    }
  }
  return out;
}

/**
 * Refuses the archive (InputError naming it, exit 2) at the first disagreement between what it
 * vendors, its manifest's package list and the SBOM's packages.
 */
export function checkVendoredContents(label: string, graphs: readonly DependencyGraph[], listed: readonly VendoredPackage[], contents: VendoredContents): void {
  const refuse = (message: string): InputError => new InputError(label, message);
  const sbom = sbomPackages(graphs);

  // What the npm packages listed bundle: the SBOM may list those too (a package-lock's inBundle entries).
  const bundled = new Set<string>();
  for (const pkg of listed) {
    for (const b of contents.npmFiles.get(pkg.path)?.bundled ?? []) bundled.add(key('npm', b.name, b.version));
  }

  // The manifest and the SBOM: the same packages, both ways.
  const manifestKeys = new Set<string>();
  for (const pkg of listed) {
    const k = key(pkg.ecosystem, pkg.name, pkg.version);
    manifestKeys.add(k);
    if (!sbom.has(k)) throw refuse(`${MANIFEST_PATH} lists ${said(pkg.ecosystem, pkg.name, pkg.version)} (${pkg.path}), which the SBOM does not`);
  }
  for (const [k, what] of sbom) {
    if (!manifestKeys.has(k) && !bundled.has(k)) throw refuse(`the SBOM lists ${what}, which ${MANIFEST_PATH} does not list and no vendored package bundles`);
  }

  // What is vendored at each path the manifest lists is what it says (and so what the SBOM says).
  const listedPaths = new Set<string>();
  const listedDigests = new Set<string>();
  for (const pkg of listed) {
    listedPaths.add(pkg.path);
    const found = vendoredAt(pkg, contents);
    if (typeof found === 'string') throw refuse(`${MANIFEST_PATH} lists ${said(pkg.ecosystem, pkg.name, pkg.version)} at ${pkg.path}, ${found}`);
    const { where, is } = found;
    const sameName = is.name === pkg.name;
    const sameVersion = pkg.ecosystem === 'npm' ? npmVersion(is.version) === npmVersion(pkg.version) : is.version === pkg.version;
    if (!sameName || !sameVersion) {
      throw refuse(`${where} is ${said(pkg.ecosystem, is.name, is.version)}, the SBOM says ${sameName ? pkg.version : said(pkg.ecosystem, pkg.name, pkg.version)}`);
    }
    const digest = contents.npmFiles.get(pkg.path)?.sha512;
    if (digest !== undefined) listedDigests.add(digest);
  }

  // Nothing vendored that the manifest does not list: a package manager would install it all the same.
  const unlisted = (where: string, is: NameVersion | null, ecosystem: Ecosystem): InputError =>
    refuse(`${where} is ${is === null ? 'a package without a package.json' : said(ecosystem, is.name, is.version)}, which the SBOM does not list`);
  for (const [dir, crate] of contents.crates) {
    if (!listedPaths.has(dir)) throw unlisted(`${dir}/Cargo.toml`, crate, 'cargo');
  }
  for (const [path, record] of contents.npmFiles) {
    if (listedPaths.has(path) || listedDigests.has(record.sha512)) continue;
    throw unlisted(path, record.pkg, 'npm');
  }
  for (const path of contents.pnpmIndexPaths()) {
    if (listedPaths.has(path)) continue;
    const is = contents.pnpmPackage(path);
    throw unlisted(path, typeof is === 'string' ? null : is, 'npm');
  }
}

/** The package vendored at a listed package's path, and the file that says so; or why there is none. */
function vendoredAt(pkg: VendoredPackage, contents: VendoredContents): { where: string; is: NameVersion } | string {
  if (pkg.ecosystem === 'cargo') {
    const where = `${pkg.path}/Cargo.toml`;
    if (vendoredCrateDir(where) !== pkg.path) return 'which is no crate directory of vendor/';
    const is = contents.crates.get(pkg.path);
    return is === undefined ? `which holds no ${where}` : { where, is };
  }
  if (isPnpmIndexPath(pkg.path)) {
    const is = contents.pnpmPackage(pkg.path);
    return typeof is === 'string' ? is : { where: `${pkg.path} (its package.json)`, is };
  }
  const record = contents.npmFiles.get(pkg.path);
  if (record === undefined) return 'which the archive does not hold where a package manager reads packages';
  return record.pkg === null ? 'which holds no package.json' : { where: pkg.path, is: record.pkg };
}

