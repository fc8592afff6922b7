import * as semver from '../../core/semver.js';
import type { SemVer } from '../../core/semver.js';
import type { AffectedVersions, OsvEvent, OsvRange } from '../../core/advisory.js';
import type { VersionScheme } from '../../core/ecosystem.js';

/**
 * npm version semantics for advisories (node-semver, strict parsing).
 *
 * - `osv` ranges of type ECOSYSTEM and SEMVER follow the OSV evaluation algorithm: events
 *   sorted by version, walked in order (introduced opens, fixed closes at, last_affected
 *   closes after), and `limit` events cap the range. GIT ranges name commits, which a
 *   lockfile's version cannot be placed among: they are ignored, so a GIT-only entry affects
 *   only the versions its `versions` list names.
 * - Prereleases order below their release (`1.2.0-rc.1 < 1.2.0`), as SemVer defines.
 * - A partial version in an advisory (`"1.0"` in GHSA-r683-j2x4-v87g) means its zero-padded
 *   form (`1.0.0`); nothing else is guessed (never semver.coerce, which would read `1.x-beta`
 *   or `v1.2.3.4` as something they are not).
 * - `requirements` (a RustSec-style `patched`/`unaffected` list, should one name an npm
 *   package): each string is an npm semver range, matched with includePrerelease, so a range
 *   is the plain interval of versions it describes: `>= 1.2.3` covers `2.0.0-beta.1`. Without
 *   it, node-semver would exclude every prerelease from every patched range, and a
 *   prerelease would be reported affected by an advisory it is already past.
 *
 * Anything that cannot be evaluated (an unparseable version, event, or range) throws an
 * Error naming it: the audit fails rather than guessing.
 */
export const npmVersionScheme: VersionScheme = {
  isAffected(version: string, affected: AffectedVersions): boolean {
    const v = parseInstalledVersion(version);
    if (affected.form === 'requirements') {
      const unaffected = [...affected.patched, ...affected.unaffected];
      return !unaffected.some((range) => satisfiesRange(v, range));
    }
    if (affected.versions.some((listed) => semver.eq(v, parseAdvisoryVersion(listed)))) return true;
    return affected.ranges.some((range) => rangeIncludes(v, range));
  },
  fixedVersions(affected: AffectedVersions): string[] {
    if (affected.form === 'requirements') {
      return affected.patched.flatMap((range) => {
        const least = semver.minVersion(range);
        return least === null ? [] : [least.version];
      });
    }
    return affected.ranges
      .filter((range) => range.type !== 'GIT')
      .flatMap((range) => range.events.flatMap((e) => (e.fixed === undefined ? [] : [parseAdvisoryVersion(e.fixed).version])));
  },
  compare(a: string, b: string): number {
    return semver.compare(parseAdvisoryVersion(a), parseAdvisoryVersion(b));
  },
  releaseLine(version: string): string {
    const v = parseAdvisoryVersion(version);
    // npm's caret: the first non-zero component is the compatible line.
    if (v.major > 0) return `${v.major}.x`;
    return v.minor > 0 ? `0.${v.minor}.x` : `0.0.${v.patch}`;
  },
};

/** A version from a lockfile: it must be full semver; a lockfile never holds a partial one. */
function parseInstalledVersion(version: string): SemVer {
  const parsed = semver.parse(version);
  if (!parsed) throw new Error(`cannot evaluate npm version "${version}": not a semantic version`);
  return parsed;
}

const PARTIAL = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/;

/** A version written in an advisory; `1` and `1.0` are padded to `1.0.0`, nothing else is coerced. */
export function parseAdvisoryVersion(version: string): SemVer {
  const exact = semver.parse(version);
  if (exact) return exact;
  const m = PARTIAL.exec(version);
  if (m) {
    const padded = semver.parse(`${m[1]}.${m[2] ?? '0'}.${m[3] ?? '0'}${m[4] ?? ''}`);
    if (padded) return padded;
  }
  throw new Error(`cannot evaluate npm advisory version "${version}": not a semantic version`);
}

function satisfiesRange(v: SemVer, range: string): boolean {
  // An empty string is `*` to node-semver: a blank requirement would silently mean "all".
  if (range.trim() === '' || semver.validRange(range, { includePrerelease: true }) === null) {
    throw new Error(`cannot evaluate npm version range "${range}"`);
  }
  return semver.satisfies(v, range, { includePrerelease: true });
}

/** One event's version; `null` is OSV's "0" (before every version) or a limit with a `*` (after all). */
interface Bound {
  kind: keyof OsvEvent;
  at: SemVer | null;
}

function eventBound(event: OsvEvent): Bound {
  const entries = Object.entries(event) as [keyof OsvEvent, string | undefined][];
  const set = entries.filter(([, value]) => value !== undefined);
  const first = set[0];
  if (set.length !== 1 || !first || first[1] === undefined) {
    throw new Error(`cannot evaluate OSV event ${JSON.stringify(event)}: expected exactly one of introduced, fixed, last_affected, limit`);
  }
  const [kind, value] = first;
  if (kind === 'introduced' && value === '0') return { kind, at: null };
  // The schema: "`limit` allows versions containing the string `*` to represent infinity".
  if (kind === 'limit' && value.includes('*')) return { kind, at: null };
  return { kind, at: parseAdvisoryVersion(value) };
}

/** A range's events as rangeIncludes walks them: the limits, and the others in order. */
interface OrderedBounds {
  limits: Bound[];
  sorted: Bound[];
}

/**
 * Each range's events, parsed and sorted once: an advisory is evaluated for every installed
 * version of its package (a lockfile may hold a dozen), against the same range objects.
 */
const orderedBounds = new WeakMap<OsvRange, OrderedBounds>();

function boundsOf(range: OsvRange): OrderedBounds {
  let ordered = orderedBounds.get(range);
  if (ordered !== undefined) return ordered;
  const bounds = range.events.map(eventBound);
  // Stable sort: for equal versions the record's own order decides, so `introduced X`
  // followed by `fixed X` is the empty range it says it is. "0" sorts before everything.
  const sorted = bounds
    .filter((b) => b.kind !== 'limit')
    .map((b, index) => ({ b, index }))
    .sort((x, y) => compareBounds(x.b, y.b) || x.index - y.index)
    .map(({ b }) => b);
  ordered = { limits: bounds.filter((b) => b.kind === 'limit'), sorted };
  orderedBounds.set(range, ordered);
  return ordered;
}

/** OSV evaluation (ossf.github.io/osv-schema, "Evaluation") for one range. */
function rangeIncludes(v: SemVer, range: OsvRange): boolean {
  if (range.type === 'GIT') return false;
  if (range.type !== 'SEMVER' && range.type !== 'ECOSYSTEM') {
    throw new Error(`cannot evaluate OSV range type "${String(range.type)}"`);
  }
  const { limits, sorted } = boundsOf(range);
  if (limits.length > 0 && !limits.some((b) => b.at === null || semver.lt(v, b.at))) return false;
  let vulnerable = false;
  for (const { kind, at } of sorted) {
    if (kind === 'introduced') {
      if (at === null || semver.gte(v, at)) vulnerable = true;
    } else if (kind === 'fixed') {
      if (at !== null && semver.gte(v, at)) vulnerable = false;
    } else if (kind === 'last_affected') {
      if (at !== null && semver.gt(v, at)) vulnerable = false;
    }
  }
  return vulnerable;
}

function compareBounds(a: Bound, b: Bound): number {
  if (a.at === null) return b.at === null ? 0 : -1;
  if (b.at === null) return 1;
  return semver.compare(a.at, b.at);
}
