import { posix } from 'node:path';
import { InputError } from '../core/errors.js';
import type { DependencyGraph, Edge, EdgeKind } from '../core/graph.js';
import type { Package } from '../core/package.js';
import { publicRegistrySource } from './inventory.js';
import { compareText } from '../core/compare-text.js';
import { parse as parseSemver } from '../core/semver.js';
import { shortList } from '../core/short-list.js';
import type { TreeLink } from '../core/untrusted-tar.js';

/**
 * Installed npm packages as applications, without a lockfile: each outermost `node_modules`
 * directory of a tree is one application, and every package installed in it is a
 * `node_modules/NAME/package.json` or `node_modules/@SCOPE/NAME/package.json`, nested
 * `node_modules` included, at any depth. Other package.json files (a package's own
 * `lib/package.json`, a test fixture) are not installed packages and are not read.
 *
 * Edges follow node's module resolution: a package's dependency is the nearest
 * `node_modules/NAME` from its own directory up to the root. The application (the root's own
 * package.json, when the tree has it) depends on every top-level package: what is installed is
 * what is audited, whether or not a manifest still asks for it.
 */
export function nodeModulesGraphs(read: ReadonlyMap<string, Buffer>, artifact: string, links: readonly TreeLink[] = [], rooted = false, at = ''): DependencyGraph[] {
  // The tree is itself a node_modules (`stowage audit app/node_modules`): its top-level
  // directories are packages, as node loads them from its parent; read as that parent's.
  const top = at.replace(/\/+$/, '');
  if (posix.basename(top) === 'node_modules' && globalDirOf('x', top) === null) {
    const inside = (path: string): string => `node_modules/${path}`;
    return nodeModulesGraphs(
      new Map([...read].map(([path, data]) => [inside(path), data])),
      artifact,
      links.map((link) => ({ path: inside(link.path), target: link.target })),
      rooted,
      posix.dirname(top),
    );
  }
  const installedLocation = (path: string): InstalledLocation | null => installedLocationIn(path, at);
  const linkedPackageRoot = (path: string): string | null => linkedPackageRootIn(path, at);
  const byRoot = new Map<string, string[]>();
  /** package.json files in packages' own node_modules that name no package and semver version, by root. */
  const unidentifiedByRoot = new Map<string, string[]>();
  const packageJsons = new Map(read);
  // A symbolic link where node looks for a package (`node_modules/NAME`, a scope, a whole
  // `node_modules`): node follows it and loads what it leads to. A link to a package directory
  // elsewhere in the tree (an npm workspace member, `../packages/ws-a`; a package kept outside
  // node_modules) is read there, as the package installed at the link: node resolves that
  // package's own dependencies from where it really is, node_modules the tree's reader walks as
  // well. Any other link (out of the tree, absolute, through another link, to a directory that
  // is not one package) leaves its application partial, never audited as if it held only the
  // packages read.
  const linkedByRoot = new Map<string, string[]>();
  const linkPaths = new Set(links.map((l) => l.path));
  for (const link of links) {
    // A package whose package.json is a link: node reads the file it leads to, so that is the
    // package installed there; a target the tree does not hold leaves the application partial.
    const manifestOf = installedLocation(link.path);
    if (manifestOf !== null) {
      const target = linkTargetInTree(link, linkPaths, rooted);
      const manifest = target === null ? undefined : read.get(target);
      if (manifest !== undefined) packageJsons.set(link.path, manifest);
      else {
        let list = linkedByRoot.get(manifestOf.root);
        if (!list) linkedByRoot.set(manifestOf.root, (list = []));
        list.push(`${link.path} -> ${link.target}`);
      }
      if (!byRoot.has(manifestOf.root)) byRoot.set(manifestOf.root, []);
      continue;
    }
    const root = linkedPackageRoot(link.path);
    if (root === null) continue;
    const target = linkTargetInTree(link, linkPaths, rooted);
    const manifest = target === null ? undefined : read.get(`${target}/package.json`);
    const linkedManifest = `${link.path}/package.json`;
    if (manifest !== undefined && installedLocation(linkedManifest) !== null) {
      // Already this application's (a link between its own node_modules): read where it is.
      if (installedLocation(`${target}/package.json`)?.root !== root) packageJsons.set(linkedManifest, manifest);
      if (!byRoot.has(root)) byRoot.set(root, []);
      continue;
    }
    let list = linkedByRoot.get(root);
    if (!list) linkedByRoot.set(root, (list = []));
    list.push(`${link.path} -> ${link.target}`);
    if (!byRoot.has(root)) byRoot.set(root, []);
  }
  for (const path of packageJsons.keys()) {
    // pnpm installs every package in its virtual store (`node_modules/.pnpm/NAME@VERSION/node_modules/NAME`)
    // and links it into place: passed over, those packages would go unaudited while the rest passes.
    // npm's `install-strategy=linked` and yarn's pnpm linker do the same in `node_modules/.store`,
    // bun's isolated linker (`bun install --linker isolated`) in `node_modules/.bun`.
    const store = VIRTUAL_STORE.exec(path);
    if (store !== null) {
      throw new InputError(
        `${artifact}:${store[1]}`,
        store[2] === 'pnpm'
          ? 'a pnpm virtual store: its packages are reached through symbolic links, which stowage does not follow, so it cannot audit them; audit the pnpm-lock.yaml they were installed from'
          : store[2] === 'bun'
            ? "bun's isolated install: its packages are reached through symbolic links, which stowage does not follow, so it cannot audit them; audit the bun.lock they were installed from"
            : store[2] === 'deno'
              ? "Deno's node_modules (nodeModulesDir): its packages are reached through symbolic links, which stowage does not follow, so it cannot audit them (nor does it read deno.lock)"
            : "a virtual store (npm's install-strategy=linked, yarn's pnpm linker): its packages are reached through symbolic links, which stowage does not follow, so it cannot audit them; audit the package-lock.json or yarn.lock they were installed from",
      );
    }
    const location = installedLocation(path);
    if (location === null) continue;
    // Among a package's own files, a package.json that is not JSON, names no package or no semver
    // version is no package npm packed (npm pack refuses one), nor one an advisory can name: passed
    // over (resolve 1.1.7's test fixtures), but said: node loads a copy vendored there all the same.
    if (location.inPackageFiles && !isIdentifiable(packageJsons.get(path) as Buffer)) {
      let unnamed = unidentifiedByRoot.get(location.root);
      if (!unnamed) unidentifiedByRoot.set(location.root, (unnamed = []));
      unnamed.push(path);
      continue;
    }
    let list = byRoot.get(location.root);
    if (!list) byRoot.set(location.root, (list = []));
    list.push(location.dir);
  }
  const graphs: DependencyGraph[] = [];
  for (const [root, dirs] of [...byRoot].sort(([a], [b]) => compareText(a, b))) {
    const graph = rootGraph(root, containerOf(root, at), dirs.sort(), packageJsons, artifact);
    const linked = linkedByRoot.get(root);
    if (linked !== undefined) {
      graph.partial = true;
      graph.partialReason = `${linked.length === 1 ? 'a symbolic link' : `${linked.length} symbolic links`} where node loads packages from, not followed, so what node loads through ${linked.length === 1 ? 'it' : 'them'} was not read: ${shortList(linked.sort(compareText))}`;
    }
    const unidentified = unidentifiedByRoot.get(root);
    if (unidentified !== undefined) {
      const one = unidentified.length === 1;
      (graph.warnings ??= []).push(
        `${artifact}: ${one ? 'a package.json' : `${unidentified.length} package.json files`} in a node_modules among an installed package's own files name${one ? 's' : ''} no package at a semver version, so ${one ? 'it is' : 'they are'} NOT audited (test fixtures, or a copy vendored without its version, which node loads all the same): ${shortList(unidentified.sort(compareText))}`,
      );
    }
    graphs.push(graph);
  }
  return graphs;
}

