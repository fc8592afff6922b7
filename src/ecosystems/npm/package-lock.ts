import { basename, dirname, join, posix, relative, sep } from 'node:path';
import type { LockfileInput } from '../../core/ecosystem.js';
import { InputError } from '../../core/errors.js';
import { lineAndColumn, locateJsonError, objectKeyLocations, positionOfKey } from '../../core/json-text.js';
import { edgeKindBit, locatePackagesLater, reachableAvoidingIndexes, type DependencyGraph, type Edge, type EdgeKind } from '../../core/graph.js';
import type { Package, PackageFlags, PackageSource } from '../../core/package.js';
import { noteShrinkwrappedPackages, noteUnlistedBundles, type UnlistedBundle } from './bundled-dependencies.js';
import { shortList } from '../../core/short-list.js';
import { noteStaleLockfile } from './stale-lockfile.js';
import { npmWorkspacesName } from './workspace-members.js';
import { overrideLabel, overrideRuleFor, readNpmOverrides, type OverrideRule } from './npm-overrides.js';
import * as semver from '../../core/semver.js';
import {
  lowerCaseScheme,
  npmSourceFromResolved,
  parseNpmSpecifier,
  readResolved,
  registryNameProblem,
  registryTarballIdentity,
  registryTarballVersion,
  type NpmSpecifier,
} from './registry-source.js';

/**
 * package-lock.json / npm-shrinkwrap.json, lockfileVersion 1, 2 and 3.
 *
 * npm records one entry per installed location (`node_modules/a/node_modules/b`); the graph has
 * one node per distinct package. Dependencies are resolved the way node resolves `require`:
 * from the dependent's location up through each enclosing `node_modules`. v1's nested
 * `dependencies` tree is turned into the same locations so both go through one resolver.
 */
