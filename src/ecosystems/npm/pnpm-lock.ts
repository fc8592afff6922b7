import { basename, dirname, join, posix, relative as relativePath, resolve as resolvePath } from 'node:path';
import { InputError } from '../../core/errors.js';
import type { LockfileInput } from '../../core/ecosystem.js';
import { outgoingEdges, reachableFrom, type DependencyGraph, type Edge, type EdgeKind } from '../../core/graph.js';
import type { Package, PackageSource } from '../../core/package.js';
import { noteUnlistedBundles, type UnlistedBundle } from './bundled-dependencies.js';
import { shortList } from '../../core/short-list.js';
import { noteStaleLockfile } from './stale-lockfile.js';
import { changedAutoInstallPeers, changedPackageExtensions, changedPnpmfile } from './pnpm-lock-settings.js';
import { blockKeyLines, isRecord, lineOfKey, parseYamlText, pushEdge, readManifestObject } from './lockfile-reading.js';
import { DEFAULT_NPM_REGISTRY, defaultNpmRegistrySource, npmSourceFromResolved, readResolved, registryNameProblem, registryTarballIdentity } from './registry-source.js';

/*
 * pnpm-lock.yaml 5.x, 6.x and 9.x.
 *
 * The YAML is read with @yarnpkg/parsers' parseSyml: js-yaml 4 with the failsafe schema
 * (every scalar a string). On the largest corpus lockfile (vite 2026-05, 507 KB) it takes
 * ~20 ms where js-yaml 5's `load` takes ~70 ms, in any schema.
 *
 * Packages: pnpm keeps one snapshot per (name, version, peer resolution, patch); the graph
 * keeps one package per (name, version, source): snapshots that differ only in their peer
 * suffix (`_peer@1` in 5.x, `(peer@1)` in 6.0 and 9.0) or patch hash are merged, their edges
 * united. That is the unit an audit matches and a vendor archive fetches.
 * Roots: every importer (workspace project), id `workspace:<path>`.
 */

type Generation = 5 | 6 | 9;

type Yaml = Record<string, unknown>;

const NO_EDGES: ReadonlySet<EdgeKind> = new Set();
const DEV_EDGES: ReadonlySet<EdgeKind> = new Set(['dev']);
const OPTIONAL_EDGES: ReadonlySet<EdgeKind> = new Set(['optional']);
const DEV_OR_OPTIONAL_EDGES: ReadonlySet<EdgeKind> = new Set(['dev', 'optional']);

