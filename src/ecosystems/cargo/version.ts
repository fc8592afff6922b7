import type { AffectedVersions, OsvEvent, OsvRange } from '../../core/advisory.js';
import type { VersionScheme } from '../../core/ecosystem.js';

/*
 * Cargo version semantics exactly as RustSec applies them.
 *
 * Versions and requirements are parsed with the grammar of the `semver` crate (dtolnay/semver
 * 1.0.x, src/parse.rs), which is what both Cargo and the `rustsec` crate use: a bare `1.2.3`
 * means `^1.2.3`, commas mean AND, spaces only around operators and commas, `*`/`x`/`X`
 * wildcards, partial versions, at most 32 comparators, no leading zeros, u64 components.
 *
 * Matching does NOT use semver's `VersionReq::matches`. That function refuses prereleases
 * unless a comparator names the same major.minor.patch with a prerelease, so `>= 1.2.3` does
 * not "match" 2.0.0-alpha.1 and cargo-audit used to call every prerelease of a patched crate
 * vulnerable (rustsec/rustsec#17, #30, #349; dtolnay/semver#172). Since rustsec 0.24
 * (rustsec/rustsec#349, fixed via the OSV work) `Versions::is_vulnerable` instead converts
 * every `patched` and `unaffected` requirement into an interval of plain SemVer precedence
 * (rustsec src/osv/unaffected_range.rs, `TryFrom<&VersionReq> for UnaffectedRange`), takes
 * the complement as OSV `[introduced, fixed)` ranges (src/osv/ranges_for_advisory.rs) and
 * tests `introduced <= v < fixed` with `Version`'s total order (`OsvRange::affects`). So:
 *   - `>= 1.2.3` contains 2.0.0-alpha.1 and 1.3.0-rc.1: they are patched;
 *   - `^1.2.3` is [1.2.3, 2.0.0-0): it contains 1.5.0-beta but not 2.0.0-alpha;
 *     `~1.2` is [1.2.0, 1.3.0-0); `^0.2.3` is [0.2.3, 0.3.0-0); `^0.0.3` is [0.0.3, 0.0.4-0);
 *   - partial versions fill missing parts with 0 for EVERY operator (`comp_to_ver`):
 *     `<= 1.2` is <= 1.2.0 and `=1.2` is exactly 1.2.0 (Cargo itself would read 1.2.x);
 *   - a requirement has at most one lower and one upper bound; `=`, `^`, `~` stand alone;
 *     the ranges of one advisory must not overlap. rustsec rejects any other advisory when it
 *     loads it (`validate_ranges`), and so do we (`checkRustsecVersions`).
 * Build metadata: the bounds never carry any, so ordering by precedence alone (build ignored)
 * gives the same verdicts as rustsec's `Version` order, which compares build last.
 *
 * One deliberate extension: rustsec rejects the `Op::Wildcard` comparator (`1.*`, `1.2.x`)
 * as "Unsupported operator". We accept it with Cargo's meaning and rustsec's convention for
 * upper bounds: `1.*` is [1.0.0, 2.0.0-0), `1.2.*` is [1.2.0, 1.3.0-0).
 */

/** A parsed SemVer version. Components are bigint: Cargo allows the whole u64 range. */
export interface CargoVersion {
  major: bigint;
  minor: bigint;
  patch: bigint;
  /** Prerelease identifiers; empty for a release. */
  pre: readonly string[];
  /** Build metadata as written (without `+`); ignored by ordering. */
  build: string;
}

export type ComparatorOp = '=' | '>' | '>=' | '<' | '<=' | '~' | '^' | '*';

/** One comparator of a requirement; `minor`/`patch` are null where the version was partial. */
export interface CargoComparator {
  op: ComparatorOp;
  major: bigint;
  minor: bigint | null;
  patch: bigint | null;
  pre: readonly string[];
}

