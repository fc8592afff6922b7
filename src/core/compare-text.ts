/**
 * UTF-16 code-unit order (JavaScript's `<`): stable across locales, and without loading ICU's
 * collator. It is code-point order except where a character above U+FFFF meets one of
 * U+E000..U+FFFF; what has always been sorted by it (a revision's documents before they are
 * hashed, findings) keeps this order, so digests and reports stay as they were.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Code-point order, the order of UTF-8 bytes: the order in which the fleet's store lists
 * application names (SQLite's BINARY collation, `COLLATE "C"` on PostgreSQL). Every list of
 * applications made in JavaScript sorts by this, so `fleet status` lists them as `GET /apps`
 * and `fleet status --summary` page them (`x-＠` before `x-😀`, where `<` puts the emoji's
 * surrogates first).
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length < b.length ? -1 : 1;
  return surrogatesLast(a.charCodeAt(i)) < surrogatesLast(b.charCodeAt(i)) ? -1 : 1;
}

/** A code unit ranked by code point: a surrogate (half of a character above U+FFFF) above U+E000..U+FFFF. */
function surrogatesLast(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}