export function parsePnpmLock(input: LockfileInput): DependencyGraph {
  const { path, text } = input;
  if (text.includes('\0')) throw new InputError(path, 'not a pnpm-lock.yaml: the file is binary');
  const doc = parseYamlText(path, text);
  if (!isRecord(doc)) throw new InputError(path, 'not a pnpm-lock.yaml: expected a mapping');
  if (text.includes('<<')) refuseMergeKeys(path, text, doc);
  const declared = doc.lockfileVersion;
  if (typeof declared !== 'string') throw new InputError(path, 'not a pnpm-lock.yaml: no `lockfileVersion`');
  const generation = generationOf(declared);
  if (!generation) throw new InputError(path, `unsupported pnpm lockfileVersion ${declared} (supported: 5.x, 6.x, 9.x)`);
  const format = `pnpm-lock.yaml ${declared}`;

  const rootManifest = input.manifest ? manifestIdentity(input.manifest.path, input.manifest.text) : null;
  // Workspace projects' own manifests (pnpm-workspace.yaml's members), by importer directory.
  const lockDir = dirname(resolvePath(path));
  const memberManifests = new Map(
    (input.members ?? []).map((m) => [posix.normalize(relativePath(lockDir, dirname(resolvePath(m.path))).split('\\').join('/')), manifestIdentity(m.path, m.text)]),
  );
  const manifestOf = (dir: string): ManifestIdentity | null => (dir === '.' ? rootManifest : (memberManifests.get(dir) ?? null));
  const at = (key: string): { line: number } | undefined => {
    const line = lineOfKey(text, key, '  ');
    return line ? { line } : undefined;
  };
  const mapping = (value: unknown, what: string): Yaml => {
    if (value === undefined || value === null || value === '') return {};
    if (!isRecord(value)) throw new InputError(path, `${what} must be a mapping`, at(what.split(' ').pop() ?? what));
    return value;
  };

  // Importers: `importers` in a workspace, the top level of a single-project 5.x/6.x lockfile.
  const importers = new Map<string, Yaml>();
  if (doc.importers !== undefined) {
    for (const [dir, value] of Object.entries(mapping(doc.importers, '`importers`'))) {
      importers.set(dir, mapping(value, `importer ${dir}`));
    }
  } else {
    importers.set('.', doc);
  }

  // Package metadata: `packages` (5.x/6.x: per snapshot; 9.x: per name@version).
  // Dependencies: the snapshots, `snapshots` in 9.x, `packages` before.
  const metadata = mapping(doc.packages, '`packages`');
  const snapshots = generation === 9 ? mapping(doc.snapshots, '`snapshots`') : metadata;

  const packages: Package[] = [];
  // Where each `packages` entry starts, two spaces in, as pnpm writes it.
  const entryLines = blockKeyLines(text, '  ', 'packages');
  const bySnapshot = new Map<string, Package>();
  const byKey = new Map<string, Package>();
  // 5.x/6.x: a package is dev (optional) when every snapshot of it says so.
  const snapshotFlags = new Map<Package, { dev: boolean; optional: boolean; devOptional: boolean }>();
  // Packages whose tarballs hold dependencies of their own: pnpm installs those as the tarball
  // has them, and the lockfile lists only their names.
  const bundling: UnlistedBundle[] = [];

  const packageFor = (snapshotKey: string): Package => {
    const key = stripPeers(snapshotKey, generation);
    let pkg = byKey.get(key);
    if (pkg) return pkg;
    const meta = mapping(generation === 9 ? metadata[key] : metadata[snapshotKey], `package ${key}`);
    if (generation === 9 && metadata[key] === undefined) {
      throw new InputError(path, `snapshot ${snapshotKey} has no entry ${key} in \`packages\``, at(snapshotKey));
    }
    pkg = describe(path, key, meta, generation, at);
    const bundled = bundledDependencies(meta.bundledDependencies);
    if (bundled !== null) bundling.push({ pkg, label: `${pkg.name}@${pkg.version} (${bundled})` });
    const line = entryLines.get(generation === 9 ? key : snapshotKey);
    if (line !== undefined) pkg.location = { line, column: 3 };
    byKey.set(key, pkg);
    packages.push(pkg);
    return pkg;
  };

  for (const [snapshotKey, value] of Object.entries(snapshots)) {
    const pkg = packageFor(snapshotKey);
    bySnapshot.set(snapshotKey, pkg);
    const snapshot = mapping(value, `package ${snapshotKey}`);
    const flags = snapshotFlags.get(pkg) ?? { dev: true, optional: true, devOptional: true };
    // 9.x has no `dev` field: its dev flag is computed below from the importers.
    flags.dev &&= generation === 9 || snapshot.dev === 'true';
    flags.optional &&= snapshot.optional === 'true';
    snapshotFlags.set(pkg, flags);
  }
  // 9.x: `packages` may hold entries no snapshot uses (none in practice); keep them.
  if (generation === 9) for (const key of Object.keys(metadata)) packageFor(key);

  // Importer packages.
  const importerIds = new Map<string, string>();
  const importerNames = new Map<string, string>();
  for (const [dir, importer] of importers) {
    // A workspace project's name is only written where another project links to it.
    for (const section of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      for (const [depName, value] of Object.entries(mapping(importer[section], `importer ${dir} ${section}`))) {
        const version = importerVersion(value);
        if (version?.startsWith('link:')) importerNames.set(posix.join(dir, version.slice(5)), depName);
      }
    }
  }
  const roots: string[] = [];
  const rootPackages: Package[] = [];
  for (const dir of importers.keys()) {
    const id = `workspace:${dir}`;
    importerIds.set(dir, id);
    roots.push(id);
    rootPackages.push({
      id,
      ecosystem: 'npm',
      // The root is the application: its manifest's name and version, else its directory's name.
      name: memberManifests.get(dir)?.name ?? importerNames.get(dir) ?? (dir === '.' ? (rootManifest?.name ?? basename(lockDir)) : dir),
      version: (dir === '.' ? rootManifest?.version : memberManifests.get(dir)?.version) ?? '0.0.0',
      source: { kind: 'workspace', url: dir, isDefaultRegistry: false },
      checksum: null,
    });
  }
  packages.unshift(...rootPackages);

  const edges: Edge[] = [];
  const seen = new Set<string>();
  const snapshotEdges: Edge[] = [];
  const linked = new Map<string, Package>();
  // Resolves to the package and to the snapshot (or importer) node, for 9.x dev reachability.
  const resolve = (fromDir: string, depName: string, version: string, where: string): { pkg: string; node: string } => {
    if (version.startsWith('link:')) {
      const target = posix.join(fromDir, version.slice(5));
      const importer = importerIds.get(target);
      if (importer) return { pkg: importer, node: importer };
      // A link outside the workspace: nothing is locked for it but its path.
      let pkg = linked.get(target);
      if (!pkg) {
        pkg = {
          id: `${depName}@link:${target}`,
          ecosystem: 'npm',
          name: depName,
          version: '0.0.0',
          source: { kind: 'path', url: target, isDefaultRegistry: false },
          checksum: null,
        };
        linked.set(target, pkg);
        packages.push(pkg);
      }
      return { pkg: pkg.id, node: pkg.id };
    }
    for (const candidate of snapshotCandidates(depName, version, generation)) {
      const pkg = bySnapshot.get(candidate);
      if (pkg) return { pkg: pkg.id, node: `snapshot:${candidate}` };
    }
    throw new InputError(path, `dependency ${depName} ${version} of ${where} has no entry in the lockfile`, at(where));
  };

  const sections: [string, EdgeKind][] = [
    ['dependencies', 'normal'],
    ['optionalDependencies', 'optional'],
    ['devDependencies', 'dev'],
  ];
  for (const [dir, importer] of importers) {
    const from = importerIds.get(dir) as string;
    const manifest = manifestOf(dir);
    for (const [section, locked] of sections) {
      for (const [depName, value] of Object.entries(mapping(importer[section], `importer ${dir} ${section}`))) {
        const version = importerVersion(value);
        if (version === null) throw new InputError(path, `importer ${dir}: ${section}.${depName} has no version`, at(dir));
        // package.json moved it to another section since (`pnpm install --frozen-lockfile`
        // refuses, a plain one installs it as package.json says): neither section is trusted.
        const asked = manifest?.sections.get(depName);
        const kind = asked === undefined || asked === section ? locked : 'normal';
        const to = resolve(dir, depName, version, dir);
        pushEdge(edges, seen, from, to.pkg, kind);
        snapshotEdges.push({ from, to: to.node, kind });
      }
    }
  }
  for (const [snapshotKey, value] of Object.entries(snapshots)) {
    const from = (bySnapshot.get(snapshotKey) as Package).id;
    const snapshot = value as Yaml;
    for (const [section, kind] of sections.slice(0, 2)) {
      for (const [depName, version] of Object.entries(mapping(snapshot[section], `package ${snapshotKey} ${section}`))) {
        if (typeof version !== 'string') throw new InputError(path, `${snapshotKey}: ${section}.${depName} must be a version`, at(snapshotKey));
        const to = resolve('.', depName, version, snapshotKey);
        pushEdge(edges, seen, from, to.pkg, kind);
        snapshotEdges.push({ from: `snapshot:${snapshotKey}`, to: to.node, kind });
      }
    }
  }

  // pnpm installs what its lockfile walker reaches from the importers' sections it includes
  // (`--prod` leaves devDependencies out, `--no-optional` optionalDependencies), whatever a
  // snapshot's `dev` or `optional` marker says (pnpm 9.15.9 installs a dependency marked
  // either under both): a snapshot is dev (optional) only when the importers reach it through
  // such an edge alone, and, where the lockfile has the marker, the marker says so too. 9.x
  // records no dev marker. A package is dev (optional) when all its snapshots are (reachability
  // over merged packages would let a dev-only peer variant borrow the production variant's edges).
  // Reached only through a dev edge and an optional one (handlebars' optional uglify-js under a
  // dev dependency) is both: `--no-optional` leaves it out as `--prod` does. Reached through
  // one and through the other but never without either (a dev dependency that a runtime one
  // needs as optional), it is left out only when both are, as npm's devOptional.
  const outgoing = outgoingEdges(snapshotEdges);
  const reached = reachableFrom(outgoing, roots, NO_EDGES);
  const nonDev = reachableFrom(outgoing, roots, DEV_EDGES);
  const nonOptional = reachableFrom(outgoing, roots, OPTIONAL_EDGES);
  const required = reachableFrom(outgoing, roots, DEV_OR_OPTIONAL_EDGES);
  for (const [snapshotKey, pkg] of bySnapshot) {
    const node = `snapshot:${snapshotKey}`;
    const flags = snapshotFlags.get(pkg) as { dev: boolean; optional: boolean; devOptional: boolean };
    flags.dev &&= reached.has(node) && !nonDev.has(node);
    flags.optional &&= reached.has(node) && !nonOptional.has(node);
    flags.devOptional &&= nonDev.has(node) && nonOptional.has(node) && !required.has(node);
  }
  if (generation === 9) for (const pkg of linked.values()) if (reached.has(pkg.id) && !nonDev.has(pkg.id)) pkg.flags = { dev: true };
  for (const [pkg, flags] of snapshotFlags) {
    if (flags.dev || flags.optional) pkg.flags = { ...(flags.dev && { dev: true }), ...(flags.optional && { optional: true }) };
    else if (flags.devOptional) pkg.flags = { devOptional: true };
  }
  const graph: DependencyGraph = { ecosystem: 'npm', path, format, packages, edges, roots };
  const overridden = overriddenNames(doc.overrides);
  const workspaceDoc = input.pnpmWorkspace === undefined ? undefined : parseYamlText(input.pnpmWorkspace.path, input.pnpmWorkspace.text);
  const unlocked: string[] = [];
  const staleManifests: string[] = [];
  // A setting only the lockfile has is gone from every file pnpm reads when they are all here:
  // a project's pnpm-lock.yaml with or without a pnpm-workspace.yaml beside it. A
  // NAME.pnpm-lock.yaml with its NAME.package.json has no workspace file of its own to say.
  const everySetting = basename(path) === 'pnpm-lock.yaml' || input.pnpmWorkspace !== undefined;
  if (rootManifest !== null) {
    const applied = appliedOverrides(rootManifest, input.pnpmWorkspace?.path, workspaceDoc);
    const changed = changedOverrides(applied.overrides, doc.overrides, everySetting);
    if (changed.length > 0) {
      unlocked.push(...changed);
      staleManifests.push(...applied.from);
    }
    const ignored = appliedIgnoredOptional(rootManifest, input.pnpmWorkspace?.path, workspaceDoc);
    const reinstated = changedIgnoredOptional(ignored.names, doc.ignoredOptionalDependencies, everySetting);
    if (reinstated.length > 0) {
      unlocked.push(...reinstated);
      if (!staleManifests.includes(ignored.from)) staleManifests.push(ignored.from);
    }
    const extensions = changedPackageExtensions(appliedPackageExtensions(rootManifest, input.pnpmWorkspace?.path, workspaceDoc), doc.packageExtensionsChecksum, everySetting);
    if (extensions !== null) {
      unlocked.push(...extensions.unlocked);
      if (!staleManifests.includes(extensions.file)) staleManifests.push(extensions.file);
    }
  }
  // pnpm install --frozen-lockfile refuses to run (ERR_PNPM_NO_LOCKFILE, "pnpm-lock.yaml is
  // absent") and a plain install resolves everything anew from the manifests, writing nothing
  // (checked with pnpm 9.15.9 and 10.34.9).
  // The setting may come from the project's .npmrc, the user's or the environment (lockfiles.ts).
  // lockfiles.ts weighs the project's .npmrc against the environment, which wins over it.
  const npmrc = input.pnpmNpmrc;
  const off = input.lockfileOff;
  if (off !== undefined) {
    unlocked.push(`every dependency (${off.setting}: pnpm does not read the lockfile)`);
    staleManifests.push(off.file);
  }
  const npmrcPath = npmrc?.path ?? join(dirname(path), '.npmrc');
  const pnpmfile = input.pnpmfile ?? { path: join(dirname(path), '.pnpmfile.cjs'), state: 'absent' };
  const hooks = changedPnpmfile(pnpmfile, doc.pnpmfileChecksum, basename(path) === 'pnpm-lock.yaml', npmrcPath);
  if (hooks !== null) {
    unlocked.push(...hooks.unlocked);
    staleManifests.push(hooks.file);
  }
  const workspaceSetting =
    input.pnpmWorkspace !== undefined && (rootManifest === null || readsWorkspaceSettings(rootManifest)) && isRecord(workspaceDoc)
      ? { path: input.pnpmWorkspace.path, value: workspaceDoc.autoInstallPeers }
      : undefined;
  const peers = changedAutoInstallPeers(doc.settings, npmrc, workspaceSetting, npmrcPath, everySetting, { user: input.npmUserConfig, env: input.npmEnvironment ?? {} });
  if (peers !== null) {
    unlocked.push(...peers.unlocked);
    if (!staleManifests.includes(peers.file)) staleManifests.push(peers.file);
  }
  const recatalogued = input.pnpmWorkspace === undefined ? [] : changedCatalogEntries(workspaceDoc, doc.catalogs);
  if (recatalogued.length > 0 && input.pnpmWorkspace !== undefined) {
    unlocked.push(...recatalogued);
    staleManifests.push(input.pnpmWorkspace.path);
  }
  for (const [dir, importer] of importers) {
    const manifest = manifestOf(dir);
    const missing = manifest === null ? [] : unlockedSpecifiers(importer, manifest, overridden, generation);
    if (manifest === null || missing.length === 0) continue;
    unlocked.push(...missing);
    if (!staleManifests.includes(manifest.path)) staleManifests.push(manifest.path);
  }
  noteStaleLockfile(graph, staleManifests, unlocked);
  if (bundling.length > 0) noteUnlistedBundles(graph, bundling, 'pnpm');
  return graph;
}

