import { timestampMs } from '../core/timestamp.js';
import type { Advisory, SeverityLevel } from '../core/advisory.js';
import { SEVERITY_LEVELS } from '../core/advisory.js';
import { StowageError, errorMessage } from '../core/errors.js';
import { compareFindingsInTarget, type AppliedIgnore, type Finding, type FixedVersions } from '../core/finding.js';
import type { VersionScheme } from '../core/ecosystem.js';
import { omittedBy, partialUnderOmit, type DependencyGraph, type EdgeKind, type InventorySource, type UnidentifiedComponent } from '../core/graph.js';
import type { Ecosystem, Package } from '../core/package.js';
import type { AdvisoryDatabase } from '../advisories/database.js';
import { databaseAgeDays } from '../advisories/database-age.js';
import { ADVISORY_SOURCES_HINT, isAuditable, isFetchedOutsideRegistry, isOtherRegistryCrate, isPatchedPathCrate, isUnknownSourceCrate, loadVersionScheme } from '../ecosystems/formats.js';
import { redactCredentials } from '../core/credentials.js';
import { sourceLabel } from '../core/package.js';
import { advisoryNameKeys, lockfileNameKey, LockfileNameKeys, spellingNote } from '../ecosystems/package-names.js';
import { GraphPaths, packageCount, packagesNamed } from './paths.js';
import type { AuditPolicy, IgnoreRule } from './policy.js';
import { shortList } from '../core/short-list.js';

export interface DatabaseSummary {
  source: string;
  kind: AdvisoryDatabase['spec']['kind'];
  revision: string;
  revisionDate: string | null;
  advisories: number;
  toolchainAdvisories: number;
  /** Advisories per ecosystem (`cargo`, `npm`). */
  ecosystems: AdvisoryDatabase['ecosystems'];
  /** Whole days between the revision date and the audit; null when the date is unknown. */
  ageDays: number | null;
  stale: boolean;
}

export interface TargetSummary {
  path: string;
  ecosystem: DependencyGraph['ecosystem'];
  format: string;
  packages: number;
  /** Packages advisories are matched against (crates.io crates, npm registry packages; after --omit). */
  audited: number;
  /** SBOM components that name packages stowage could not identify: not audited (--allow-unidentified). */
  unidentified: UnidentifiedComponent[];
  /** Where the packages were learnt from (a lockfile, an SBOM, a binary's `.dep-v0`…). */
  inventory: InventorySource;
  /** The inventory is known to be incomplete (--allow-partial): what is absent was not audited. */
  partial: boolean;
}

export interface AuditResult {
  databases: DatabaseSummary[];
  targets: TargetSummary[];
  findings: Finding[];
  warnings: string[];
  /**
   * Packages that advisories name but that could not be compared with them (a git or tarball
   * package whose lockfile records no version), one sentence per lockfile, also in `warnings`.
   * The command line fails closed on them unless told the inventory may be partial.
   */
  notAudited: string[];
  /** The packages of `notAudited`, one entry each: what the fleet keeps of a revision it could not audit. */
  notAuditedPackages: NotAuditedPackage[];
}

/** A package advisories name that could not be compared with them (AuditResult's notAudited). */
export interface NotAuditedPackage {
  /** The lockfile's path, as findings' `target`. */
  target: string;
  ecosystem: Ecosystem;
  name: string;
  /** What the lockfile records in the version's place (a git specifier), possibly empty. */
  version: string;
  /** Where it comes from (sourceLabel), credentials redacted. */
  source: string;
}

/**
 * The audit's sentence for the packages of one lockfile that could not be compared: said by the
 * audit (which refuses them) and by the fleet for a revision kept as not audited.
 */
export function notAuditedSentence(target: string, packages: readonly Pick<NotAuditedPackage, 'name' | 'version' | 'source'>[]): string {
  const listed = shortList(packages.map((p) => `${p.name} ${p.version || '(no version)'} (${p.source})`), LISTED_PACKAGES);
  return (
    `${plural(packages.length, 'package')} not from a registry (git, tarball) NOT audited: advisories exist for their names, but ` +
    `${target} records no version they can be compared with: ${listed}`
  );
}

