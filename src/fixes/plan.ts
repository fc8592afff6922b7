import type { Advisory } from '../core/advisory.js';
import type { BundlingPackage, FixEcosystem, VersionScheme } from '../core/ecosystem.js';
import { RequirementUnreadable, type BlockingRequirement, type FixChange, type FixPlan } from '../core/fix.js';
import type { Finding } from '../core/finding.js';
import type { DependencyGraph } from '../core/graph.js';
import type { HttpOptions } from '../core/http.js';
import type { Package } from '../core/package.js';
import { loadFixEcosystem, loadVersionScheme } from '../ecosystems/formats.js';

/**
 * The fix planner: for each vulnerable package of a lockfile, the smallest lockfile change that
 * leaves no affected version. The lowest published version, after the locked one, that none of
 * the package's advisories affects, neither yanked nor deprecated, that every dependent's
 * requirement accepts; in the locked version's semver-compatible line when such a version
 * exists. Where none exists, the dependents that block it, and what would unblock each, up to
 * the application's own manifest.
 */

export interface FixPlanOptions {
  allowOverrides: boolean;
  /**
   * Every advisory of a package's name that fails the policy (the audit's knownAdvisories): a
   * change never moves a package onto a version one of them affects that the locked version was
   * not affected by, a fix released inside another flaw's range.
   */
  known: (pkg: Package) => readonly Advisory[];
}

/** Beyond this many levels of dependents the chain of blockers is not followed further. */
const MAX_BLOCKER_DEPTH = 8;

/** The requirements dependents state, those not recorded left out. */
function recorded(dependents: readonly { requirement: string | null }[]): string[] {
  return dependents.flatMap((d) => (d.requirement === null ? [] : [d.requirement]));
}

class GraphPlanner {
  private readonly byId: Map<string, Package>;
  private readonly roots: Set<string>;

  constructor(
    private readonly graph: DependencyGraph,
    private readonly eco: FixEcosystem,
    private readonly scheme: VersionScheme,
    private readonly options: FixPlanOptions,
  ) {
    this.byId = new Map(graph.packages.map((p) => [p.id, p]));
    this.roots = new Set(graph.roots);
  }

  /** Each dependent of a package, with the requirement it states on it (null: not recorded, not checked). */
  private async dependents(pkg: Package): Promise<{ dependent: Package; requirement: string | null }[]> {
    const found = [];
    for (const edge of this.graph.edges) {
      if (edge.to !== pkg.id) continue;
      const dependent = this.byId.get(edge.from);
      if (dependent === undefined || dependent.id === pkg.id) continue;
      found.push({ dependent, requirement: await this.eco.lockedRequirement(dependent, pkg) });
    }
    return found;
  }

  /** Published versions after the locked one, oldest first, never a withdrawn one, that pass `keep`. */
  private async laterVersions(pkg: Package, keep: (version: string) => boolean | Promise<boolean>): Promise<string[] | null> {
    const published = await this.eco.published(pkg);
    if (published === null) return null;
    const later = published
      .filter((p) => p.withdrawn === null && this.safeCompare(p.version, pkg.version) > 0)
      .map((p) => p.version)
      .sort((a, b) => this.eco.compare(a, b));
    const kept: string[] = [];
    for (const version of later) if (await keep(version)) kept.push(version);
    return kept;
  }

  /** A registry may publish a version the ecosystem's rules cannot order: it sorts first, so it is never chosen. */
  private safeCompare(a: string, b: string): number {
    try {
      return this.eco.compare(a, b);
    } catch {
      return -1;
    }
  }

  private isFixed(version: string, advisories: readonly Advisory[]): boolean {
    try {
      return !advisories.some((a) => a.affected.some((entry) => this.scheme.isAffected(version, entry)));
    } catch {
      return false;
    }
  }

