import { StowageError } from '../core/errors.js';
import { MAX_NAME_LENGTH } from '../fleet/add.js';
import type { Page, PageRequest } from '../fleet/store/store.js';

/**
 * Lists of the API come a page at a time, paged in the store (never loaded whole):
 * `?limit=` (1 to 500, default 50) and `?offset=` (default 0) ask for one; every list answer
 * carries `page: { limit, offset, total, next }`, `next` being the offset of the following page
 * or null on the last one. The list of applications also pages by key: `?after=NAME` asks for
 * the applications after that name, and its page says `nextAfter` (the last name of the page,
 * null on the last page): the store starts at the name in its index instead of skipping rows.
 */

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
/**
 * The most applications a `?view=full` page of /apps holds, for every client: each carries all
 * its findings and triage notes (on a 2k fleet a page of 500 cost ~0.8 s of CPU and 21-37 MB).
 */
export const MAX_FULL_VIEW_LIMIT = 100;

export interface PageJson {
  limit: number;
  offset: number;
  /** Items of the whole list. */
  total: number;
  /** The offset of the next page, null when this one is the last. */
  next: number | null;
  /** Keyset paging (the list of applications): `?after=` this for the following page, null on the last one. */
  nextAfter?: string | null;
}

function wholeNumber(name: string, given: string | undefined, fallback: number, min: number, max: number, why = ''): number {
  if (given === undefined || given === '') return fallback;
  if (!/^\d{1,9}$/.test(given) || Number(given) < min || Number(given) > max) {
    throw new StowageError(`?${name}=${JSON.stringify(given).slice(1, -1)}: expected a whole number from ${min} to ${max}${why}`);
  }
  return Number(given);
}

/** The longest `?after=` key, in characters (code points, as appNameProblem counts them): the longest application name. */
const MAX_AFTER = MAX_NAME_LENGTH;

/**
 * `?limit=`, `?offset=` and, where the list pages by key (`keyset`), `?after=`. `maxLimit`: a
 * lower bound on `?limit=` than MAX_LIMIT, with the reason the refusal gives (`?view=full`).
 */
export function pageRequest(
  query: { limit?: string; offset?: string; after?: string },
  { keyset = false, maxLimit }: { keyset?: boolean; maxLimit?: { limit: number; why: string } } = {},
): PageRequest {
  const request: PageRequest = {
    limit: wholeNumber('limit', query.limit, DEFAULT_LIMIT, 1, maxLimit?.limit ?? MAX_LIMIT, maxLimit !== undefined ? ` ${maxLimit.why}` : ''),
    offset: wholeNumber('offset', query.offset, 0, 0, 999_999_999),
  };
  if (query.after === undefined) return request;
  if (!keyset) throw new StowageError('?after=: this list pages by ?offset= only');
  if (query.offset !== undefined) throw new StowageError('?after= and ?offset= ask for a page two ways: give one');
  if (query.after === '' || [...query.after].length > MAX_AFTER) throw new StowageError(`?after=: expected an application name (1 to ${MAX_AFTER} characters)`);
  return { ...request, after: query.after };
}

/** The page of a list; `before`: how many items come before it (the offset, or as counted for `?after=`). */
export function pageJson(request: PageRequest, page: Page<unknown>, before = request.offset): PageJson {
  const end = before + request.limit;
  const next = end < page.total ? end : null;
  return { limit: request.limit, offset: before, total: page.total, next };
}

/** pageJson of a list paged by key: `nextAfter`, the key of the page's last item while there is a next page. */
export function keysetPageJson(request: PageRequest, page: Page<unknown>, before: number, lastKey: string | null): PageJson {
  const json = pageJson(request, page, before);
  return { ...json, nextAfter: json.next === null ? null : lastKey };
}