/** notAuditedSentence of each lockfile these packages are in, in their order. */
export function notAuditedSentences(packages: readonly NotAuditedPackage[]): string[] {
  const byTarget = new Map<string, NotAuditedPackage[]>();
  for (const p of packages) {
    const list = byTarget.get(p.target);
    if (list) list.push(p);
    else byTarget.set(p.target, [p]);
  }
  return [...byTarget].map(([target, list]) => notAuditedSentence(target, list));
}

export interface AuditInput {
  graphs: DependencyGraph[];
  databases: AdvisoryDatabase[];
  policy: AuditPolicy;
  now: Date;
  /**
   * Match only the packages these names designate (advisory package names, per ecosystem,
   * compared as package-names.ts says; an ecosystem left out matches nothing), while paths are
   * still computed on the whole graph. Findings partition by package, so the findings for names
   * N are exactly the full audit's findings whose package N names: the fleet re-evaluates only
   * the names an advisory change touched. Warnings about unused ignores are left out, since
   * most packages were not looked at.
   */
  onlyNames?: Partial<Record<Ecosystem, ReadonlySet<string>>>;
  /** What reading the application found worth saying beside its graphs (a manifest nothing locks). */
  inputWarnings?: readonly string[];
}

/**
 * What reading the application says, without matching anything: the read's own warnings (a
 * manifest nothing locks), each graph's (a lockfile older than its manifest...) and the crates
 * no advisory is matched against for their source, which names no registry (`scanPackages`:
 * read every package for those). Every audit reports them; so does `fleet add` of content it has already, which
 * matches nothing anew.
 */
export function readingWarnings(inputWarnings: readonly string[], graphs: readonly DependencyGraph[], scanPackages = true): string[] {
  const warnings = [...inputWarnings];
  for (const graph of graphs) {
    warnings.push(...(graph.warnings ?? []));
    if (!scanPackages || graph.ecosystem !== 'cargo') continue;
    const unknownSources = graph.packages.filter(isUnknownSourceCrate);
    if (unknownSources.length > 0) {
      // The source quoted: a near-spelling of crates.io ("crates.io ") must show what differs.
      const listed = shortList(unknownSources.map((p) => `${p.name} ${p.version} (source ${JSON.stringify(redactCredentials(sourceLabel(p.source)))})`), LISTED_PACKAGES);
      warnings.push(
        `${graph.path}: ${plural(unknownSources.length, 'crate')} from a source that is not crates.io NOT matched against advisories ` +
          `(advisories name crates.io's crates): ${listed}`,
      );
    }
  }
  return warnings;
}

/**
 * Fail closed: "no findings" would be said of packages that were never compared. Every reader of
 * an audit's result that cannot report it as partial (the audit without --allow-partial, the
 * fleet's add, sync and promotion) refuses it with this one line.
 */
export function refuseNotAudited(result: Pick<AuditResult, 'notAudited'>): void {
  const [notAudited] = result.notAudited;
  if (notAudited !== undefined) throw new StowageError(notAuditedRefusalOf(notAudited));
}

function notAuditedRefusalOf(sentence: string): string {
  return `${sentence}; record their versions (a lockfile v2 or v3 does), or \`stowage audit --allow-partial\` reports them as not audited`;
}

/** refuseNotAudited's line for these packages (the fleet's add of content a sync found not audited). */
export function notAuditedRefusal(packages: readonly NotAuditedPackage[]): string {
  return notAuditedRefusalOf(notAuditedSentences(packages)[0] ?? '');
}

/** Said in every report format (human, JSON, SARIF carry the warnings), never only in one. */
export function partialInventoryWarning(graph: DependencyGraph): string {
  const why = graph.partialReason === undefined ? '' : ` (${graph.partialReason})`;
  return `${graph.path}: PARTIAL inventory (${graph.inventory ?? 'lockfile'}): only the packages it reveals were audited, others may be present${why}`;
}

interface Match {
  pkg: Package;
  advisory: Advisory;
  database: string;
}