  /**
   * The plans for one vulnerable package: the lockfile's copies moved, and, for copies inside
   * another package's tarball (npm bundled dependencies), which no lockfile change reaches, a
   * plan of their own without a change that names their bundler.
   */
  async plans(pkg: Package, advisories: readonly Advisory[]): Promise<FixPlan[]> {
    const { bundlers, movable } = this.eco.bundledIn(pkg);
    const plans = movable ? [await this.planOrUnreadable(pkg, advisories, bundlers)] : [];
    if (bundlers.length > 0) {
      const named = bundlers.map((b) => `${b.name} ${b.version}`).join(', ');
      plans.push({
        ...this.emptyPlan(pkg, advisories),
        reason: `the copies of ${pkg.name} ${pkg.version} bundled inside the tarball of ${named}: no lockfile change moves them; only a version of ${bundlers.map((b) => b.name).join(', ')} that bundles a fixed ${pkg.name} does`,
      });
    }
    return plans;
  }

  /**
   * The plan of the lockfile's copy; when what one of its dependents (or theirs, up the chain)
   * requires cannot be read, a plan without a change that says so: a change chosen without
   * that requirement might be one the package manager refuses, and the other packages' plans
   * do not depend on it.
   */
  private async planOrUnreadable(pkg: Package, advisories: readonly Advisory[], bundlers: readonly BundlingPackage[]): Promise<FixPlan> {
    try {
      return await this.plan(pkg, advisories, bundlers);
    } catch (err) {
      if (!(err instanceof RequirementUnreadable)) throw err;
      return { ...this.emptyPlan(pkg, advisories), reason: err.message, unreadable: true };
    }
  }

  private emptyPlan(pkg: Package, advisories: readonly Advisory[]): FixPlan {
    return { target: this.graph.path, package: pkg, advisories: advisories.map((a) => a.id), change: null, blockedBy: [], reason: null };
  }

  private async plan(pkg: Package, advisories: readonly Advisory[], bundlers: readonly BundlingPackage[]): Promise<FixPlan> {
    const plan = this.emptyPlan(pkg, advisories);
    // A bundler's requirement is its bundled copy's, not the one the lockfile moves.
    const dependents = (await this.dependents(pkg)).filter((d) => !bundlers.some((b) => b.name === d.dependent.name && b.version === d.dependent.version));
    // Advisories the locked version escapes: a version they affect would bring a flaw in.
    const avoided = this.options.known(pkg).filter((a) => !advisories.some((own) => own.id === a.id) && this.isFixed(pkg.version, [a]));
    const fixed = await this.laterVersions(pkg, (v) => this.eco.resolvable(v, pkg.version, recorded(dependents)) && this.isFixed(v, [...advisories, ...avoided]));
    if (fixed === null) {
      plan.reason = `${pkg.name} ${pkg.version} is not from a registry: it is moved by changing where it comes from`;
      return plan;
    }
    if (fixed.length === 0) {
      const bringing = (await this.laterVersions(pkg, (v) => this.eco.resolvable(v, pkg.version, recorded(dependents)) && this.isFixed(v, advisories)))?.[0];
      const prerelease = (await this.laterVersions(pkg, (v) => this.isFixed(v, [...advisories, ...avoided])))?.[0];
      plan.reason =
        bringing !== undefined
          ? `every published version of ${pkg.name} after ${pkg.version} that is fixed is affected by another advisory ${pkg.version} is not (${pkg.name} ${bringing}: ${avoided
              .filter((a) => !this.isFixed(bringing, [a]))
              .map((a) => a.id)
              .join(', ')})`
          : prerelease === undefined
            ? `no published version of ${pkg.name} after ${pkg.version} is fixed (yanked and deprecated versions are never chosen)`
            : `no published release of ${pkg.name} after ${pkg.version} is fixed: only the pre-release ${prerelease}, which ${pkg.name}'s dependents would have to ask for by name`;
      return plan;
    }
    const accepted = (v: string): boolean => dependents.every((d) => d.requirement === null || this.eco.satisfies(v, d.requirement));
    const compatible = fixed.filter((v) => this.eco.compatible(pkg.version, v));
    const to = compatible.find(accepted) ?? fixed.find(accepted);
    if (to !== undefined) {
      const direct = dependents.some((d) => this.roots.has(d.dependent.id));
      const lockfileChange = { pkg, to, direct };
      const change: FixChange = {
        ecosystem: pkg.ecosystem,
        name: pkg.name,
        from: pkg.version,
        to,
        compatible: this.eco.compatible(pkg.version, to),
        direct,
        command: this.eco.command(lockfileChange, this.options),
        manifests: this.eco.manifestChanges(lockfileChange, this.options),
        caveat: this.eco.caveat(lockfileChange, this.options),
      };
      plan.change = change;
      return plan;
    }
    for (const d of dependents) {
      if (d.requirement === null || fixed.some((v) => this.eco.satisfies(v, d.requirement as string))) continue;
      plan.blockedBy.push(...(await this.unblock(d.dependent, d.requirement, pkg.name, fixed, 0)));
    }
    plan.reason =
      plan.blockedBy.length > 0
        ? `no fixed version of ${pkg.name} is accepted by what depends on it`
        : `the dependents of ${pkg.name} accept fixed versions, but no one version all of them accept`;
    return plan;
  }

