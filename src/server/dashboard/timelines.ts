import type { Finding } from '../../core/finding.js';
import type { TimelineEntry } from '../../fleet/store/store.js';
import type { TimePoint, Window } from './charts.js';

/**
 * Findings over time, from the history: each history entry makes a revision current at its
 * time, and the application holds that revision's findings until its next entry.
 */

/** The fleet's (or one application's) findings count over time, at most `maxPoints` points (the last value of each span kept). */
export function findingsOverTime(entries: readonly TimelineEntry[], maxPoints = 240): TimePoint[] {
  const perApp = new Map<number, number>();
  let total = 0;
  const points: TimePoint[] = [];
  for (const e of entries) {
    total += e.findings - (perApp.get(e.appId) ?? 0);
    perApp.set(e.appId, e.findings);
    if (points.at(-1)?.at === e.at) (points.at(-1) as TimePoint).value = total;
    else points.push({ at: e.at, value: total });
  }
  if (points.length <= maxPoints) return points;
  const first = Date.parse(points[0]?.at ?? '');
  const span = Math.max(1, Date.parse(points.at(-1)?.at ?? '') - first) / maxPoints;
  const thinned = new Map<number, TimePoint>();
  for (const p of points) thinned.set(Math.floor((Date.parse(p.at) - first) / span), p);
  return [...thinned.values()];
}

/** A finding as a person names it in a picture: advisory, package and version. */
export function findingKey(f: Finding): string {
  return `${f.advisory.id} ${f.package.name} ${f.package.version}`;
}

/**
 * When each finding of an application appeared and was resolved: a finding is open while the
 * current revision holds it. Newest windows first, at most `limit`.
 */
export function exposureWindows(history: readonly { at: string; revisionId: number }[], findingsOf: ReadonlyMap<number, readonly Finding[]>, limit = 25): Window[] {
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
