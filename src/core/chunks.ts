/** `items` in consecutive slices of at most `size` (the last may be shorter). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * `items` in slices of `size`, then what is left in slices of decreasing powers of two: a
 * statement made for each slice's length (a multi-row INSERT) has at most log2(size) + 2 texts
 * however many items come, so a driver that prepares each text once prepares it a bounded number
 * of times, where the last slice of each call had a length (and a statement) of its own.
 */
export function boundedChunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  let i = 0;
  for (; items.length - i >= size; i += size) out.push(items.slice(i, i + size));
  for (let part = 2 ** Math.floor(Math.log2(size)); i < items.length; part /= 2) {
    if (items.length - i >= part) {
      out.push(items.slice(i, i + part));
      i += part;
    }
  }
  return out;
}