  /**
   * `dependent` requires `dependency` as `requirement`, which admits none of `usable`: the
   * lowest version of the dependent that accepts one, and, when its own dependents refuse that,
   * the same question one level up, until the application's manifest.
   */
  private async unblock(dependent: Package, requirement: string, dependency: string, usable: readonly string[], depth: number): Promise<BlockingRequirement[]> {
    const step: BlockingRequirement = {
      dependent: dependent.name,
      version: dependent.version,
      dependency,
      requirement,
      firstUsable: usable[0] as string,
      unblockedBy: null,
      manifest: null,
    };
    if (this.roots.has(dependent.id) || dependent.source.kind === 'workspace' || dependent.source.kind === 'path') {
      step.manifest = this.eco.manifestOf(dependent);
      return [step];
    }
    const parents = await this.dependents(dependent);
    const acceptable =
      (await this.laterVersions(dependent, async (v) => {
        if (!this.eco.resolvable(v, dependent.version, recorded(parents))) return false;
        const req = await this.eco.publishedRequirement(dependent, v, dependency);
        return req === null || usable.some((u) => this.eco.satisfies(u, req));
      })) ?? [];
    step.unblockedBy = acceptable[0] ?? null;
    const steps = [step];
    if (acceptable.length === 0 || depth >= MAX_BLOCKER_DEPTH) return steps;
    for (const parent of parents) {
      if (parent.requirement === null || acceptable.some((v) => this.eco.satisfies(v, parent.requirement as string))) continue;
      steps.push(...(await this.unblock(parent.dependent, parent.requirement, dependent.name, acceptable, depth + 1)));
    }
    return steps;
  }
}

/**
 * Plans for the findings of one lockfile: one plan per vulnerable package, clearing every
 * advisory that affects it. The lockfile's directory holds the registry settings
 * (`.cargo/config.toml`, `.npmrc`) and manifests.
 */
export async function planGraphFixes(
  graph: DependencyGraph,
  findings: readonly Finding[],
  options: FixPlanOptions & { http?: HttpOptions; env?: NodeJS.ProcessEnv },
): Promise<FixPlan[]> {
  const own = findings.filter((f) => f.target === graph.path);
  if (own.length === 0) return [];
  const eco = await loadFixEcosystem(graph.ecosystem, graph.path, options.http, options.env);
  const planner = new GraphPlanner(graph, eco, await loadVersionScheme(graph.ecosystem), options);
  const byPackage = new Map<string, { pkg: Package; advisories: Advisory[] }>();
  for (const f of own) {
    const entry = byPackage.get(f.package.id) ?? { pkg: f.package, advisories: [] };
    entry.advisories.push(f.advisory);
    byPackage.set(f.package.id, entry);
  }
  const plans: FixPlan[] = [];
  for (const { pkg, advisories } of byPackage.values()) plans.push(...(await planner.plans(pkg, advisories)));
  return plans;
}

/** The plan that answers a finding (its lockfile and package): the lockfile's change when there is one. */
export function planFor(plans: readonly FixPlan[], finding: Finding): FixPlan | undefined {
  return plans.find((p) => p.target === finding.target && p.package.id === finding.package.id);
}