/** A Cargo version requirement: comparators joined by AND; none at all means `*`. */
export interface CargoRequirement {
  text: string;
  comparators: readonly CargoComparator[];
}

export type Bound =
  | { kind: 'unbounded' }
  | { kind: 'inclusive'; version: CargoVersion }
  | { kind: 'exclusive'; version: CargoVersion };

/** The versions one `patched`/`unaffected` requirement covers, as rustsec sees them. */
export interface VersionInterval {
  start: Bound;
  end: Bound;
}

const U64_MAX = (1n << 64n) - 1n;
const MAX_COMPARATORS = 32;

type Position = 'major' | 'minor' | 'patch' | 'pre-release' | 'build metadata';

class SemverSyntaxError extends Error {}

function fail(message: string): never {
  throw new SemverSyntaxError(message);
}

function describeChar(text: string): string {
  const ch = text[0];
  if (ch === undefined) return 'end of input';
  // Escaped as semver's own message does (`'\n'`): the text may come from an untrusted lockfile.
  const code = ch.charCodeAt(0);
  return `character '${code < 0x20 || code === 0x7f ? JSON.stringify(ch).slice(1, -1) : ch}'`;
}

/** semver's numeric_identifier: digits, no leading zero, within u64. */
function numericIdentifier(text: string, pos: Position): [bigint, string] {
  let len = 0;
  while (len < text.length && text.charCodeAt(len) >= 48 && text.charCodeAt(len) <= 57) len++;
  if (len === 0) {
    if (text.length === 0) fail(`unexpected end of input while parsing ${pos} version number`);
    fail(`unexpected ${describeChar(text)} while parsing ${pos} version number`);
  }
  const digits = text.slice(0, len);
  if (len > 1 && digits.startsWith('0')) fail(`invalid leading zero in ${pos} version number`);
  const value = BigInt(digits);
  if (value > U64_MAX) fail(`value of ${pos} version number exceeds u64::MAX`);
  return [value, text.slice(len)];
}

/** semver's identifier: dot-separated [0-9A-Za-z-]+ segments; numeric pre-release segments have no leading zero. */
function dottedIdentifier(text: string, pos: 'pre-release' | 'build metadata'): [string[], string] {
  const match = /^[0-9A-Za-z-]*(?:\.[0-9A-Za-z-]*)*/.exec(text);
  const body = match ? match[0] : '';
  if (body === '') return [[], text];
  const segments = body.split('.');
  for (const segment of segments) {
    if (segment === '') fail(`empty identifier segment in ${pos}`);
    if (pos === 'pre-release' && segment.length > 1 && /^[0-9]+$/.test(segment) && segment.startsWith('0')) {
      fail(`invalid leading zero in ${pos} identifier`);
    }
  }
  return [segments, text.slice(body.length)];
}

/** Parses a version exactly as `semver::Version::parse` does. Throws an Error saying what is wrong. */
/**
 * `MAJOR.MINOR.PATCH` without pre-release or build metadata, each number without a leading zero
 * and short enough to be within u64: nearly every locked version, and valid SemVer without a
 * full parse (a lockfile's hundreds of versions are checked before the JIT has warmed up).
 */
const PLAIN_VERSION = /^(?:0|[1-9][0-9]{0,18})\.(?:0|[1-9][0-9]{0,18})\.(?:0|[1-9][0-9]{0,18})$/;

/** Throws as parseCargoVersion does when `text` is not a SemVer version Cargo accepts. */
export function checkCargoVersion(text: string): void {
  if (!PLAIN_VERSION.test(text)) parseCargoVersion(text);
}

