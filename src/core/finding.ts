import type { Advisory, AdvisoryKind, SeverityLevel } from './advisory.js';
import { compareText } from './compare-text.js';
import type { FixPlan } from './fix.js';
import type { Package } from './package.js';

/** An accepted risk that applied to a finding. */
export interface AppliedIgnore {
  /** The id the rule named (the advisory's id or one of its aliases). */
  id: string;
  reason: string;
  expires: string | null;
  origin: string;
}

/** Which releases fix a finding, for advice a user can act on. */
export interface FixedVersions {
  /** The installed version's release line (`10.x`, `0.9.x`): updates within it are compatible. */
  line: string;
  /** Fixed versions in that line, lowest first. */
  inLine: string[];
  /** Fixed versions in other lines, lowest first. */
  otherLines: string[];
}

/**
 * One vulnerable (or informational) package in one lockfile. A vulnerability known under
 * several ids, in one database or several, is one finding listing every id.
 */
export interface Finding {
  /** The lockfile path. */
  target: string;
  /** The advisory from the first database that reported it; `aliases` gathers every other id. */
  advisory: Advisory;
  /** Sources of the databases that reported it. */
  databases: string[];
  package: Package;
  /** Dependency paths from a root to the package, as `name@version`, shortest first, one per direct dependency, bounded. */
  paths: string[][];
  /** How many more paths (through other direct dependencies) were not listed. */
  morePaths: number;
  /**
   * The direct dependencies (`name@version`) of the listed paths: what a user moves. The
   * package itself when a root depends on it directly.
   */
  directDependencies: string[];
  /** The fixed releases, the installed line's first; null when the versions cannot be ordered (a git package's version). */
  fixedVersions: FixedVersions | null;
  /** Reachable only through development dependencies. */
  devOnly: boolean;
  ignored: AppliedIgnore | null;
  /**
   * The level the policy judged a vulnerability at: its own, or the policy's `unscored` level
   * when it has none. Null for the informational kinds.
   */
  policyLevel: SeverityLevel | null;
  /** Whether this finding makes the audit fail (exit code 1). */
  failsPolicy: boolean;
  /** The fix planner's advice, when it was asked for (`audit --fix-advice`). */
  fix?: FixPlan;
}

/** A finding's identity across evaluations of one application: the lockfile, the package, the advisory. */
export function findingKey(f: Finding): string {
  return findingKeyOf(f.target, f.package.ecosystem, f.package.name, f.package.version, f.advisory.id);
}

/** findingKey of a finding known by these fields alone (a fleet sync's rows from its workers). */
export function findingKeyOf(target: string, ecosystem: string, name: string, version: string, advisoryId: string): string {
  return `${target}\0${ecosystem}\0${name}\0${version}\0${advisoryId}`;
}

/** The order of findings' kinds in a report: vulnerabilities first. */
const REPORTED_KIND_ORDER: readonly AdvisoryKind[] = ['vulnerability', 'unsound', 'unmaintained', 'notice'];

/**
 * The audit's order of the findings of one lockfile: by kind (REPORTED_KIND_ORDER), then package
 * name, version and advisory id (code-point order). `stowage audit` and the fleet's reports sort by it.
 */
export function compareFindingsInTarget(
  a: { advisory: Pick<Advisory, 'kind' | 'id'>; package: Pick<Package, 'name' | 'version'> },
  b: { advisory: Pick<Advisory, 'kind' | 'id'>; package: Pick<Package, 'name' | 'version'> },
): number {
  return (
    REPORTED_KIND_ORDER.indexOf(a.advisory.kind) - REPORTED_KIND_ORDER.indexOf(b.advisory.kind) ||
    compareText(a.package.name, b.package.name) ||
    compareText(a.package.version, b.package.version) ||
    compareText(a.advisory.id, b.advisory.id)
  );
}
