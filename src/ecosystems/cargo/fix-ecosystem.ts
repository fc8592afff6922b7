import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { TomlTable } from 'smol-toml';
import type { FixEcosystem, LockfileChange, PublishedVersion } from '../../core/ecosystem.js';
import { StowageError } from '../../core/errors.js';
import type { HttpOptions } from '../../core/http.js';
import { readTextInput } from '../../core/input-files.js';
import type { Package } from '../../core/package.js';
import { runTool, type ToolLimits } from '../../core/run-tool.js';
import { isTomlTable } from '../../core/toml-values.js';
import { readCargoConfig } from './cargo-config.js';
import { ProjectRegistries, type IndexEntry } from './registry.js';
import { crateKey, declaredSpec, dependencyTables } from './manifest-dependencies.js';
import { cargoCompatible, cargoRequirementMatches, compareCargoVersionText } from './version.js';
import { memberManifestPathsOf, parseManifestQuietly } from './workspace-members.js';

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

/** The requirements a manifest states, `workspace = true` entries read from the root's `[workspace.dependencies]`. */
function manifestRequirements(doc: TomlTable, inherited: TomlTable): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const { table } of dependencyTables(doc)) {
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

/** The root manifest and every member's, by package name. */
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
    members.set(crateKey(pkg.name), { path: relative(projectDir, path) || path, requirements: manifestRequirements(doc, inherited) });
  };
  read(rootPath, root);
  for (const path of memberManifestPathsOf(rootPath, root)) read(path, parseManifestQuietly(readTextInput(path)));
  return members;
}

/** The last lines of cargo's stderr that say what went wrong. */
function cargoReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^(Updating|Locking|Downgrading|Adding|Removing|Blocking|note:|help:)/.test(l));
  return lines.slice(0, 3).join(' ') || 'no output';
}

export class CargoFixEcosystem implements FixEcosystem {
  private readonly registries: ProjectRegistries;
  private members: Map<string, MemberManifest> | undefined;

  constructor(
    private readonly projectDir: string,
    http: HttpOptions = {},
  ) {
    this.registries = new ProjectRegistries(readCargoConfig(projectDir), http);
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

  command(change: LockfileChange): string[] {
    return ['cargo', 'update', '-p', `${change.pkg.name}@${change.pkg.version}`, '--precise', change.to];
  }

  /** Offline first (the index cargo already has), then against the registry when cargo needs it. */
  async apply(changes: readonly LockfileChange[], options: { env?: NodeJS.ProcessEnv; limits?: ToolLimits } = {}): Promise<void> {
    const run = { cwd: this.projectDir, ...(options.env ? { env: options.env } : {}), ...(options.limits ? { limits: options.limits } : {}) };
    for (const change of changes) {
      const [cargo, ...args] = this.command(change) as [string, ...string[]];
      const offline = await runTool(cargo, [...args, '--offline'], run);
      if (offline.status === 0) continue;
      const online = await runTool(cargo, args, run);
      if (online.status !== 0) throw new StowageError(`${this.command(change).join(' ')} failed: ${cargoReason(online.stderr)}`, this.projectDir);
    }
  }
}
