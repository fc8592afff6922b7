/** Code-point order: stable across locales, and without loading ICU's collator. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