function summarizeDatabase(db: AdvisoryDatabase, policy: AuditPolicy, now: Date): DatabaseSummary {
  const ageDays = databaseAgeDays(db.revisionDate, now);
  return {
    source: db.source,
    kind: db.spec.kind,
    revision: db.revision,
    revisionDate: db.revisionDate,
    advisories: db.advisories,
    toolchainAdvisories: db.toolchainAdvisories,
    ecosystems: db.ecosystems,
    ageDays,
    stale: ageDays !== null && ageDays > policy.maxDatabaseAgeDays,
  };
}

function omittedKinds(policy: AuditPolicy): Set<EdgeKind> {
  return new Set(policy.omit);
}

/**
 * Every advisory that affects a package of the graph, per database, withdrawn ones excluded;
 * with a warning for each assumption a match rests on (a name spelt otherwise, a caveat the
 * reader recorded).
 */
async function matchGraph(
  graph: DependencyGraph,
  databases: AdvisoryDatabase[],
  policy: AuditPolicy,
  now: Date,
  onlyNames: AuditInput['onlyNames'],
): Promise<{ matches: Match[]; audited: number; warnings: string[]; notAudited: NotAuditedPackage[] }> {
  const onlyKeys = onlyNames === undefined ? null : nameKeys(graph.ecosystem, onlyNames[graph.ecosystem]);
  const named = onlyKeys === null ? graph.packages : packagesNamed(graph, onlyKeys);
  const candidates = named.filter((p) => isAuditable(p) && !omittedBy(p, policy.omit));
  if (candidates.length === 0) return { matches: [], audited: 0, warnings: [], notAudited: [] };
  // Fail closed: no database knows this ecosystem, so "no findings" would mean nothing.
  if (!databases.some((db) => (db.ecosystems[graph.ecosystem] ?? 0) > 0)) {
    throw new StowageError(
      `no advisory database given has ${graph.ecosystem} advisories, so ${candidates.length} packages cannot be audited; ` +
        `add one with --db (${ADVISORY_SOURCES_HINT[graph.ecosystem]})`,
      graph.path,
    );
  }
  const scheme = await loadVersionScheme(graph.ecosystem);
  const names = [...new Set(candidates.map((p) => p.name))];
  const matches: Match[] = [];
  const warnings = new Set<string>();
  const fetchedElsewhere = candidates.filter(isFetchedOutsideRegistry);
  const otherRegistries = candidates.filter(isOtherRegistryCrate);
  const unversioned = new Set<Package>();
  /** Packages some advisory affects. */
  const affectedPackages = new Set<Package>();
  for (const db of databases) {
    // Keyed as package-names.ts compares names, the one rule the index was built with.
    const byKey = new Map<string, Advisory[]>();
    for (const advisory of await db.lookup(graph.ecosystem, names)) {
      if (isWithdrawn(advisory, now)) continue;
      for (const key of advisoryNameKeys(graph.ecosystem, advisory.package)) {
        let list = byKey.get(key);
        if (!list) byKey.set(key, (list = []));
        list.push(advisory);
      }
    }
    for (const pkg of candidates) {
      const advisories = byKey.get(lockfileNameKey(graph.ecosystem, pkg.name));
      if (advisories === undefined) continue;
      for (const advisory of advisories) {
        let affected: boolean;
        try {
          affected = isAffected(advisory, pkg.version, scheme);
        } catch (err) {
          // A git or tarball package may record no version, or a commit: said, not fatal.
          if (fetchedElsewhere.includes(pkg)) {
            unversioned.add(pkg);
            continue;
          }
          // Named with its database, as the warnings name it: the origin alone (`r.json`) is relative to a root not said.
          throw new StowageError(
            `advisory ${advisory.id} cannot be evaluated for ${pkg.name} ${pkg.version}: ${errorMessage(err)}`,
            `${advisory.origin} in ${db.source}`,
          );
        }
        if (!affected) continue;
        affectedPackages.add(pkg);
        matches.push({ pkg, advisory, database: db.source });
        const where = `advisory ${advisory.id} (${advisory.origin} in ${db.source})`;
        if (advisory.package !== pkg.name) warnings.add(`${where} ${spellingNote(graph.ecosystem, advisory.package, pkg.name)}`);
        for (const caveat of advisory.caveats ?? []) warnings.add(`${where}: ${caveat}`);
        if (advisory.withdrawn !== null) warnings.add(`${where}: withdrawn only from ${advisory.withdrawn}, a date still to come: it still applies`);
      }
    }
  }
  // A git crate is said when an advisory affects it (that finding rests on its name and version); every npm package not from a registry is.
  const versioned = fetchedElsewhere.filter((p) => !unversioned.has(p) && (graph.ecosystem === 'npm' || affectedPackages.has(p)));
  if (versioned.length > 0) warnings.add(fetchedOutsideRegistryWarning(graph, versioned));
  // Another registry's crate, the same: said when an advisory affects it.
  const mirrored = otherRegistries.filter((p) => affectedPackages.has(p));
  if (mirrored.length > 0) warnings.add(otherRegistryWarning(graph, mirrored));
  // A [patch] path crate, the same.
  const copies = candidates.filter((p) => isPatchedPathCrate(p) && affectedPackages.has(p));
  if (copies.length > 0) warnings.add(patchedPathWarning(graph, copies));
  const notAudited = [...unversioned].map((p): NotAuditedPackage => ({
    target: graph.path,
    ecosystem: graph.ecosystem,
    name: p.name,
    version: p.version,
    source: redactCredentials(sourceLabel(p.source)),
  }));
  if (notAudited.length > 0) warnings.add(notAuditedSentence(graph.path, notAudited));
  return { matches, audited: candidates.length - unversioned.size, warnings: [...warnings], notAudited };
}

