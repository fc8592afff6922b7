import { osvRecordUrl } from '../core/osv-url.js';
import * as semver from '../core/semver.js';
import type { SemVer } from '../core/semver.js';
import type {
  Advisory,
  AdvisoryKind,
  AffectedVersions,
  OsvEvent,
  OsvRange,
  Severity,
} from '../core/advisory.js';
import { InputError, errorMessage } from '../core/errors.js';
import { parseJsonText } from '../core/json-text.js';
import type { Ecosystem } from '../core/package.js';
import { severityFromCvss, severityFromLabel } from '../core/severity.js';
import { crateNameProblem, lockfileNameKey, npmNameProblem } from '../ecosystems/package-names.js';
import { ownValue } from '../core/own-value.js';

/**
 * The OSV JSON reader (schema: ossf.github.io/osv-schema). It reads GHSA records and the
 * RustSec advisory-db's OSV export; RustSec-specific data that the export keeps in
 * `affected[].database_specific` (informational kind, categories, cvss) and
 * `affected[].ecosystem_specific.affects` (functions, os, arch) is mapped so that an
 * advisory read from the export reports like the one read from the native TOML.
 */

/** OSV ecosystem names of the ecosystems stowage knows, spelt as the schema defines them. */
const OSV_ECOSYSTEMS: Record<string, Ecosystem | undefined> = {
  'crates.io': 'cargo',
  npm: 'npm',
};

/**
 * The ecosystem an OSV `ecosystem` value names. Values are case-sensitive and neither
 * `crates.io` nor `npm` takes a `:suffix`, so `NPM`, `Crates.io`, ` npm` or `npm:x` are
 * nobody's ecosystem to a strict reader, yet plainly meant as ours: refused rather than
 * skipped as "another ecosystem", which would hide the advisory.
 */
function ecosystemOf(value: string, path: string, fail: (message: string) => never): Ecosystem | null {
  const known = ownValue(OSV_ECOSYSTEMS, value);
  if (known) return known;
  const loose = value.trim().toLowerCase().split(':')[0] ?? '';
  for (const name of Object.keys(OSV_ECOSYSTEMS)) {
    if (loose === name) fail(`${path}.package.ecosystem is "${value}": the OSV name of this ecosystem is "${name}"`);
  }
  return null;
}

/** RFC 3339 date-time, as the schema gives every timestamp (`2024-08-12T15:30:49Z`). */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

function isRfc3339(text: string): boolean {
  const m = RFC3339.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetOk = m[9] === undefined || (Number(m[9]) < 24 && Number(m[10]) < 60);
  return month >= 1 && month <= 12 && day >= 1 && day <= days && hour < 24 && minute < 60 && second <= 60 && offsetOk;
}

const EVENT_KEYS = ['introduced', 'fixed', 'last_affected', 'limit'] as const;
const RANGE_TYPES = ['SEMVER', 'ECOSYSTEM', 'GIT'] as const;
const INFORMATIONAL_KINDS: Record<string, AdvisoryKind | undefined> = {
  unmaintained: 'unmaintained',
  unsound: 'unsound',
  notice: 'notice',
};

/** One OSV JSON record → one Advisory per affected package of an ecosystem stowage knows
 * ('crates.io' → 'cargo', 'npm' → 'npm'); other ecosystems' entries are skipped. */
