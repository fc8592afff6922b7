/** The package ecosystems stowage understands. Ecosystem quirks live in src/ecosystems/<name>/. */
export type Ecosystem = 'cargo' | 'npm';

export const ECOSYSTEMS: readonly Ecosystem[] = ['cargo', 'npm'];

/**
 * Where a locked package comes from.
 * - registry: a package registry; `url` is its index / base URL.
 * - git: a git repository at a locked revision (`rev`).
 * - path: a local directory (`url` is the path as written in the lockfile).
 * - workspace: a member of the application itself (a root, or a workspace package).
 * - other: anything else the lockfile can express (npm `file:` tarballs, `link:`, patches);
 *   `url` holds the specifier verbatim.
 */
export type SourceKind = 'registry' | 'git' | 'path' | 'workspace' | 'other';

export interface PackageSource {
  kind: SourceKind;
  /** Canonical location: registry URL, git URL (without the revision), path or specifier. */
  url: string | null;
  /** Git: the locked commit. */
  rev?: string;
  /**
   * True for the ecosystem's public registry (crates.io, registry.npmjs.org), the one advisories
   * name: another registry's packages are matched by name and version too, as mirrors of it
   * (formats.ts isAuditable), and a crate's match from another registry is said.
   */
  isDefaultRegistry: boolean;
  /**
   * Cargo, a `path` crate: a `[patch]` (the root manifest's or a Cargo configuration's) builds it
   * in place of the registry or git crate of its name. It is a copy or a fork of that crate, so
   * it is matched against advisories by name and version, as a git crate is (formats.ts
   * isPatchedPathCrate).
   */
  patchesCrate?: true;
}

/**
 * The CycloneDX property (`true`) marking a Cargo path crate whose source is `patchesCrate`: it has
 * no purl (it is not the registry's). stowage's SBOM writes it (src/sbom/cyclonedx.ts) and an
 * audit of an SBOM reads it back (src/inputs/cyclonedx-reader.ts), matching the crate by name and
 * version as the lockfile's audit does.
 */
export const PATCHES_CRATE_PROPERTY = 'stowage:cargo:patches-crate';

/** How a package is reached in an npm tree; Cargo lockfiles do not record it. */
export interface PackageFlags {
  /** Reachable only through development dependencies. */
  dev?: boolean;
  /** Reachable only through optional dependencies. */
  optional?: boolean;
  /** Reachable only as a peer dependency. */
  peer?: boolean;
  /**
   * Reachable only through development or optional dependencies, neither alone (npm's
   * devOptional): left out only when both are.
   */
  devOptional?: boolean;
}

export interface Package {
  /** Unique within its graph; stable across runs (e.g. `serde@1.0.1` or a lockfile key). */
  id: string;
  ecosystem: Ecosystem;
  name: string;
  version: string;
  source: PackageSource;
  /**
   * The lockfile's integrity value: Cargo's sha256 hex digest, npm's SRI string
   * (`sha512-...`). Null when the lockfile records none (path, git, workspace).
   */
  checksum: string | null;
  flags?: PackageFlags;
  /** npm alias (`"foo": "npm:bar@1"`): the name the dependent uses. */
  alias?: string;
  /** Where the package's entry starts in its lockfile, for reports that point at it (SARIF); a reader may leave it to locatePackages (core/graph.ts). */
  location?: SourceLocation;
  /**
   * The licence the input itself states for the package, as written (npm package-lock v2+
   * `license`, an SBOM's component licence): absent when it states none. Not checked as SPDX
   * here; src/sbom/licenses.ts normalises it where a document declares it.
   */
  license?: string;
}

/** A position in a text file, 1-based, as editors and SARIF count them. */
export interface SourceLocation {
  line: number;
  column: number;
}

export function sourceLabel(source: PackageSource): string {
  switch (source.kind) {
    case 'registry':
      return source.url ?? 'registry';
    case 'git':
      return source.rev ? `${source.url ?? 'git'}#${source.rev}` : (source.url ?? 'git');
    default:
      return source.url ?? source.kind;
  }
}
