import { partialInventoryWarning, readingWarnings } from '../audit/audit.js';
import type { DependencyGraph } from '../core/graph.js';

/**
 * What `stowage audit` says of an application's lockfiles as the revision keeps them (a lockfile
 * older than its manifest, crates of unknown sources not matched, a partial inventory): said
 * again by `fleet show`, from the stored graphs, so a stale lockfile is not said once at add
 * time and never after.
 */
export function revisionWarnings(graphs: readonly DependencyGraph[]): string[] {
  const warnings = readingWarnings([], graphs);
  for (const graph of graphs) if (graph.partial === true) warnings.push(partialInventoryWarning(graph));
  return warnings;
}