export function parsePackageLock(input: LockfileInput): DependencyGraph {
  const doc = parseJson(input.path, input.text);
  if (!isRecord(doc)) throw new InputError(input.path, 'expected a JSON object at the top level', { line: 1, column: 1 });
  const version = doc.lockfileVersion;
  const fileName = basename(input.path) === 'npm-shrinkwrap.json' ? 'npm-shrinkwrap.json' : 'package-lock.json';
  // npm installs from `packages` whenever the file has one, whatever lockfileVersion says
  // (arborist converts the nested v1 tree only when there is no `packages`): a v1 file that
  // also carries `packages` is installed from `packages`, and so is it read here.
  const hasPackages = doc.packages !== undefined;
  if (version === undefined) {
    // npm 4 and older wrote shrinkwraps without a lockfileVersion, in v1's nested form (without
    // integrity); npm still installs from them.
    if (!isRecord(doc.dependencies) && !hasPackages) throw new InputError(input.path, 'no "lockfileVersion" and no "dependencies": not an npm lockfile');
    const reader = new LockReader(input, doc, `${fileName} (npm 4 or older, no lockfileVersion)`);
    if (hasPackages) reader.readPackages();
    else reader.readDependencyTree();
    return reader.finish();
  }
  if (typeof version !== 'number') {
    throw new InputError(input.path, `"lockfileVersion" must be a number, found ${describe(version)}`, positionOfKey(input.text, 'lockfileVersion'));
  }
  if (version !== 1 && version !== 2 && version !== 3) {
    throw new InputError(
      input.path,
      `unsupported lockfileVersion ${version} (stowage reads versions 1, 2 and 3)`,
      positionOfKey(input.text, 'lockfileVersion'),
    );
  }
  const reader = new LockReader(input, doc, `${fileName} v${version}`);
  // v2 carries both sections (the v1 tree is for npm 6); `packages` is the complete one. A file
  // without `packages` has only the v1 tree, and npm installs from that.
  if (hasPackages) reader.readPackages();
  else reader.readDependencyTree();
  return reader.finish();
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** One installed location (`node_modules/a/node_modules/b`, `packages/lib`, `""`). */
interface Location {
  path: string;
  /**
   * Where node's lookup starts for this location's dependencies: its own node_modules, or the
   * nearest enclosing one. Known up front for v1's tree; found from the path for v2/v3.
   */
  start: ModulesDir | null | undefined;
  /** The directory whose node_modules holds this location (v2/v3 installed packages). */
  container: ModulesDir | undefined;
  /** Index of the package this location holds. */
  pkg: number;
  /** The lockfile entry: its dependency maps are read when edges are resolved. */
  entry: JsonObject;
  /** Root or workspace: the only places npm installs devDependencies for. */
  isProjectMember: boolean;
}

/** One `dependencies` map of the v1 tree being walked, and how far the walk has got in it. */
interface TreeLevel {
  tree: JsonObject;
  keys: string[];
  next: number;
  /** The location of the entry that holds `tree` (`""` for the top level). */
  parent: string;
  /** The node_modules its packages sit in. */
  dir: ModulesDir;
}

/** A `link: true` entry: the location it stands for is `target`. */
interface Link {
  target: string;
}

/**
 * A directory that has a `node_modules` with something in it. `parent` is the nearest
 * enclosing directory that has one too: node's lookup only ever stops at those.
 */
interface ModulesDir {
  children: Map<string, Location | Link>;
  parent: ModulesDir | null;
}

/** Per-location flags as bits; a package keeps a flag only if it holds at every location. */
const DEV = 1;
const OPTIONAL = 2;
const PEER = 4;
const DEV_OPTIONAL = 8;

/**
 * The graph's edge kinds by slot, and a sixth slot for npm's peerOptional (a peer dependency
 * `peerDependenciesMeta` marks optional): a `peer` edge in the graph, but arborist's
 * calcDepFlags takes it as both peer and optional, so it keeps neither the dev nor the
 * optional flag from its target (sass-loader's optional peer `sass-embedded` stays optional).
 */
const EDGE_KINDS: readonly EdgeKind[] = ['normal', 'build', 'dev', 'optional', 'peer', 'peer'];
const NORMAL_EDGE = 0;
const DEV_EDGE = 2;
const OPTIONAL_EDGE = 3;
const PEER_EDGE = 4;
const PEER_OPTIONAL_EDGE = 5;
/** Each slot's bits, as reachableAvoidingIndexes reads edges. */
const EDGE_KIND_BITS: readonly number[] = [...EDGE_KINDS.map(edgeKindBit).slice(0, PEER_OPTIONAL_EDGE), edgeKindBit('peer') | edgeKindBit('optional')];

/*
 * An entry's dependency maps are read in precedence order (resolveDeclaredEdges):
 * optionalDependencies, dependencies, peerDependencies, devDependencies. A name declared in
 * several maps gets one edge; npm's own precedence: optionalDependencies are copied into
 * dependencies (so optional wins), dependencies override a peer declaration, and a
 * devDependency only counts when nothing else declares the name.
 */

class LockReader {
  private readonly packages: Package[] = [];
  private readonly indexById = new Map<string, number>();
  private readonly flags: number[] = [];
  /**
   * `name@version` → the package holding it, or the packages, one per distinct integrity, when
   * entries disagree (a number, not an array of one, for the thousands that do not).
   */
  private readonly registryIds = new Map<string, number | number[]>();
  /** Every location, in lockfile order. */
  private readonly order: Location[] = [];
  /** Locations outside node_modules (the root, workspaces, linked directories) by path: link targets. */
  private readonly projectLocations = new Map<string, Location>();
  private readonly modulesDirs = new Map<string, ModulesDir>();
  /** The roots' package indexes, in the order the graph lists them. */
  private readonly rootIndexes: number[] = [];
  private readonly edges: Edge[] = [];
  private readonly edgeKeys = new Set<number>();

  constructor(
    private readonly input: LockfileInput,
    private readonly doc: JsonObject,
    private readonly format: string,
  ) {}

  // ---- v2 / v3: the flat `packages` map --------------------------------------------------

  readPackages(): void {
    const packages = this.doc.packages;
    if (!isRecord(packages)) {
      throw new InputError(this.input.path, `"packages" must be an object, found ${describe(packages)}`, positionOfKey(this.input.text, 'packages'));
    }
    const rootEntry = packages[''];
    if (rootEntry !== undefined && !isRecord(rootEntry)) this.badEntry('', `must be an object, found ${describe(rootEntry)}`);
    // npm ci reads the root's dependencies from package.json, not from this entry (arborist
    // loads the root from disk): a dependency the manifest moved from devDependencies to
    // dependencies is installed under --omit=dev while the entry still calls it dev.
    this.addRoot(this.manifestAsEntry() ?? rootEntry ?? {});

    // The loop below runs once per entry, interpreted (it is over before V8 would optimize it):
    // each field is read once, by name, and checked in place; `node_modules/` is looked for once.
    // Object.keys, not for-in: `packages` has thousands of keys, so V8 keeps it as a dictionary,
    // and for-in over a dictionary checks each key again (a runtime call) before the body runs.
    const locations = Object.keys(packages);
    for (let i = 0; i < locations.length; i++) {
      const location = locations[i] as string;
      if (location === '') continue;
      const entry = packages[location];
      if (!isRecord(entry)) this.badEntry(location, `must be an object, found ${describe(entry)}`);
      // Where the last `node_modules/` starts: the package's directory name follows it. Nearly
      // always it starts the key or a path segment, which settles that the key is under
      // node_modules without looking for `/node_modules/` again.
      const last = location.lastIndexOf(NODE_MODULES);
      const installed = last === 0 || (last > 0 && (location.charCodeAt(last - 1) === 0x2f /* / */ || isUnderNodeModules(location)));
      const at = installed ? last : -1;
      const keyName = installed ? location.slice(at + NODE_MODULES.length) : undefined;
      const keyProblem = locationKeyProblem(location, keyName);
      if (keyProblem !== null) this.badEntry(location, keyProblem);
      const resolved = entry.resolved;
      if (resolved !== undefined && typeof resolved !== 'string') this.notAString(location, 'resolved', resolved);
      if (entry.link === true) {
        if (resolved === undefined) this.badEntry(location, 'a link needs "resolved", the path it points to');
        this.placeInModulesDir(location, { target: normalizeRelative(resolved) });
        continue;
      }
      const entryName = entry.name;
      if (entryName !== undefined && typeof entryName !== 'string') this.notAString(location, 'name', entryName);
      const rawVersion = entry.version;
      if (rawVersion !== undefined && typeof rawVersion !== 'string') this.notAString(location, 'version', rawVersion);
      const entryIntegrity = entry.integrity;
      if (entryIntegrity !== undefined && typeof entryIntegrity !== 'string') this.notAString(location, 'integrity', entryIntegrity);
      const name = entryName ?? keyName ?? basename(location);
      const integrity = entryIntegrity ?? null;

      if (!installed) {
        // Outside node_modules: the project's own code (a workspace, or a `file:` directory it
        // links to). Inside the project tree it is one of the application's roots; a directory
        // beside the project (`../lib`) is a path dependency.
        const inside = !location.startsWith('../') && !location.startsWith('/') && location !== '..';
        const source: PackageSource = inside
          ? { kind: 'workspace', url: location, isDefaultRegistry: false }
          : { kind: 'path', url: location, isDefaultRegistry: false };
        const pkg = this.addPackage(`${name}@${inside ? 'workspace:' : 'file:'}${location}`, name, rawVersion ?? '', source, null, undefined);
        if (inside && !this.rootIndexes.includes(pkg)) this.rootIndexes.push(pkg);
        // npm ci reads a workspace's dependencies from its package.json (arborist loads a link
        // target outside node_modules from disk), as it does the root's: that decides what is dev.
        // So for any other directory of the project a link points to (`file:./lib`): npm 11 ci
        // --omit=dev installs a dev-marked package that lib/package.json has since come to need.
        this.addLocation(newLocation(location, pkg, (inside ? (this.memberManifests().get(location) ?? this.linkedManifest(location)) : undefined) ?? entry, inside, undefined, undefined));
        continue;
      }

      const { url: fetched, source } = this.installedResolved(location, resolved);
      const flags = !this.omittableBelow(location, packages) ? 0 : entry.inBundle === true ? bundlerFlags(packages, location) : locationFlags(entry);
      let pkg: number;
      if (source.kind === 'registry') {
        let version = rawVersion;
        if (version === undefined) {
          // npm omits the version of an optional or peer dependency it did not install; with
          // neither a version nor `resolved` it drops the entry ("invalid or damaged lockfile").
          // With `resolved` it installs that tarball (a `*` or dist-tag dependency accepts any
          // version): the tarball's own version is the one installed.
          if (fetched === undefined) {
            if (flags & (OPTIONAL | PEER)) continue;
            this.badEntry(location, 'missing "version" for a registry package');
          }
          version = this.versionOfTarball(location, fetched, name);
        } else if (fetched === undefined && !PLAIN_VERSION.test(version) && semver.valid(version, { loose: true }) === null) {
          // Without `resolved`, npm ci fetches `name@version`, the version read as a specifier
          // (reify's extract): `npm:minimist@1.2.0` or a tarball URL installs that package at
          // node_modules/left-pad, a range or tag the newest version it names at install time.
          this.badEntry(location, `"version" ${JSON.stringify(version)} is not a version, and the entry has no "resolved": npm installs ${JSON.stringify(`${name}@${version}`)}, whatever that specifier names when it runs`);
        }
        // The URL the registry serves name@version at, as npm writes it, is settled here without
        // a call; any other is taken apart by requireTarballOf.
        const registry = source.url;
        if (fetched !== undefined && (registry === null || !isTarballUrlOf(fetched, registry, name, version))) this.requireTarballOf(location, fetched, name, version);
        const alias = keyName !== undefined && keyName !== name ? keyName : undefined;
        pkg = this.addRegistryPackage(location, name, version, source, integrity, alias);
      } else {
        pkg = this.addPackage(nonRegistryId(name, fetched ?? ''), name, rawVersion ?? lockedReference(source), source, integrity, undefined);
      }
      this.mergeFlags(pkg, flags);
      if (entry.inBundle !== true && (entry.bundleDependencies !== undefined || entry.bundledDependencies !== undefined)) this.bundling.push({ location, pkg });
      // arborist takes either field, any value that is true to JavaScript (`"no"` included).
      if (truthy(entry.hasShrinkwrap) || truthy(entry._hasShrinkwrap)) this.shrinkwrapped.push({ pkg: this.packages[pkg] as Package, label: location });
      // Placed as placeInModulesDir places it, with the position and name already found.
      const container = this.modulesDirHolding(location, at);
      const loc = newLocation(location, pkg, entry, false, undefined, container);
      this.order.push(loc);
      container?.children.set(keyName as string, loc);
    }
    this.resolveAllEdges();
    this.locatable = true;
    this.declareLicenses();
    this.findUnlistedBundles(packages);
    this.findUnlockedDependencies(packages);
  }

  /** Whether npm's --omit may leave out what is installed below each top directory, by its location (`""` the root). */
  private readonly omittableTops = new Map<string, boolean>();

  /**
   * Whether npm's --omit may leave out the package installed at `location`, whatever its markers:
   * only when the directory outside node_modules that holds it (its "top") is the project root
   * or a workspace member. arborist's shouldOmit keeps every package below any other top, a
   * directory of the project a `file:` dependency links to included (checked with npm 11.19.1:
   * `lib/node_modules/minimist`, lib's devDependency, nested there because the root needs
   * another minimist, is installed by `npm ci --omit=dev` though the lockfile marks it dev).
   * Members are the workspaces package.json names, found on disk (as npm ci finds them); without
   * package.json, those the root entry's `workspaces` patterns name (npm ci reads that entry then).
   */
  private omittableBelow(location: string, packages: JsonObject): boolean {
    if (location.startsWith(NODE_MODULES)) return true;
    const top = location.slice(0, location.indexOf(`/${NODE_MODULES}`));
    let omittable = this.omittableTops.get(top);
    if (omittable === undefined) {
      omittable =
        this.input.manifest !== undefined
          ? this.memberManifests().has(top)
          : npmWorkspacesName(this.input.path, packages[''], top);
      this.omittableTops.set(top, omittable);
    }
    return omittable;
  }

  /** What package.json asks for from a registry that the lockfile does not lock at a version it accepts. */
  private readonly unlocked: string[] = [];
  /** The manifests that ask for it (the root's package.json, a workspace member's), named in the warning. */
  private readonly staleManifests = new Set<string>();

  /**
   * package.json's registry dependencies (ranges and aliases) against what the lockfile installs
   * for the root: npm 11's ci refuses a lockfile whose version does not satisfy the range
   * ("lock file's minimist@1.2.6 does not satisfy minimist@1.2.0") or that lacks the dependency,
   * and npm install resolves it anew; a range the locked version still satisfies is in sync.
   */
  private findUnlockedDependencies(packages: JsonObject | null): void {
    const manifest = this.manifestAsEntry();
    if (manifest === undefined) return;
    const members = this.memberManifests();
    for (const loc of this.projectLocations.values()) {
      // The root's package.json and each workspace member's found on disk: npm ci reads them,
      // and refuses a lockfile that does not install what any of them asks for.
      const declared = loc.path === '' ? manifest : members.get(loc.path);
      if (!loc.isProjectMember || declared === undefined) continue;
      const where = loc.path === '' ? '' : ` (workspace ${loc.path})`;
      for (const section of ['dependencies', 'optionalDependencies', 'devDependencies']) {
        const deps = declared[section];
        if (!isRecord(deps)) continue;
        for (const name in deps) {
          const spec = deps[name];
          if (typeof spec !== 'string') continue;
          const parsed = parseNpmSpecifier(spec);
          const range = parsed.type === 'range' ? spec : parsed.type === 'alias' ? parsed.range : null;
          const accepted = range === null ? null : looseRange(range);
          if (accepted === null) continue;
          const target = loc.path === '' && packages !== null ? this.rootDependency(packages, name) : this.resolve(loc.start ?? null, name);
          const version = target !== undefined && typeof target.entry.version === 'string' ? target.entry.version : null;
          if (target === undefined || (version !== null && semver.valid(version, { loose: true }) !== null && !accepted.test(version))) {
            this.unlocked.push(`${name}@${spec}${where}`);
            this.staleManifests.add(this.manifestPathOf(loc.path));
          }
        }
      }
    }
    // A member the workspaces globs find that the lockfile does not list (added after locking):
    // npm ci refuses ("Missing: b@1.0.0 from lock file"), npm install installs it and what it needs.
    for (const location of members.keys()) {
      if (packages === null || Object.hasOwn(packages, location)) continue;
      this.unlocked.push(`workspace ${location} (not in the lockfile)`);
      this.staleManifests.add(this.manifestPathOf(location));
    }
    this.findOverriddenVersions(manifest);
  }

  /**
   * package.json's `overrides` against the installed versions: npm 11's ci refuses a lockfile
   * holding a package its override does not accept ("lock file's minimist@0.0.8 does not satisfy
   * minimist@1.2.6", mkdirp@0.5.1's minimist overridden after locking), and npm install resolves
   * it anew. Every override is checked where npm applies it: from the project's roots down the
   * dependencies each package declares, a nested rule (`{"mkdirp": {"minimist": "1.2.6"}}`) only
   * below the package its parent key matched, a `name@range` key only on a dependency whose
   * range meets it (checked with npm 11: both refused by npm ci, installed at 1.2.6 by npm
   * install). `$name` is the root's specifier of that dependency; an alias (`npm:NAME@RANGE`) is
   * checked by its range and a tarball URL by the locked `resolved`, as npm ci checks them; an
   * override to a tag, git or a path is not checked.
   */
  private findOverriddenVersions(manifest: JsonObject): void {
    const own: Record<string, Json> = {};
    for (const section of ['peerDependencies', 'devDependencies', 'optionalDependencies', 'dependencies']) {
      const deps = manifest[section];
      if (isRecord(deps)) Object.assign(own, deps);
    }
    const top = readNpmOverrides(manifest.overrides, own);
    if (top === null) return;
    const seen = new Map<Location, Set<OverrideRule>>();
    const pending: [Location, OverrideRule][] = [];
    const visit = (loc: Location, context: OverrideRule): void => {
      let contexts = seen.get(loc);
      if (contexts === undefined) seen.set(loc, (contexts = new Set()));
      if (contexts.has(context)) return;
      contexts.add(context);
      pending.push([loc, context]);
    };
    for (const loc of this.projectLocations.values()) if (loc.isProjectMember) visit(loc, top);
    const reported = new Set<string>();
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const [loc, context] = next;
      const entry = loc.entry;
      for (const deps of [entry.dependencies, entry.optionalDependencies, loc.isProjectMember ? entry.devDependencies : undefined]) {
        if (!isRecord(deps)) continue;
        for (const name in deps) {
          const spec = deps[name];
          const target = this.resolve(loc.start ?? null, name);
          if (typeof spec !== 'string' || target === undefined) continue;
          const rule = overrideRuleFor(context, name, spec);
          const version = target.entry.version;
          const refused =
            rule !== undefined &&
            !target.isProjectMember &&
            target.entry.link !== true &&
            ((rule.range !== null && typeof version === 'string' && semver.valid(version, { loose: true }) !== null && !semver.satisfies(version, rule.range, { loose: true })) ||
              (rule.tarball !== null && target.entry.resolved !== rule.tarball && !isTarballOf(rule.tarball, (this.packages[target.pkg] as Package).name, target.entry)));
          if (refused) {
            const label = overrideLabel(rule);
            if (!reported.has(label)) this.unlocked.push(label);
            this.staleManifests.add(this.manifestPathOf(''));
            reported.add(label);
          }
          visit(target, rule ?? context);
        }
      }
    }
  }

  /** Installed locations marked hasShrinkwrap: npm installs what is below them from their tarball's npm-shrinkwrap.json. */
  private readonly shrinkwrapped: UnlistedBundle[] = [];

  /** Installed locations (not inside a bundle) whose entry names bundled dependencies, with their package. */
  private readonly bundling: { location: string; pkg: number }[] = [];
  /** Each of those whose bundled dependencies the lockfile does not all list, with what it leaves out. */
  private readonly unlistedBundles: UnlistedBundle[] = [];

  /**
   * npm installs a package's bundled dependencies from its tarball, as they are there, and npm ci
   * does not ask the lockfile for them: a lockfile without their entries (`inBundle`) installs
   * them all the same (checked with npm 11), and an audit of it would not see them.
   */
  private findUnlistedBundles(packages: JsonObject): void {
    for (const { location, pkg } of this.bundling) {
      const entry = packages[location] as JsonObject;
      const declared = entry.bundleDependencies ?? entry.bundledDependencies;
      let names: string[];
      if (declared === true) names = [...Object.keys(isRecord(entry.dependencies) ? entry.dependencies : {}), ...Object.keys(isRecord(entry.optionalDependencies) ? entry.optionalDependencies : {})];
      else if (Array.isArray(declared) && declared.every((n) => typeof n === 'string')) names = declared as string[];
      else if (declared === false) continue;
      else this.badEntry(location, `"bundleDependencies" must be a list of names or a boolean, found ${describe(declared as Json)}`);
      const missing = names.filter((name) => !Object.hasOwn(packages, `${location}/node_modules/${name}`));
      if (missing.length > 0) this.unlistedBundles.push({ pkg: this.packages[pkg] as Package, label: `${location} (${shortList(missing)})` });
    }
  }

  /**
   * The licence each package's entry states (npm 7+ copies a package's `license` into its
   * `packages` entry; the root's is the application's), as written: the first entry that has
   * one, for a package installed at several places.
   */
  private declareLicenses(): void {
    for (const loc of this.order) {
      const pkg = this.packages[loc.pkg] as Package;
      const declared = declaredLicense(loc.entry.license);
      if (pkg.license === undefined && declared !== null) pkg.license = declared;
    }
  }

  /** Set when the entries can be placed in the text: `packages` keys are unique, v1's nested names are not. */
  private locatable = false;

  /** Set when the packages come from v1's nested `dependencies` tree (no `packages` section). */
  private nestedTree = false;

  /** Each package's first `packages` entry, where a report points (v1's nested tree: none). */
  private locateEntries(): void {
    const keys = objectKeyLocations(this.input.text);
    for (const loc of this.order) {
      const pkg = this.packages[loc.pkg] as Package;
      const at = keys.get(loc.path);
      if (pkg.location === undefined && at !== undefined && loc.path !== '') pkg.location = at;
    }
  }

  // ---- v1: the nested `dependencies` tree --------------------------------------------------

  readDependencyTree(): void {
    const tree = this.doc.dependencies;
    if (tree !== undefined && !isRecord(tree)) {
      throw new InputError(this.input.path, `"dependencies" must be an object, found ${describe(tree)}`, positionOfKey(this.input.text, 'dependencies'));
    }
    // Without package.json a v1 lockfile does not say which entries are direct dependencies:
    // every top-level entry is taken as one (hoisted transitive ones included), so that every
    // package is reachable from the root and none that is direct is missed.
    this.nestedTree = true;
    this.addRoot(this.manifestAsEntry() ?? synthesizeRootFromTopLevel(tree ?? {}));
    const rootDir = this.rootModulesDir();
    (this.order[0] as Location).start = rootDir;
    if (tree !== undefined) this.addTree(tree, rootDir);
    this.resolveAllEdges();
    this.declareLicenses();
    // npm 11 ci refuses a v1 lockfile out of step with package.json as it refuses a v3 one
    // ("Missing: lodash@4.17.4 from lock file"): the same check, on the tree's top level.
    this.findUnlockedDependencies(null);
  }

  /**
   * Every entry of the nested tree, in the order a recursive walk takes (an entry, what it
   * nests, then its next sibling), walked with an explicit stack: a tree thousands of levels
   * deep is still a lockfile to read, not a stack to overflow.
   */
  private addTree(top: JsonObject, rootDir: ModulesDir): void {
    const stack: TreeLevel[] = [{ tree: top, keys: Object.keys(top), next: 0, parent: '', dir: rootDir }];
    while (stack.length > 0) {
      const level = stack[stack.length - 1] as TreeLevel;
      if (level.next === level.keys.length) {
        stack.pop();
        continue;
      }
      const nested = this.addTreeEntry(level, level.keys[level.next++] as string);
      if (nested !== undefined) stack.push(nested);
    }
  }

  /** One entry of `level.tree`; the level of what it nests, if anything. */
  private addTreeEntry(level: TreeLevel, key: string): TreeLevel | undefined {
    const { tree, parent, dir } = level;
    const entry = tree[key];
    const location = parent === '' ? `node_modules/${key}` : `${parent}/node_modules/${key}`;
    if (!isRecord(entry)) this.badEntry(location, `must be an object, found ${describe(entry)}`);
    if (!isPackageDirName(key)) this.badEntry(location, `${JSON.stringify(key)} is not a package name (\`name\` or \`@scope/name\`)`);
    // npm reads a specifier's scheme in any letter case (`HTTPS://…`, `NPM:…`).
    const rawVersion = lowerCaseScheme(this.stringField(entry, 'version', location));
    const resolved = this.installedResolved(location, this.stringField(entry, 'resolved', location)).url;
    const integrity = this.stringField(entry, 'integrity', location) ?? null;
    if (rawVersion === undefined) this.badEntry(location, 'missing "version"');

    // v1 puts the whole specifier in "version" for anything not from a registry.
    const spec = parseNpmSpecifier(rawVersion);
    // npm 5.0 wrote a registry tarball's URL as the version: it is that registry package.
    const urlVersion = spec.type === 'tarball' ? registryTarballVersion(key, rawVersion) : null;
    let pkg: number;
    if (spec.type === 'alias') {
      pkg = this.addRegistryPackage(location, spec.name, spec.range, this.registrySource(location, resolved, spec.name, spec.range), integrity, key);
    } else if (spec.type === 'range') {
      pkg = this.addRegistryPackage(location, key, rawVersion, this.registrySource(location, resolved, key, rawVersion), integrity, undefined);
    } else if (urlVersion !== null) {
      pkg = this.addRegistryPackage(location, key, urlVersion, this.registrySource(location, resolved ?? rawVersion, key, urlVersion), integrity, undefined);
    } else {
      // Without `resolved`, npm 11 ci fetches the version's URL: a registry tarball of another
      // package (`left-pad` at minimist-1.2.0.tgz) installs that package under this name.
      const other = spec.type === 'tarball' && resolved === undefined && npmSourceFromResolved(rawVersion).kind === 'registry' ? registryTarballIdentity(rawVersion) : null;
      if (other !== null && other.name !== key) this.badEntry(location, `"version" is a tarball of ${other.name}, not of ${key} (${rawVersion}); npm installs the tarball`);
      const source = v1NonRegistrySource(spec, rawVersion, resolved);
      pkg = this.addPackage(nonRegistryId(key, rawVersion), key, lockedReference(source), source, integrity, undefined);
    }
    this.mergeFlags(pkg, locationFlags(entry));
    // v1 `requires` does not say which map a dependency came from: every edge is normal.
    const requires = entry.requires;
    if (requires !== undefined && !isRecord(requires)) this.badEntry(location, `"requires" must be an object, found ${describe(requires)}`);
    // The installed version and `resolved` stay with it: package.json's ranges and overrides are
    // checked against them, as npm ci checks a v1 tree.
    const installed: JsonObject = spec.type === 'range' || spec.type === 'alias' || urlVersion !== null ? { version: (this.packages[pkg] as Package).version } : {};
    if (resolved !== undefined) installed.resolved = resolved;
    if (requires !== undefined) installed.dependencies = requires;
    const loc = newLocation(location, pkg, installed, false, dir, undefined);
    this.order.push(loc);
    dir.children.set(key, loc);

    const nested = entry.dependencies;
    if (nested === undefined) return undefined;
    if (!isRecord(nested)) this.badEntry(location, `"dependencies" must be an object, found ${describe(nested)}`);
    loc.start = { children: new Map(), parent: dir };
    return { tree: nested, keys: Object.keys(nested), next: 0, parent: location, dir: loc.start };
  }

  // ---- what an installed entry is fetched from ---------------------------------------------

  /**
   * `resolved` of an installed entry as npm reads it, and the source it names. Refused when npm
   * would read it as something other than what it spells, and when it is a bare path: npm
   * writes one only for a link, and would read it as a directory or a registry name, depending
   * on its shape.
   */
  private installedResolved(location: string, resolved: string | undefined): { url: string | undefined; source: PackageSource } {
    if (resolved === undefined || resolved === '') return { url: undefined, source: npmSourceFromResolved(undefined) };
    const read = readResolved(resolved);
    if ('problem' in read) this.badEntry(location, `"resolved" ${JSON.stringify(resolved)} ${read.problem}`);
    const source = npmSourceFromResolved(read.value);
    if (source.kind === 'path') {
      this.badEntry(location, `"resolved" ${JSON.stringify(resolved)} is neither a URL nor a git or file: specifier`);
    }
    return { url: read.value, source };
  }

  /**
   * The version a registry tarball URL names, for an entry that records none: npm installs the
   * tarball all the same. One not named for a version of `name` is refused.
   */
  private versionOfTarball(location: string, url: string, name: string): string {
    const tarball = registryTarballIdentity(url);
    if (tarball === null || tarball.version === null || tarball.name !== name) {
      this.badEntry(location, `missing "version", and "resolved" is not a tarball of a version of ${name} (${url}); npm installs it`);
    }
    return tarball.version;
  }

  /** The source of a registry package, once its tarball URL is known to hold `name@version`. */
  private registrySource(location: string, resolved: string | undefined, name: string, version: string): PackageSource {
    const source = npmSourceFromResolved(resolved);
    if (source.kind === 'registry' && resolved !== undefined) this.requireTarballOf(location, resolved, name, version);
    return source;
  }

  /**
   * npm installs what `resolved` fetches, whatever the entry's name and version say (it never
   * compares them with the tarball). A registry tarball URL names its package and version: they
   * must be the entry's, or the audit would check one package while npm installs another.
   */
  private requireTarballOf(location: string, url: string, name: string, version: string): void {
    const tarball = registryTarballIdentity(url);
    if (tarball === null) return;
    // A name no package has is the first thing wrong, whatever the registry decodes it to.
    const unnamed = registryNameProblem(name);
    if (unnamed !== null) this.badEntry(location, unnamed);
    if (tarball.name !== name) {
      this.badEntry(location, `"resolved" is a tarball of ${tarball.name}, not of ${name} (${url}); npm installs the tarball`);
    }
    if (tarball.version === null) this.badEntry(location, `"resolved" is not a tarball of ${name}@${version} (${url})`);
    if (tarball.version !== version) {
      this.badEntry(location, `"version" is ${version} but "resolved" is the tarball of ${name}@${tarball.version}; npm installs the tarball`);
    }
  }

  // ---- nodes -------------------------------------------------------------------------------

  private addRoot(entry: JsonObject): void {
    const name =
      (typeof entry.name === 'string' && entry.name) ||
      (typeof this.doc.name === 'string' && this.doc.name) ||
      basename(dirname(this.input.path));
    const version =
      (typeof entry.version === 'string' && entry.version) || (typeof this.doc.version === 'string' && this.doc.version) || '';
    const source: PackageSource = { kind: 'workspace', url: '.', isDefaultRegistry: false };
    const pkg = this.addPackage(`${name}@workspace:.`, name, version, source, null, undefined);
    this.rootIndexes.push(pkg);
    this.addLocation(newLocation('', pkg, entry, true, undefined, undefined));
  }

  private addRegistryPackage(location: string, name: string, version: string, source: PackageSource, integrity: string | null, alias: string | undefined): number {
    // An alias gets its own node: the same bytes, but the dependent knows it by another name.
    const base = alias === undefined ? `${name}@${version}` : `${alias}@npm:${name}@${version}`;
    const known = this.registryIds.get(base);
    if (known === undefined) {
      const unnamed = registryNameProblem(name);
      if (unnamed !== null) this.badEntry(location, unnamed);
      // Registry ids never collide with the others (theirs carry `:` after the `@`), so they
      // skip addPackage's lookup.
      const pkg = this.pushPackage(base, name, version, source, integrity, alias);
      this.registryIds.set(base, pkg);
      return pkg;
    }
    if (typeof known === 'number') {
      if (this.holdsTarball(known, integrity)) return known;
    } else {
      for (const pkg of known) if (this.holdsTarball(pkg, integrity)) return pkg;
    }
    // The same name@version installed with different integrity at two locations: one of them
    // is not the registry's tarball (tampered, or republished under the same version). Keep
    // both, as `name@version`, `name@version#2`, … so the disagreement stays visible.
    const held = typeof known === 'number' ? [known] : known;
    const pkg = this.pushPackage(`${base}#${held.length + 1}`, name, version, source, integrity, alias);
    held.push(pkg);
    if (held !== known) this.registryIds.set(base, held);
    return pkg;
  }

  /** Whether package `pkg` can be the tarball of `integrity` (taking it as its checksum when it has none). */
  private holdsTarball(pkg: number, integrity: string | null): boolean {
    const existing = this.packages[pkg] as Package;
    if (integrity === null || existing.checksum === integrity) return true;
    if (existing.checksum === null) {
      existing.checksum = integrity;
      return true;
    }
    return !integritiesDisagree(existing.checksum, integrity);
  }

  private addPackage(
    id: string,
    name: string,
    version: string,
    source: PackageSource,
    checksum: string | null,
    alias: string | undefined,
  ): number {
    const existing = this.indexById.get(id);
    if (existing !== undefined) return existing;
    const index = this.pushPackage(id, name, version, source, checksum, alias);
    this.indexById.set(id, index);
    return index;
  }

  private pushPackage(
    id: string,
    name: string,
    version: string,
    source: PackageSource,
    checksum: string | null,
    alias: string | undefined,
  ): number {
    const pkg: Package = { id, ecosystem: 'npm', name, version, source, checksum };
    if (alias !== undefined) pkg.alias = alias;
    this.packages.push(pkg);
    return this.packages.length - 1;
  }

  private mergeFlags(pkg: number, flags: number): void {
    const known = this.flags[pkg];
    this.flags[pkg] = known === undefined ? flags : known & flags;
  }

  // ---- edges -------------------------------------------------------------------------------

  private addLocation(loc: Location): void {
    this.order.push(loc);
    this.projectLocations.set(loc.path, loc);
  }

  private modulesDir(path: string): ModulesDir {
    let dir = this.modulesDirs.get(path);
    if (dir === undefined) {
      dir = { children: new Map(), parent: null };
      this.modulesDirs.set(path, dir);
    }
    return dir;
  }

  /** Registers `…/node_modules/<name>` under the directory that holds that node_modules. */
  private placeInModulesDir(location: string, slot: Location | Link): ModulesDir | undefined {
    const at = location.lastIndexOf('node_modules/');
    const dir = this.modulesDirHolding(location, at);
    dir?.children.set(location.slice(at + NODE_MODULES.length), slot);
    return dir;
  }

  /** The directory whose node_modules starts at `at` in `location` (its last `node_modules/`); undefined when that is part of a longer name. */
  private modulesDirHolding(location: string, at: number): ModulesDir | undefined {
    if (at !== 0 && location.charCodeAt(at - 1) !== 0x2f /* / */) return undefined;
    return at === 0 ? this.rootModulesDir() : this.modulesDir(location.slice(0, at - 1));
  }

  private rootDir: ModulesDir | undefined;

  private rootModulesDir(): ModulesDir {
    return (this.rootDir ??= this.modulesDir(''));
  }

  /** The nearest directory at or above `path` that has a node_modules. */
  private nearestModulesDir(path: string): ModulesDir | null {
    for (let dir = path; ; ) {
      const found = this.modulesDirs.get(dir);
      if (found !== undefined) return found;
      if (dir === '') return null;
      const slash = dir.lastIndexOf('/');
      dir = slash < 0 ? '' : dir.slice(0, slash);
    }
  }

  private resolveAllEdges(): void {
    // v2/v3 directories were found from paths: link each to the next one up.
    // (forEach and an index, not for-of: no iterator objects in code that runs once, cold.)
    this.modulesDirs.forEach((dir, path) => {
      if (path === '') return;
      const slash = path.lastIndexOf('/');
      dir.parent = this.nearestModulesDir(slash < 0 ? '' : path.slice(0, slash));
    });
    for (let i = 0; i < this.order.length; i++) this.resolveDeclaredEdges(this.order[i] as Location);
  }

  private resolveDeclaredEdges(loc: Location): void {
    // The four maps in precedence order, each read once by name and checked in that order; a
    // name an earlier map declares has its edge already. Spelt out rather than
    // looped over: this runs once per location, interpreted.
    const entry = loc.entry;
    const optional = this.depsField(loc, entry.optionalDependencies, 'optionalDependencies');
    const normal = this.depsField(loc, entry.dependencies, 'dependencies');
    const peer = this.depsField(loc, entry.peerDependencies, 'peerDependencies');
    const dev = loc.isProjectMember ? this.depsField(loc, entry.devDependencies, 'devDependencies') : undefined;
    if (optional === undefined && normal === undefined && peer === undefined && dev === undefined) return;
    let start = loc.start;
    if (start === undefined) {
      // An installed package looks in its own node_modules, then in the one it sits in.
      start = loc.container === undefined ? this.nearestModulesDir(loc.path) : (this.modulesDirs.get(loc.path) ?? loc.container);
      loc.start = start;
    }
    if (optional !== undefined) this.addEdgesTo(loc.pkg, start, optional, OPTIONAL_EDGE, undefined, undefined, undefined);
    if (normal !== undefined) this.addEdgesTo(loc.pkg, start, normal, NORMAL_EDGE, optional, undefined, undefined);
    if (peer !== undefined) this.addPeerEdges(loc, start, peer, optional, normal);
    if (dev !== undefined) this.addEdgesTo(loc.pkg, start, dev, DEV_EDGE, optional, normal, peer);
  }

  /** The edges of `peerDependencies`: peerOptional ones for the names `peerDependenciesMeta` marks `optional: true`, as npm reads them. */
  private addPeerEdges(loc: Location, start: ModulesDir | null, peer: JsonObject, optional: JsonObject | undefined, normal: JsonObject | undefined): void {
    const meta = loc.entry.peerDependenciesMeta;
    if (!isRecord(meta)) {
      this.addEdgesTo(loc.pkg, start, peer, PEER_EDGE, optional, normal, undefined);
      return;
    }
    const required: JsonObject = {};
    const optionalPeers: JsonObject = {};
    for (const name in peer) {
      const about = meta[name];
      if (isRecord(about) && about.optional === true) optionalPeers[name] = peer[name] as Json;
      else required[name] = peer[name] as Json;
    }
    this.addEdgesTo(loc.pkg, start, required, PEER_EDGE, optional, normal, undefined);
    this.addEdgesTo(loc.pkg, start, optionalPeers, PEER_OPTIONAL_EDGE, optional, normal, undefined);
  }

  /** A dependency map of an entry: undefined when absent, refused when not an object. */
  private depsField(loc: Location, deps: Json | undefined, field: string): JsonObject | undefined {
    if (deps === undefined || isRecord(deps)) return deps;
    return this.badEntry(loc.path, `"${field}" must be an object, found ${describe(deps)}`);
  }

  /** An edge of kind `kindIndex` from `pkg` to what each name of `deps` resolves to from `start`, unless an earlier map declares it. */
  private addEdgesTo(
    pkg: number,
    start: ModulesDir | null,
    deps: JsonObject,
    kindIndex: number,
    earlier1: JsonObject | undefined,
    earlier2: JsonObject | undefined,
    earlier3: JsonObject | undefined,
  ): void {
    for (const depName in deps) {
      if (earlier1 !== undefined && Object.hasOwn(earlier1, depName)) continue;
      if (earlier2 !== undefined && Object.hasOwn(earlier2, depName)) continue;
      if (earlier3 !== undefined && Object.hasOwn(earlier3, depName)) continue;
      const target = this.resolve(start, depName);
      // Not installed: normal for an optional or peer dependency (another platform, or a
      // peer left to the dependent). For a normal one the lockfile is inconsistent — npm
      // lockfiles in the wild have such holes — and the graph simply has no edge for it.
      if (target === undefined) continue;
      this.addEdge(pkg, target.pkg, kindIndex);
    }
  }

  /** The root's `node_modules/NAME` entry (a link's has no version); undefined when the lockfile has none. */
  private rootDependency(packages: JsonObject, name: string): { entry: JsonObject } | undefined {
    const entry = packages[`node_modules/${name}`];
    return isRecord(entry) ? { entry } : undefined;
  }

  /** Node's lookup: `<dir>/node_modules/<name>` in the dependent's directory, then each ancestor. */
  private resolve(start: ModulesDir | null, depName: string): Location | undefined {
    for (let dir = start; dir !== null; dir = dir.parent) {
      const slot = dir.children.get(depName);
      if (slot === undefined) continue;
      return 'target' in slot ? this.linkTarget(slot.target) : slot;
    }
    return undefined;
  }

  /** A link's target: a project directory, or (rarely) a package installed in node_modules. */
  private linkTarget(target: string): Location | undefined {
    const project = this.projectLocations.get(target);
    if (project !== undefined) return project;
    const at = target.lastIndexOf('node_modules/');
    if (at !== 0 && target[at - 1] !== '/') return undefined;
    const slot = this.modulesDirs.get(at === 0 ? '' : target.slice(0, at - 1))?.children.get(target.slice(at + 13));
    return slot === undefined || 'target' in slot ? undefined : slot;
  }

  private addEdge(from: number, to: number, kindIndex: number): void {
    const key = (from * this.packages.length + to) * EDGE_KINDS.length + kindIndex;
    if (this.edgeKeys.has(key)) return;
    this.edgeKeys.add(key);
    this.edges.push({ from: (this.packages[from] as Package).id, to: (this.packages[to] as Package).id, kind: EDGE_KINDS[kindIndex] as EdgeKind });
  }

  // ---- result ------------------------------------------------------------------------------

  finish(): DependencyGraph {
    const fromGraph = this.flagsFromGraph();
    for (let index = 0; index < this.packages.length; index++) {
      // npm ci recomputes these flags from the dependency graph and ignores the lockfile's
      // markers (npm 11 installs a runtime dependency marked "dev": true under --omit=dev).
      // A package is left out only when both say so: a marker alone never hides a package.
      const flags = (this.flags[index] ?? 0) & (fromGraph[index] as number);
      if (flags === 0) continue;
      const out: PackageFlags = {};
      if (flags & DEV) out.dev = true;
      if (flags & OPTIONAL) out.optional = true;
      if (flags & PEER) out.peer = true;
      if ((flags & DEV_OPTIONAL) !== 0 && (flags & (DEV | OPTIONAL)) === 0) out.devOptional = true;
      (this.packages[index] as Package).flags = out;
    }
    const graph: DependencyGraph = { ecosystem: 'npm', path: this.input.path, format: this.format, packages: this.packages, edges: this.edges, roots: this.rootIndexes.map((i) => (this.packages[i] as Package).id) };
    if (this.nestedTree && this.packages.some((p) => p.flags !== undefined)) {
      graph.scopeUnknown =
        'its lockfileVersion 1 tree records no peer dependencies, which npm 7 and later install (a package it marks dev may be a runtime package\'s peer); ' +
        'upgrade it with npm 7 or later to audit a narrower scope';
    }
    if (this.unlistedBundles.length > 0) noteUnlistedBundles(graph, this.unlistedBundles, 'npm');
    if (this.shrinkwrapped.length > 0) noteShrinkwrappedPackages(graph, this.shrinkwrapped);
    // `package-lock=false`: npm install resolves every dependency anew from package.json. Not a
    // stale lockfile: npm ci (and so a vendored install) still installs from it.
    const off = this.input.lockfileOff;
    if (off !== undefined) {
      (graph.warnings ??= []).push(
        `${off.file}: sets ${off.setting}: npm install neither reads nor writes ${this.input.path} and resolves every dependency anew from package.json (npm ci still installs from it); the audit covers what the lockfile locks`,
      );
    }
    if (this.input.manifest !== undefined) noteStaleLockfile(graph, [...this.staleManifests], this.unlocked);
    return this.locatable ? locatePackagesLater(graph, () => this.locateEntries()) : graph;
  }

  /**
   * npm's dependency flags (arborist's calcDepFlags), by package index: dev when no path from a
   * root avoids a dev edge, optional and peer likewise, devOptional when none avoids both dev
   * and optional edges. Roots, and packages no root reaches, get none.
   */
  private flagsFromGraph(): Uint8Array {
    const n = this.packages.length;
    // The edges by index, from the keys addEdge made of them (in edge order: a Set keeps the
    // order it was filled in); every package was added before the first edge, so `n` is the
    // count the keys were made with.
    const length = this.edgeKeys.size;
    const edges = { from: new Int32Array(length), to: new Int32Array(length), kinds: new Uint8Array(length), length };
    let e = 0;
    this.edgeKeys.forEach((key) => {
      const pair = Math.floor(key / EDGE_KINDS.length);
      edges.kinds[e] = EDGE_KIND_BITS[key - pair * EDGE_KINDS.length] as number;
      edges.to[e] = pair % n;
      edges.from[e] = Math.floor(pair / n);
      e++;
    });
    const [all, noDev, noOptional, noPeer, noDevOrOptional] = reachableAvoidingIndexes(n, edges, this.rootIndexes, [
      [],
      ['dev'],
      ['optional'],
      ['peer'],
      ['dev', 'optional'],
    ]) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const isRoot = new Uint8Array(n);
    for (const i of this.rootIndexes) isRoot[i] = 1;
    const flags = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (all[i] === 0 || isRoot[i] === 1) continue;
      let bits = 0;
      if (noDev[i] === 0) bits |= DEV;
      if (noOptional[i] === 0) bits |= OPTIONAL;
      if (noPeer[i] === 0) bits |= PEER;
      if (noDevOrOptional[i] === 0) bits |= DEV_OPTIONAL;
      flags[i] = bits;
    }
    return flags;
  }

  private manifestEntry: JsonObject | undefined;
  private memberEntries: Map<string, JsonObject> | undefined;
  private readonly memberPaths = new Map<string, string>();

  /** The package.json file of the root (`""`) or of a workspace member, by its location. */
  private manifestPathOf(location: string): string {
    return location === '' ? (this.input.manifest?.path ?? join(dirname(this.input.path), 'package.json')) : (this.memberPaths.get(location) ?? join(dirname(this.input.path), location, 'package.json'));
  }

  /** The workspace members' package.json files found on disk, by their location in `packages` (parsed once). */
  private memberManifests(): Map<string, JsonObject> {
    if (this.memberEntries !== undefined) return this.memberEntries;
    this.memberEntries = new Map();
    const root = dirname(this.input.path);
    for (const member of this.input.members ?? []) {
      const location = posix.normalize(relative(root, dirname(member.path)).split(sep).join('/'));
      this.memberEntries.set(location, manifestDocument(member.path, member.text));
      this.memberPaths.set(location, member.path);
    }
    return this.memberEntries;
  }

  /** The package.json of a directory of the project a link points to, as its entry; undefined when there is none. */
  private linkedManifest(location: string): JsonObject | undefined {
    const manifest = this.input.projectManifest?.(location);
    return manifest === null || manifest === undefined ? undefined : manifestDocument(manifest.path, manifest.text);
  }

  /** package.json beside the lockfile, as a root entry (parsed once); undefined when there is none. */
  private manifestAsEntry(): JsonObject | undefined {
    const manifest = this.input.manifest;
    if (manifest === undefined || this.manifestEntry !== undefined) return this.manifestEntry;
    return (this.manifestEntry = manifestDocument(manifest.path, manifest.text));
  }

  private stringField(entry: JsonObject, field: string, location: string): string | undefined {
    const value = entry[field];
    if (value === undefined || typeof value === 'string') return value;
    return this.notAString(location, field, value);
  }

  private notAString(location: string, field: string, value: Json): never {
    return this.badEntry(location, `"${field}" must be a string, found ${describe(value)}`);
  }

  private badEntry(location: string, message: string): never {
    const isFlat = isRecord(this.doc.packages);
    let label = `"${location}"`;
    if (location === '') label = 'the root entry ("")';
    else if (!isFlat) label = `dependency "${treePathLabel(location)}"`;
    // v2/v3 keys are unique in the file, so the key's position is the entry's; v1 keys are
    // bare names that recur all over the tree, so a position there would mislead.
    const position = isFlat ? positionOfKey(this.input.text, location) : undefined;
    throw new InputError(this.input.path, `${label}: ${message}`, position);
  }
}