export function parseOsvRecord(text: string, origin: string): Advisory[] {
  const record = obj(parseJsonText(origin, text), 'the record', origin);
  const id = record['id'];
  if (typeof id !== 'string' || id.trim() === '') {
    throw new InputError(origin, id === undefined ? 'missing "id"' : '"id" must be a non-empty string');
  }
  const fail = (message: string): never => {
    throw new InputError(origin, `${id}: ${message}`);
  };
  const at = (path: string) => ({ origin, fail, path });

  // Absent means 1.0.0; a later major version may change what fields mean.
  const schemaVersion = optionalString(record['schema_version'], at('schema_version'));
  if (schemaVersion !== null && !/^1\.\d+\.\d+$/.test(schemaVersion)) {
    fail(`"schema_version" is ${JSON.stringify(schemaVersion)}: this reader knows OSV schema 1.x`);
  }
  const aliases = stringList(record['aliases'], at('aliases')).filter((alias) => alias !== id);
  const related = stringList(record['related'], at('related'));
  const details = optionalString(record['details'], at('details')) ?? '';
  const summary = optionalString(record['summary'], at('summary'))?.trim() ?? '';
  const title = summary !== '' ? summary : firstLine(details) || id;
  // `withdrawn` decides whether the advisory matches at all, and `modified`/`published` date a
  // database read from plain files: a value that is not a timestamp is not guessed at.
  const timestamp = (field: string): string | null => {
    const value = optionalString(record[field], at(field));
    if (value !== null && !isRfc3339(value)) fail(`"${field}" is not an RFC 3339 timestamp: ${JSON.stringify(value)}`);
    return value;
  };
  const published = timestamp('published');
  const modified = timestamp('modified');
  const withdrawn = timestamp('withdrawn');
  const references = readReferences(record['references'], at('references'));
  const recordLabel = labelOf(record['database_specific'], at('database_specific'));
  const recordSeverity = readSeverity(record['severity'], recordLabel, at('severity'));

  const affectedValue = record['affected'] ?? [];
  if (!Array.isArray(affectedValue)) fail('"affected" must be an array');
  const groups = new Map<string, { ecosystem: Ecosystem; name: string; entries: AffectedEntry[] }>();
  (affectedValue as unknown[]).forEach((value, index) => {
    const path = `affected[${index}]`;
    const entry = readAffected(value, at(path));
    const ecosystem = ecosystemOf(entry.ecosystem, path, fail);
    if (!ecosystem) return;
    const problem = ecosystem === 'npm' ? npmNameProblem(entry.name) : crateNameProblem(entry.name);
    if (problem !== null) fail(`${path}.package.name ${JSON.stringify(entry.name)} ${problem}: no ${ecosystem === 'npm' ? 'npm package' : 'crate'} can have it`);
    if (entry.versions.length === 0 && !entry.ranges.some((r) => r.type !== 'GIT')) {
      // The schema's evaluation would match nothing; osv-scanner skips such an entry as "probably
      // a mistake". An entry naming a package with no version bound is read as every version.
      entry.ranges = [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }];
      entry.caveats.push(
        `${path} (${entry.name}) gives no versions and no SEMVER or ECOSYSTEM range, so every version is taken as affected`,
      );
    }
    // Names are kept as given: npm names are case-sensitive (legacy packages had capitals). A
    // crate spelt two ways (`foo-bar`, `Foo_Bar`) is one crate: its entries are one advisory's.
    const key = `${ecosystem}\u0000${lockfileNameKey(ecosystem, entry.name)}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { ecosystem, name: entry.name, entries: [] }));
    group.entries.push(entry);
  });

  const url = mainUrl(id, references);
  return [...groups.values()].map(({ ecosystem, name, entries }) => {
    const informational = entries.map((e) => e.informational).find((value) => value !== null) ?? null;
    const caveats = entries.flatMap((e) => e.caveats);
    if (informational !== null && ownValue(INFORMATIONAL_KINDS, informational) === undefined) {
      caveats.push(`unknown informational kind "${informational}", reported as a notice`);
    }
    const entrySeverity = entries.map((e) => e.severity ?? (e.cvss ? cvssSeverity(e.cvss, recordLabel, fail) : null));
    return {
      id,
      aliases,
      related,
      kind: informational === null ? 'vulnerability' : (ownValue(INFORMATIONAL_KINDS, informational) ?? 'notice'),
      ecosystem,
      package: name,
      title,
      description: details,
      published,
      modified,
      withdrawn,
      severity: recordSeverity ?? entrySeverity.find((s) => s !== null) ?? null,
      url,
      references: references.map((r) => r.url),
      categories: unique(entries.flatMap((e) => e.categories)),
      keywords: [],
      affected: entries.map((e): AffectedVersions => ({ form: 'osv', ranges: e.ranges, versions: e.versions })),
      patched: describePatched(entries),
      unaffected: describeUnaffected(entries),
      functions: Object.fromEntries(unique(entries.flatMap((e) => e.functions)).map((path) => [path, []])),
      os: unique(entries.flatMap((e) => e.os)),
      arch: unique(entries.flatMap((e) => e.arch)),
      origin,
      ...(caveats.length > 0 ? { caveats } : {}),
    } satisfies Advisory;
  });
}

interface Where {
  origin: string;
  fail: (message: string) => never;
  path: string;
}

interface AffectedEntry {
  ecosystem: string;
  name: string;
  ranges: OsvRange[];
  versions: string[];
  severity: Severity | null;
  informational: string | null;
  cvss: string | null;
  categories: string[];
  functions: string[];
  os: string[];
  arch: string[];
  /** See Advisory.caveats. */
  caveats: string[];
}

function readAffected(value: unknown, where: Where): AffectedEntry {
  const entry = obj(value, where.path, where.origin, where.fail);
  const pkg = obj(entry['package'], `${where.path}.package`, where.origin, where.fail);
  const ecosystem = pkg['ecosystem'];
  const name = pkg['name'];
  if (typeof ecosystem !== 'string' || ecosystem === '') where.fail(`${where.path}.package.ecosystem must be a non-empty string`);
  if (typeof name !== 'string' || name === '') where.fail(`${where.path}.package.name must be a non-empty string`);

  const rangesValue = entry['ranges'] ?? [];
  if (!Array.isArray(rangesValue)) where.fail(`${where.path}.ranges must be an array`);
  const ranges = (rangesValue as unknown[]).map((r, i) => readRange(r, { ...where, path: `${where.path}.ranges[${i}]` }));
  const versions = stringList(entry['versions'], { ...where, path: `${where.path}.versions` });

  const dbSpecific = optionalObj(entry['database_specific'], `${where.path}.database_specific`, where);
  const ecoSpecific = optionalObj(entry['ecosystem_specific'], `${where.path}.ecosystem_specific`, where);
  const affects = optionalObj(ecoSpecific?.['affects'], `${where.path}.ecosystem_specific.affects`, where);
  const informational = dbSpecific?.['informational'];
  if (informational !== undefined && informational !== null && typeof informational !== 'string') {
    where.fail(`${where.path}.database_specific.informational must be a string or null`);
  }
  const cvss = dbSpecific?.['cvss'];
  if (cvss !== undefined && cvss !== null && typeof cvss !== 'string') {
    where.fail(`${where.path}.database_specific.cvss must be a string or null`);
  }
  const label = labelOf(entry['database_specific'], { ...where, path: `${where.path}.database_specific` });
  return {
    ecosystem: ecosystem as string,
    name: name as string,
    ranges,
    versions,
    severity: readSeverity(entry['severity'], label, { ...where, path: `${where.path}.severity` }),
    informational: typeof informational === 'string' && informational !== '' ? informational : null,
    cvss: typeof cvss === 'string' && cvss !== '' ? cvss : null,
    categories: stringList(dbSpecific?.['categories'], { ...where, path: `${where.path}.database_specific.categories` }),
    // GHSA writes `affected_functions: [""]` for "unknown": empty paths say nothing.
    functions: stringList(affects?.['functions'], { ...where, path: `${where.path}.ecosystem_specific.affects.functions` }).filter(
      (f) => f !== '',
    ),
    os: stringList(affects?.['os'], { ...where, path: `${where.path}.ecosystem_specific.affects.os` }),
    arch: stringList(affects?.['arch'], { ...where, path: `${where.path}.ecosystem_specific.affects.arch` }),
    caveats: [],
  };
}

function readRange(value: unknown, where: Where): OsvRange {
  const range = obj(value, where.path, where.origin, where.fail);
  const type = range['type'];
  if (typeof type !== 'string' || !(RANGE_TYPES as readonly string[]).includes(type)) {
    where.fail(`${where.path}.type must be one of ${RANGE_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  }
  const eventsValue = range['events'];
  if (!Array.isArray(eventsValue)) where.fail(`${where.path}.events must be an array`);
  const events = (eventsValue as unknown[]).map((e, i) => readEvent(e, { ...where, path: `${where.path}.events[${i}]` }));
  // The schema requires one; without it the range could never match and would hide a finding.
  if (!events.some((e) => e.introduced !== undefined)) where.fail(`${where.path} has no "introduced" event`);
  // The schema forbids both in one range: which one closes it would be a guess.
  if (events.some((e) => e.fixed !== undefined) && events.some((e) => e.last_affected !== undefined)) {
    where.fail(`${where.path} has both "fixed" and "last_affected" events`);
  }
  return { type: type as OsvRange['type'], events };
}

function readEvent(value: unknown, where: Where): OsvEvent {
  const event = obj(value, where.path, where.origin, where.fail);
  const keys = Object.keys(event);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined || !(EVENT_KEYS as readonly string[]).includes(key)) {
    where.fail(
      `${where.path} must have exactly one of ${EVENT_KEYS.join(', ')}, got ${keys.length === 0 ? 'none' : keys.map((k) => JSON.stringify(k)).join(', ')}`,
    );
  }
  const version = event[key as string];
  if (typeof version !== 'string' || version === '') where.fail(`${where.path}.${key} must be a non-empty string`);
  return { [key as keyof OsvEvent]: version as string };
}

