import { StowageError } from './errors.js';

/**
 * The moment an audit is evaluated at: ignores' expiry dates, the database's age, advisories
 * withdrawn from a date. The wall clock, unless STOWAGE_NOW names another moment, so that an
 * audit can be re-run as of a date (what did our CI see on 2026-03-01?) and tests do not depend
 * on the day they run. Only evaluation reads it; fetching and caching keep the real clock.
 */
export function evaluationTime(env: NodeJS.ProcessEnv = process.env): Date {
  const value = env.STOWAGE_NOW;
  if (value === undefined || value === '') return new Date();
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/.test(value) ? new Date(value) : null;
  if (date === null || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value.slice(0, 10)) {
    throw new StowageError(`STOWAGE_NOW must be a date (2026-12-31) or a UTC time (2026-12-31T12:00:00Z), found ${JSON.stringify(value)}`);
  }
  return date;
}
