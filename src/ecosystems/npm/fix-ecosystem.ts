import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { BundlingPackage, FixEcosystem, LockfileChange, PublishedVersion } from '../../core/ecosystem.js';
import { StowageError } from '../../core/errors.js';
import type { HttpOptions } from '../../core/http.js';
import { readTextInput } from '../../core/input-files.js';
import type { ManifestChange } from '../../core/fix.js';
import type { Package } from '../../core/package.js';
import { runTool, type ToolLimits } from '../../core/run-tool.js';
import * as semver from '../../core/semver.js';
import { writeOverInputAtomically } from '../../core/atomic-write.js';
import { PackumentClient, PUBLIC_REGISTRY_CONFIG, readNpmrcRegistries, registryFor, type NpmRegistryConfig } from './registry.js';
import { npmWorkspaceManifestPaths } from './workspace-members.js';

/**
 * npm's side of the fix planner. package-lock v2/v3 records every package's dependency ranges
 * in its `packages` entries, read here when a plan needs them (the lockfile parser, on every
 * audit's path, does not keep them); versions, deprecations and the ranges of other versions
 * come from the packuments of the registry the project's `.npmrc` names.
 */

/** npm's own lockfiles, as a project may name them (`npm-shrinkwrap.json`, a copy like `app.package-lock.json`). */
function isNpmLockfile(path: string): boolean {
  return /(^|\.)(package-lock|npm-shrinkwrap)\.json$/.test(basename(path));
}

type Entries = Record<string, Record<string, unknown>>;

/** The fields a `packages` entry declares dependencies in, as npm ranks them. */
const RANGE_FIELDS = ['optionalDependencies', 'dependencies', 'peerDependencies', 'devDependencies'];

/** The field of `entry` that declares `name`, and the requirement as written there. */
function declaration(entry: Record<string, unknown> | undefined, name: string): { field: string; written: string } | null {
  for (const field of RANGE_FIELDS) {
    const deps = entry?.[field];
    const written = deps !== null && typeof deps === 'object' ? (deps as Record<string, unknown>)[name] : undefined;
    if (typeof written === 'string') return { field, written };
  }
  return null;
}

function declaredRange(entry: Record<string, unknown> | undefined, name: string): string | null {
  const found = declaration(entry, name);
  return found === null ? null : rangeOf(found.written);
}

/**
 * How `npm install NAME@VERSION` should save VERSION so that no manifest admits anything its
 * requirement did not: npm writes `^VERSION` unless told otherwise, which widens `~1.2.5` or
 * `1.2.x`. The first of `^`, `~` and an exact version that every requirement contains (the
 * planner only picks a VERSION they accept, so an exact one always is); npm's `^` for a
 * requirement that is no range (a dist-tag).
 */
function savePrefix(requirements: readonly string[], version: string): '^' | '~' | '' {
  const ranges = requirements.filter((r) => semver.validRange(r) !== null);
  for (const prefix of ['^', '~'] as const) if (ranges.every((r) => semver.subset(`${prefix}${version}`, r))) return prefix;
  return '';
}

/** The flag that has npm save with `prefix` (none for its default, `^`). */
const SAVE_FLAGS: Record<'^' | '~' | '', string[]> = { '^': [], '~': ['--save-prefix=~'], '': ['--save-exact'] };