/**
 * A package's `bundledDependencies` (its manifest's bundleDependencies, as pnpm copies them):
 * the names, shortened for a message, `every dependency` for `true`; null when it bundles none.
 */
function bundledDependencies(value: unknown): string | null {
  if (value === undefined || value === 'false') return null;
  if (value === 'true') return 'every dependency';
  if (Array.isArray(value)) {
    if (value.length === 0) return null;
    return shortList(value.map((name) => (typeof name === 'string' ? name : JSON.stringify(name))));
  }
  return `bundledDependencies ${JSON.stringify(value)}`;
}

/**
 * pnpm reads its lockfile with js-yaml's default schema, where `<<` merges a mapping into the
 * one holding it (`resolution: {<<: {tarball: …}, integrity: …}` fetches that tarball); the
 * failsafe schema read here keeps `<<` as a plain key. pnpm never writes one: refused, with
 * the line of the first (a mapping shared through an alias is looked at once).
 */
function refuseMergeKeys(path: string, text: string, doc: Yaml): void {
  const seen = new Set<object>();
  const pending: unknown[] = [doc];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    if (!Array.isArray(value) && Object.hasOwn(value, '<<')) {
      const line = text.split('\n').findIndex((l) => /(^|[\s{,])<<\s*:/.test(l));
      throw new InputError(
        path,
        'holds a YAML merge key (`<<`): pnpm expands it but never writes one, and stowage does not read it',
        line >= 0 ? { line: line + 1 } : undefined,
      );
    }
    for (const child of Object.values(value)) if (typeof child === 'object' && child !== null) pending.push(child);
  }
}