/** package.json's ranges as node-semver reads them (loosely), by their text; null: not a range. */
const looseRanges = new Map<string, semver.Range | null>();

/**
 * A range of package.json, parsed once: every application of one code base declares the same
 * ranges, and a bulk add read them twice each (validRange, then satisfies) for every one.
 */
function looseRange(range: string): semver.Range | null {
  let parsed = looseRanges.get(range);
  if (parsed === undefined) {
    try {
      parsed = new semver.Range(range, { loose: true });
    } catch {
      parsed = null;
    }
    if (looseRanges.size >= 4096) looseRanges.clear();
    looseRanges.set(range, parsed);
  }
  return parsed;
}

/** A package.json, as the entry of the project it describes. */
function manifestDocument(path: string, text: string): JsonObject {
  const doc = parseJson(path, text);
  if (!isRecord(doc)) throw new InputError(path, 'expected a JSON object at the top level', { line: 1, column: 1 });
  return doc;
}

/**
 * The markers that decide whether a bundled location (`inBundle`) is installed: its bundler's.
 * npm unpacks a bundler's tarball whole, so what it bundles is on disk whenever the bundler is,
 * whatever the bundled entry's own markers say (npm 11.19.1's `npm ci --omit=optional` installs
 * npm@6.14.0's bundled tweetnacl, which the lockfile marks optional: sshpk's optional dependency).
 */
