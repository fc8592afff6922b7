/**
 * A list in a one-line message: at most `limit` items, then how many more were left out
 * ("a, b, c and 4 more"; with "; " as the separator, "a; b; c; and 4 more", for items that hold
 * commas themselves). One home for every such list, so messages read alike.
 */
export function shortList(items: readonly string[], limit = 5, separator = ', '): string {
  if (items.length <= limit) return items.join(separator);
  return `${items.slice(0, limit).join(separator)}${separator === ', ' ? ' ' : separator}and ${items.length - limit} more`;
}