export function parseCargoVersion(text: string): CargoVersion {
  try {
    const [major, afterMajor] = numericIdentifier(text, 'major');
    const [minor, afterMinor] = numericIdentifier(expectDot(afterMajor, 'major'), 'minor');
    const [patch, afterPatch] = numericIdentifier(expectDot(afterMinor, 'minor'), 'patch');
    let rest = afterPatch;
    let pos: Position = 'patch';
    let pre: string[] = [];
    let build: string[] = [];
    if (rest.startsWith('-')) {
      pos = 'pre-release';
      [pre, rest] = dottedIdentifier(rest.slice(1), 'pre-release');
      if (pre.length === 0) fail('empty identifier segment in pre-release');
    }
    if (rest.startsWith('+')) {
      pos = 'build metadata';
      [build, rest] = dottedIdentifier(rest.slice(1), 'build metadata');
      if (build.length === 0) fail('empty identifier segment in build metadata');
    }
    if (rest !== '') fail(`unexpected ${describeChar(rest)} after ${pos}`);
    return { major, minor, patch, pre, build: build.join('.') };
  } catch (err) {
    if (err instanceof SemverSyntaxError) throw new Error(`invalid version "${text}": ${err.message}`, { cause: err });
    throw err;
  }
}

function expectDot(text: string, pos: Position): string {
  if (text.startsWith('.')) return text.slice(1);
  if (text === '') fail(`unexpected end of input while parsing ${pos} version number`);
  return fail(`unexpected ${describeChar(text)} after ${pos} version number`);
}

function stripWildcard(text: string): string | null {
  const ch = text[0];
  return ch === '*' || ch === 'x' || ch === 'X' ? text.slice(1) : null;
}

function trimSpaces(text: string): string {
  return text.replace(/^ +/, '');
}

/** semver's comparator(): operator, optional spaces, partial version, optional spaces. */
function parseComparator(input: string): [CargoComparator, string, Position] {
  let op: ComparatorOp = '^';
  let text = input;
  for (const candidate of ['>=', '<=', '=', '>', '<', '~', '^'] as const) {
    if (text.startsWith(candidate)) {
      op = candidate;
      text = text.slice(candidate.length);
      break;
    }
  }
  const defaultOp = text.length === input.length;
  text = trimSpaces(text);

  let pos: Position = 'major';
  const [major, afterMajor] = numericIdentifier(text, 'major');
  text = afterMajor;
  let minor: bigint | null = null;
  let patch: bigint | null = null;
  let hasWildcard = false;
  if (text.startsWith('.')) {
    pos = 'minor';
    text = text.slice(1);
    const afterWildcard = stripWildcard(text);
    if (afterWildcard !== null) {
      hasWildcard = true;
      if (defaultOp) op = '*';
      text = afterWildcard;
    } else {
      [minor, text] = numericIdentifier(text, 'minor');
    }
  }
  if (text.startsWith('.')) {
    pos = 'patch';
    text = text.slice(1);
    const afterWildcard = stripWildcard(text);
    if (afterWildcard !== null) {
      if (defaultOp) op = '*';
      text = afterWildcard;
    } else if (hasWildcard) {
      fail('unexpected character after wildcard in version requirement');
    } else {
      [patch, text] = numericIdentifier(text, 'patch');
    }
  }
  let pre: string[] = [];
  if (patch !== null && text.startsWith('-')) {
    pos = 'pre-release';
    [pre, text] = dottedIdentifier(text.slice(1), 'pre-release');
    if (pre.length === 0) fail('empty identifier segment in pre-release');
  }
  // Build metadata is allowed on a comparator and ignored (semver crate, VersionReq docs).
  if (patch !== null && text.startsWith('+')) {
    pos = 'build metadata';
    let build: string[];
    [build, text] = dottedIdentifier(text.slice(1), 'build metadata');
    if (build.length === 0) fail('empty identifier segment in build metadata');
  }
  return [{ op, major, minor, patch, pre }, trimSpaces(text), pos];
}