/**
 * The record's severity: the newest CVSS version given (databases rate with it: GitHub's
 * label follows the v4 vector when both are present), else the database's own label.
 */
function readSeverity(value: unknown, label: Severity | null, where: Where): Severity | null {
  if (value === undefined || value === null) return label;
  if (!Array.isArray(value)) where.fail(`${where.path} must be an array`);
  const vectors = new Map<string, string>();
  (value as unknown[]).forEach((item, i) => {
    const entry = obj(item, `${where.path}[${i}]`, where.origin, where.fail);
    const type = entry['type'];
    const score = entry['score'];
    if (typeof type !== 'string' || typeof score !== 'string') {
      where.fail(`${where.path}[${i}] must have string "type" and "score"`);
    }
    if (!vectors.has(type as string)) vectors.set(type as string, score as string);
  });
  const vector = vectors.get('CVSS_V4') ?? vectors.get('CVSS_V3') ?? vectors.get('CVSS_V2');
  return vector === undefined ? label : cvssSeverity(vector, label, where.fail);
}

function cvssSeverity(vector: string, label: Severity | null, fail: (message: string) => never): Severity {
  let severity: Severity;
  try {
    severity = severityFromCvss(vector);
  } catch (err) {
    return fail(errorMessage(err));
  }
  if (severity.score === null && label) return { ...severity, level: label.level };
  return severity;
}

