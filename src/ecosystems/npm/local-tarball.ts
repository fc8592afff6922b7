import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as semver from '../../core/semver.js';
import { InputError, errorMessage } from '../../core/errors.js';
import type { DependencyGraph } from '../../core/graph.js';
import type { Package } from '../../core/package.js';

/** Real package tarballs are far smaller; one past this is refused, not left unread (npm installs it all the same). */
const MAX_TARBALL_BYTES = 512 * 1024 * 1024;

/**
 * npm (and yarn) install a `file:` tarball's contents whatever the lockfile entry says of it:
 * npm 11 installs lodash 4.17.4 from `file:lodash-4.17.4.tgz` under an entry that says
 * 4.17.21. A tarball present in the project is read, and its package.json is the package: the
 * name must be the entry's, and so must the version when the entry records one (v1 records the
 * specifier instead: the tarball's version is taken). A tarball that is absent is left to the
 * audit's warning about packages not from a registry.
 */
export async function readLocalTarballs(graph: DependencyGraph, recordFile?: (path: string, bytes: Buffer) => void): Promise<void> {
  const base = dirname(resolve(graph.path));
  for (const pkg of graph.packages) {
    const path = localTarballPath(pkg);
    if (path === null) continue;
    const full = resolve(base, path);
    const st = statSync(full, { throwIfNoEntry: false });
    if (st === undefined || !st.isFile()) continue;
    const label = `file:${path}`;
    if (st.size > MAX_TARBALL_BYTES) {
      throw new InputError(graph.path, `${label}: the tarball is ${st.size} bytes, over ${MAX_TARBALL_BYTES}: not read, so which package npm installs from it is unknown`);
    }
    const manifest = await tarballManifest(graph.path, full, label, recordFile);
    const problem = (what: string): never => {
      throw new InputError(graph.path, `entry ${pkg.alias ?? pkg.name} (${label}): ${what}; npm installs what the tarball holds`);
    };
    if (manifest.name !== pkg.name) problem(`the tarball holds ${manifest.name}, not ${pkg.name}`);
    if (semver.parse(pkg.version) === null) pkg.version = manifest.version;
    else if (pkg.version !== manifest.version) problem(`the lockfile says version ${pkg.version} but the tarball holds ${manifest.name}@${manifest.version}`);
    if (INSTALLS_CARRIED_PACKAGES.test(graph.format)) addCarriedPackages(graph, pkg, label, manifest.carried);
  }
}

/**
 * Lockfile formats whose manager installs the packages a tarball carries under its own
 * `node_modules/`, declared as bundled or not, and node loads them from the package's code.
 * Checked with `file:foo-1.0.0.tgz` holding node_modules/minimist 1.2.5, no bundleDependencies:
 * npm 11.19.1 (`npm ci` of the lockfile it wrote, naming foo alone), yarn 1.22.22 and pnpm
 * 9.15.9 all install node_modules/foo/node_modules/minimist 1.2.5; yarn 4.9.2 leaves it out.
 */
const INSTALLS_CARRIED_PACKAGES = /^(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock v1|pnpm-lock\.yaml)/;

/**
 * The packages a local tarball carries under a `node_modules/` of its own, as packages of the
 * graph that `pkg` depends on, installed wherever it is (its flags): the one the lockfile lists
 * when it lists that very name and version, else a package of its own, matched by name and
 * version as a tarball's are. One whose package.json gives no semantic version is added without
 * one: the audit names it as not audited when advisories exist for its name (refused unless
 * partial inventories are allowed), as it does a git package without a version.
 */
function addCarriedPackages(graph: DependencyGraph, pkg: Package, label: string, carried: readonly CarriedPackage[]): void {
  // Indexed once: a tarball may carry hundreds of thousands of manifests, and a search of the
  // graph for each made reading it quadratic (32,000 took minutes).
  const listedByKey = new Map<string, Package>();
  for (const p of graph.packages) {
    if (p.ecosystem === 'npm' && p.alias === undefined && !listedByKey.has(`${p.name}@${p.version}`)) listedByKey.set(`${p.name}@${p.version}`, p);
  }
  const ids = new Set(graph.packages.map((p) => p.id));
  const targets = new Set(graph.edges.filter((e) => e.from === pkg.id).map((e) => e.to));
  for (const { path, name, version } of carried) {
    const listed = version === '' ? undefined : listedByKey.get(`${name}@${version}`);
    const to = listed?.id ?? `${name}@${version} (${label}#${path})`;
    if (listed === undefined && !ids.has(to)) {
      const added: Package = { id: to, ecosystem: 'npm', name, version, source: { kind: 'other', url: `${label}#${path}`, isDefaultRegistry: false }, checksum: null };
      if (pkg.flags !== undefined) added.flags = { ...pkg.flags };
      graph.packages.push(added);
      ids.add(to);
      if (version !== '' && !listedByKey.has(`${name}@${version}`)) listedByKey.set(`${name}@${version}`, added);
    }
    if (!targets.has(to)) {
      graph.edges.push({ from: pkg.id, to, kind: 'normal' });
      targets.add(to);
    }
  }
}

