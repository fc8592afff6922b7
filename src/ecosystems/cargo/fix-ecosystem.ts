import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { stringify, type TomlTable } from 'smol-toml';
import type { BundlingPackage, FixEcosystem, LockfileChange, PublishedVersion } from '../../core/ecosystem.js';
import { StowageError } from '../../core/errors.js';
import type { HttpOptions } from '../../core/http.js';
import { readTextInput } from '../../core/input-files.js';
import type { Package } from '../../core/package.js';
import { runTool, type ToolLimits } from '../../core/run-tool.js';
import { isTomlTable } from '../../core/toml-values.js';
import { readCargoConfig, readCargoFetchConfig, type CargoConfig } from './cargo-config.js';
import { ProjectRegistries, type IndexEntry } from './registry.js';
import { crateKey, declaredSpec, dependencyTables } from './manifest-dependencies.js';
import { cargoCompatible, cargoRequirementMatches, compareCargoVersionText, parseCargoVersion } from './version.js';
import { memberManifestPathsOf, parseManifestQuietly, pathPackageManifests } from './workspace-members.js';
import { GitCheckout, GitUnreachable } from '../../core/git-checkout.js';
import { RequirementUnreadable } from '../../core/fix.js';
import { gitCrateManifest } from './git-crate.js';

/**
 * Cargo's side of the fix planner. Cargo.lock records no requirements: a registry crate's come
 * from the index entry of its locked version (what the resolver itself reads), a workspace
 * member's from its Cargo.toml. Versions and yanks come from the sparse index the project
 * fetches from, after its `.cargo/config.toml` source replacement, as vendoring reads it.
 */

/** A workspace member's manifest and the requirements it states, by dependency crate. */
interface MemberManifest {
  path: string;
  requirements: Map<string, string[]>;
}

/**
 * The requirements a manifest states, `workspace = true` entries read from the root's
 * `[workspace.dependencies]`. Cargo resolves dev-dependencies only for the workspace's members:
 * a git crate's, or a path crate's outside the workspace, are not counted (`members: false`).
 */
function manifestRequirements(doc: TomlTable, inherited: TomlTable, members: boolean): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const { table, kind } of dependencyTables(doc)) {
    if (kind === 'dev' && !members) continue;
    for (const [key, written] of Object.entries(table)) {
      const spec = declaredSpec(key, written, inherited);
      const version = isTomlTable(spec) ? spec.version : spec;
      if (typeof version !== 'string') continue; // a path or git dependency without a version
      const crate = crateKey(isTomlTable(spec) && typeof spec.package === 'string' ? spec.package : key);
      found.set(crate, [...(found.get(crate) ?? []), version]);
    }
  }
  return found;
}

/**
 * The root manifest, every member's and every path dependency's (a `path = "../x"` crate, or one
 * inside the workspace cargo takes in as a member without its being listed), by package name:
 * Cargo.lock records none of their requirements.
 */
function readMembers(projectDir: string): Map<string, MemberManifest> {
  const members = new Map<string, MemberManifest>();
  const rootPath = join(projectDir, 'Cargo.toml');
  if (!existsSync(rootPath)) return members;
  const root = parseManifestQuietly(readTextInput(rootPath));
  if (root === null) return members;
  const workspace = isTomlTable(root.workspace) ? root.workspace : {};
  const inherited = isTomlTable(workspace.dependencies) ? workspace.dependencies : {};
  const read = (path: string, doc: TomlTable | null): void => {
    const pkg = doc?.package;
    if (doc === null || !isTomlTable(pkg) || typeof pkg.name !== 'string') return;
    const where = relative(projectDir, path);
    // A path crate inside the workspace's directory is a member (cargo takes it in); one outside is not.
    const member = !where.startsWith('..') && !isAbsolute(where);
    members.set(crateKey(pkg.name), { path: where || path, requirements: manifestRequirements(doc, inherited, member) });
  };
  read(rootPath, root);
  const listed = memberManifestPathsOf(rootPath, root).map((path) => ({ path, doc: parseManifestQuietly(readTextInput(path)) }));
  for (const { path, doc } of listed) read(path, doc);
  const readable = (path: string): string | null => (existsSync(path) ? readTextInput(path) : null);
  for (const { path, text } of pathPackageManifests({ path: rootPath, doc: root }, listed, readable)) {
    const pkg = parseManifestQuietly(text)?.package;
    // A member of the same name comes first.
    if (isTomlTable(pkg) && typeof pkg.name === 'string' && members.has(crateKey(pkg.name))) continue;
    read(path, parseManifestQuietly(text));
  }
  return members;
}

