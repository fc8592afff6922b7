import { writeFileSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (dist/bench/results-file.js -> the root). */
export const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
/** ../shared beside the repository: the real data the benches read in place. */
export const SHARED = resolve(ROOT, '..', 'shared');

/**
 * The figures with this machine's paths as the repository names them (`test/fixtures/...`,
 * `../shared/corpus/...`), so a committed result says nothing about the machine it ran on.
 */
export function portablePaths<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v !== 'string') return v;
      if (v === ROOT) return '.';
      return v.split(SHARED + sep).join(`..${sep}shared${sep}`).split(ROOT + sep).join('');
    }),
  ) as T;
}

/** Writes a bench's results file, paths made portable. */
export function writeResults(file: string, results: unknown): void {
  writeFileSync(file, `${JSON.stringify(portablePaths(results), null, 2)}\n`);
}