/** Parses a requirement exactly as `semver::VersionReq::parse` does. Throws an Error saying what is wrong. */
export function parseCargoRequirement(text: string): CargoRequirement {
  try {
    const start = trimSpaces(text);
    const afterWildcard = stripWildcard(start);
    if (afterWildcard !== null) {
      const rest = trimSpaces(afterWildcard);
      if (rest === '') return { text, comparators: [] };
      if (rest.startsWith(',')) fail(`wildcard req (${start[0]}) must be the only comparator in the version req`);
      fail('unexpected character after wildcard in version requirement');
    }
    const comparators: CargoComparator[] = [];
    let rest = start;
    for (;;) {
      let comparator: CargoComparator;
      let pos: Position;
      try {
        [comparator, rest, pos] = parseComparator(rest);
      } catch (err) {
        const wildcardRest = stripWildcard(rest);
        if (wildcardRest !== null) {
          const after = trimSpaces(wildcardRest);
          if (after === '' || after.startsWith(',')) {
            fail(`wildcard req (${rest[0]}) must be the only comparator in the version req`);
          }
        }
        throw err;
      }
      comparators.push(comparator);
      if (rest === '') break;
      if (!rest.startsWith(',')) fail(`expected comma after ${pos}${pos === 'major' || pos === 'minor' || pos === 'patch' ? ' version number' : ''}, found '${rest[0]}'`);
      rest = trimSpaces(rest.slice(1));
      if (comparators.length === MAX_COMPARATORS) fail('excessive number of version comparators');
    }
    return { text, comparators };
  } catch (err) {
    if (err instanceof SemverSyntaxError) {
      throw new Error(`invalid version requirement "${text}": ${err.message}`, { cause: err });
    }
    throw err;
  }
}

