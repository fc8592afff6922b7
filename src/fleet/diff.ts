import type { Finding } from '../core/finding.js';
import type { Ecosystem } from '../core/package.js';
import { chunks } from '../core/chunks.js';
import type { FindingKey, FleetStore, PackageKey, RevisionFootprint, RevisionRecord, SnapshotRecord } from './store/store.js';
import { compareCodePoints, compareText } from '../core/compare-text.js';

/**
 * What changed between two revisions of an application (or, app by app, two snapshots):
 * packages added, removed or at another version, and findings new or resolved.
 */

export interface VersionChange {
  ecosystem: Ecosystem;
  name: string;
  /** Versions the older revision locks and the newer does not, and the reverse. */
  from: string[];
  to: string[];
}

export interface AppDiff {
  name: string;
  from: RevisionRecord | null;
  to: RevisionRecord | null;
  packages: { added: PackageKey[]; removed: PackageKey[]; changed: VersionChange[] };
  findings: { new: Finding[]; resolved: Finding[] };
}


function versionsByName(packages: readonly PackageKey[]): Map<string, { ecosystem: Ecosystem; name: string; versions: Set<string> }> {
  const out = new Map<string, { ecosystem: Ecosystem; name: string; versions: Set<string> }>();
  for (const p of packages) {
    const key = `${p.ecosystem}\0${p.name}`;
    let entry = out.get(key);
    if (!entry) out.set(key, (entry = { ecosystem: p.ecosystem, name: p.name, versions: new Set() }));
    entry.versions.add(p.version);
  }
  return out;
}

export function diffPackages(from: readonly PackageKey[], to: readonly PackageKey[]): AppDiff['packages'] {
  const before = versionsByName(from);
  const after = versionsByName(to);
  const added: PackageKey[] = [];
  const removed: PackageKey[] = [];
  const changed: VersionChange[] = [];
  const sortedVersions = (s: Set<string>): string[] => [...s].sort(compareText);
  for (const key of [...new Set([...before.keys(), ...after.keys()])].sort(compareText)) {
    const old = before.get(key);
    const now = after.get(key);
    if (!old && now) for (const version of sortedVersions(now.versions)) added.push({ ecosystem: now.ecosystem, name: now.name, version });
    else if (old && !now) for (const version of sortedVersions(old.versions)) removed.push({ ecosystem: old.ecosystem, name: old.name, version });
    else if (old && now) {
      const gone = sortedVersions(old.versions).filter((v) => !now.versions.has(v));
      const came = sortedVersions(now.versions).filter((v) => !old.versions.has(v));
      if (gone.length > 0 || came.length > 0) changed.push({ ecosystem: old.ecosystem, name: old.name, from: gone, to: came });
    }
  }
  return { added, removed, changed };
}

/** A finding is the same across revisions when the package (at that version) and the advisory are. */
const findingKey = (f: Finding): string => `${f.package.ecosystem}\0${f.package.name}\0${f.package.version}\0${f.advisory.id}`;

export function diffFindings(from: readonly Finding[], to: readonly Finding[]): AppDiff['findings'] {
  const before = new Set(from.map(findingKey));
  const after = new Set(to.map(findingKey));
  const unique = (list: readonly Finding[]): Finding[] => [...new Map(list.map((f) => [findingKey(f), f])).values()];
  return { new: unique(to.filter((f) => !before.has(findingKey(f)))), resolved: unique(from.filter((f) => !after.has(findingKey(f)))) };
}

/** Two revisions of an application to compare (either absent: the application is in one snapshot only). */
interface RevisionPair {
  name: string;
  from: number | null;
  to: number | null;
}

/** A package as a diff needs it: its key, and the (ecosystem, name) its versions are grouped under. */
interface KnownPackage {
  key: PackageKey;
  name: string;
}

/**
 * Packages by id, read once per diff: the revisions of a fleet share a few thousand packages,
 * and most of each revision's hundreds.
 */
class PackageCache {
  private readonly known = new Map<number, KnownPackage>();

  constructor(private readonly store: FleetStore) {}

  async load(ids: Iterable<number>): Promise<void> {
    const missing = new Set<number>();
    for (const id of ids) if (!this.known.has(id)) missing.add(id);
    if (missing.size === 0) return;
    for (const [id, key] of await this.store.packagesById([...missing])) this.known.set(id, { key, name: `${key.ecosystem}\0${key.name}` });
  }

  get(id: number): KnownPackage {
    const p = this.known.get(id);
    if (p === undefined) throw new Error(`the fleet store has no package ${id}`);
    return p;
  }
}

/**
 * diffPackages of two revisions' packages, given by id: only the names with a version locked by
 * one and not the other can differ, so only their packages are compared (the others lock the
 * same versions on both sides, which diffPackages would find equal).
 */
