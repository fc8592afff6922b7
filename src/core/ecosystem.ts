import type { TomlTable } from 'smol-toml';
import type { AffectedVersions } from './advisory.js';
import type { DependencyGraph } from './graph.js';
import type { ManifestChange } from './fix.js';
import type { Ecosystem, Package } from './package.js';
import type { ToolLimits } from './run-tool.js';

/** A lockfile's text, with the manifest that sits beside it when there is one. */
export interface LockfileInput {
  path: string;
  text: string;
  /** Cargo.toml / package.json from the same directory, when present. */
  manifest?: { path: string; text: string };
  /** The manifests of the workspace members the root manifest lists, found on disk (Cargo, yarn v1). */
  members?: { path: string; text: string }[];
  /**
   * Cargo: reads the manifest of a path package the workspace's manifests name (null when there
   * is none to read); their dependencies are locked in the same Cargo.lock.
   */
  readPathPackage?: (path: string) => string | null;
  /**
   * The package.json of a directory of the project (a path relative to the lockfile's
   * directory, inside it), read on demand; null when there is none. npm loads a linked
   * directory's dependencies from its package.json, not from its lockfile entry.
   */
  projectManifest?: (dir: string) => { path: string; text: string } | null;
  /** pnpm: the pnpm-workspace.yaml beside the lockfile, when there is one (its catalogs). */
  pnpmWorkspace?: { path: string; text: string };
  /** pnpm: the project's .npmrc (beside the lockfile), when there is one: its settings that change what pnpm installs. */
  pnpmNpmrc?: { path: string; text: string };
  /**
   * npm, pnpm and yarn 1: a setting of the package manager that makes it ignore the lockfile
   * (npm `package-lock=false`, pnpm `lockfile=false`, yarn 1 `--no-lockfile true`), and the file
   * (or `the environment (NAME)`) that sets it; absent when none does.
   */
  lockfileOff?: { setting: string; file: string; line?: number };
  /** pnpm: the user's .npmrc (`npm_config_userconfig`, else ~/.npmrc), when there is one: its settings count below the project's. */
  npmUserConfig?: { path: string; text: string };
  /** pnpm: the `npm_config_*` variables of the environment, whose settings win over every .npmrc. */
  npmEnvironment?: Record<string, string>;
  /**
   * pnpm: the hooks file pnpm loads (`pnpmfile=` of the .npmrc, else .pnpmfile.cjs beside the
   * lockfile; its hooks change what pnpm resolves): read, absent, not read (outside an upload)
   * or ignored (`ignore-pnpmfile`).
   */
  pnpmfile?: { path: string; state: 'read'; text: string } | { path: string; state: 'absent' | 'unread' | 'ignored' };
  /**
   * yarn berry: the .yarnrc.yml files yarn reads for the lockfile's project, the one beside it
   * first, then each parent directory's (their packageExtensions).
   */
  yarnrcs?: { path: string; text: string }[];
  /**
   * Cargo: whether the project's Cargo configuration replaces this lockfile registry source
   * (another registry) with crates.io: the configuration file and the `replace-with` chain that
   * says so, or null.
   */
  cargoCratesIoReplacement?: (source: string) => { file: string; chain: string } | null;
  /**
   * Cargo: what that same configuration changes in the build beside the lockfile, read on call:
   * `paths` overrides and `[patch]` tables.
   */
  cargoBuildOverrides?: () => CargoBuildOverrides;
}

/** A Cargo configuration's `paths = [...]` entries and `[patch]` crates, each with the file that sets it. */
export interface CargoBuildOverrides {
  paths: { file: string; path: string }[];
  patches: { file: string; registry: string; name: string; spec: TomlTable }[];
}

/** Throws InputError naming the file (and position when known) on anything malformed. */
export type LockfileParser = (input: LockfileInput) => DependencyGraph;

/** One lockfile format: the file name it is found under and its parser. */
export interface LockfileFormat {
  ecosystem: Ecosystem;
  /** The file name that identifies the format, e.g. `Cargo.lock`. */
  fileName: string;
  /** The tool that installs or builds from it, as messages name it: `Cargo`, `npm`, `yarn`, `pnpm`, `bun`. */
  manager: string;
  /** The manifest to read beside it, e.g. `Cargo.toml`. */
  manifestName: string;
  /** Loaded on first use, so an audit pays only for the parsers it needs. */
  loadParser(): Promise<LockfileParser>;
}