function generationOf(declared: string): Generation | null {
  const major = /^(\d+)\.\d+$/.exec(declared)?.[1];
  if (major === '5') return 5;
  if (major === '6') return 6;
  if (major === '9') return 9;
  return null;
}

/** What a project's package.json says: its name and version, and the specifier of each dependency and the section that has it. */
interface ManifestIdentity {
  path: string;
  name?: string;
  version?: string;
  specifiers: Map<string, string>;
  sections: Map<string, string>;
  /**
   * The overrides pnpm applies when this is the root's manifest: `resolutions` and
   * `pnpm.overrides` (which wins), each `$name` replaced by that dependency's specifier, as
   * pnpm 9's getOptionsFromRootManifest makes them.
   */
  overrides: Map<string, string>;
  /** package.json's `packageManager` (`pnpm@10.5.2`), when it has one. */
  packageManager?: string;
  /** package.json's `pnpm.packageExtensions`, as written (empty when it has none). */
  packageExtensions: Record<string, unknown>;
  /** package.json's `pnpm.ignoredOptionalDependencies` (empty when it has none). */
  ignoredOptional: string[];
}

/** A project's dependency sections, the one that wins a name given in several last. */
const MANIFEST_SECTIONS = ['devDependencies', 'optionalDependencies', 'dependencies'];

