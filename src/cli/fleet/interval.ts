import { StowageError } from '../../core/errors.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--sync-every`'s `90s`, `15m`, `2h`, `1d`: at least a second, at most 24 days (what a timer holds). */
export function parseInterval(given: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(given);
  const ms = m ? Number(m[1]) * (UNITS[m[2] as string] as number) : NaN;
  if (!(ms >= 1000 && ms <= 2_073_600_000)) throw new StowageError(`--sync-every ${JSON.stringify(given)}: expected a duration such as 90s, 15m, 2h or 1d (at most 24d)`);
  return ms;
}