/**
 * Where a link leads inside the tree, or null: one that climbs out of the tree, or passes
 * through another link. An absolute target leads from the tree's root when the tree is a whole
 * root file system (`rooted`: an image, what a package installs), as the kernel resolves it
 * inside the container; in a directory on this machine it names the host's file, unknown here.
 */
function linkTargetInTree(link: TreeLink, linkPaths: ReadonlySet<string>, rooted: boolean): string | null {
  if (link.target.startsWith('/') && !rooted) return null;
  const resolved = link.target.startsWith('/') ? posix.normalize(link.target).replace(/^\/+/, '') : posix.normalize(posix.join(posix.dirname(link.path), link.target));
  if (resolved === '') return null;
  if (resolved === '.' || resolved === '..' || resolved.startsWith('../') || resolved.startsWith('/')) return null;
  const segments = resolved.split('/');
  for (let i = 1; i <= segments.length; i++) if (linkPaths.has(segments.slice(0, i).join('/'))) return null;
  return resolved;
}

/**
 * node's global directories (module.globalPaths), where `require('minimist')` from any script
 * finds `DIR/minimist` when no node_modules holds it:
 * - Debian's (`/usr/share/nodejs`, `/usr/lib/TRIPLET/nodejs`, and older releases'
 *   `/usr/lib/nodejs`): Debian's node is built with them as its `node_relative_path`, and the
 *   `node-minimist` package installs `/usr/share/nodejs/minimist`;
 * - every node's own (Module._initPaths): `$HOME/.node_modules`, `$HOME/.node_libraries` (any
 *   directory so named: a service's HOME may be anywhere) and `PREFIX/lib/node` for a node in
 *   `PREFIX/bin` (`/usr/bin/node`, distributions'; `/usr/local/bin/node`, the official images').
 * Each is a node_modules in all but its name: its packages are `DIR/NAME` and
 * `DIR/@SCOPE/NAME`, nested node_modules below them. One inside a node_modules is some
 * package's own files, not the system's.
 */