function manifestIdentity(path: string, text: string): ManifestIdentity {
  const value = readManifestObject(path, text);
  const specifiers = new Map<string, string>();
  const sections = new Map<string, string>();
  for (const section of MANIFEST_SECTIONS) {
    const deps = value[section];
    if (!isRecord(deps)) continue;
    for (const [name, spec] of Object.entries(deps)) {
      if (typeof spec !== 'string') continue;
      specifiers.set(name, spec);
      sections.set(name, section);
    }
  }
  const overrides = new Map<string, string>();
  const pnpm = value.pnpm;
  for (const declared of [value.resolutions, isRecord(pnpm) ? pnpm.overrides : undefined]) {
    if (!isRecord(declared)) continue;
    for (const [key, spec] of Object.entries(declared)) {
      if (typeof spec === 'string') overrides.set(key, spec.startsWith('$') ? (specifiers.get(spec.slice(1)) ?? spec) : spec);
    }
  }
  return {
    path,
    ...(typeof value.name === 'string' && value.name !== '' ? { name: value.name } : {}),
    ...(typeof value.version === 'string' && value.version !== '' ? { version: value.version } : {}),
    specifiers,
    sections,
    overrides,
    ...(typeof value.packageManager === 'string' ? { packageManager: value.packageManager } : {}),
    packageExtensions: isRecord(pnpm) && isRecord(pnpm.packageExtensions) ? pnpm.packageExtensions : {},
    ignoredOptional: stringList(isRecord(pnpm) ? pnpm.ignoredOptionalDependencies : undefined),
  };
}

/**
 * The overrides pnpm applies, and the files they come from. pnpm 9 reads them from the root's
 * package.json only (`resolutions` and `pnpm.overrides`). pnpm 10 reads pnpm-workspace.yaml's
 * `overrides` too, `$name` replaced by the root's specifier, but only when package.json sets none:
 * checked with pnpm 10.34.9, which locks package.json's whenever it has any and the workspace
 * file's otherwise. A `packageManager` of pnpm 9 or older names a pnpm that never reads them.
 */
function appliedOverrides(manifest: ManifestIdentity, workspacePath: string | undefined, workspaceDoc: unknown): { overrides: Map<string, string>; from: string[] } {
  if (manifest.overrides.size > 0) return { overrides: manifest.overrides, from: [manifest.path] };
  const declared = isRecord(workspaceDoc) && isRecord(workspaceDoc.overrides) ? workspaceDoc.overrides : {};
  const overrides = new Map<string, string>();
  if (readsWorkspaceSettings(manifest)) {
    for (const [key, spec] of Object.entries(declared)) {
      if (typeof spec === 'string') overrides.set(key, spec.startsWith('$') ? (manifest.specifiers.get(spec.slice(1)) ?? spec) : spec);
    }
  }
  const from = overrides.size > 0 && workspacePath !== undefined ? [workspacePath] : [manifest.path, ...(workspacePath === undefined ? [] : [workspacePath])];
  return { overrides, from };
}

/** Whether the pnpm that installs reads pnpm-workspace.yaml's settings: any but one `packageManager` names as 9 or older. */
function readsWorkspaceSettings(manifest: ManifestIdentity): boolean {
  const pnpmMajor = /^pnpm@(\d+)\./.exec(manifest.packageManager ?? '')?.[1];
  return pnpmMajor === undefined || Number(pnpmMajor) >= 10;
}

/**
 * The packageExtensions pnpm applies and the file that sets them, as for overrides: the root's
 * package.json `pnpm.packageExtensions` whenever it has any, else pnpm 10's pnpm-workspace.yaml
 * `packageExtensions` (checked with pnpm 10.34.9: with both, package.json's alone are locked).
 */
function appliedPackageExtensions(manifest: ManifestIdentity, workspacePath: string | undefined, workspaceDoc: unknown): { extensions: Record<string, unknown>; from: string } {
  if (Object.keys(manifest.packageExtensions).length > 0 || workspacePath === undefined || !readsWorkspaceSettings(manifest)) {
    return { extensions: manifest.packageExtensions, from: manifest.path };
  }
  const declared = isRecord(workspaceDoc) && isRecord(workspaceDoc.packageExtensions) ? workspaceDoc.packageExtensions : {};
  return { extensions: declared, from: Object.keys(declared).length > 0 ? workspacePath : manifest.path };
}

/**
 * The optional dependencies pnpm skips (`ignoredOptionalDependencies`) and the file that names
 * them, as for packageExtensions: the root's package.json `pnpm.ignoredOptionalDependencies`
 * whenever it has any, else pnpm 10's pnpm-workspace.yaml list (checked with pnpm 10.34.9: the
 * workspace file's list alone locks as package.json's; with both, package.json's counts).
 */
