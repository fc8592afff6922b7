import { createHash } from 'node:crypto';
import type { Advisory } from '../core/advisory.js';
import type { Ecosystem } from '../core/package.js';

/** A package an advisory is about, as the advisory names it. */
export type AdvisoryPackageName = [ecosystem: Ecosystem, name: string];

/**
 * What the fleet remembers of one advisory id (table advisory_state): enough to tell, when the
 * database moves, whether the advisory changed and which package names it was about.
 */
export interface AdvisoryState {
  /** sha256 of the advisory's records as matching and reports see them (advisoryDigest). */
  digest: string;
  /** The packages its records name, sorted. */
  names: AdvisoryPackageName[];
}

/** The state of an advisory in the database as it now is. */
export interface CurrentAdvisory extends AdvisoryState {
  withdrawn: boolean;
  /** Its records' aliases, sorted and distinct (`fleet affected` and `fleet triage` take any of them). */
  aliases: string[];
}

export type AdvisoryChangeKind = 'added' | 'changed' | 'withdrawn' | 'removed';

export interface AdvisoryChange {
  id: string;
  change: AdvisoryChangeKind;
  /** The package names before the change ([] when added) and after it ([] when removed). */
  previousNames: AdvisoryPackageName[];
  names: AdvisoryPackageName[];
}

/**
 * The digest of an advisory's records (an OSV record naming several packages is several
 * records of one id). Everything a finding shows or matching reads is in it; `origin` (the
 * file it was read from) is not, so moving a file changes nothing. The records come from
 * stowage's own readers, which build every object in one fixed key order, so JSON.stringify is
 * canonical here; a reader that changes (a new stowage) may change digests, and the names they
 * concern are then re-evaluated, which is what a fixed reader needs.
 */
export function advisoryDigest(records: readonly Advisory[]): string {
  const texts = records.map(({ origin: _origin, ...record }) => JSON.stringify(record)).sort();
  const hash = createHash('sha256');
  for (const text of texts) hash.update(`${text.length}:`).update(text);
  return hash.digest('hex');
}

function compareNames(a: AdvisoryPackageName, b: AdvisoryPackageName): number {
  const x = `${a[0]}\0${a[1]}`;
  const y = `${b[0]}\0${b[1]}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The database's advisories by id, as the fleet stores them. */
export function currentAdvisories(advisories: readonly Advisory[]): Map<string, CurrentAdvisory> {
  const byId = new Map<string, Advisory[]>();
  for (const a of advisories) {
    const records = byId.get(a.id);
    if (records) records.push(a);
    else byId.set(a.id, [a]);
  }
  const current = new Map<string, CurrentAdvisory>();
  for (const [id, records] of byId) {
    const names = new Map<string, AdvisoryPackageName>();
    for (const r of records) names.set(`${r.ecosystem}\0${r.package}`, [r.ecosystem, r.package]);
    current.set(id, {
      digest: advisoryDigest(records),
      names: [...names.values()].sort(compareNames),
      withdrawn: records.every((r) => r.withdrawn !== null),
      aliases: [...new Set(records.flatMap((r) => r.aliases))].filter((alias) => alias !== id).sort(),
    });
  }
  return current;
}

/**
 * What changed between the advisories the fleet last evaluated against and the database as it
 * now is, by id order. An advisory whose new record is withdrawn is `withdrawn`; one whose file
 * is gone is `removed`.
 */
export function diffAdvisories(previous: ReadonlyMap<string, AdvisoryState>, current: ReadonlyMap<string, CurrentAdvisory>): AdvisoryChange[] {
  const changes: AdvisoryChange[] = [];
  for (const [id, now] of current) {
    const before = previous.get(id);
    if (before === undefined) changes.push({ id, change: 'added', previousNames: [], names: now.names });
    else if (before.digest !== now.digest) changes.push({ id, change: now.withdrawn ? 'withdrawn' : 'changed', previousNames: before.names, names: now.names });
  }
  for (const [id, before] of previous) {
    if (!current.has(id)) changes.push({ id, change: 'removed', previousNames: before.names, names: [] });
  }
  return changes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The package names whose findings the changes may alter: those the advisories named before
 * and after, per ecosystem (runAudit's `onlyNames`).
 */
export function namesTouched(changes: readonly AdvisoryChange[]): Partial<Record<Ecosystem, Set<string>>> {
  const touched: Partial<Record<Ecosystem, Set<string>>> = {};
  for (const change of changes) {
    for (const [ecosystem, name] of [...change.previousNames, ...change.names]) (touched[ecosystem] ??= new Set()).add(name);
  }
  return touched;
}