function bundlerFlags(packages: JsonObject, location: string): number {
  let at = location;
  for (;;) {
    const parent = at.lastIndexOf(`/${NODE_MODULES}`);
    at = parent < 0 ? '' : at.slice(0, parent);
    const entry = packages[at];
    if (at === '' || !isRecord(entry)) return 0;
    if (entry.inBundle !== true) return locationFlags(entry);
  }
}

/**
 * The lockfile's dev / optional / devOptional / peer markers for one location. devOptional
 * means "needed by a dev dependency and by an optional (non-dev) one": npm leaves it out only
 * when both dev and optional dependencies are omitted. npm writes "dev" and "optional" both
 * for an optional dependency of a dev one, and only "dev" or "optional" when one is enough, so
 * either also stands for devOptional.
 */
function locationFlags(entry: JsonObject): number {
  let flags = 0;
  if (entry.dev === true) flags |= DEV | DEV_OPTIONAL;
  if (entry.optional === true) flags |= OPTIONAL | DEV_OPTIONAL;
  if (entry.devOptional === true) flags |= DEV_OPTIONAL;
  if (entry.peer === true) flags |= PEER;
  return flags;
}

/**
 * Two SRI strings (`sha512-… sha1-…`) disagree when they share an algorithm and no digest of
 * it; with no algorithm in common (npm wrote sha1 in old entries, sha512 in newer ones) there
 * is nothing to compare, so they are taken as the same tarball.
 */