function labelOf(value: unknown, where: Where): Severity | null {
  const dbSpecific = optionalObj(value, where.path, where);
  const label = dbSpecific?.['severity'];
  if (label === undefined || label === null) return null;
  if (typeof label !== 'string') return where.fail(`${where.path}.severity must be a string`);
  const severity = severityFromLabel(label);
  if (!severity) where.fail(`${where.path}.severity: unknown severity "${label}"`);
  return severity;
}

interface Reference {
  type: string;
  url: string;
}

function readReferences(value: unknown, where: Where): Reference[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) where.fail(`${where.path} must be an array`);
  const seen = new Set<string>();
  const references: Reference[] = [];
  (value as unknown[]).forEach((item, i) => {
    const entry = obj(item, `${where.path}[${i}]`, where.origin, where.fail);
    const type = entry['type'];
    const url = entry['url'];
    if (typeof type !== 'string' || typeof url !== 'string') where.fail(`${where.path}[${i}] must have string "type" and "url"`);
    if (seen.has(url as string)) return;
    seen.add(url as string);
    references.push({ type: type as string, url: url as string });
  });
  return references;
}

/**
 * The advisory's own page: the ADVISORY reference that names the record's id (RustSec's
 * export: https://rustsec.org/advisories/ID.html; GHSA: https://github.com/advisories/ID),
 * else any reference naming the id (a repository's security advisory for a GHSA), else the
 * first ADVISORY, else the first WEB, else the record on osv.dev.
 */