function diffPackageIds(from: readonly number[], to: readonly number[], packages: PackageCache): AppDiff['packages'] {
  const names = new Set<string>();
  let i = 0;
  let j = 0;
  while (i < from.length || j < to.length) {
    const a = from[i];
    const b = to[j];
    if (a !== undefined && (b === undefined || a < b)) {
      names.add(packages.get(a).name);
      i++;
    } else if (b !== undefined && (a === undefined || b < a)) {
      names.add(packages.get(b).name);
      j++;
    } else {
      i++;
      j++;
    }
  }
  if (names.size === 0) return { added: [], removed: [], changed: [] };
  const named = (ids: readonly number[]): PackageKey[] => ids.map((id) => packages.get(id)).filter((p) => names.has(p.name)).map((p) => p.key);
  return diffPackages(named(from), named(to));
}

const footprintKey = (f: FindingKey): string => `${f.packageId}\0${f.advisoryId}`;

/**
 * diffFindings on the findings' keys (a package id names one package at one version), each key
 * once: only the findings that differ are read.
 */
function diffFindingKeys(from: readonly FindingKey[], to: readonly FindingKey[]): { new: FindingKey[]; resolved: FindingKey[] } {
  const before = new Set(from.map(footprintKey));
  const after = new Set(to.map(footprintKey));
  const unique = (list: readonly FindingKey[]): FindingKey[] => [...new Map(list.map((f) => [footprintKey(f), f])).values()];
  return { new: unique(to.filter((f) => !before.has(footprintKey(f)))), resolved: unique(from.filter((f) => !after.has(footprintKey(f)))) };
}

/** The diffs of these pairs, in their order: a few statements for all of them, whatever their number. */
async function diffPairs(store: FleetStore, pairs: readonly RevisionPair[], packages: PackageCache): Promise<AppDiff[]> {
  const ids = pairs.flatMap((p) => [p.from, p.to]).filter((id): id is number => id !== null);
  const revisions = await store.revisionsById(ids);
  const footprints = await store.revisionFootprints(ids);
  await packages.load([...footprints.values()].flatMap((f) => f.packageIds));
  const empty: RevisionFootprint = { packageIds: [], findings: [] };
  const footprint = (id: number | null): RevisionFootprint => (id === null ? empty : (footprints.get(id) ?? empty));
  const changes = pairs.map((p) => {
    const from = footprint(p.from);
    const to = footprint(p.to);
    return { packages: diffPackageIds(from.packageIds, to.packageIds, packages), findings: diffFindingKeys(from.findings, to.findings) };
  });
  // Every differing finding of these pairs read at once, each advisory once.
  const parsed = await store.findingsWithKeys(changes.flatMap((c) => [...c.findings.new, ...c.findings.resolved]));
  let at = 0;
  const take = (n: number): Finding[] => parsed.slice(at, (at += n));
  return pairs.map((p, i) => {
    const c = changes[i] as (typeof changes)[number];
    return {
      name: p.name,
      from: p.from === null ? null : revisionOrFail(revisions, p.from),
      to: p.to === null ? null : revisionOrFail(revisions, p.to),
      packages: c.packages,
      findings: { new: take(c.findings.new.length), resolved: take(c.findings.resolved.length) },
    };
  });
}

function revisionOrFail(revisions: ReadonlyMap<number, RevisionRecord>, id: number): RevisionRecord {
  const r = revisions.get(id);
  if (r === undefined) throw new Error(`the fleet store has no revision ${id}`);
  return r;
}

export async function diffRevisions(store: FleetStore, name: string, from: RevisionRecord | null, to: RevisionRecord | null): Promise<AppDiff> {
  const [diff] = await diffPairs(store, [{ name, from: from?.id ?? null, to: to?.id ?? null }], new PackageCache(store));
  return { ...(diff as AppDiff), from, to };
}

/** Applications a diff of two snapshots reads and hands on at a time: its memory is a page's, whatever the fleet's size. */
const SNAPSHOT_DIFF_PAGE = 200;

/**
 * Every application whose revision differs between the two snapshots (present in one only
 * included), in code-point order of names, a page at a time.
 */
export async function* diffSnapshots(store: FleetStore, from: SnapshotRecord, to: SnapshotRecord): AsyncGenerator<AppDiff[]> {
  const before = new Map(from.apps.map((a) => [a.appName, a.revisionId]));
  const after = new Map(to.apps.map((a) => [a.appName, a.revisionId]));
  const pairs: RevisionPair[] = [];
  for (const name of [...new Set([...before.keys(), ...after.keys()])].sort(compareCodePoints)) {
    const a = before.get(name);
    const b = after.get(name);
    if (a !== b) pairs.push({ name, from: a ?? null, to: b ?? null });
  }
  const packages = new PackageCache(store);
  for (const page of chunks(pairs, SNAPSHOT_DIFF_PAGE)) yield diffPairs(store, page, packages);
}