/** A git repository's manifests at one commit, kept once its checkout is gone. */
interface GitManifests extends Pick<GitCheckout, 'tree' | 'blobs'> {
  /** The repository's root Cargo.toml (its `[workspace.dependencies]`), if any. */
  root: TomlTable | null;
}

/** The last lines of cargo's stderr that say what went wrong. */
function cargoReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^(Updating|Locking|Downgrading|Adding|Removing|Blocking|note:|help:)/.test(l));
  return lines.slice(0, 3).join(' ') || 'no output';
}

/** `table[key]` when it is a table, else an empty one. */
function tableAt(table: TomlTable, key: string): TomlTable {
  const value = table[key];
  return isTomlTable(value) ? value : {};
}

/** The entries of `table` named in `keys`. */
function picked(table: TomlTable, keys: readonly string[]): TomlTable {
  return Object.fromEntries(Object.entries(table).filter(([key]) => keys.includes(key)));
}

/**
 * The settings of the project's `.cargo/config.toml` that decide where crates come from and how
 * the lockfile resolves, and nothing else, for a lockfile update of an application that is not
 * trusted (a campaign's): source replacement, the registries' indexes, `[patch]`, the default
 * registry, retries. Its other settings make cargo run programs on the update's path:
 * `build.rustc` / `rustc-wrapper` / `rustc-workspace-wrapper` (cargo runs `rustc -vV` to resolve),
 * a registry's `credential-provider` or `[credential-alias]` (run for a registry that asks for
 * authentication). Relative paths are made absolute: they were the project directory's.
 */
export function resolutionSettings(config: CargoConfig, projectDir: string): TomlTable {
  const settings = config.settings;
  const absolute = (table: TomlTable, keys: readonly string[]): TomlTable => {
    const copy: TomlTable = { ...table };
    for (const key of keys) {
      const value = copy[key];
      if (typeof value === 'string' && !isAbsolute(value)) copy[key] = resolve(projectDir, value);
    }
    return copy;
  };
  const kept: TomlTable = {};
  const sources = Object.entries(tableAt(settings, 'source')).flatMap(([name, body]) =>
    isTomlTable(body) ? [[name, absolute(picked(body, ['replace-with', 'registry', 'local-registry', 'directory', 'git', 'branch', 'tag', 'rev']), ['local-registry', 'directory'])]] : [],
  );
  if (sources.length > 0) kept.source = Object.fromEntries(sources) as TomlTable;
  const registries = Object.entries(tableAt(settings, 'registries')).flatMap(([name, body]) => (isTomlTable(body) ? [[name, picked(body, ['index', 'protocol'])]] : []));
  if (registries.length > 0) kept.registries = Object.fromEntries(registries) as TomlTable;
  const registry = picked(tableAt(settings, 'registry'), ['default']);
  if (Object.keys(registry).length > 0) kept.registry = registry;
  const net = picked(tableAt(settings, 'net'), ['retry', 'git-fetch-with-cli']);
  if (Object.keys(net).length > 0) kept.net = net;
  const patches = Object.entries(tableAt(settings, 'patch')).flatMap(([where, crates]) =>
    isTomlTable(crates) ? [[where, Object.fromEntries(Object.entries(crates).flatMap(([name, spec]) => (isTomlTable(spec) ? [[name, absolute(spec, ['path'])]] : [])))]] : [],
  );
  if (patches.length > 0) kept.patch = Object.fromEntries(patches) as TomlTable;
  return kept;
}

export class CargoFixEcosystem implements FixEcosystem {
  private readonly registries: ProjectRegistries;
  private members: Map<string, MemberManifest> | undefined;
  /** A git crate's requirements, by package id: read from its manifest at the locked commit. */
  private readonly gitCrates = new Map<string, Promise<Map<string, string[]>>>();
  /** The manifests of each git repository at one commit, by `url#rev`: fetched once, however many crates it holds. */
  private readonly gitManifests = new Map<string, Promise<GitManifests>>();

  constructor(
    private readonly projectDir: string,
    private readonly http: HttpOptions = {},
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.registries = new ProjectRegistries(readCargoFetchConfig(projectDir), http);
  }

  /**
   * The requirements a git crate states, from its Cargo.toml at the commit Cargo.lock locks
   * (fetched as vendoring fetches it; `workspace = true` entries from the repository's root
   * manifest): cargo refuses a change one of them does not accept.
   */
  private gitRequirements(pkg: Package): Promise<Map<string, string[]>> {
    let found = this.gitCrates.get(pkg.id);
    if (found === undefined) {
      found = this.readGitRequirements(pkg);
      this.gitCrates.set(pkg.id, found);
    }
    return found;
  }