/**
 * A package a tarball holds under a `node_modules/` directory of its own: its directory there, its
 * package.json's name (else the directory's: node finds it by the directory) and version ('' when
 * it gives no semantic version).
 */
export interface CarriedPackage {
  path: string;
  name: string;
  version: string;
}

/** `…node_modules/NAME/package.json` or `…node_modules/@SCOPE/NAME/package.json`, at any depth: where node finds a package. */
const CARRIED_MANIFEST = /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/@][^/]*\/package\.json$/;

/** The project-relative path of a `file:` tarball package, without yarn's `#<hash>`; else null. */
function localTarballPath(pkg: Package): string | null {
  const url = pkg.source.url;
  if (pkg.ecosystem !== 'npm' || pkg.source.kind !== 'other' || url === null || !url.startsWith('file:')) return null;
  const path = url.slice('file:'.length).replace(/#[^/]*$/, '');
  return /\.(?:tgz|tar\.gz|tar)$/i.test(path) ? path : null;
}

/** `recordFile`: told the tarball's bytes (the fleet keeps them with the revision: its package.json decides the version audited). */
async function tarballManifest(
  lockfile: string,
  full: string,
  label: string,
  recordFile: ((path: string, bytes: Buffer) => void) | undefined,
): Promise<{ name: string; version: string; carried: CarriedPackage[] }> {
  const bytes = readFileSync(full);
  recordFile?.(full, bytes);
  const { manifest: file, carried } = await readTarballManifests(lockfile, bytes, label);
  if (file === undefined) throw new InputError(lockfile, `${label}: the tarball holds no package.json, so npm cannot install it`);
  let doc: unknown;
  try {
    doc = JSON.parse(file.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new InputError(lockfile, `${label}: the tarball's package.json is not valid JSON: ${errorMessage(err)}`);
  }
  const record = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : {};
  const { name, version } = record;
  if (typeof name !== 'string' || typeof version !== 'string' || semver.parse(version) === null) {
    throw new InputError(lockfile, `${label}: the tarball's package.json has no name and semantic version`);
  }
  return { name, version, carried };
}

/**
 * A package tarball's package.json and the packages it carries under a `node_modules/` of its own,
 * read as npm extracts it (one directory down), with npm's caps; `lockfile` and `label` name it in errors.
 */
export async function readTarballManifests(lockfile: string, bytes: Buffer, label: string): Promise<{ manifest: Buffer | undefined; carried: CarriedPackage[] }> {
  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  // Loaded only when a tarball is read: the tar reader pulls in tar-stream and the native zstd
  // binding, which a warm audit of an ordinary lockfile must not pay for.
  const { MAX_NPM_TARBALL_BYTES, MAX_NPM_TARBALL_ENTRIES, readUntrustedTree } = await import('../../core/untrusted-tar.js');
  let files;
  try {
    // With npm's caps, as a vendor archive's tarballs are read, and only the manifests held:
    // every other file is counted as it inflates, so a bomb costs no memory.
    ({ files } = await readUntrustedTree(bytes, {
      label,
      compression: gzipped ? 'gz' : 'none',
      maxBytes: MAX_NPM_TARBALL_BYTES,
      maxEntries: MAX_NPM_TARBALL_ENTRIES,
      // npm extracts a package's tarball one directory down, whatever that directory is called.
      stripComponents: 1,
      duplicates: 'as-extracted',
      keep: (path) => path === 'package.json' || CARRIED_MANIFEST.test(path),
      maxKeptFileBytes: MAX_NPM_TARBALL_BYTES,
      refuseLinks: true,
    }));
  } catch (err) {
    throw new InputError(lockfile, `${label}: cannot read the tarball: ${errorMessage(err)}`);
  }
  return { manifest: files.find((f) => f.path === 'package.json')?.data, carried: carriedPackages(files) };
}

/** The packages a package's files (paths from its top, as npm extracts them) carry under a `node_modules/` of their own. */
export function carriedPackages(files: readonly { path: string; data: Buffer }[]): CarriedPackage[] {
  return files.filter((f) => CARRIED_MANIFEST.test(f.path)).map((f) => carriedPackage(f.path.slice(0, -'/package.json'.length), f.data));
}

function carriedPackage(path: string, data: Buffer): CarriedPackage {
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    doc = null;
  }
  const record = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : {};
  const directory = /(?:@[^/]+\/)?[^/]+$/.exec(path)?.[0] ?? path;
  const name = typeof record.name === 'string' && record.name !== '' ? record.name : directory;
  return { path, name, version: carriedVersion(record.version) };
}

/** A `version` as a carried package's is read (and a lockfile's entry compared with it): a SemVer string, else ''. */
export function carriedVersion(version: unknown): string {
  return typeof version === 'string' && semver.parse(version) !== null ? version : '';
}