/**
 * What a match of packages not from a registry rests on. npm: the lockfile's name and version,
 * which npm does not check against what it fetches. Cargo: a git crate's own Cargo.toml, whose
 * version a fork keeps when it fixes a bug; advisories are about crates.io's release.
 */
function fetchedOutsideRegistryWarning(graph: DependencyGraph, packages: readonly Package[]): string {
  if (graph.ecosystem === 'cargo') {
    return (
      `${plural(packages.length, 'crate')} from git matched against advisories by the name and version ${graph.path} records for them ` +
      `(advisories name crates.io's crates; a git repository of the same crate, its own or a fork, carries their bugs unless fixed there: ` +
      `ignore an advisory a fork has fixed): ${listedPackages(packages)}`
    );
  }
  return (
    `${plural(packages.length, 'package')} not from a registry (git, tarball), matched against advisories by the name and version ` +
    `${graph.path} records for them, which npm does not check against what it fetches: ${listedPackages(packages)}`
  );
}

/** What a match of a `[patch]` path crate rests on: its name and version, as a git crate's. */
function patchedPathWarning(graph: DependencyGraph, packages: readonly Package[]): string {
  return (
    `${graph.path}: ${plural(packages.length, 'crate')} that a [patch] builds from a local path in place of the crate of the same name ` +
    `matched against advisories by name and version (a copy or fork of a crate carries its bugs unless fixed there: ` +
    `ignore an advisory the copy has fixed with --ignore ID=REASON): ${listedPackages(packages)}`
  );
}

/**
 * What a match of another registry's crates rests on: their name and version, as crates.io's
 * own would be matched. A registry other than crates.io is most often a mirror or proxy of it
 * (Artifactory, Cloudsmith, a corporate index), serving crates.io's crates under their names.
 */
function otherRegistryWarning(graph: DependencyGraph, packages: readonly Package[]): string {
  return (
    `${graph.path}: ${plural(packages.length, 'crate')} from a registry other than crates.io matched against advisories by name and version ` +
    `(advisories name crates.io's crates; a crate of the same name and version from another registry is usually crates.io's, mirrored: ` +
    `ignore an advisory that does not apply with --ignore ID=REASON): ${listedPackages(packages)}`
  );
}

/**
 * Whether the advisory affects this version. Remembered per advisory record (the same objects
 * while a database's lookups are remembered): a fleet sync asks it for the same few versions of
 * thousands of graphs. A version that cannot be evaluated throws, every time.
 */
function isAffected(advisory: Advisory, version: string, scheme: VersionScheme): boolean {
  let byVersion = affectedVersions.get(advisory);
  if (byVersion === undefined) affectedVersions.set(advisory, (byVersion = new Map()));
  let affected = byVersion.get(version);
  if (affected === undefined) {
    affected = advisory.affected.some((a) => scheme.isAffected(version, a));
    byVersion.set(version, affected);
  }
  return affected;
}