  /** The git source's url without cargo's `?branch=` / `?rev=` query. */
  private static gitUrl(pkg: Package): string {
    const withQuery = pkg.source.url ?? '';
    return withQuery.includes('?') ? withQuery.slice(0, withQuery.indexOf('?')) : withQuery;
  }

  private async readGitRequirements(pkg: Package): Promise<Map<string, string[]>> {
    const url = CargoFixEcosystem.gitUrl(pkg);
    const label = `${pkg.name} ${pkg.version} (git ${url})`;
    let repository: GitManifests;
    try {
      repository = await this.gitRepository(url, pkg.source.rev ?? '', label);
    } catch (err) {
      // Only the plans that need this crate's requirements are blocked; the others are made.
      if (err instanceof GitUnreachable) throw new RequirementUnreadable(`what ${pkg.name} ${pkg.version} requires is unknown: ${err.message}`);
      throw err;
    }
    const { manifest } = await gitCrateManifest(repository, pkg, label);
    const workspace = repository.root !== null && isTomlTable(repository.root.workspace) ? repository.root.workspace : {};
    return manifestRequirements(manifest, isTomlTable(workspace.dependencies) ? workspace.dependencies : {}, false);
  }

  /** The repository's manifests at `rev`, fetched once per url and commit (a workspace's crates share one fetch). */
  private gitRepository(url: string, rev: string, label: string): Promise<GitManifests> {
    const key = `${url}#${rev}`;
    let found = this.gitManifests.get(key);
    if (found === undefined) {
      found = this.fetchGitManifests(url, rev, label);
      this.gitManifests.set(key, found);
    }
    return found;
  }