function integritiesDisagree(a: string, b: string): boolean {
  const digests = new Map<string, Set<string>>();
  for (const token of a.trim().split(/\s+/)) {
    const dash = token.indexOf('-');
    if (dash <= 0) continue;
    const algo = token.slice(0, dash);
    let set = digests.get(algo);
    if (set === undefined) digests.set(algo, (set = new Set()));
    set.add(token.slice(dash + 1).split('?')[0] ?? '');
  }
  const sharedAlgos = new Set<string>();
  let sameDigest = false;
  for (const token of b.trim().split(/\s+/)) {
    const dash = token.indexOf('-');
    if (dash <= 0) continue;
    const set = digests.get(token.slice(0, dash));
    if (set === undefined) continue;
    sharedAlgos.add(token.slice(0, dash));
    if (set.has(token.slice(dash + 1).split('?')[0] ?? '')) sameDigest = true;
  }
  return sharedAlgos.size > 0 && !sameDigest;
}

/** v1 without package.json: every top-level entry is a direct dependency, dev if marked so. */
function synthesizeRootFromTopLevel(tree: JsonObject): JsonObject {
  const dependencies: JsonObject = {};
  const devDependencies: JsonObject = {};
  const optionalDependencies: JsonObject = {};
  for (const name in tree) {
    const entry = tree[name];
    if (!isRecord(entry)) continue;
    const version = typeof entry.version === 'string' ? entry.version : '*';
    if (entry.dev === true) devDependencies[name] = version;
    else if (entry.optional === true) optionalDependencies[name] = version;
    else dependencies[name] = version;
  }
  return { dependencies, devDependencies, optionalDependencies };
}

