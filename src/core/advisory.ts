import type { Ecosystem } from './package.js';

/**
 * vulnerability: a security flaw. The informational kinds are findings of their own:
 * unmaintained (nobody fixes what is found), unsound (memory-safety holes reachable from safe
 * code), notice (anything else a user should know).
 */
export type AdvisoryKind = 'vulnerability' | 'unmaintained' | 'unsound' | 'notice';

export const ADVISORY_KINDS: readonly AdvisoryKind[] = ['vulnerability', 'unmaintained', 'unsound', 'notice'];

/** Qualitative severity, from a CVSS score or the database's own rating. */
export type SeverityLevel = 'none' | 'low' | 'medium' | 'high' | 'critical';

export const SEVERITY_LEVELS: readonly SeverityLevel[] = ['none', 'low', 'medium', 'high', 'critical'];

export interface Severity {
  level: SeverityLevel;
  /** CVSS base score when a vector was given and could be scored. */
  score: number | null;
  /** The CVSS vector as published (`CVSS:3.1/AV:N/...`, `CVSS:4.0/...`), if any. */
  vector: string | null;
}

/** One OSV range event; exactly one key is set. */
export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRange {
  type: 'SEMVER' | 'ECOSYSTEM' | 'GIT';
  events: OsvEvent[];
}

/**
 * Which versions an advisory affects, as its source states it. Evaluated by the package
 * ecosystem's version scheme (src/ecosystems/<name>/), never by shared code.
 * - requirements: RustSec's native form. A version is affected unless it matches one of the
 *   `patched` or `unaffected` Cargo version requirements.
 * - osv: OSV `affected[].ranges` and the explicit `versions` list of one affected entry.
 */
export type AffectedVersions =
  | { form: 'requirements'; patched: string[]; unaffected: string[] }
  | { form: 'osv'; ranges: OsvRange[]; versions: string[] };

export interface Advisory {
  /** The database's own id (RUSTSEC-2023-0001, GHSA-xxxx-xxxx-xxxx, ...). */
  id: string;
  /** Other ids of the same vulnerability (CVE, GHSA, RUSTSEC), never including `id`. */
  aliases: string[];
  related: string[];
  kind: AdvisoryKind;
  ecosystem: Ecosystem;
  /** The affected package's name as the ecosystem spells it. */
  package: string;
  title: string;
  description: string;
  /** Publication date (YYYY-MM-DD or RFC 3339). */
  published: string | null;
  modified: string | null;
  /** When set, the advisory was withdrawn and never matches. */
  withdrawn: string | null;
  severity: Severity | null;
  /** The advisory's main web page. */
  url: string | null;
  references: string[];
  categories: string[];
  keywords: string[];
  /** Any one entry affecting a version makes the version affected. */
  affected: AffectedVersions[];
  /** Human-readable description of fixed versions (requirements like `>= 1.2.3`). */
  patched: string[];
  unaffected: string[];
  /** RustSec `[affected]`: narrower scope that does not change version matching. */
  functions: Record<string, string[]>;
  os: string[];
  arch: string[];
  /** Where the advisory was read from, relative to its database root. */
  origin: string;
  /**
   * What the reader had to assume to match this advisory (an affected entry without versions
   * read as every version, an unknown informational kind read as a notice): each becomes a
   * warning when the advisory matches a package.
   */
  caveats?: string[];
}
