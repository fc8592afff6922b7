/** A set of timed runs, as every bench records it: milliseconds to a tenth. */
export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Milliseconds to a tenth. */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export function summarize(samples: readonly number[]): Timing {
  return { medianMs: roundMs(median(samples)), minMs: roundMs(Math.min(...samples)), maxMs: roundMs(Math.max(...samples)), runs: samples.length };
}