/** Where a v1 entry that is not from a registry comes from: its "version" holds the specifier. */
function v1NonRegistrySource(spec: NpmSpecifier, rawVersion: string, resolved: string | undefined): PackageSource {
  switch (spec.type) {
    case 'git':
      // `resolved` is the canonical git URL with the commit; older files only have "version".
      if (resolved !== undefined) return npmSourceFromResolved(resolved);
      return spec.committish === undefined
        ? { kind: 'git', url: spec.url, isDefaultRegistry: false }
        : { kind: 'git', url: spec.url, rev: spec.committish, isDefaultRegistry: false };
    case 'file':
      return npmSourceFromResolved(rawVersion);
    default:
      // A tarball by URL (even one on a registry host: it was asked for by URL, not by version).
      return { kind: 'other', url: rawVersion, isDefaultRegistry: false };
  }
}

/** The id of a git / tarball / file package: its name and exactly what was locked. */
function nonRegistryId(name: string, locked: string): string {
  return `${name}@${locked}`;
}

/** A version for a package whose lockfile entry records none: the commit, or the locator. */
function lockedReference(source: PackageSource): string {
  return source.rev ?? source.url ?? '';
}

/** `node_modules/a/node_modules/b` → `a > b`; the middle of a very deep path left out. */
function treePathLabel(location: string): string {
  const names = location.slice('node_modules/'.length).split('/node_modules/');
  if (names.length <= 8) return names.join(' > ');
  return [...names.slice(0, 3), `… ${names.length - 6} more …`, ...names.slice(-3)].join(' > ');
}