/**
 * An ecosystem's version semantics. `isAffected` must be exact; it throws an Error whose
 * message says what could not be evaluated rather than guessing.
 */
export interface VersionScheme {
  isAffected(version: string, affected: AffectedVersions): boolean;
  /**
   * The first version of each fixed range (`>= 1.2.3` and OSV `fixed: 1.2.3` give `1.2.3`), as
   * written, for advice; unsorted, possibly repeated. Throws like `isAffected`.
   */
  fixedVersions(affected: AffectedVersions): string[];
  /** Precedence order of two versions (negative, zero, positive). */
  compare(a: string, b: string): number;
  /**
   * The release line a version belongs to, within which updates are compatible (`^`): `4.x`,
   * `0.9.x`, `0.0.3`.
   */
  releaseLine(version: string): string;
}

/** One published version of a package, as the fix planner weighs it. */
export interface PublishedVersion {
  version: string;
  /** Why it must never be chosen (yanked; deprecated), or null. */
  withdrawn: string | null;
}

/** A package that carries a dependency inside its own tarball. */
export interface BundlingPackage {
  name: string;
  version: string;
}

/** A lockfile change the package manager is asked to make: one package moved to one version. */
export interface LockfileChange {
  pkg: Package;
  to: string;
  /** A root (the application itself) depends on it directly. */
  direct: boolean;
}

/**
 * The ecosystem's side of fixing: its registry's versions and dependency requirements, its
 * version rules, and how its package manager changes a lockfile. Implemented per ecosystem in
 * src/ecosystems/<name>/fix-ecosystem.ts, for one lockfile and its project directory.
 */
export interface FixEcosystem {
  /** Every version the registry the package comes from publishes, or null when it has no such package. */
  published(pkg: Package): Promise<PublishedVersion[] | null>;
  /**
   * The requirement `dependent`, as locked, places on `dependency`: from the registry's record
   * of that version, the lockfile, or the project's own manifest. Null when none is recorded.
   */
  lockedRequirement(dependent: Package, dependency: Package): Promise<string | null>;
  /** The requirement a published version of `dependent` places on the package named `name`; null when it does not depend on it. */
  publishedRequirement(dependent: Package, version: string, name: string): Promise<string | null>;
  /** Where a root's requirements are written (`Cargo.toml`, `package.json`), for advice. */
  manifestOf(root: Package): string;
  compare(a: string, b: string): number;
  /** Whether the package manager accepts `version` for `requirement`; true for a requirement it cannot judge (git, aliases). */
  satisfies(version: string, requirement: string): boolean;
  /** In the same semver-compatible line as the locked version. */
  compatible(locked: string, candidate: string): boolean;
  /**
   * Whether the package manager would ever resolve `candidate` for a package locked at `locked`
   * whose dependents state `requirements`: a pre-release only when the locked version is a
   * pre-release of the same release, or a requirement names a pre-release of it (semver's and
   * Cargo's rule); any release.
   */
  resolvable(candidate: string, locked: string, requirements: readonly string[]): boolean;
  /**
   * The packages whose own tarball carries copies of `pkg` (npm's bundled dependencies): the
   * lockfile cannot move those copies, only a new version of their bundler can. `movable`: the
   * lockfile also holds a copy of `pkg` it can move.
   */
  bundledIn(pkg: Package): { bundlers: BundlingPackage[]; movable: boolean };
  /** The command that makes the change, as the user would type it. */
  command(change: LockfileChange, options: { allowOverrides: boolean }): string[];
  /** What that command also writes in the application's manifests, one entry per manifest; empty when it leaves them as they are. */
  manifestChanges(change: LockfileChange, options: { allowOverrides: boolean }): ManifestChange[];
  /** What that command may move beyond the planned version, in words; null when it moves the package to exactly that version. */
  caveat(change: LockfileChange, options: { allowOverrides: boolean }): string | null;
  /**
   * Makes the changes with the package manager, in the project directory, with `env` (default
   * the process's) and each command bounded by `limits`; throws StowageError with its reason.
   * `untrusted` (a campaign's application): the project's own settings that would make the
   * package manager run a program of the project's choosing are not read.
   */
  apply(changes: readonly LockfileChange[], options: { allowOverrides: boolean; env?: NodeJS.ProcessEnv; limits?: ToolLimits; untrusted?: boolean }): Promise<void>;
}