function mainUrl(id: string, references: Reference[]): string {
  const naming = references.filter((r) => r.url.includes(id));
  return (
    naming.find((r) => r.type === 'ADVISORY')?.url ??
    naming[0]?.url ??
    references.find((r) => r.type === 'ADVISORY')?.url ??
    references.find((r) => r.type === 'WEB')?.url ??
    osvRecordUrl(id)
  );
}

/**
 * Human-readable fixed versions: `>= FIXED`, bounded by the next `introduced` above it when
 * there is one (`>= 1.2.3, < 1.3.0`), so a fix on an old branch is not read as fixing every
 * later version. Entries of the same package are considered together: GHSA writes each
 * branch as its own entry. Display only; matching uses the ranges.
 */
function describePatched(entries: AffectedEntry[]): string[] {
  const ranges = entries.flatMap((e) => e.ranges).filter((r) => r.type !== 'GIT');
  const introduced = ranges.flatMap((r) => r.events.map((e) => e.introduced)).filter((v): v is string => v !== undefined);
  const patched: string[] = [];
  for (const range of ranges) {
    for (const event of range.events) {
      if (event.fixed === undefined) continue;
      const fixed = displayVersion(event.fixed);
      let next: { text: string; at: SemVer } | null = null;
      if (fixed) {
        for (const text of introduced) {
          const at = displayVersion(text);
          if (at && semver.gt(at, fixed) && (!next || semver.lt(at, next.at))) next = { text, at };
        }
      }
      const line = next ? `>= ${event.fixed}, < ${next.text}` : `>= ${event.fixed}`;
      if (!patched.includes(line)) patched.push(line);
    }
  }
  return patched;
}

/** `< FIRST-INTRODUCED` when no range starts at the beginning; display only, like `patched`. */
function describeUnaffected(entries: AffectedEntry[]): string[] {
  const ranges = entries.flatMap((e) => e.ranges).filter((r) => r.type !== 'GIT');
  let lowest: { text: string; at: SemVer } | null = null;
  for (const range of ranges) {
    for (const event of range.events) {
      if (event.introduced === undefined) continue;
      const at = displayVersion(event.introduced);
      if (event.introduced === '0' || !at || at.compare('0.0.0-0') === 0) return [];
      if (!lowest || semver.lt(at, lowest.at)) lowest = { text: event.introduced, at };
    }
  }
  return lowest && entries.every((e) => e.versions.length === 0) ? [`< ${lowest.text}`] : [];
}

/** node-semver's MAX_LENGTH: no longer string is a version. */
const MAX_VERSION_LENGTH = 256;

/**
 * SemVer for ordering display strings; partial versions are zero-padded. Null when not semver.
 * Length first: the pattern backtracks over every digit of a run that a newline ends, so a
 * record's megabyte of digits would hold the index build for hours.
 */
function displayVersion(text: string): SemVer | null {
  if (text.length > MAX_VERSION_LENGTH) return null;
  const parts = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$/.exec(text);
  if (!parts) return null;
  return semver.parse(`${parts[1]}.${parts[2] ?? '0'}.${parts[3] ?? '0'}${parts[4] ?? ''}`);
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.replace(/^#+\s*/, '').trim();
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

// --- shape checks ------------------------------------------------------------------------

function obj(
  value: unknown,
  path: string,
  origin: string,
  fail: (message: string) => never = (message) => {
    throw new InputError(origin, message);
  },
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(`${path} must be a JSON object, got ${jsonType(value)}`);
  }
  return value as Record<string, unknown>;
}

function optionalObj(value: unknown, path: string, where: Where): Record<string, unknown> | null {
  if (value === undefined || value === null) return null;
  return obj(value, path, where.origin, where.fail);
}

function optionalString(value: unknown, where: Where): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return where.fail(`"${where.path}" must be a string, got ${jsonType(value)}`);
  return value;
}

function stringList(value: unknown, where: Where): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    return where.fail(`"${where.path}" must be an array of strings`);
  }
  return value as string[];
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}
