import type { Finding } from '../core/finding.js';
import type { Ecosystem } from '../core/package.js';
import type { FleetStore, PackageKey, RevisionRecord, SnapshotRecord } from './store/store.js';

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

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

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
  const sortedVersions = (s: Set<string>): string[] => [...s].sort(byText);
  for (const key of [...new Set([...before.keys(), ...after.keys()])].sort(byText)) {
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

export async function diffRevisions(store: FleetStore, name: string, from: RevisionRecord | null, to: RevisionRecord | null): Promise<AppDiff> {
  const packages = async (r: RevisionRecord | null): Promise<PackageKey[]> => (r === null ? [] : store.revisionPackages(r.id));
  const findings = async (r: RevisionRecord | null): Promise<Finding[]> => (r === null ? [] : store.findings(r.id));
  return {
    name,
    from,
    to,
    packages: diffPackages(await packages(from), await packages(to)),
    findings: diffFindings(await findings(from), await findings(to)),
  };
}

/** Every application whose revision differs between the two snapshots (present in one only included). */
export async function diffSnapshots(store: FleetStore, from: SnapshotRecord, to: SnapshotRecord): Promise<AppDiff[]> {
  const before = new Map(from.apps.map((a) => [a.appName, a.revisionId]));
  const after = new Map(to.apps.map((a) => [a.appName, a.revisionId]));
  const diffs: AppDiff[] = [];
  for (const name of [...new Set([...before.keys(), ...after.keys()])].sort(byText)) {
    const a = before.get(name);
    const b = after.get(name);
    if (a === b) continue;
    diffs.push(await diffRevisions(store, name, a === undefined ? null : await store.revision(a), b === undefined ? null : await store.revision(b)));
  }
  return diffs;
}