function appliedIgnoredOptional(manifest: ManifestIdentity, workspacePath: string | undefined, workspaceDoc: unknown): { names: string[]; from: string } {
  if (manifest.ignoredOptional.length > 0 || workspacePath === undefined || !readsWorkspaceSettings(manifest)) return { names: manifest.ignoredOptional, from: manifest.path };
  const names = stringList(isRecord(workspaceDoc) ? workspaceDoc.ignoredOptionalDependencies : undefined);
  return { names, from: names.length > 0 ? workspacePath : manifest.path };
}

/**
 * The names pnpm skips that the lockfile's `ignoredOptionalDependencies` does not, and those it
 * records that pnpm no longer skips (unless `withRemoved` is false: not every file pnpm reads is
 * at hand). pnpm install --frozen-lockfile refuses either (ERR_PNPM_LOCKFILE_CONFIG_MISMATCH
 * "ignoredOptionalDependencies") and a plain install resolves anew: checked with pnpm 9.15.9,
 * handlebars 4.7.8 locked with uglify-js ignored, the setting then removed, installs uglify-js,
 * which the lockfile does not hold.
 */
function changedIgnoredOptional(applied: readonly string[], lockIgnored: unknown, withRemoved: boolean): string[] {
  const locked = stringList(lockIgnored);
  const changed = applied.filter((name) => !locked.includes(name)).map((name) => `${name} (ignoredOptionalDependencies)`);
  if (withRemoved) changed.push(...locked.filter((name) => !applied.includes(name)).map((name) => `${name} (an optional dependency no longer in ignoredOptionalDependencies)`));
  return changed;
}

/** The strings of a YAML or JSON list; empty for anything else. */
function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * The overrides pnpm applies that the lockfile's `overrides` do not record as they are, as
 * `key@specifier (an override)`, and those it records that pnpm no longer applies: pnpm install
 * --frozen-lockfile refuses such a lockfile (ERR_PNPM_LOCKFILE_CONFIG_MISMATCH) and a plain
 * install resolves anew with the overrides it reads (checked with pnpm 9.15.9: left-pad
 * overridden to 1.2.0 in package.json, 1.3.0 in the lockfile, installs 1.2.0; with pnpm
 * 10.34.9: minimist overridden to 1.2.6 in pnpm-workspace.yaml and locked so, the override then
 * set to 0.0.8 or removed, installs 0.0.8). An override naming a catalog entry is left out (the
 * lockfile records what the catalog resolved to); one only the lockfile has, unless `withRemoved`.
 */
function changedOverrides(applied: ReadonlyMap<string, string>, lockOverrides: unknown, withRemoved: boolean): string[] {
  const locked = isRecord(lockOverrides) ? lockOverrides : {};
  const changed: string[] = [];
  for (const [key, spec] of applied) {
    if (!spec.startsWith('catalog:') && locked[key] !== spec) changed.push(`${key}@${spec} (an override)`);
  }
  for (const [key, spec] of Object.entries(locked)) {
    if (withRemoved && !applied.has(key)) changed.push(`${key}@${typeof spec === 'string' ? spec : ''} (an override no longer set)`);
  }
  return changed;
}

/**
 * The catalog entries of pnpm-workspace.yaml the lockfile's `catalogs` record for another
 * specifier (or that are gone), as `name@specifier (catalog NAME)`: the workspace file changed
 * after locking. pnpm 9.15.9 install --frozen-lockfile installs what is locked, and a plain
 * pnpm install resolves the entry anew (checked: fixture-args locked at 0.0.8 from `catalog:`,
 * the catalog then set to 1.2.6; frozen installs 0.0.8, plain installs 1.2.6). The default
 * catalog is `catalog:` or `catalogs.default:`; `catalogs.NAME:` the others.
 */
function changedCatalogEntries(doc: unknown, lockCatalogs: unknown): string[] {
  if (!isRecord(lockCatalogs)) return [];
  const declared = isRecord(doc) ? doc : {};
  const named = isRecord(declared.catalogs) ? declared.catalogs : {};
  const changed: string[] = [];
  for (const [catalog, entries] of Object.entries(lockCatalogs)) {
    if (!isRecord(entries)) continue;
    const wanted = catalog === 'default' && isRecord(declared.catalog) ? declared.catalog : isRecord(named[catalog]) ? named[catalog] : {};
    for (const [name, locked] of Object.entries(entries)) {
      const spec = wanted[name];
      if (isRecord(locked) && locked.specifier === spec) continue;
      changed.push(typeof spec === 'string' ? `${name}@${spec} (catalog ${catalog})` : `${name} (gone from catalog ${catalog})`);
    }
  }
  return changed;
}

/**
 * The dependencies a project's package.json asks for that its importer does not lock as asked
 * (absent, locked for another specifier, or in another section: moved from devDependencies to
 * dependencies), as `name@specifier`: the lockfile is older than the manifest. pnpm install
 * --frozen-lockfile (CI's default) then refuses to install, and a plain pnpm install resolves
 * them anew (checked with pnpm 9.15.9). A name the lockfile's `overrides` touch is left out
 * unless it moved: pnpm locks the override's specifier in its place, or nothing for `-`.
 */