const affectedVersions = new WeakMap<Advisory, Map<string, boolean>>();

/** The lockfile name keys that advisory package `names` match. */
function nameKeys(ecosystem: Ecosystem, names: ReadonlySet<string> | undefined): LockfileNameKeys {
  // No names of this ecosystem: one empty set per ecosystem, not a new table per graph.
  if (names === undefined) return nameKeys(ecosystem, NO_NAMES);
  // Made once per set of names: a fleet sync re-matches thousands of graphs on the same names.
  let byEcosystem = nameKeysOf.get(names);
  if (byEcosystem === undefined) nameKeysOf.set(names, (byEcosystem = new Map()));
  let keys = byEcosystem.get(ecosystem);
  if (keys === undefined) {
    const made = new Set<string>();
    for (const name of names) for (const key of advisoryNameKeys(ecosystem, name)) made.add(key);
    byEcosystem.set(ecosystem, (keys = new LockfileNameKeys(ecosystem, made)));
  }
  return keys;
}

const nameKeysOf = new WeakMap<ReadonlySet<string>, Map<Ecosystem, LockfileNameKeys>>();
const NO_NAMES: ReadonlySet<string> = new Set();

const LISTED_PACKAGES = 10;

/** `lodash 4.17.4 (file:lodash-4.17.4.tgz), …`: at most ten, then how many more. */
function listedPackages(packages: readonly Package[]): string {
  return shortList(packages.map((p) => `${p.name} ${p.version || '(no version)'} (${redactCredentials(sourceLabel(p.source))})`), LISTED_PACKAGES);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Every advisory of a package's name that would fail the policy, whatever versions it affects. */
export type KnownAdvisories = (pkg: Package) => readonly Advisory[];

/**
 * The advisories the databases hold on the names of `findings`' packages that fail the policy
 * (neither withdrawn nor ignored), whatever versions they affect: the fix planner must not move
 * a package onto a version one of them affects (a fix released inside another flaw's range, as
 * openssl 0.10.70, which fixes RUSTSEC-2025-0004, is inside RUSTSEC-2025-0022's). Read while the
 * databases are open; the answer is plain data.
 */
export async function knownAdvisories(databases: readonly AdvisoryDatabase[], findings: readonly Finding[], policy: AuditPolicy, now: Date): Promise<KnownAdvisories> {
  // The audit's own reading of the ignores (its warnings are the audit's to give, not these).
  const ignores = new IgnoreBook(policy.ignores, now.toISOString().slice(0, 10));
  const byKey = new Map<string, Advisory[]>();
  const byEcosystem = new Map<Ecosystem, Set<string>>();
  for (const f of findings) {
    const names = byEcosystem.get(f.package.ecosystem) ?? new Set<string>();
    names.add(f.package.name);
    byEcosystem.set(f.package.ecosystem, names);
  }
  for (const [ecosystem, names] of byEcosystem) {
    for (const db of databases) {
      for (const advisory of await db.lookup(ecosystem, [...names])) {
        if (isWithdrawn(advisory, now) || ignores.apply(advisory) !== null || !failsPolicy(advisory, policy)) continue;
        for (const key of advisoryNameKeys(ecosystem, advisory.package)) {
          const full = `${ecosystem}\0${key}`;
          const list = byKey.get(full);
          if (list) list.push(advisory);
          else byKey.set(full, [advisory]);
        }
      }
    }
  }
  return (pkg) => byKey.get(`${pkg.ecosystem}\0${lockfileNameKey(pkg.ecosystem, pkg.name)}`) ?? [];
}

/**
 * A withdrawal dated in the future has not happened yet: the advisory still applies (the
 * readers have checked the date's form, so it parses).
 */
function isWithdrawn(advisory: Advisory, now: Date): boolean {
  return advisory.withdrawn !== null && timestampMs(advisory.withdrawn) <= now.getTime();
}

/**
 * Groups matches of one package that are the same vulnerability: records of different databases
 * whose ids overlap (an id or alias in common). Two records of one database with different ids
 * are two advisories, whatever aliases they share (RustSec's RUSTSEC-2019-0036, unsound, and
 * RUSTSEC-2020-0036, unmaintained, both list failure's CVEs), so they never share a group; a
 * record of another database that overlaps both joins the first.
 */
function mergeAliases(matches: Match[]): Match[][] {
  interface Group {
    pkg: string;
    ids: Set<string>;
    matches: Match[];
  }
  const groups: Group[] = [];
  // Would `group` then hold two different advisories of one database?
  const conflicts = (group: Group, others: readonly Match[]): boolean =>
    others.some((m) => group.matches.some((g) => g.database === m.database && g.advisory.id !== m.advisory.id));
  for (const match of matches) {
    const ids = [match.advisory.id, ...match.advisory.aliases];
    // Earlier matches come first, so the first database's advisory stays the primary one.
    const merged: Group = { pkg: match.pkg.id, ids: new Set(ids), matches: [match] };
    const overlapping = groups.filter((g) => g.pkg === match.pkg.id && ids.some((id) => g.ids.has(id)));
    const into = overlapping.find((g) => !conflicts(g, merged.matches));
    if (into === undefined) {
      groups.push(merged);
      continue;
    }
    into.matches.push(match);
    for (const id of ids) into.ids.add(id);
    // The new record may bridge groups that were apart (two databases' records of one vulnerability).
    for (const group of overlapping) {
      if (group === into || conflicts(into, group.matches)) continue;
      into.matches.push(...group.matches);
      for (const id of group.ids) into.ids.add(id);
      groups.splice(groups.indexOf(group), 1);
    }
  }
  // The primary record is the earliest match of the group (first database, then id order).
  return groups.map((g) => [...g.matches].sort((a, b) => matches.indexOf(a) - matches.indexOf(b)));
}

/**
 * One finding from several records of the same vulnerability. The first database names it; the
 * verdict is the strictest any record gives, so the order of `--db` never lets a finding pass:
 * a vulnerability if any record says so, and the highest severity any record rates.
 */
function combine(group: Match[]): { advisory: Advisory; databases: string[] } {
  const primary = group[0] as Match;
  const ids = new Set<string>();
  const patched = new Set(primary.advisory.patched);
  let severity = primary.advisory.severity;
  let kind = primary.advisory.kind;
  for (const m of group) {
    for (const id of [m.advisory.id, ...m.advisory.aliases]) ids.add(id);
    for (const p of m.advisory.patched) patched.add(p);
    if (m.advisory.kind === 'vulnerability') kind = 'vulnerability';
    const other = m.advisory.severity;
    if (other && (!severity || rank(other.level) > rank(severity.level) || (rank(other.level) === rank(severity.level) && severity.score === null))) {
      severity = other;
    }
  }
  ids.delete(primary.advisory.id);
  return {
    advisory: { ...primary.advisory, kind, aliases: [...ids].sort(), patched: [...patched], severity },
    databases: [...new Set(group.map((m) => m.database))],
  };
}

interface Combined {
  advisory: Advisory;
  databases: string[];
  /** fixedVersions for this group, by installed version. */
  fixed: (version: string) => FixedVersions | null;
}

/**
 * combine and fixedVersions of a group, made once for the same records of the same databases
 * (the same objects while a database's lookups are remembered: a fleet sync meets the same
 * groups in thousands of graphs). Findings are plain data, never changed once made, so those
 * of one group share the combined advisory.
 */
function combined(group: Match[], scheme: VersionScheme): Combined {
  const primary = (group[0] as Match).advisory;
  let byGroup = combinedGroups.get(primary);
  if (byGroup === undefined) combinedGroups.set(primary, (byGroup = new Map()));
  const key = group.map((m) => `${recordNumber(m.advisory)}\0${m.database}`).join('\0');
  let found = byGroup.get(key);
  if (found === undefined) {
    const byVersion = new Map<string, FixedVersions | null>();
    const fixed = (version: string): FixedVersions | null => {
      let f = byVersion.get(version);
      if (f === undefined) byVersion.set(version, (f = fixedVersions(version, group, scheme)));
      return f;
    };
    found = { ...combine(group), fixed };
    byGroup.set(key, found);
  }
  return found;
}

const combinedGroups = new WeakMap<Advisory, Map<string, Combined>>();
const recordNumbers = new WeakMap<Advisory, number>();
let recordsNumbered = 0;

function recordNumber(advisory: Advisory): number {
  let n = recordNumbers.get(advisory);
  if (n === undefined) recordNumbers.set(advisory, (n = recordsNumbered++));
  return n;
}

/**
 * The releases that fix the installed version, from every record of the finding: those of its
 * own release line first (a compatible update), then the others, each lowest first. A release
 * one record calls fixed that another record of the finding (another range, entry or database)
 * still affects is no fix: the audit would report it again. Null when a version cannot be
 * ordered (a git package may record a commit): the requirements are shown.
 */
function fixedVersions(version: string, group: readonly Match[], scheme: VersionScheme): FixedVersions | null {
  try {
    const line = scheme.releaseLine(version);
    const fixed = [...new Set(group.flatMap((m) => m.advisory.affected.flatMap((a) => scheme.fixedVersions(a))))]
      .filter((v) => !group.some((m) => isAffected(m.advisory, v, scheme)))
      .sort((a, b) => scheme.compare(a, b));
    const inLine = fixed.filter((v) => scheme.releaseLine(v) === line);
    return { line, inLine, otherLines: fixed.filter((v) => !inLine.includes(v)) };
  } catch {
    return null;
  }
}

/** The second step of each path (the package itself when a root depends on it directly). */
function directDependencies(paths: readonly string[][]): string[] {
  const direct: string[] = [];
  for (const p of paths) {
    const step = p[1];
    if (step !== undefined && !direct.includes(step)) direct.push(step);
  }
  return direct;
}

function rank(level: SeverityLevel): number {
  return SEVERITY_LEVELS.indexOf(level);
}

/** Does this finding fail the audit under the policy? Ignored findings never do. */
export function failsPolicy(advisory: Advisory, policy: AuditPolicy): boolean {
  const level = policyLevel(advisory, policy);
  if (level === null) return policy.deny.includes(advisory.kind);
  return rank(level) >= rank(policy.severityThreshold);
}

/** A vulnerability's level as the policy sees it: unknown counts as `unscored` (critical by default). */
function policyLevel(advisory: Advisory, policy: AuditPolicy): SeverityLevel | null {
  if (advisory.kind !== 'vulnerability') return null;
  return advisory.severity?.level ?? policy.unscored;
}

class IgnoreBook {
  private readonly used = new Set<IgnoreRule>();
  private readonly expiredWarned = new Set<IgnoreRule>();
  readonly warnings: string[] = [];

  constructor(
    private readonly rules: IgnoreRule[],
    private readonly today: string,
  ) {}

  apply(advisory: Advisory): AppliedIgnore | null {
    const ids = new Set([advisory.id, ...advisory.aliases]);
    for (const rule of this.rules) {
      if (!ids.has(rule.id)) continue;
      if (rule.expires !== null && rule.expires < this.today) {
        if (!this.expiredWarned.has(rule)) {
          this.expiredWarned.add(rule);
          this.warnings.push(`ignore of ${rule.id} (${rule.origin}) expired on ${rule.expires} and no longer applies`);
        }
        this.used.add(rule);
        continue;
      }
      this.used.add(rule);
      return { id: rule.id, reason: rule.reason, expires: rule.expires, origin: rule.origin };
    }
    return null;
  }

  unused(): string[] {
    return this.rules
      .filter((r) => !this.used.has(r))
      .map((r) => `ignore of ${r.id} (${r.origin}) matches no finding: remove it once the fix has shipped`);
  }
}


/**
 * The audit's decisions as data: which packages of which lockfiles are affected by which
 * advisories, through which paths, and whether each fails the policy. Rendering is elsewhere.
 */
export async function runAudit(input: AuditInput): Promise<AuditResult> {
  const { policy, now } = input;
  const warnings: string[] = [];
  const databases = input.databases.map((db) => summarizeDatabase(db, policy, now));
  for (const db of databases) {
    // Fail closed: a database whose age cannot be told (no record carries a date) may be any
    // age; it is not called stale, but the limit is said to be unchecked, and with
    // stale-db = "fail" (--fail-stale) the user asked for a proof of freshness there is none of.
    const message = db.stale
      ? `advisory database ${db.source} is ${db.ageDays} days old (revision ${db.revision.slice(0, 12)} of ${db.revisionDate}), over the ${policy.maxDatabaseAgeDays}-day limit`
      : db.ageDays === null
        ? `advisory database ${db.source} has no date (revision ${db.revision.slice(0, 12)}: no record carries \`modified\` or \`published\`), so its age is unknown and the ${policy.maxDatabaseAgeDays}-day limit cannot be checked`
        : null;
    if (message === null) continue;
    if (policy.staleDatabase === 'fail') throw new StowageError(`${message}; refusing to audit (stale-db = "fail")`);
    warnings.push(message);
  }

  const ignores = new IgnoreBook(policy.ignores, now.toISOString().slice(0, 10));
  const targets: TargetSummary[] = [];
  const findings: Finding[] = [];
  const notAudited: string[] = [];
  const notAuditedPackages: NotAuditedPackage[] = [];
  for (const graph of input.graphs) {
    // Fail closed: a lockfile that cannot say what is dev- or optional-only is audited whole.
    const scoped = graph.scopeUnknown !== undefined && policy.omit.length > 0 ? { ...policy, omit: [] } : policy;
    if (scoped !== policy) warnings.push(`--omit ${policy.omit.join(',')} not applied to ${graph.path}: ${graph.scopeUnknown}`);
    const skip = omittedKinds(scoped);
    const devAndSkip = new Set<EdgeKind>([...skip, 'dev']);
    const matched = await matchGraph(graph, input.databases, scoped, now, input.onlyNames);
    const { matches, audited } = matched;
    warnings.push(...matched.warnings);
    if (matched.notAudited.length > 0) {
      notAudited.push(notAuditedSentence(graph.path, matched.notAudited));
      notAuditedPackages.push(...matched.notAudited);
    }
    const partial = partialUnderOmit(graph, scoped.omit);
    targets.push({
      path: graph.path,
      ecosystem: graph.ecosystem,
      format: graph.format,
      packages: packageCount(graph),
      audited,
      unidentified: graph.unidentified ?? [],
      inventory: graph.inventory ?? 'lockfile',
      partial,
    });
    if (partial) warnings.push(partialInventoryWarning(graph));
    if (matches.length === 0) continue;
    const edges = new GraphPaths(graph);
    const hasDevEdges = edges.hasEdgeOf('dev');
    const scheme = await loadVersionScheme(graph.ecosystem);
    for (const group of mergeAliases(matches)) {
      const { advisory, databases: sources, fixed } = combined(group, scheme);
      const pkg = (group[0] as Match).pkg;
      const { paths, more } = edges.paths(pkg.id, skip);
      const ignored = ignores.apply(advisory);
      findings.push({
        target: graph.path,
        advisory,
        databases: sources,
        package: pkg,
        paths,
        morePaths: more,
        directDependencies: directDependencies(paths),
        fixedVersions: fixed(pkg.version),
        devOnly: pkg.flags?.dev === true || (hasDevEdges && !edges.reaches(pkg.id, devAndSkip)),
        ignored,
        policyLevel: policyLevel(advisory, policy),
        failsPolicy: ignored === null && failsPolicy(advisory, policy),
      });
    }
  }
  // A restricted audit (fleet sync) reads only the packages named: not every package for the crates of other registries.
  warnings.push(...readingWarnings(input.inputWarnings ?? [], input.graphs, input.onlyNames === undefined));
  // After matching: a database may have had to rebuild its index, and says so.
  for (const db of input.databases) warnings.push(...db.warnings);
  warnings.push(...ignores.warnings, ...(input.onlyNames === undefined ? ignores.unused() : []));
  findings.sort(
    (a, b) =>
      input.graphs.findIndex((g) => g.path === a.target) - input.graphs.findIndex((g) => g.path === b.target) || compareFindingsInTarget(a, b),
  );
  return { databases, targets, findings, warnings, notAudited, notAuditedPackages };
}
