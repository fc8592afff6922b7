import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FixEcosystem, LockfileChange, PublishedVersion } from '../../core/ecosystem.js';
import { StowageError } from '../../core/errors.js';
import type { Edge } from '../../core/graph.js';
import type { HttpOptions } from '../../core/http.js';
import { readTextInput } from '../../core/input-files.js';
import type { Package } from '../../core/package.js';
import { runTool } from '../../core/run-tool.js';
import * as semver from '../../core/semver.js';
import { writeFileAtomically } from '../../core/atomic-write.js';
import { PackumentClient, PUBLIC_REGISTRY_CONFIG, readNpmrcRegistries, registryFor, type NpmRegistryConfig } from './registry.js';

/**
 * npm's side of the fix planner. package-lock v2/v3 records every package's dependency ranges
 * (the graph's edges carry them); versions, deprecations and the ranges of other versions come
 * from the packuments of the registry the project's `.npmrc` names.
 */

/** `npm:real@range` (an alias) → `range`; anything else as written. */
function rangeOf(requirement: string): string {
  const alias = /^npm:(?:@[^/]+\/)?[^@]+@(.*)$/.exec(requirement);
  return alias ? (alias[1] as string) : requirement;
}

const NPM_FLAGS = ['--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'];

export class NpmFixEcosystem implements FixEcosystem {
  private readonly config: NpmRegistryConfig;
  private readonly client: PackumentClient;

  constructor(
    private readonly projectDir: string,
    http: HttpOptions = {},
    env: NodeJS.ProcessEnv = process.env,
  ) {
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

  lockedRequirement(_dependent: Package, _dependency: Package, edge: Edge): Promise<string | null> {
    return Promise.resolve(edge.requirement === undefined ? null : rangeOf(edge.requirement));
  }

  async publishedRequirement(dependent: Package, version: string, name: string): Promise<string | null> {
    const doc = (await this.documents(dependent.name)).get(version);
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
      const deps = doc?.[field];
      const range = deps !== null && typeof deps === 'object' ? (deps as Record<string, unknown>)[name] : undefined;
      if (typeof range === 'string') return rangeOf(range);
    }
    return null;
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

  async apply(changes: readonly LockfileChange[], options: { allowOverrides: boolean }): Promise<void> {
    const overridden = options.allowOverrides ? changes.filter((c) => !c.direct) : [];
    if (overridden.length > 0) this.addOverrides(overridden);
    const commands = new Map(changes.map((c) => [this.command(c, options).join('\0'), this.command(c, options)]));
    for (const [npm, ...args] of commands.values() as Iterable<[string, ...string[]]>) {
      const run = await runTool(npm, args, { cwd: this.projectDir });
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