/**
 * `url` is `<registry><name>/-/<name without its scope>-<version>.tgz`, the URL the registry
 * serves name@version at, as npm writes it. Compared in place: a lockfile has thousands.
 */
function isTarballUrlOf(url: string, registry: string, name: string, version: string): boolean {
  // The file is named for the name without its scope.
  const unscoped = name.lastIndexOf('/') + 1;
  const file = unscoped === 0 ? name : name.slice(unscoped);
  if (url.length !== registry.length + name.length + 3 + file.length + 1 + version.length + 4) return false;
  // One comparison of the whole URL, as npm would write it, rather than five startsWith calls
  // (each a call into the runtime, with these sliced strings): about a third less time.
  return url === `${registry}${name}/-/${file}-${version}.tgz`;
}

/**
 * Why npm would not install a `packages` key where it spells, or null. npm takes keys as paths
 * and resolves them (`node_modules/foo/`, `node_modules//foo` and `node_modules/./foo` are all
 * `node_modules/foo` to it); it writes every key in normal form itself, so a key in any other
 * is refused rather than guessed at, as is one whose last part is not a package's directory.
 * `name` is the package directory a key under node_modules names (what follows its last `node_modules/`).
 */
function locationKeyProblem(location: string, name: string | undefined): string | null {
  // Nearly every key is one npm writes for an installed package: settled by one native match.
  if (PLAIN_INSTALLED_KEY.test(location)) return null;
  if (location.includes('\\')) return 'a location with "\\" (npm writes "/" on every platform)';
  if (location.startsWith('/')) return 'an absolute location (npm writes them relative to the project)';
  if (!isNormalLocation(location)) {
    return `not a location in normal form: npm installs it at "${posix.normalize(location).replace(/\/+$/, '')}"`;
  }
  if (name !== undefined && !isPackageDirName(name)) {
    return 'not a package directory: a location ends in node_modules/<name> or node_modules/@scope/<name>';
  }
  return null;
}

