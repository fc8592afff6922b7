import type { DependencyGraph } from '../../core/graph.js';
import type { Package } from '../../core/package.js';
import { shortList } from '../../core/short-list.js';

/*
 * Bundled dependencies (a manifest's bundleDependencies) come inside their package's tarball,
 * and the package manager installs them as they are there. pnpm-lock.yaml lists only their
 * names, and a package-lock.json may lack their entries (npm ci installs them all the same):
 * either way the lockfile does not say which versions are installed. One rule for both readers.
 */

/** A package whose bundled dependencies the lockfile does not list; `label` names it and them. */
export interface UnlistedBundle {
  pkg: Package;
  label: string;
}


/**
 * Marks the graph for the bundles it does not list, once its packages' flags are known. A
 * package installed whatever the platform makes the inventory partial (refused unless partial
 * inventories are allowed). An optional one only where it installs (a platform's build, such as
 * @tailwindcss/oxide-wasm32-wasi in every Tailwind 4 lockfile) is said in a warning as not
 * audited: refusing would refuse those lockfiles on every other platform.
 */
export function noteUnlistedBundles(graph: DependencyGraph, bundles: readonly UnlistedBundle[], manager: 'npm' | 'pnpm'): void {
  const required = bundles.filter((b) => b.pkg.flags?.optional !== true).map((b) => b.label);
  const optional = bundles.filter((b) => b.pkg.flags?.optional === true).map((b) => b.label);
  if (required.length > 0) {
    graph.partial = true;
    graph.partialPackages = bundles.filter((b) => b.pkg.flags?.optional !== true).map((b) => b.pkg.id);
    graph.partialReason = `${bundling(required)} dependencies that the lockfile does not list, which ${manager} installs from ${required.length === 1 ? 'its tarball' : 'their tarballs'} as they are: ${shortList(required, 5, '; ')}`;
  }
  if (optional.length > 0) {
    (graph.warnings ??= []).push(
      `${graph.path}: ${optional.length === 1 ? 'an optional package bundles' : `${optional.length} optional packages bundle`} dependencies that the lockfile does not list, ` +
        `NOT audited (${manager} installs them from the tarball where it installs the package): ${shortList(optional, 5, '; ')}`,
    );
  }
}

function bundling(labels: readonly string[]): string {
  return labels.length === 1 ? 'a package bundles' : `${labels.length} packages bundle`;
}