function unlockedSpecifiers(importer: Yaml, manifest: ManifestIdentity, overridden: ReadonlySet<string>, generation: Generation): string[] {
  const locked = new Map<string, { specifier: unknown; section: string }>();
  for (const section of MANIFEST_SECTIONS) {
    const deps = importer[section];
    if (!isRecord(deps)) continue;
    for (const [name, value] of Object.entries(deps)) {
      const specifier = generation === 5 ? (isRecord(importer.specifiers) ? importer.specifiers[name] : undefined) : isRecord(value) ? value.specifier : undefined;
      locked.set(name, { specifier, section });
    }
  }
  const unlocked: string[] = [];
  for (const [name, spec] of manifest.specifiers) {
    const lock = locked.get(name);
    const moved = lock !== undefined && lock.section !== manifest.sections.get(name);
    if (moved || (!overridden.has(name) && lock?.specifier !== spec)) unlocked.push(`${name}@${spec}`);
  }
  return unlocked;
}

/** The package names a lockfile's `overrides` keys end with (`foo`, `foo@1`, `a>foo`, `@s/foo@^2`). */
function overriddenNames(overrides: unknown): Set<string> {
  const names = new Set<string>();
  if (!isRecord(overrides)) return names;
  for (const key of Object.keys(overrides)) {
    const last = key.split('>').pop() ?? key;
    const at = last.indexOf('@', 1);
    names.add(at < 0 ? last : last.slice(0, at));
  }
  return names;
}

/** 5.x writes `name: version`; 6.0 and 9.0 write `name: {specifier, version}`. */
function importerVersion(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.version === 'string') return value.version;
  return null;
}

/**
 * A snapshot key without its peer/patch suffix: `/a/1.0.0_b@2` (5.x), `/a@1.0.0(b@2)` (6.0),
 * `a@1.0.0(b@2)` (9.0). Only registry-shaped 5.x keys carry `_` suffixes we can tell apart.
 */
function stripPeers(key: string, generation: Generation): string {
  if (generation === 5) {
    if (!key.startsWith('/')) return key;
    const parts = key.slice(1).split('/');
    const nameParts = parts[0]?.startsWith('@') ? 2 : 1;
    const version = parts.slice(nameParts).join('/');
    const underscore = version.indexOf('_');
    return underscore < 0 ? key : `/${parts.slice(0, nameParts).join('/')}/${version.slice(0, underscore)}`;
  }
  // No name or version holds a `(`: the first one opens the suffix.
  const paren = key.indexOf('(', 1);
  return paren < 0 ? key : key.slice(0, paren);
}

/** The snapshot keys a dependency's version can refer to, most likely first. */
function snapshotCandidates(depName: string, version: string, generation: Generation): string[] {
  switch (generation) {
    case 5:
      return [`/${depName}/${version}`, version];
    case 6:
      return [`/${depName}@${version}`, version];
    case 9:
      return [`${depName}@${version}`, version];
  }
}