  private async fetchGitManifests(url: string, rev: string, label: string): Promise<GitManifests> {
    const workDir = await mkdtemp(join(tmpdir(), 'stowage-fix-git-'));
    try {
      const context = { env: this.env, ...(this.http.registries ? { registries: this.http.registries } : {}) };
      const checkout = await GitCheckout.fetch(url, rev, label, 'Cargo.lock', context, workDir);
      // Every Cargo.toml of the tree is kept (gitCrateManifest searches them all); nothing else is read.
      const manifests = [...checkout.tree.values()].filter((e) => e.type === 'blob' && (e.path === 'Cargo.toml' || e.path.endsWith('/Cargo.toml')));
      const blobs = await checkout.blobs(manifests.map((e) => e.object));
      const rootEntry = checkout.tree.get('Cargo.toml');
      const rootText = rootEntry === undefined ? undefined : blobs.get(rootEntry.object)?.toString('utf8');
      return {
        tree: checkout.tree,
        root: rootText === undefined ? null : parseManifestQuietly(rootText),
        blobs: (objects) => Promise.resolve(new Map(objects.flatMap((o) => (blobs.has(o) ? [[o, blobs.get(o) as Buffer]] : [])))),
      };
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  private async entries(pkg: Package): Promise<IndexEntry[] | null> {
    if (pkg.source.kind !== 'registry') return null;
    const entries = await this.registries.indexOf(pkg).versions(pkg.name);
    return entries?.filter((e) => crateKey(e.name) === crateKey(pkg.name)) ?? null;
  }

  private member(pkg: Package): MemberManifest | undefined {
    this.members ??= readMembers(this.projectDir);
    return this.members.get(crateKey(pkg.name));
  }

  async published(pkg: Package): Promise<PublishedVersion[] | null> {
    const entries = await this.entries(pkg);
    return entries?.map((e) => ({ version: e.vers, withdrawn: e.yanked ? 'yanked' : null })) ?? null;
  }

  /** The requirements on `name` of one index entry (normal and build: dev-dependencies of a registry crate are never resolved). */
  private static requirementsIn(entry: IndexEntry, name: string): string[] {
    return entry.deps.filter((d) => d.kind !== 'dev' && crateKey(d.crate) === crateKey(name)).map((d) => d.req);
  }

  async lockedRequirement(dependent: Package, dependency: Package): Promise<string | null> {
    let requirements: string[];
    if (dependent.source.kind === 'registry') {
      const entry = (await this.entries(dependent))?.find((e) => e.vers === dependent.version);
      requirements = entry ? CargoFixEcosystem.requirementsIn(entry, dependency.name) : [];
    } else if (dependent.source.kind === 'git') {
      requirements = (await this.gitRequirements(dependent)).get(crateKey(dependency.name)) ?? [];
    } else {
      requirements = this.member(dependent)?.requirements.get(crateKey(dependency.name)) ?? [];
    }
    // A crate depended on twice (renamed, per target) at two versions: the requirement this copy satisfies.
    const own = [...new Set(requirements.filter((r) => this.satisfies(dependency.version, r)))];
    return own.length > 0 ? own.join(', ') : null;
  }

  async publishedRequirement(dependent: Package, version: string, name: string): Promise<string | null> {
    const entry = (await this.entries(dependent))?.find((e) => e.vers === version);
    return entry ? (CargoFixEcosystem.requirementsIn(entry, name)[0] ?? null) : null;
  }

  manifestOf(root: Package): string {
    return this.member(root)?.path ?? 'Cargo.toml';
  }

  compare(a: string, b: string): number {
    return compareCargoVersionText(a, b);
  }

  satisfies(version: string, requirement: string): boolean {
    try {
      return cargoRequirementMatches(requirement, version);
    } catch {
      return true;
    }
  }

  compatible(locked: string, candidate: string): boolean {
    return cargoCompatible(locked, candidate);
  }

  resolvable(candidate: string, locked: string, requirements: readonly string[]): boolean {
    try {
      const v = parseCargoVersion(candidate);
      if (v.pre.length === 0) return true;
      const l = parseCargoVersion(locked);
      if (l.pre.length > 0 && l.major === v.major && l.minor === v.minor && l.patch === v.patch) return true;
      // cargoRequirementMatches takes a pre-release only for a requirement that names one of its release.
      return requirements.some((r) => this.satisfiesStrictly(candidate, r));
    } catch {
      return false;
    }
  }

  private satisfiesStrictly(version: string, requirement: string): boolean {
    try {
      return cargoRequirementMatches(requirement, version);
    } catch {
      return false;
    }
  }

  /** A crate's package is the crate itself: nothing is bundled. */
  bundledIn(): { bundlers: BundlingPackage[]; movable: boolean } {
    return { bundlers: [], movable: true };
  }

  command(change: LockfileChange): string[] {
    return ['cargo', 'update', '-p', `${change.pkg.name}@${change.pkg.version}`, '--precise', change.to];
  }

  /** cargo update writes Cargo.lock alone. */
  manifestChanges(): [] {
    return [];
  }

  /** --precise moves the crate to that very version (and adds only what the new version requires that nothing locked gives). */
  caveat(): null {
    return null;
  }

  /**
   * Offline first (the index cargo already has), then against the registry when cargo needs it.
   * `untrusted` (a campaign's application): cargo runs in `/`, on the project's manifest
   * (`--manifest-path`), so that it reads neither the project's `.cargo/config.toml` (only its
   * resolutionSettings are given, by `--config`) nor a `rust-toolchain.toml`, whose `path` would
   * have rustup run a cargo and a rustc of the application's own (nor those of anyone who can
   * write in /tmp, above a work directory).
   */
  async apply(changes: readonly LockfileChange[], options: { env?: NodeJS.ProcessEnv; limits?: ToolLimits; untrusted?: boolean } = {}): Promise<void> {
    const outside = options.untrusted === true ? mkdtempSync(join(tmpdir(), 'stowage-cargo-update-')) : null;
    try {
      const extra: string[] = [];
      if (outside !== null) {
        const config = join(outside, 'config.toml');
        writeFileSync(config, stringify(resolutionSettings(readCargoConfig(this.projectDir), this.projectDir)));
        extra.push('--manifest-path', join(this.projectDir, 'Cargo.toml'), '--config', config);
      }
      // From `/`: the directories above a temporary directory (/tmp, writable by anyone) would be searched too.
      // The scratch directory holds the --config file: a confined cargo must read it.
      const run = { cwd: outside !== null ? '/' : this.projectDir, readable: outside !== null ? [outside] : [], ...(options.env ? { env: options.env } : {}), ...(options.limits ? { limits: options.limits } : {}) };
      for (const change of changes) {
        const [cargo, ...args] = this.command(change) as [string, ...string[]];
        // Errors name the command as the plan shows it, not the scratch paths added to it.
        const offline = await runTool(cargo, [...args, ...extra, '--offline'], { ...run, label: [cargo, ...args, '--offline'].join(' ') });
        if (offline.status === 0) continue;
        const online = await runTool(cargo, [...args, ...extra], { ...run, label: [cargo, ...args].join(' ') });
        if (online.status !== 0) throw new StowageError(`${this.command(change).join(' ')} failed: ${cargoReason(online.stderr)}`, this.projectDir);
      }
    } finally {
      if (outside !== null) rmSync(outside, { recursive: true, force: true });
    }
  }
}
