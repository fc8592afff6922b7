import { StowageError } from '../core/errors.js';
import type { Page, PageRequest } from '../fleet/store/store.js';

/**
 * Lists of the API come a page at a time, paged in the store (never loaded whole):
 * `?limit=` (1 to 500, default 50) and `?offset=` (default 0) ask for one; every list answer
 * carries `page: { limit, offset, total, next }`, `next` being the offset of the following page
 * or null on the last one.
 */

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

export interface PageJson {
  limit: number;
  offset: number;
  /** Items of the whole list. */
  total: number;
  /** The offset of the next page, null when this one is the last. */
  next: number | null;
}

function wholeNumber(name: string, given: string | undefined, fallback: number, min: number, max: number): number {
  if (given === undefined || given === '') return fallback;
  if (!/^\d{1,9}$/.test(given) || Number(given) < min || Number(given) > max) {
    throw new StowageError(`?${name}=${JSON.stringify(given).slice(1, -1)}: expected a whole number from ${min} to ${max}`);
  }
  return Number(given);
}

export function pageRequest(query: { limit?: string; offset?: string }): PageRequest {
  return {
    limit: wholeNumber('limit', query.limit, DEFAULT_LIMIT, 1, MAX_LIMIT),
    offset: wholeNumber('offset', query.offset, 0, 0, 999_999_999),
  };
}

export function pageJson(request: PageRequest, page: Page<unknown>): PageJson {
  const end = request.offset + request.limit;
  return { limit: request.limit, offset: request.offset, total: page.total, next: end < page.total ? end : null };
}
