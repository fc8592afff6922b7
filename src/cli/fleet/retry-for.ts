import { StowageError } from '../../core/errors.js';

/**
 * `fleet push --retry-for SECONDS` (here, not in push.ts, so that the command line's help names
 * the default without loading the push): how long a push refused for now (503, 429, a proxy's 502 or 504) or cut off
 * goes on being tried. By default a server busy with other uploads, rate limiting or restarting for
 * a few minutes does not fail a CI job.
 */
export const DEFAULT_RETRY_FOR_SECONDS = 300;

/** `--retry-for SECONDS`: a whole number of seconds, 0 (one attempt) to a day. */
export function parseRetryFor(given: string | undefined): number {
  if (given === undefined) return DEFAULT_RETRY_FOR_SECONDS;
  if (!/^\d{1,5}$/.test(given) || Number(given) > 86_400) throw new StowageError(`--retry-for ${JSON.stringify(given)}: expected a whole number of seconds, 0 (no retry) to 86400`);
  return Number(given);
}
