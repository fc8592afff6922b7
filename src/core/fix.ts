import type { Ecosystem, Package } from './package.js';
import { StowageError } from './errors.js';

/**
 * The fix planner's answers, as data: for a vulnerable package of a lockfile, the smallest
 * change that leaves no affected version, or what blocks one. Planned in src/fixes/, rendered
 * by the fix command and in the audit report.
 */

/** One package moved to one version in the lockfile. */
export interface FixChange {
  ecosystem: Ecosystem;
  name: string;
  from: string;
  to: string;
  /** In the locked version's semver-compatible line (no major jump). */
  compatible: boolean;
  /** A root (the application itself) depends on it directly. */
  direct: boolean;
  /** The package manager's command that makes the change. */
  command: string[];
  /** What the command also writes in the application's manifests (each one it rewrites); empty when it leaves them as they are. */
  manifests: ManifestChange[];
  /** What the command may move beyond `to`, in words; null when it makes exactly the planned change. */
  caveat: string | null;
}

/**
 * An entry of the application's manifest the change's command rewrites or adds: npm's
 * `install NAME@VERSION` saves the requirement anew, an override is an entry of its own.
 */
export interface ManifestChange {
  /** The manifest, relative to the application (`package.json`). */
  file: string;
  /** The table the entry is in (`dependencies`, `devDependencies`, `overrides`). */
  field: string;
  /** The entry's key: the dependency's name, or the override's `NAME@VERSION`. */
  key: string;
  /** The requirement written before; null for an entry the change adds. */
  from: string | null;
  to: string;
}

/**
 * A dependent whose requirement admits no fixed version of what it depends on, and what would
 * unblock it. A chain of these leads from the vulnerable package up to the dependency the user
 * must move.
 */
export interface BlockingRequirement {
  /** The dependent, as locked. */
  dependent: string;
  version: string;
  /** What it depends on, and the requirement it states. */
  dependency: string;
  requirement: string;
  /** The lowest version of `dependency` that would do (the first fixed one, or the first that unblocks the level below). */
  firstUsable: string;
  /** The lowest published version of `dependent` that accepts a usable `dependency`; null when none does or it is the application's own. */
  unblockedBy: string | null;
  /** The application's own manifest to change when the dependent is the application itself; else null. */
  manifest: string | null;
}

export interface FixPlan {
  /** The lockfile. */
  target: string;
  package: Package;
  /** Ids of the advisories the change must clear. */
  advisories: string[];
  change: FixChange | null;
  blockedBy: BlockingRequirement[];
  /** Why there is no change, in words; null when there is one. */
  reason: string | null;
  /**
   * Set when there is no change because something the plan needs could not be read (a git
   * dependency's repository out of reach), not because no fixed version is accepted: trying
   * again may plan one.
   */
  unreadable?: true;
}

/**
 * What a dependent requires of a vulnerable package could not be read (a git dependency whose
 * repository is out of reach): the plans of the packages it depends on get no change, saying
 * why; the other plans are made as usual.
 */
export class RequirementUnreadable extends StowageError {
  constructor(message: string, file?: string) {
    super(message, file);
    this.name = 'RequirementUnreadable';
  }
}
