import { timestampMs } from '../core/timestamp.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

/** Whole days from a revision's date to `now`; null when the date is unknown. */
export function databaseAgeDays(revisionDate: string | null, now: Date): number | null {
  const date = revisionDate ? timestampMs(revisionDate) : NaN;
  return Number.isNaN(date) ? null : Math.max(0, Math.floor((now.getTime() - date) / DAY_MS));
}