/**
 * `node_modules/<name>`, nested any number of times (`…/node_modules/<name>`), each name plain
 * (`@scope/` then letters, digits, `_`, `-` and `.`, not first): a key that has none of the
 * problems locationKeyProblem looks for (no backslash, no leading `/`, no empty, `.` or `..`
 * segment, and its last name, what follows its last `node_modules/`, is a package directory).
 */
const PLAIN_INSTALLED_KEY = /^node_modules\/(?:@[\w.-]+\/)?[\w-][\w.-]*(?:\/node_modules\/(?:@[\w.-]+\/)?[\w-][\w.-]*)*$/;

/**
 * No empty, `.` or `..` segment, except leading `..` (a directory beside the project, `../lib`):
 * what path.normalize leaves as it is, without a trailing `/`. Read segment by segment, without
 * a pattern: every key of a lockfile is checked.
 */
function isNormalLocation(location: string): boolean {
  let start = 0;
  while (location.startsWith('../', start)) start += 3;
  const rest = location.length - start;
  // `..`, `../..`: the directory above, as far up as it goes.
  if (rest === 2 && location.startsWith('..', start)) return true;
  if (rest === 0) return false;
  for (let at = start; at <= location.length; ) {
    const slash = location.indexOf('/', at);
    const end = slash < 0 ? location.length : slash;
    const length = end - at;
    // Empty, `.` or `..`.
    if (length === 0 || (length <= 2 && location.charCodeAt(at) === 0x2e && (length === 1 || location.charCodeAt(at + 1) === 0x2e))) return false;
    at = end + 1;
  }
  return true;
}

/** `name` or `@scope/name`: the one or two directories a package takes in node_modules. */
function isPackageDirName(name: string): boolean {
  return PACKAGE_DIR_NAME.test(name);
}

const PACKAGE_DIR_NAME = /^(?:@[^/\\]+\/(?!\.\.?$)[^/\\]+|(?!\.\.?$)[^@/\\][^/\\]*)$/;

function isUnderNodeModules(location: string): boolean {
  return location.startsWith('node_modules/') || location.includes('/node_modules/');
}

const NODE_MODULES = 'node_modules/';

/** A version as npm writes it (`1.2.0`, `1.0.0-rc.1+build`): settled without semver's parser. */
const PLAIN_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * A Location with every field set, in one order: all locations share one shape, so the reads
 * of their fields while edges are resolved stay monomorphic.
 */
function newLocation(
  path: string,
  pkg: number,
  entry: JsonObject,
  isProjectMember: boolean,
  start: ModulesDir | null | undefined,
  container: ModulesDir | undefined,
): Location {
  return { path, start, container, pkg, entry, isProjectMember };
}

/** npm writes link targets relative to the project root (`packages/a`, `../lib`); drop `./`. */
function normalizeRelative(path: string): string {
  const stripped = path.startsWith('file:') ? path.slice(5) : path;
  return stripped.replace(/^\.\/+/, '').replace(/\/+$/, '');
}

/** Whether JavaScript takes `value` as true, as arborist tests a lockfile's flags. */
function truthy(value: Json | undefined): boolean {
  return value !== undefined && value !== null && value !== false && value !== 0 && value !== '';
}

function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

// ---- JSON with positions ---------------------------------------------------------------------

/** JSON.parse, with syntax errors turned into an InputError at line:column. */
function parseJson(path: string, text: string): Json {
  // A leading BOM is common from Windows editors and not part of the JSON.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body) as Json;
  } catch (err) {
    if (looksBinary(body)) throw new InputError(path, 'not a JSON text file (binary data)');
    const message = err instanceof Error ? err.message : String(err);
    const offset = syntaxErrorOffset(body, message);
    const reason = describeSyntaxError(message, body, offset);
    const shift = body === text ? 0 : 1;
    throw new InputError(path, `invalid JSON: ${reason}`, offset === undefined ? undefined : lineAndColumn(text, offset + shift));
  }
}

function looksBinary(text: string): boolean {
  const head = text.slice(0, 4096);
  return head.includes('\u0000') || head.includes('\uFFFD');
}

function syntaxErrorOffset(text: string, message: string): number | undefined {
  const at = /at position (\d+)/.exec(message);
  if (at) return Number(at[1]);
  if (/Unexpected end of JSON input/.test(message)) return text.length;
  // V8 reports some errors ("Unexpected token 'x', ...") without a position: find it ourselves.
  return locateJsonError(text)?.offset;
}

function describeSyntaxError(message: string, text: string, offset: number | undefined): string {
  if (text.trim() === '') return 'the file is empty';
  if (offset !== undefined && offset >= text.length) return 'unexpected end of input (truncated file?)';
  const token = /^Unexpected token '(.*?)', /.exec(message);
  if (token) return `unexpected ${JSON.stringify(token[1])}`;
  const reason = message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/, '');
  return reason.charAt(0).toLowerCase() + reason.slice(1);
}

/** A `license` value as npm writes it: an SPDX string, or the legacy `{ type }` object; null for anything else. */
function declaredLicense(value: Json | undefined): string | null {
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (isRecord(value) && typeof value.type === 'string' && value.type.trim() !== '') return value.type;
  return null;
}

/**
 * Whether a registry tarball URL is the one of the entry's package and version: npm ci takes an
 * entry without `resolved` as fetched from the registry's tarball of it (checked with npm 11: an
 * override to `…/minimist/-/minimist-1.2.6.tgz` accepts the entry of minimist 1.2.6).
 */
function isTarballOf(url: string, name: string, entry: JsonObject): boolean {
  const identity = registryTarballIdentity(url);
  return entry.resolved === undefined && identity !== null && identity.version === entry.version && identity.name === name;
}