function compareIdentifiers(a: string, b: string): number {
  const aNumeric = /^[0-9]+$/.test(a);
  const bNumeric = /^[0-9]+$/.test(b);
  if (aNumeric && bNumeric) {
    // No leading zeros (rejected at parse), so length then digits orders any size exactly.
    if (a.length !== b.length) return a.length < b.length ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (aNumeric) return -1;
  if (bNumeric) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** SemVer 2.0 precedence: prereleases order below their release; build metadata is ignored. */
export function compareCargoVersions(a: CargoVersion, b: CargoVersion): number {
  for (const key of ['major', 'minor', 'patch'] as const) {
    if (a[key] !== b[key]) return a[key] < b[key] ? -1 : 1;
  }
  if (a.pre.length === 0 || b.pre.length === 0) {
    if (a.pre.length === b.pre.length) return 0;
    return a.pre.length === 0 ? 1 : -1;
  }
  const n = Math.min(a.pre.length, b.pre.length);
  for (let i = 0; i < n; i++) {
    const c = compareIdentifiers(a.pre[i] as string, b.pre[i] as string);
    if (c !== 0) return c;
  }
  return a.pre.length === b.pre.length ? 0 : a.pre.length < b.pre.length ? -1 : 1;
}

function version(major: bigint, minor: bigint, patch: bigint, pre: readonly string[] = []): CargoVersion {
  return { major, minor, patch, pre, build: '' };
}

/** rustsec's comp_to_ver: missing minor/patch become 0, for every operator. */
function comparatorVersion(c: CargoComparator): CargoVersion {
  return version(c.major, c.minor ?? 0n, c.patch ?? 0n, c.pre);
}

/** The exclusive upper end of `^`, `~` or a wildcard: the next version with pre-release `-0`, the lowest there is. */
function caretEnd(c: CargoComparator): CargoVersion {
  if (c.major > 0n) return version(c.major + 1n, 0n, 0n, ['0']);
  if (c.minor === null) return version(1n, 0n, 0n, ['0']);
  if (c.minor === 0n && c.patch !== null) return version(0n, 0n, c.patch + 1n, ['0']);
  return version(0n, c.minor + 1n, 0n, ['0']);
}

function tildeEnd(c: CargoComparator): CargoVersion {
  return c.minor === null ? version(c.major + 1n, 0n, 0n, ['0']) : version(c.major, c.minor + 1n, 0n, ['0']);
}

/** rustsec's Bound::less_or_equal, with `start` a range start and `end` a range end. */
function startNotAfterEnd(start: Bound, end: Bound): boolean {
  if (start.kind === 'unbounded' || end.kind === 'unbounded') return true;
  const c = compareCargoVersions(start.version, end.version);
  if (c < 0) return true;
  return c === 0 && start.kind === 'inclusive' && end.kind === 'inclusive';
}

/**
 * The interval a `patched`/`unaffected` requirement covers, converted as rustsec converts it
 * (`TryFrom<&VersionReq> for UnaffectedRange`). Throws an Error for requirements rustsec rejects.
 */
export function rustsecInterval(req: CargoRequirement): VersionInterval {
  const { comparators } = req;
  if (comparators.length > 2) throw new Error(`too many comparators in version requirement "${req.text}" (at most 2)`);
  let start: Bound = { kind: 'unbounded' };
  let end: Bound = { kind: 'unbounded' };
  for (const c of comparators) {
    switch (c.op) {
      case '>':
      case '>=':
        if (start.kind !== 'unbounded') throw new Error(`more than one lower bound in version requirement "${req.text}"`);
        start = { kind: c.op === '>' ? 'exclusive' : 'inclusive', version: comparatorVersion(c) };
        break;
      case '<':
      case '<=':
        if (end.kind !== 'unbounded') throw new Error(`more than one upper bound in version requirement "${req.text}"`);
        end = { kind: c.op === '<' ? 'exclusive' : 'inclusive', version: comparatorVersion(c) };
        break;
      case '=':
      case '^':
      case '~':
      case '*': {
        if (comparators.length !== 1) {
          throw new Error(`"${c.op === '*' ? 'wildcard' : c.op}" must be the only comparator of version requirement "${req.text}"`);
        }
        start = { kind: 'inclusive', version: comparatorVersion(c) };
        if (c.op === '=') end = { kind: 'inclusive', version: comparatorVersion(c) };
        else if (c.op === '^') end = { kind: 'exclusive', version: caretEnd(c) };
        else end = { kind: 'exclusive', version: tildeEnd(c) };
        break;
      }
    }
  }
  if (!startNotAfterEnd(start, end)) throw new Error(`empty version range "${req.text}": its start lies after its end`);
  return { start, end };
}

function intervalsOverlap(a: VersionInterval, b: VersionInterval): boolean {
  return startNotAfterEnd(a.start, b.end) && startNotAfterEnd(b.start, a.end);
}

function formatBound(bound: Bound, side: 'start' | 'end'): string {
  if (bound.kind === 'unbounded') return side === 'start' ? '[0' : '∞)';
  const v = formatCargoVersion(bound.version);
  if (side === 'start') return `${bound.kind === 'inclusive' ? '[' : '('}${v}`;
  return `${v}${bound.kind === 'inclusive' ? ']' : ')'}`;
}

export function formatCargoVersion(v: CargoVersion): string {
  let text = `${v.major}.${v.minor}.${v.patch}`;
  if (v.pre.length > 0) text += `-${v.pre.join('.')}`;
  if (v.build !== '') text += `+${v.build}`;
  return text;
}

function formatInterval(i: VersionInterval): string {
  return `${formatBound(i.start, 'start')}, ${formatBound(i.end, 'end')}`;
}

const intervalCache = new Map<string, VersionInterval>();

function intervalOf(text: string): VersionInterval {
  let interval = intervalCache.get(text);
  if (!interval) {
    interval = rustsecInterval(parseCargoRequirement(text));
    intervalCache.set(text, interval);
  }
  return interval;
}

/**
 * Validates an advisory's `[versions]` as rustsec does when it loads the advisory: every
 * requirement parses and converts, and no two of them overlap. Throws an Error naming the
 * offending requirement(s). Returns the intervals, unaffected first.
 */
export function checkRustsecVersions(patched: readonly string[], unaffected: readonly string[]): VersionInterval[] {
  const all = [...unaffected, ...patched];
  const intervals = all.map(intervalOf);
  for (let i = 0; i < intervals.length; i++) {
    for (let j = i + 1; j < intervals.length; j++) {
      if (intervalsOverlap(intervals[i] as VersionInterval, intervals[j] as VersionInterval)) {
        throw new Error(
          `overlapping version ranges "${all[i]}" ${formatInterval(intervals[i] as VersionInterval)} and "${all[j]}" ${formatInterval(intervals[j] as VersionInterval)}`,
        );
      }
    }
  }
  return intervals;
}

function intervalContains(i: VersionInterval, v: CargoVersion): boolean {
  if (i.start.kind !== 'unbounded') {
    const c = compareCargoVersions(v, i.start.version);
    if (c < 0 || (c === 0 && i.start.kind === 'exclusive')) return false;
  }
  if (i.end.kind !== 'unbounded') {
    const c = compareCargoVersions(v, i.end.version);
    if (c > 0 || (c === 0 && i.end.kind === 'exclusive')) return false;
  }
  return true;
}

/**
 * RustSec's `Versions::is_vulnerable`: affected unless some `patched` or `unaffected`
 * interval contains the version. (rustsec computes the complement as OSV ranges and tests
 * those; with validated, non-overlapping intervals the two are the same set.)
 */
export function isAffectedByRequirements(
  version: string,
  patched: readonly string[],
  unaffected: readonly string[],
): boolean {
  const v = parseCargoVersion(version);
  return !checkRustsecVersions(patched, unaffected).some((i) => intervalContains(i, v));
}

/** An OSV event's version, where `introduced: "0"` sorts before everything and a limit of `*` after. */
type EventPoint = { kind: 'introduced' | 'fixed' | 'last_affected' | 'limit'; version: CargoVersion | 'min' | 'max' };

function eventPoint(event: OsvEvent): EventPoint {
  const keys = (['introduced', 'fixed', 'last_affected', 'limit'] as const).filter((k) => event[k] !== undefined);
  if (keys.length !== 1) throw new Error(`OSV event ${JSON.stringify(event)} must have exactly one of introduced, fixed, last_affected, limit`);
  const kind = keys[0] as EventPoint['kind'];
  const text = event[kind] as string;
  if (kind === 'introduced' && text === '0') return { kind, version: 'min' };
  if (kind === 'limit' && text.includes('*')) return { kind, version: 'max' };
  try {
    return { kind, version: parseCargoVersion(padPartialVersion(text)) };
  } catch (err) {
    throw new Error(`OSV ${kind} event: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * OSV records written by hand carry partial versions (`"fixed": "1.6"`); as for npm, missing
 * numeric parts are zero and nothing else is guessed (`1.6` is 1.6.0, `2-rc.1` is 2.0.0-rc.1).
 */
function padPartialVersion(text: string): string {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:[-+].*)?)$/.exec(text);
  if (!m || m[3] !== undefined) return text;
  return `${m[1]}.${m[2] ?? '0'}.0${m[4] ?? ''}`;
}

function comparePoint(v: CargoVersion, point: CargoVersion | 'min' | 'max'): number {
  if (point === 'min') return 1;
  if (point === 'max') return -1;
  return compareCargoVersions(v, point);
}

function comparePoints(a: CargoVersion | 'min' | 'max', b: CargoVersion | 'min' | 'max'): number {
  if (a === b) return 0;
  if (a === 'min' || b === 'max') return -1;
  if (a === 'max' || b === 'min') return 1;
  return compareCargoVersions(a, b);
}

/** The OSV schema's IncludedInRanges for one SEMVER/ECOSYSTEM range (osv-schema docs/schema.md, "Evaluation"). */
function osvRangeIncludes(v: CargoVersion, range: OsvRange): boolean {
  const points = range.events.map(eventPoint);
  const limits = points.filter((p) => p.kind === 'limit');
  if (limits.length > 0 && !limits.some((p) => comparePoint(v, p.version) < 0)) return false;
  // A stable sort keeps "introduced X, fixed X" (an empty range) in the order it was written.
  const sorted = points.filter((p) => p.kind !== 'limit').sort((a, b) => comparePoints(a.version, b.version));
  let vulnerable = false;
  for (const p of sorted) {
    const c = comparePoint(v, p.version);
    if (p.kind === 'introduced' && c >= 0) vulnerable = true;
    else if (p.kind === 'fixed' && c >= 0) vulnerable = false;
    else if (p.kind === 'last_affected' && c > 0) vulnerable = false;
  }
  return vulnerable;
}

/**
 * OSV evaluation for a crate: the explicit `versions` list, then every SEMVER or ECOSYSTEM
 * (crates.io versions are SemVer) range. GIT ranges name commits, which a version cannot be
 * compared with, so they are skipped.
 */
export function isAffectedByOsv(version: string, ranges: readonly OsvRange[], versions: readonly string[]): boolean {
  const v = parseCargoVersion(version);
  for (const listed of versions) {
    let parsed: CargoVersion;
    try {
      parsed = parseCargoVersion(padPartialVersion(listed));
    } catch (err) {
      throw new Error(`OSV versions list: ${(err as Error).message}`, { cause: err });
    }
    if (compareCargoVersions(v, parsed) === 0) return true;
  }
  for (const range of ranges) {
    if (range.type === 'GIT') continue;
    if (range.type !== 'SEMVER' && range.type !== 'ECOSYSTEM') {
      throw new Error(`OSV range type "${String(range.type)}" cannot be evaluated for crates`);
    }
    if (osvRangeIncludes(v, range)) return true;
  }
  return false;
}

export const cargoVersionScheme: VersionScheme = {
  isAffected(version: string, affected: AffectedVersions): boolean {
    if (affected.form === 'requirements') return isAffectedByRequirements(version, affected.patched, affected.unaffected);
    return isAffectedByOsv(version, affected.ranges, affected.versions);
  },
  fixedVersions(affected: AffectedVersions): string[] {
    if (affected.form === 'requirements') {
      // A patched interval's inclusive start is its first fixed release; `> 1.2.3` names none.
      return affected.patched.flatMap((text) => {
        const start = intervalOf(text).start;
        return start.kind === 'inclusive' ? [formatCargoVersion(start.version)] : [];
      });
    }
    return affected.ranges
      .filter((range) => range.type !== 'GIT')
      .flatMap((range) => range.events.flatMap((e) => (e.fixed === undefined ? [] : [formatCargoVersion(parseCargoVersion(padPartialVersion(e.fixed)))])));
  },
  compare(a: string, b: string): number {
    return compareCargoVersions(parseCargoVersion(padPartialVersion(a)), parseCargoVersion(padPartialVersion(b)));
  },
  releaseLine(version: string): string {
    const v = parseCargoVersion(padPartialVersion(version));
    // Cargo's compatibility rule (the caret): the first non-zero component is the line.
    if (v.major > 0n) return `${v.major}.x`;
    return v.minor > 0n ? `0.${v.minor}.x` : `0.0.${v.patch}`;
  },
};

/*
 * Cargo's own matching of a dependency requirement, as the resolver applies it
 * (semver 1.0 `VersionReq::matches`, src/eval.rs): unlike the advisory intervals above, a
 * prerelease matches only a requirement that names a prerelease of the same major.minor.patch.
 * The fix planner asks it whether a dependent's requirement accepts a candidate version.
 */

function comparePre(a: readonly string[], b: readonly string[]): number {
  return compareCargoVersions(version(0n, 0n, 0n, a), version(0n, 0n, 0n, b));
}

function matchesExact(c: CargoComparator, v: CargoVersion): boolean {
  if (v.major !== c.major) return false;
  if (c.minor !== null && v.minor !== c.minor) return false;
  if (c.patch !== null && v.patch !== c.patch) return false;
  return comparePre(v.pre, c.pre) === 0;
}

/** semver's matches_greater (`sign` 1) and matches_less (`sign` -1). */
function matchesBeyond(c: CargoComparator, v: CargoVersion, sign: 1 | -1): boolean {
  const beyond = (a: bigint, b: bigint): boolean => (sign === 1 ? a > b : a < b);
  if (v.major !== c.major) return beyond(v.major, c.major);
  if (c.minor === null) return false;
  if (v.minor !== c.minor) return beyond(v.minor, c.minor);
  if (c.patch === null) return false;
  if (v.patch !== c.patch) return beyond(v.patch, c.patch);
  return comparePre(v.pre, c.pre) * sign > 0;
}

function matchesTilde(c: CargoComparator, v: CargoVersion): boolean {
  if (v.major !== c.major) return false;
  if (c.minor !== null && v.minor !== c.minor) return false;
  if (c.patch !== null && v.patch !== c.patch) return v.patch > c.patch;
  return comparePre(v.pre, c.pre) >= 0;
}

function matchesCaret(c: CargoComparator, v: CargoVersion): boolean {
  if (v.major !== c.major) return false;
  if (c.minor === null) return true;
  if (c.patch === null) return c.major > 0n ? v.minor >= c.minor : v.minor === c.minor;
  if (c.major > 0n) {
    if (v.minor !== c.minor) return v.minor > c.minor;
    if (v.patch !== c.patch) return v.patch > c.patch;
  } else if (c.minor > 0n) {
    if (v.minor !== c.minor) return false;
    if (v.patch !== c.patch) return v.patch > c.patch;
  } else if (v.minor !== c.minor || v.patch !== c.patch) {
    return false;
  }
  return comparePre(v.pre, c.pre) >= 0;
}

function comparatorMatches(c: CargoComparator, v: CargoVersion): boolean {
  switch (c.op) {
    case '=':
    case '*':
      return matchesExact(c, v);
    case '>':
      return matchesBeyond(c, v, 1);
    case '>=':
      return matchesExact(c, v) || matchesBeyond(c, v, 1);
    case '<':
      return matchesBeyond(c, v, -1);
    case '<=':
      return matchesExact(c, v) || matchesBeyond(c, v, -1);
    case '~':
      return matchesTilde(c, v);
    case '^':
      return matchesCaret(c, v);
  }
}

/** Whether Cargo's resolver accepts `candidate` for a dependency declared with `requirement`. */
export function cargoRequirementMatches(requirement: string, candidate: string): boolean {
  const req = parseCargoRequirement(requirement);
  const v = parseCargoVersion(candidate);
  if (!req.comparators.every((c) => comparatorMatches(c, v))) return false;
  if (v.pre.length === 0) return true;
  return req.comparators.some((c) => c.major === v.major && c.minor === v.minor && c.patch === v.patch && c.pre.length > 0);
}

/**
 * Cargo's semver compatibility (what `cargo update` stays within): the same leftmost non-zero
 * component, so 1.5.4 → 1.9.0 and 0.4.8 → 0.4.9 are compatible, 0.4.8 → 0.5.0 is not.
 */
export function cargoCompatible(locked: string, candidate: string): boolean {
  const a = parseCargoVersion(locked);
  const b = parseCargoVersion(candidate);
  if (a.major !== b.major) return false;
  if (a.major > 0n) return true;
  if (a.minor !== b.minor) return false;
  return a.minor > 0n || a.patch === b.patch;
}

/** Orders two version strings by SemVer precedence. */
export function compareCargoVersionText(a: string, b: string): number {
  return compareCargoVersions(parseCargoVersion(a), parseCargoVersion(b));
}