/** One package from its (suffix-free) key and its `packages` metadata. */
function describe(
  path: string,
  key: string,
  meta: Yaml,
  generation: Generation,
  at: (key: string) => { line: number } | undefined,
): Package {
  const metaName = typeof meta.name === 'string' ? meta.name : null;
  const metaVersion = typeof meta.version === 'string' ? meta.version : null;
  let keyName: string | null = null;
  let keyVersion: string | null = null;
  let registryShaped = false;
  const bare = generation === 9 ? key : key.replace(/^\//, '');
  if (generation === 5 && key.startsWith('/')) {
    const parts = bare.split('/');
    const nameParts = parts[0]?.startsWith('@') ? 2 : 1;
    keyName = parts.slice(0, nameParts).join('/');
    keyVersion = parts.slice(nameParts).join('/');
    registryShaped = true;
  } else if (generation !== 5 && (generation === 9 || key.startsWith('/'))) {
    const split = bare.indexOf('@', 1);
    if (split > 0) {
      keyName = bare.slice(0, split);
      const reference = bare.slice(split + 1);
      registryShaped = /^\d+\.\d+\.\d+/.test(reference);
      if (registryShaped) keyVersion = reference;
    }
  }
  const error = (message: string): InputError => new InputError(path, `package ${key}: ${message}`, at(key));
  if (registryShaped) {
    // pnpm fetches a registry-shaped key's package by the key (the registry's tarball of its
    // name and version, pkgSnapshotToResolution), and names it by the key: a `name` or
    // `version` in the entry that says otherwise is not what is installed.
    if (metaName !== null && metaName !== keyName) throw error(`its \`name\` is ${metaName}, but pnpm installs the package its key names, ${keyName}`);
    if (metaVersion !== null && metaVersion !== keyVersion) {
      throw error(`its \`version\` is ${metaVersion}, but pnpm installs the version its key names, ${keyName}@${keyVersion}`);
    }
  }
  const name = metaName ?? keyName;
  const version = metaVersion ?? keyVersion;
  if (!name) throw new InputError(path, `package ${key}: no name in its key or entry`, at(key));
  const resolution = meta.resolution;
  if (!isRecord(resolution)) throw new InputError(path, `package ${key}: \`resolution\` must be a mapping`, at(key));
  const integrity = typeof resolution.integrity === 'string' ? resolution.integrity : null;
  const tarball = fetchedTarball(resolution, error);
  const source = pnpmSource(resolution, tarball, registryShaped, key, error);
  const unnamed = source.kind === 'registry' ? registryNameProblem(name) : null;
  if (unnamed !== null) throw error(unnamed);
  const resolvedVersion = version ?? unrecordedVersion(tarball, source, name, error);
  if (tarball !== null) checkTarball(tarball, name, resolvedVersion, error);
  const id = registryShaped ? `${name}@${resolvedVersion}` : bare.startsWith(`${name}@`) ? bare : `${name}@${bare}`;
  return { id, ecosystem: 'npm', name, version: resolvedVersion, source, checksum: integrity };
}

/**
 * The version of a package whose entry records none (pnpm writes one for every package it
 * fetches, but installs without it): the version a registry tarball URL names, as that is what
 * pnpm fetches; else the commit or locator, which no advisory range can be compared with, so
 * that the audit lists the package as not audited instead of matching an invented version.
 */
function unrecordedVersion(tarball: string | null, source: PackageSource, name: string, error: (message: string) => InputError): string {
  const found = tarball === null ? null : registryTarballIdentity(tarball);
  if (found !== null && found.version !== null) {
    if (found.name !== name) throw error(`\`resolution.tarball\` is a tarball of ${found.name}, not of ${name}`);
    return found.version;
  }
  return source.rev ?? source.url ?? '';
}

/**
 * A `resolution.tarball` is what pnpm fetches, whatever the key says: one whose URL the fetch
 * would read otherwise (whitespace, control characters), or a registry tarball of another
 * package or version than the entry's, is refused.
 */
function checkTarball(tarball: string, name: string, version: string, error: (message: string) => InputError): void {
  const found = registryTarballIdentity(tarball);
  if (found === null) return;
  if (found.name !== name) throw error(`\`resolution.tarball\` is a tarball of ${found.name}, not of ${name}`);
  if (found.version !== version) {
    throw error(found.version === null ? `\`resolution.tarball\` is not a tarball of ${name}@${version}` : `the version is ${version} but \`resolution.tarball\` is the tarball of ${name}@${found.version}`);
  }
}

/**
 * The tarball a resolution has pnpm fetch, as a URL: null when it names none. pnpm resolves a
 * relative one against the configured registry (pkgSnapshotToResolution: it writes one, from
 * the host's root, for a tarball of the registry at a URL other than the usual); resolved here
 * against the public registry, it names the same package and version. One whose URL the fetch
 * would read otherwise (whitespace, control characters) is refused.
 */
function fetchedTarball(resolution: Yaml, error: (message: string) => InputError): string | null {
  const tarball = resolution.tarball;
  if (typeof tarball !== 'string' || tarball === '') return null;
  const read = readResolved(tarball);
  if ('problem' in read) throw error(`\`resolution.tarball\` ${JSON.stringify(tarball)} ${read.problem}`);
  if (/^[a-z][a-z0-9+.-]*:/i.test(read.value)) return read.value;
  try {
    return new URL(read.value, DEFAULT_NPM_REGISTRY).href;
  } catch {
    throw error(`\`resolution.tarball\` ${JSON.stringify(tarball)} is not a valid URL`);
  }
}

/**
 * YAML's null as a plain scalar: the failsafe schema reads it as this string, where pnpm's
 * js-yaml (default schema) reads null. (A quoted 'null' is a string to pnpm too, but the
 * failsafe schema cannot tell them apart.)
 */
const YAML_NULLS: ReadonlySet<string> = new Set(['', '~', 'null', 'Null', 'NULL']);

/**
 * What pnpm fetches for a resolution (pnpm's pickFetcher): by its `type` alone, `directory` or
 * `git`; without one (or a null one), a tarball (`tarball`, else the registry's for a
 * registry-shaped key). A `directory` or `commit` field without its `type` is not read by pnpm,
 * which installs the registry's package: so is it read here. Another `type` pnpm cannot fetch.
 */
function pnpmSource(resolution: Yaml, tarball: string | null, registryShaped: boolean, key: string, error: (message: string) => InputError): PackageSource {
  const str = (field: string): string | null => (typeof resolution[field] === 'string' ? (resolution[field] as string) : null);
  const type = str('type');
  if (type === 'git') return { kind: 'git', url: str('repo'), rev: str('commit') ?? undefined, isDefaultRegistry: false };
  if (type === 'directory') return { kind: 'path', url: str('directory'), isDefaultRegistry: false };
  if (resolution.type !== undefined && (type === null || !YAML_NULLS.has(type))) {
    throw error(`\`resolution.type\` ${JSON.stringify(resolution.type)} is not one pnpm fetches (\`directory\` or \`git\`)`);
  }
  if (tarball) {
    const codeload = /^https:\/\/codeload\.github\.com\/([^/]+)\/([^/]+)\/tar\.gz\/([0-9a-f]{40})$/.exec(tarball);
    if (codeload) return { kind: 'git', url: `https://github.com/${codeload[1]}/${codeload[2]}.git`, rev: codeload[3], isDefaultRegistry: false };
    if (tarball.startsWith('file:')) return { kind: 'other', url: tarball, isDefaultRegistry: false };
    // pnpm writes a registry tarball's URL only when it is not the configured registry's. Read
    // as the registry reads it (a query, escapes: `…/minimist/%2D/minimist-1.2.5.tgz`).
    if (registryShaped && registryTarballIdentity(tarball) !== null) {
      const source = npmSourceFromResolved(tarball);
      if (source.kind === 'registry') return source;
    }
    return { kind: 'other', url: tarball, isDefaultRegistry: false };
  }
  if (registryShaped) return defaultNpmRegistrySource();
  return { kind: 'other', url: key, isDefaultRegistry: false };
}
