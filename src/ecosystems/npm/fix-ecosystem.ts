import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { FixEcosystem, LockfileChange, PublishedVersion } from '../../core/ecosystem.js';
import { StowageError } from '../../core/errors.js';
import type { HttpOptions } from '../../core/http.js';
import { readTextInput } from '../../core/input-files.js';
import type { Package } from '../../core/package.js';
import { runTool, type ToolLimits } from '../../core/run-tool.js';
import * as semver from '../../core/semver.js';
import { writeFileAtomically } from '../../core/atomic-write.js';
import { PackumentClient, PUBLIC_REGISTRY_CONFIG, readNpmrcRegistries, registryFor, type NpmRegistryConfig } from './registry.js';

/**
 * npm's side of the fix planner. package-lock v2/v3 records every package's dependency ranges
 * in its `packages` entries, read here when a plan needs them (the lockfile parser, on every
 * audit's path, does not keep them); versions, deprecations and the ranges of other versions
 * come from the packuments of the registry the project's `.npmrc` names.
 */

type Entries = Record<string, Record<string, unknown>>;

/** The fields a `packages` entry declares dependencies in, as npm ranks them. */
const RANGE_FIELDS = ['optionalDependencies', 'dependencies', 'peerDependencies', 'devDependencies'];

function declaredRange(entry: Record<string, unknown> | undefined, name: string): string | null {
  for (const field of RANGE_FIELDS) {
    const deps = entry?.[field];
    const range = deps !== null && typeof deps === 'object' ? (deps as Record<string, unknown>)[name] : undefined;
    if (typeof range === 'string') return rangeOf(range);
  }
  return null;
}

/** `npm:real@range` (an alias) → `range`; anything else as written. */
function rangeOf(requirement: string): string {
  const alias = /^npm:(?:@[^/]+\/)?[^@]+@(.*)$/.exec(requirement);
  return alias ? (alias[1] as string) : requirement;
}

const NPM_FLAGS = ['--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'];

export class NpmFixEcosystem implements FixEcosystem {
  private readonly config: NpmRegistryConfig;
  private readonly client: PackumentClient;
  private readonly projectDir: string;
  private entries: Entries | undefined;

  constructor(
    private readonly lockfile: string,
    http: HttpOptions = {},
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const projectDir = dirname(lockfile);
    this.projectDir = projectDir;
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

  /** package-lock v2/v3 `packages` (empty for other lockfiles: their ranges are not checked). */
  private lockEntries(): Entries {
    if (this.entries === undefined) {
      const name = basename(this.lockfile);
      const doc: unknown = name.endsWith('package-lock.json') || name.endsWith('npm-shrinkwrap.json') ? JSON.parse(readTextInput(this.lockfile)) : {};
      const packages = doc !== null && typeof doc === 'object' ? (doc as Record<string, unknown>).packages : undefined;
      this.entries = packages !== null && typeof packages === 'object' ? (packages as Entries) : {};
    }
    return this.entries;
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

  /** `^locked`: what `npm update` stays within. */
  compatible(locked: string, candidate: string): boolean {
    return semver.satisfies(candidate, `^${locked}`, { includePrerelease: true });
  }

  /**
   * A direct dependency: `npm install NAME@VERSION` (package.json gets `^VERSION`). A transitive
   * one: `npm update NAME`, which moves it as far as every dependent's range allows; or, with
   * --allow-overrides, an `overrides` entry for the locked version and `npm install`.
   */
  command(change: LockfileChange, options: { allowOverrides: boolean }): string[] {
    if (change.direct) return ['npm', 'install', ...NPM_FLAGS, `${change.pkg.name}@${change.to}`];
    if (options.allowOverrides) return ['npm', 'install', ...NPM_FLAGS];
    return ['npm', 'update', change.pkg.name, ...NPM_FLAGS];
  }

  /**
   * `untrusted` (a campaign's application): npm runs the git the environment finds, never one
   * its `.npmrc` names (`git=./program`, run to resolve a git dependency): the environment's
   * settings come before the project's. The rest of npm's settings that name programs are for
   * scripts, which --ignore-scripts leaves unrun.
   */
  async apply(changes: readonly LockfileChange[], options: { allowOverrides: boolean; env?: NodeJS.ProcessEnv; limits?: ToolLimits; untrusted?: boolean }): Promise<void> {
    // npm would write a package-lock.json beside a yarn or pnpm lockfile and leave that one as it was.
    if (!/(^|\.)(package-lock|npm-shrinkwrap)\.json$/.test(basename(this.lockfile))) {
      throw new StowageError('--apply changes package-lock.json and npm-shrinkwrap.json only: this lockfile is planned, not applied', this.lockfile);
    }
    const overridden = options.allowOverrides ? changes.filter((c) => !c.direct) : [];
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

  /** `"overrides": { "NAME@LOCKED": "FIXED" }` in package.json: only the affected copy moves. */
  private addOverrides(changes: readonly LockfileChange[]): void {
    const path = join(this.projectDir, 'package.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const overrides = (manifest.overrides ?? {}) as Record<string, unknown>;
    if (typeof overrides !== 'object' || Array.isArray(overrides)) throw new StowageError('"overrides" is not an object', path);
    for (const c of changes) overrides[`${c.pkg.name}@${c.pkg.version}`] = c.to;
    manifest.overrides = overrides;
    writeFileAtomically(path, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'));
  }
}