/** `npm:real@range` (an alias) → `range`; anything else as written. */
function rangeOf(requirement: string): string {
  const alias = /^npm:(?:@[^/]+\/)?[^@]+@(.*)$/.exec(requirement);
  return alias ? (alias[1] as string) : requirement;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * package-lock v1's nested `dependencies` in v2's `packages` shape: each entry's `requires` as
 * its dependencies, `bundled` as `inBundle`; the root's ranges from package.json (v1 records none).
 */
function packagesOfV1(dependencies: Record<string, unknown>, manifest: Record<string, unknown>): Entries {
  const root: Record<string, unknown> = {};
  for (const field of RANGE_FIELDS) if (isRecord(manifest[field])) root[field] = manifest[field];
  const entries: Entries = { '': root };
  const walk = (deps: Record<string, unknown>, prefix: string): void => {
    for (const [name, dep] of Object.entries(deps)) {
      if (!isRecord(dep)) continue;
      const key = `${prefix}node_modules/${name}`;
      entries[key] = { version: dep.version, dependencies: isRecord(dep.requires) ? dep.requires : {}, ...(dep.bundled === true ? { inBundle: true } : {}) };
      if (isRecord(dep.dependencies)) walk(dep.dependencies, `${key}/`);
    }
  };
  walk(dependencies, '');
  return entries;
}

/** The name a `packages` key installs: what follows its last `node_modules/`. */
function installedName(key: string): string {
  return key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** The location a `packages` key is nested in (`a/node_modules/b` → `a`; a top-level one → the root, ''). */
function parentLocation(key: string): string {
  const at = key.lastIndexOf('/node_modules/');
  return at < 0 ? '' : key.slice(0, at);
}

const NPM_FLAGS = ['--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'];

/** A project manifest's declaration of a dependency: its location in `packages` (`''` the root), the field and the requirement as written. */
interface Declaration {
  location: string;
  field: string;
  written: string;
}

export class NpmFixEcosystem implements FixEcosystem {
  private readonly config: NpmRegistryConfig;
  private readonly client: PackumentClient;
  private readonly projectDir: string;
  private entries: Entries | undefined;
  private members: Set<string> | undefined;

  constructor(
    private readonly lockfile: string,
    http: HttpOptions = {},
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const projectDir = dirname(lockfile);
    this.projectDir = projectDir;
    // yarn, pnpm and bun record their ranges in their own shapes, not read here: a plan unchecked
    // against them could name a version a dependent refuses, and npm's commands would write a
    // package-lock.json beside the lockfile the build installs from.
    if (!isNpmLockfile(lockfile)) {
      throw new StowageError(
        `stowage fix plans package-lock.json and npm-shrinkwrap.json only; for ${basename(lockfile)} it is not supported yet (audit it, and move the package with its own package manager)`,
        lockfile,
      );
    }
    const npmrc = join(projectDir, '.npmrc');
    this.config = existsSync(npmrc) ? readNpmrcRegistries(npmrc, readTextInput(npmrc), env) : PUBLIC_REGISTRY_CONFIG;
    this.client = new PackumentClient(http);
  }

  private documents(name: string): Promise<ReadonlyMap<string, Record<string, unknown>>> {
    return this.client.versions(registryFor(this.config, name), name);
  }

  async published(pkg: Package): Promise<PublishedVersion[] | null> {
    if (pkg.source.kind !== 'registry') return null;
    return [...(await this.documents(pkg.name))].map(([version, doc]) => ({
      version,
      withdrawn: typeof doc.deprecated === 'string' && doc.deprecated !== '' ? `deprecated: ${doc.deprecated}` : null,
    }));
  }

  /** package-lock v2/v3 `packages`; a v1 lockfile's nested `dependencies` in that shape. */
  private lockEntries(): Entries {
    if (this.entries === undefined) {
      const doc: unknown = JSON.parse(readTextInput(this.lockfile));
      const packages = isRecord(doc) ? doc.packages : undefined;
      const v1 = isRecord(doc) ? doc.dependencies : undefined;
      const manifestPath = join(this.projectDir, 'package.json');
      if (isRecord(packages)) this.entries = packages as Entries;
      else if (isRecord(v1)) {
        const manifest: unknown = existsSync(manifestPath) ? JSON.parse(readTextInput(manifestPath)) : {};
        this.entries = packagesOfV1(v1, isRecord(manifest) ? manifest : {});
      } else this.entries = {};
    }
    return this.entries;
  }

  /**
   * npm never changes a bundled copy (`inBundle`): it is whatever the bundler's tarball holds.
   * Its bundler is the nearest enclosing location that is not itself bundled.
   */
  bundledIn(pkg: Package): { bundlers: BundlingPackage[]; movable: boolean } {
    const entries = this.lockEntries();
    const bundlers = new Map<string, BundlingPackage>();
    let movable = false;
    for (const [key, entry] of Object.entries(entries)) {
      if (key === '' || entry.version !== pkg.version || (entry.name ?? installedName(key)) !== pkg.name) continue;
      if (entry.inBundle !== true) {
        movable = true;
        continue;
      }
      let at = parentLocation(key);
      while (at !== '' && entries[at]?.inBundle === true) at = parentLocation(at);
      const bundler = entries[at];
      // The project's own bundled dependencies are installed from the lockfile like any other.
      if (at === '' || bundler === undefined || bundler.link === true) {
        movable = true;
        continue;
      }
      const name = typeof bundler.name === 'string' ? bundler.name : installedName(at);
      const version = typeof bundler.version === 'string' ? bundler.version : '';
      bundlers.set(`${name}@${version}`, { name, version });
    }
    // A package the lockfile records no location of (not package-lock's) is the lockfile's to move.
    return { bundlers: [...bundlers.values()], movable: movable || bundlers.size === 0 };
  }

  /** The dependent's entry: a project directory by its location, an installed package by name and version (every copy declares the same). */
  private entryOf(pkg: Package): Record<string, unknown> | undefined {
    const entries = this.lockEntries();
    if (pkg.source.kind === 'workspace' || pkg.source.kind === 'path') return entries[pkg.source.url === '.' ? '' : (pkg.source.url ?? '')];
    for (const [key, entry] of Object.entries(entries)) {
      const installedAs = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
      if (entry.version === pkg.version && (entry.name ?? installedAs) === pkg.name) return entry;
    }
    return undefined;
  }

  lockedRequirement(dependent: Package, dependency: Package): Promise<string | null> {
    return Promise.resolve(declaredRange(this.entryOf(dependent), dependency.alias ?? dependency.name));
  }

  async publishedRequirement(dependent: Package, version: string, name: string): Promise<string | null> {
    return declaredRange((await this.documents(dependent.name)).get(version), name);
  }

  manifestOf(root: Package): string {
    return root.source.url && root.source.url !== '.' ? `${root.source.url}/package.json` : 'package.json';
  }

  compare(a: string, b: string): number {
    return semver.compare(a, b);
  }

  satisfies(version: string, requirement: string): boolean {
    if (semver.validRange(requirement) === null) return true;
    return semver.satisfies(version, requirement);
  }

  resolvable(candidate: string, locked: string, requirements: readonly string[]): boolean {
    const v = semver.parse(candidate);
    if (v === null) return false;
    if (v.prerelease.length === 0) return true;
    const l = semver.parse(locked);
    if (l !== null && l.prerelease.length > 0 && l.major === v.major && l.minor === v.minor && l.patch === v.patch) return true;
    // Without includePrerelease, node-semver takes a pre-release only for a range that names one of its release.
    return requirements.some((r) => semver.validRange(r) !== null && semver.satisfies(candidate, r));
  }

  /** `^locked`: what `npm update` stays within. */
  compatible(locked: string, candidate: string): boolean {
    return semver.satisfies(candidate, `^${locked}`, { includePrerelease: true });
  }

  /**
   * The project's own manifests that declare a direct dependency on this very copy: the root
   * (`''`) and workspace members (their locations in `packages`), each with the requirement as
   * written there (under the alias, `"foo": "npm:bar@^1"`, when the copy is installed as one).
   * A location resolves a name as npm does: its own `node_modules` first, then the root's.
   */
  private directDeclarations(pkg: Package): Declaration[] {
    const entries = this.lockEntries();
    const name = pkg.alias ?? pkg.name;
    const found = [];
    for (const [location, entry] of Object.entries(entries)) {
      if (location !== '' && (location.includes('node_modules/') || location.startsWith('../') || location.startsWith('/'))) continue;
      const declared = declaration(entry, name);
      if (declared === null) continue;
      const resolved = entries[location === '' ? `node_modules/${name}` : `${location}/node_modules/${name}`] ?? entries[`node_modules/${name}`];
      if (resolved?.version === pkg.version) found.push({ location, ...declared });
    }
    return found;
  }

  /**
   * The workspace members the root package.json lists, by location (`packages/a`): the only
   * directories `npm install -w` takes. Another directory of the project a `file:` requirement
   * links to is a root of the graph too, but npm refuses it ("No workspaces found").
   */
  private workspaceMembers(): Set<string> {
    if (this.members === undefined) {
      const manifest = join(this.projectDir, 'package.json');
      const paths = existsSync(manifest) ? npmWorkspaceManifestPaths(manifest, readTextInput(manifest), 'npm') : [];
      const root = resolve(this.projectDir);
      this.members = new Set(paths.map((p) => relative(root, dirname(p)).split(sep).join('/')));
    }
    return this.members;
  }

  /**
   * Where `npm install NAME@VERSION` saves a direct dependency: the root's and the workspace
   * members' manifests that declare it (none recorded: the root's, as npm adds it), and the
   * prefix that admits no version one of their requirements did not (see savePrefix). Null for
   * a change npm install does not make: a transitive dependency, or one that only a `file:`
   * directory of the project that is no workspace member declares (`-w` refuses it), which is
   * moved as a transitive one is (`npm update`, or an override).
   */
  private installTargets(change: LockfileChange): { declared: Declaration[]; prefix: '^' | '~' | '' } | null {
    if (!change.direct) return null;
    const all = this.directDeclarations(change.pkg);
    const members = this.workspaceMembers();
    const declared = all.filter((d) => d.location === '' || members.has(d.location));
    if (declared.length === 0 && all.length > 0) return null;
    return { declared, prefix: savePrefix(declared.map((d) => rangeOf(d.written)), change.to) };
  }

  /** The name `npm update` takes: the one the package is installed under (an alias's, `"foo": "npm:bar@^1"` → foo). */
  private static installedName(pkg: Package): string {
    return pkg.alias ?? pkg.name;
  }

  /** `NAME@VERSION`, or for an alias `ALIAS@npm:NAME@VERSION`: npm then saves it under the alias. */
  private static installSpec(pkg: Package, version: string): string {
    return pkg.alias === undefined ? `${pkg.name}@${version}` : `${pkg.alias}@npm:${pkg.name}@${version}`;
  }

  /**
   * A direct dependency: `npm install NAME@VERSION`, which saves it in package.json anew, with
   * the prefix that admits no version the requirement did not (`~1.2.5` becomes `~1.2.6`, never
   * `^1.2.6`), in the workspace members that declare it (`-w LOCATION`: without it npm adds a
   * requirement to the root's package.json and leaves the member's as it was) and under its
   * alias (`ALIAS@npm:NAME@VERSION`: `NAME@VERSION` would add NAME beside it). A transitive one:
   * `npm update NAME`, which moves it as far as every dependent's range allows; or, with
   * --allow-overrides, an `overrides` entry for the locked version and `npm install`. `npm update`
   * takes the name the package is installed under: for an alias, `npm update bar` moves nothing.
   */
  command(change: LockfileChange, options: { allowOverrides: boolean }): string[] {
    const targets = this.installTargets(change);
    if (targets !== null) {
      const { declared, prefix } = targets;
      const members = declared.filter((d) => d.location !== '').map((d) => d.location);
      const root = declared.length === 0 || declared.some((d) => d.location === '');
      const where = [...members.flatMap((m) => ['-w', m]), ...(members.length > 0 && root ? ['--include-workspace-root'] : [])];
      return ['npm', 'install', ...NPM_FLAGS, ...where, ...SAVE_FLAGS[prefix], NpmFixEcosystem.installSpec(change.pkg, change.to)];
    }
    if (options.allowOverrides) return ['npm', 'install', ...NPM_FLAGS];
    return ['npm', 'update', NpmFixEcosystem.installedName(change.pkg), ...NPM_FLAGS];
  }

  /**
   * `npm update NAME` takes no version: it moves NAME to the newest version its dependents'
   * ranges accept, and with it whatever that version requires (on jellyfin-web's lockfiles,
   * express planned 4.18.1 → 4.20.0 went to 4.22.3 and moved 38 other packages).
   */
  caveat(change: LockfileChange, options: { allowOverrides: boolean }): string | null {
    if (this.installTargets(change) !== null || options.allowOverrides) return null;
    const installed = NpmFixEcosystem.installedName(change.pkg);
    const named = installed === change.pkg.name ? installed : `${installed} (${change.pkg.name})`;
    return `npm update moves ${named} to the newest version its dependents accept, which may be later than ${change.to}, and moves what that version requires with it (--allow-overrides moves it to ${change.to} exactly)`;
  }

  /**
   * What the manifests get: a direct dependency's requirement saved anew in each manifest that
   * declares it (the root's, each workspace member's), or an override entry in the root's.
   */
  manifestChanges(change: LockfileChange, options: { allowOverrides: boolean }): ManifestChange[] {
    const targets = this.installTargets(change);
    if (targets !== null) {
      const key = change.pkg.alias ?? change.pkg.name;
      const to = change.pkg.alias === undefined ? `${targets.prefix}${change.to}` : `npm:${change.pkg.name}@${targets.prefix}${change.to}`;
      if (targets.declared.length === 0) return [{ file: 'package.json', field: 'dependencies', key, from: null, to }];
      return targets.declared
        .filter((d) => d.written !== to)
        .map((d) => ({ file: d.location === '' ? 'package.json' : `${d.location}/package.json`, field: d.field, key, from: d.written, to }));
    }
    if (options.allowOverrides) return [{ file: 'package.json', field: 'overrides', ...NpmFixEcosystem.override(change), from: null }];
    return [];
  }

  /**
   * The override that moves the locked copy to the planned version: `"NAME@LOCKED": "FIXED"`;
   * for a copy installed under an alias, `"ALIAS@LOCKED": "npm:NAME@FIXED"` (npm matches an
   * override by the name the copy is installed under: `"NAME@LOCKED"` leaves the alias as it was).
   */
  private static override(change: LockfileChange): { key: string; to: string } {
    const { alias, name, version } = change.pkg;
    return alias === undefined ? { key: `${name}@${version}`, to: change.to } : { key: `${alias}@${version}`, to: `npm:${name}@${change.to}` };
  }

  /**
   * `untrusted` (a campaign's application): npm runs the git the environment finds, never one
   * its `.npmrc` names (`git=./program`, run to resolve a git dependency): the environment's
   * settings come before the project's. The rest of npm's settings that name programs are for
   * scripts, which --ignore-scripts leaves unrun.
   */
  async apply(changes: readonly LockfileChange[], options: { allowOverrides: boolean; env?: NodeJS.ProcessEnv; limits?: ToolLimits; untrusted?: boolean }): Promise<void> {
    const overridden = options.allowOverrides ? changes.filter((c) => this.installTargets(c) === null) : [];
    if (overridden.length > 0) this.addOverrides(overridden);
    const commands = new Map(changes.map((c) => [this.command(c, options).join('\0'), this.command(c, options)]));
    let env = options.env;
    if (options.untrusted === true) {
      const base = env ?? process.env;
      const chosen = Object.entries(base).find(([name]) => name.toLowerCase() === 'npm_config_git')?.[1];
      env = { ...base, npm_config_git: chosen ?? 'git' };
    }
    for (const [npm, ...args] of commands.values() as Iterable<[string, ...string[]]>) {
      const run = await runTool(npm, args, { cwd: this.projectDir, ...(env ? { env } : {}), ...(options.limits ? { limits: options.limits } : {}) });
      if (run.status !== 0) {
        const reason = run.stderr.split('\n').filter((l) => l.startsWith('npm error') && !/A complete log/.test(l)).slice(0, 3).join(' ');
        throw new StowageError(`${[npm, ...args].join(' ')} failed: ${reason || `exit ${run.status}`}`, this.projectDir);
      }
    }
  }

  /** `"overrides": { "NAME@LOCKED": "FIXED" }` in package.json (see override): only the affected copy moves. */
  private addOverrides(changes: readonly LockfileChange[]): void {
    const path = join(this.projectDir, 'package.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const overrides = (manifest.overrides ?? {}) as Record<string, unknown>;
    if (typeof overrides !== 'object' || Array.isArray(overrides)) throw new StowageError('"overrides" is not an object', path);
    for (const c of changes) {
      const { key, to } = NpmFixEcosystem.override(c);
      overrides[key] = to;
    }
    manifest.overrides = overrides;
    // package.json was read as the audit's input: this is the one change to it the user asked for.
    writeOverInputAtomically(path, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'));
  }
}