const GLOBAL_DIR = /\/(?:usr\/(?:share\/nodejs|lib\/nodejs|lib\/[a-z0-9_]+-linux-[a-z0-9_]+\/nodejs|(?:local\/)?lib\/node)|\.node_(?:modules|libraries))\//;

/**
 * The global directory (GLOBAL_DIR) `path` is inside of, relative to the tree (`''`: the tree
 * itself), or null. `at`: where the tree's root sits in the file system its node runs in (''
 * for an image's or a package's root; a directory's absolute path).
 */
function globalDirOf(path: string, at: string): string | null {
  const full = `${at.replace(/\/+$/, '')}/${path}`;
  const match = GLOBAL_DIR.exec(full);
  if (match === null) return null;
  const end = match.index + match[0].length - 1;
  const top = at.replace(/\/+$/, '').length;
  // Above the tree (a package directory of it given alone), or some package's copy of one.
  if (end < top || full.slice(0, match.index + 1).includes('/node_modules/')) return null;
  return end === top ? '' : full.slice(top + 1, end);
}

/** Where a root's packages are: `ROOT/node_modules`, or a global directory itself. */
function containerOf(root: string, at: string): string {
  if (globalDirOf(`${root}/x`.replace(/^\//, ''), at) === root) return root;
  return root === '' ? 'node_modules' : `${root}/node_modules`;
}

/** `DIR/REST`, where DIR may be the tree's root (''). */
const under = (dir: string, rest: string): string => (dir === '' ? rest : `${dir}/${rest}`);

/**
 * The root whose application a symbolic link at `path` is part of, when node would load a package
 * through it: `ROOT/node_modules` itself, `node_modules/NAME`, `node_modules/@SCOPE`,
 * `node_modules/@SCOPE/NAME`, or a nested package's `node_modules` at any depth (the same below a
 * global directory, or the directory itself). Links elsewhere (`node_modules/.bin/x`, a file
 * inside a package) are none of node's package lookup.
 */
function linkedPackageRootIn(path: string, at: string): string | null {
  const segments = path.split('/');
  const global = globalDirOf(path, at) ?? (globalDirOf(`${path}/x`, at) === path ? path : null);
  let first: number;
  let root: string;
  if (global !== null) {
    root = global;
    first = global === '' ? 0 : global.split('/').length;
    if (first === segments.length) return root;
    // The global directory stands where `node_modules` does.
    segments.splice(first, 0, 'node_modules');
  } else {
    first = segments.indexOf('node_modules');
    if (first < 0) return null;
    root = segments.slice(0, first).join('/');
  }
  let i = first;
  for (;;) {
    i = nextNodeModules(segments, i, i > first);
    if (i < 0) return null;
    const name = segments[i + 1];
    if (name === undefined) return root;
    if (name.startsWith('.')) return null;
    if (name.startsWith('@')) {
      if (i + 2 === segments.length) return root;
      i += 3;
    } else i += 2;
    if (i === segments.length) return root;
    if (i > segments.length) return null;
  }
}

/**
 * Where the next `node_modules` of a package's path is, from segment `i` on: there, or, after a
 * package (`afterPackage`), below any directory of that package's own: node looks for a file's
 * dependencies in the node_modules of its own directory and of each one above it, so
 * `node_modules/foo/lib/node_modules/bar` is what `require('bar')` loads from foo's `lib`
 * (npm publishes and installs it as part of foo's files). -1 when there is none (`lib/package.json`).
 */
function nextNodeModules(segments: readonly string[], i: number, afterPackage: boolean): number {
  if (segments[i] === 'node_modules') return i;
  return afterPackage ? segments.indexOf('node_modules', i) : -1;
}

/** A package.json inside a virtual store (pnpm's `.pnpm`, npm's and yarn's `.store`, bun's `.bun`, Deno's `.deno`), the store's path and its kind. */
const VIRTUAL_STORE = /^((?:.*\/)?node_modules\/\.(pnpm|store|bun|deno))\/[^/]+\/node_modules\/(?:@[^/]+\/)?[^/]+\/package\.json$/;

interface InstalledLocation {
  /** The application's root: the directory holding its node_modules, or a global directory. */
  root: string;
  /** The package's directory. */
  dir: string;
  /**
   * Below a directory of another package's own (`node_modules/foo/lib/node_modules/bar`): part of
   * that package's files as published, where test fixtures are too (resolve 1.1.7 ships
   * `test/subdirs/node_modules/a/package.json`, `{}`).
   */
  inPackageFiles?: true;
}

/**
 * `ROOT/node_modules/(@S/)N(/node_modules/(@S/)N)*\/package.json` -> its root and package
 * directory; `GLOBAL/(@S/)N(/node_modules/(@S/)N)*\/package.json` below a global directory
 * (globalDirOf) -> that directory as the root.
 */
function installedLocationIn(path: string, at: string): InstalledLocation | null {
  const segments = path.split('/');
  if (segments.pop() !== 'package.json') return null;
  const global = globalDirOf(path, at);
  let first: number;
  let root: string;
  if (global !== null) {
    root = global;
    first = global === '' ? 0 : global.split('/').length;
    segments.splice(first, 0, 'node_modules');
  } else {
    first = segments.indexOf('node_modules');
    if (first < 0) return null;
    root = segments.slice(0, first).join('/');
  }
  let i = first;
  let inPackageFiles = false;
  while (i < segments.length) {
    const next = nextNodeModules(segments, i, i > first);
    if (next < 0) return null;
    inPackageFiles ||= next > i;
    i = next;
    const name = segments[i + 1];
    if (name === undefined || name.startsWith('.')) return null;
    i += name.startsWith('@') ? 3 : 2;
    if (i > segments.length) return null;
  }
  if (global !== null) segments.splice(first, 1);
  return { root, dir: segments.join('/'), ...(inPackageFiles ? { inPackageFiles } : {}) };
}

interface Manifest {
  name: string;
  version: string;
  dependencies: Map<string, EdgeKind>;
}

/** Whether the package.json names a package and its semver version, as npm publishes one. */
function isIdentifiable(data: Buffer): boolean {
  try {
    const manifest = readManifest(data, '');
    return manifest.name !== '' && parseSemver(manifest.version) !== null;
  } catch {
    return false;
  }
}

function readManifest(data: Buffer, label: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new InputError(label, `not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InputError(label, 'not a JSON object');
  const doc = json as Record<string, unknown>;
  const dependencies = new Map<string, EdgeKind>();
  // Later kinds win for a name listed twice, as npm reads optional over regular dependencies.
  for (const [field, kind] of [['peerDependencies', 'peer'], ['dependencies', 'normal'], ['optionalDependencies', 'optional']] as const) {
    const value = doc[field];
    if (typeof value !== 'object' || value === null) continue;
    for (const name of Object.keys(value)) dependencies.set(name, kind);
  }
  return { name: typeof doc.name === 'string' ? doc.name : '', version: typeof doc.version === 'string' ? doc.version : '', dependencies };
}

function rootGraph(root: string, where: string, dirs: readonly string[], packageJsons: ReadonlyMap<string, Buffer>, artifact: string): DependencyGraph {
  const path = `${artifact}:${where === '' ? '.' : where}`;
  const packages: Package[] = [];
  const edges: Edge[] = [];
  const manifests = new Map<string, Manifest>();
  for (const dir of dirs) {
    const label = `${artifact}:${dir}/package.json`;
    const manifest = readManifest(packageJsons.get(`${dir}/package.json`) as Buffer, label);
    if (manifest.name === '' || manifest.version === '') throw new InputError(label, 'an installed package without a name or version');
    manifests.set(dir, manifest);
    const nested = `/${dir}`.lastIndexOf('/node_modules/');
    const folder = nested >= `/${where}`.length ? `/${dir}`.slice(nested + '/node_modules/'.length) : dir.slice(where === '' ? 0 : where.length + 1);
    const pkg: Package = { id: dir, ecosystem: 'npm', name: manifest.name, version: manifest.version, source: publicRegistrySource('npm'), checksum: null };
    // Installed under another name than its own: an npm alias (`"x": "npm:y@1"`).
    if (folder !== manifest.name) pkg.alias = folder;
    packages.push(pkg);
  }
  const appManifestData = packageJsons.get(root === '' ? 'package.json' : `${root}/package.json`);
  const app = appManifestData ? readManifest(appManifestData, `${artifact}:${root === '' ? '' : `${root}/`}package.json`) : null;
  const rootId = `${root === '' ? '.' : root} (installed)`;
  packages.unshift({
    id: rootId,
    ecosystem: 'npm',
    name: app?.name || (root.split('/').pop() ?? '') || 'root',
    version: app?.version ?? '',
    source: { kind: 'workspace', url: null, isDefaultRegistry: false },
    checksum: null,
  });
  const topLevel = dirs.filter((d) => !`/${d.slice(where === '' ? 0 : where.length + 1)}`.includes('/node_modules/'));
  for (const dir of topLevel) edges.push({ from: rootId, to: dir, kind: 'normal' });
  const installed = new Set(dirs);
  for (const [dir, manifest] of manifests) {
    for (const [name, kind] of manifest.dependencies) {
      const target = resolveFrom(dir, name, root, where, installed);
      if (target !== null) edges.push({ from: dir, to: target, kind });
    }
  }
  return { ecosystem: 'npm', path, format: 'installed node_modules', packages, edges, roots: [rootId], inventory: 'package.json' };
}

/**
 * Node's lookup: `D/node_modules/NAME` for the package's directory and each directory above it
 * (a package's own `lib/node_modules` included, no `node_modules/node_modules`), up to the root's;
 * below a global directory (`where` is the root itself), the directory last, as node's global paths.
 */
function resolveFrom(dir: string, name: string, root: string, where: string, installed: ReadonlySet<string>): string | null {
  for (let base = dir; ; base = base.includes('/') ? posix.dirname(base) : '') {
    if (base === root) {
      const candidate = where === root ? under(root, name) : under(root, `node_modules/${name}`);
      return installed.has(candidate) ? candidate : null;
    }
    if (base === '') return null;
    if (posix.basename(base) === 'node_modules') continue;
    const candidate = `${base}/node_modules/${name}`;
    if (installed.has(candidate)) return candidate;
  }
}
