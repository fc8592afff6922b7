import { StowageError } from '../core/errors.js';
import * as semver from '../core/semver.js';
import { NotInFleetError } from './lookup.js';
import type { Finding } from '../core/finding.js';
import type { Ecosystem } from '../core/package.js';
import type { CurrentFinding, CurrentRevisionRef, FleetStore, Page, PageRequest, PackageKey } from './store/store.js';
import { compareCodePoints, compareText } from '../core/compare-text.js';

/**
 * `fleet affected`: the security team's "are we affected?" (an advisory id or any alias) and
 * the packager's "who embeds this library?" (NAME[@VERSION]), answered from the store's indexes
 * (findings by alias group, packages by name) without loading any revision's graph.
 */

export interface AffectedApp {
  name: string;
  /** `sha256:` + hex of the current revision. */
  revision: string;
  seq: number;
  appId: number;
  /** The versions of the asked-for package it locks (a NAME query; empty for an id). */
  packages: PackageKey[];
  findings: Finding[];
}

export type AffectedQuery = { kind: 'advisory'; id: string } | { kind: 'package'; name: string; version: string | null };

/** Advisory ids as databases spell them: RUSTSEC-2024-0421, CVE-2024-12224, GHSA-xxxx-xxxx-xxxx, OSV's PREFIX-... */
const ADVISORY_ID = /^(RUSTSEC-\d{4}-\d{4}|CVE-\d{4}-\d{4,}|GHSA(-[0-9a-z]{4}){3}|[A-Z][A-Z0-9]*-\d{4}-[0-9A-Za-z.-]+)$/i;

/** An advisory id (any database's spelling), else NAME or NAME@VERSION (`@scope/name@1.2.3` too). */
export function parseAffectedQuery(query: string): AffectedQuery {
  if (ADVISORY_ID.test(query)) return { kind: 'advisory', id: query };
  const at = query.indexOf('@', 1);
  const name = at < 0 ? query : query.slice(0, at);
  const version = at < 0 ? null : query.slice(at + 1);
  if (name === '' || version === '') throw new StowageError(`${JSON.stringify(query)}: expected an advisory id, NAME or NAME@VERSION`);
  return { kind: 'package', name, version };
}


/** The audit's order within one advisory: lockfile, package name, version, id. */
const findingOrder = (a: Finding, b: Finding): number =>
  compareText(a.target, b.target) || compareText(a.package.name, b.package.name) || compareText(a.package.version, b.package.version) || compareText(a.advisory.id, b.advisory.id);

function group(rows: readonly CurrentFinding[]): Map<number, AffectedApp> {
  const apps = new Map<number, AffectedApp>();
  for (const row of rows) {
    let app = apps.get(row.appId);
    if (!app) apps.set(row.appId, (app = { name: row.app, revision: row.revision, seq: row.seq, appId: row.appId, packages: [], findings: [] }));
    app.findings.push(row.finding);
  }
  for (const app of apps.values()) app.findings.sort(findingOrder);
  return apps;
}

async function refuseUnknownAdvisory(store: FleetStore, id: string): Promise<void> {
  if (!(await store.knowsAdvisory(id))) {
    throw new NotInFleetError(`no advisory ${JSON.stringify(id)} in the fleet's databases (as of the last sync) or findings`);
  }
}

/** The findings and package versions of a NAME query, grouped by application, in name order. */
function packageApps(locked: readonly (CurrentRevisionRef & { package: PackageKey })[], findings: readonly CurrentFinding[]): AffectedApp[] {
  const wanted = new Set(locked.map((r) => `${r.appId}\0${r.package.ecosystem}\0${r.package.name}\0${r.package.version}`));
  const apps = group(
    findings.filter((r) => wanted.has(`${r.appId}\0${r.finding.package.ecosystem}\0${r.finding.package.name}\0${r.finding.package.version}`)),
  );
  for (const r of locked) {
    let app = apps.get(r.appId);
    if (!app) apps.set(r.appId, (app = { name: r.app, revision: r.revision, seq: r.seq, appId: r.appId, packages: [], findings: [] }));
    app.packages.push(r.package);
  }
  return [...apps.values()].sort((a, b) => compareCodePoints(a.name, b.name));
}

/**
 * The applications the query concerns, in name order. An advisory id no finding and no
 * database of the fleet knows is refused (exit 2): a typo must not read as "not affected".
 */
export async function affectedApps(store: FleetStore, query: AffectedQuery): Promise<AffectedApp[]> {
  if (query.kind === 'advisory') {
    const rows = await store.currentFindingsWithId(query.id);
    if (rows.length === 0) await refuseUnknownAdvisory(store, query.id);
    return [...group(rows).values()];
  }
  const locked = (await store.currentRevisionsWithPackage(query.name)).filter((r) => query.version === null || sameRelease(r.package.version, query.version));
  if (locked.length === 0) refuseNonVersion(query);
  return packageApps(locked, await store.currentFindingsOnPackage(query.name));
}

/**
 * Whether a locked version is the release NAME@VERSION asks for. Build metadata orders nothing in
 * SemVer and a registry holds one release per version without it (crates.io refuses
 * `111.10.2+1.1.1h` beside `111.10.2+1.1.1g`), while advisories and people name the version
 * without it: `openssl-src@111.10.2` is the release locked as `111.10.2+1.1.1g`. A VERSION that
 * gives build metadata is compared whole. (The store's packageUsePage compares the same way.)
 */
function sameRelease(locked: string, asked: string): boolean {
  return locked === asked || (!asked.includes('+') && locked.startsWith(`${asked}+`));
}

/**
 * NAME@VERSION where VERSION is no version at all (`regex@notaversion`) and nothing locks it: a
 * typo must not read as "no application affected". Lockfiles of both ecosystems lock SemVer
 * versions; a version some revision does lock is answered whatever its spelling.
 */
function refuseNonVersion(query: Extract<AffectedQuery, { kind: 'package' }>): void {
  if (query.version !== null && semver.valid(query.version) === null) {
    throw new StowageError(
      `${JSON.stringify(`${query.name}@${query.version}`)}: ${JSON.stringify(query.version)} is not a version (expected NAME@MAJOR.MINOR.PATCH, as lockfiles lock it, or NAME alone)`,
    );
  }
}

/** affectedApps, one page of applications at a time, paged in the store (the server's lists). */
export async function affectedAppsPage(store: FleetStore, query: AffectedQuery, page: PageRequest, ecosystem: Ecosystem | null = null): Promise<Page<AffectedApp>> {
  if (query.kind === 'advisory') {
    const rows = await store.currentFindingsWithIdPage(query.id, page);
    if (rows.total === 0) await refuseUnknownAdvisory(store, query.id);
    return { total: rows.total, items: [...group(rows.items).values()] };
  }
  const use = await store.packageUsePage({ ecosystem, name: query.name, version: query.version }, page);
  if (use.total === 0) refuseNonVersion(query);
  return { total: use.total, items: packageApps(use.items, use.findings) };
}
