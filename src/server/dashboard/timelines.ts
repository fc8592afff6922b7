import type { FindingLine } from '../../fleet/store/store.js';
import type { Window } from './charts.js';

/**
 * Exposure windows, from an application's history: each history entry makes a revision current
 * at its time, and the application holds that revision's findings until its next entry. (The
 * findings count over time is the store's: FleetStore.findingsOverTime.)
 */

/** What a picture names a finding by (a Finding or a FindingLine: the store's columns, no row parsed). */
type Named = Pick<FindingLine, 'advisory' | 'package'>;

/** A finding as a person names it in a picture: advisory, package and version. */
export function findingKey(f: Named): string {
  return `${f.advisory.id} ${f.package.name} ${f.package.version}`;
}

/**
 * When each finding of an application appeared and was resolved: a finding is open while the
 * current revision holds it. Newest windows first, at most `limit`.
 */
export function exposureWindows(history: readonly { at: string; revisionId: number }[], findingsOf: ReadonlyMap<number, readonly Named[]>, limit = 25): Window[] {
  const open = new Map<string, string>();
  const windows: Window[] = [];
  for (const entry of history) {
    const now = new Set((findingsOf.get(entry.revisionId) ?? []).map(findingKey));
    for (const [key, from] of open) {
      if (!now.has(key)) {
        windows.push({ label: key, from, to: entry.at });
        open.delete(key);
      }
    }
    for (const key of now) if (!open.has(key)) open.set(key, entry.at);
  }
  for (const [key, from] of open) windows.push({ label: key, from, to: null });
  return windows.sort((a, b) => (a.to === null) === (b.to === null) ? Date.parse(b.from) - Date.parse(a.from) : a.to === null ? -1 : 1).slice(0, limit);
}
