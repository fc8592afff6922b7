import type { AffectedVersions } from './advisory.js';
import type { DependencyGraph } from './graph.js';
import type { Ecosystem } from './package.js';

/** A lockfile's text, with the manifest that sits beside it when there is one. */
export interface LockfileInput {
  path: string;
  text: string;
  /** Cargo.toml / package.json from the same directory, when present. */
  manifest?: { path: string; text: string };
  /** The manifests of the workspace members the root manifest lists, found on disk (Cargo, yarn v1). */
  members?: { path: string; text: string }[];
}

/** Throws InputError naming the file (and position when known) on anything malformed. */
export type LockfileParser = (input: LockfileInput) => DependencyGraph;

/** One lockfile format: the file name it is found under and its parser. */
export interface LockfileFormat {
  ecosystem: Ecosystem;
  /** The file name that identifies the format, e.g. `Cargo.lock`. */
  fileName: string;
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
