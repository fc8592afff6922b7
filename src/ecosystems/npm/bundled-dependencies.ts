import type { DependencyGraph } from '../../core/graph.js';
import type { Package } from '../../core/package.js';
import { shortList } from '../../core/short-list.js';

/*
 * Bundled dependencies (a manifest's bundleDependencies) come inside their package's tarball,
 * and the package manager installs them as they are there. pnpm-lock.yaml lists only their
 * names, and a package-lock.json may lack their entries (npm ci installs them all the same):
 * either way the lockfile does not say which versions are installed. One rule for both readers,
 * and for a package-lock entry marked hasShrinkwrap, whose dependencies npm installs from the
 * npm-shrinkwrap.json in its tarball.
 */

/** A package whose tarball decides dependencies the lockfile does not list; `label` names it (and them). */
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
  noteTarballDecided(graph, bundles, {
    partial: (required) => `${bundling(required)} dependencies that the lockfile does not list, which ${manager} installs from ${required.length === 1 ? 'its tarball' : 'their tarballs'} as they are`,
    optional: (count) =>
      `${count === 1 ? 'an optional package bundles' : `${count} optional packages bundle`} dependencies that the lockfile does not list, ` +
      `NOT audited (${manager} installs them from the tarball where it installs the package)`,
  });
}

/**
 * Marks the graph for the package-lock entries flagged `hasShrinkwrap` (or `_hasShrinkwrap`,
 * any value JavaScript takes as true, as arborist reads them): npm 11 unpacks such a package,
 * reads the npm-shrinkwrap.json inside its tarball and installs the dependencies that file
 * names below it, whatever the lockfile lists there (checked with npm 11.19.1: a tarball whose
 * shrinkwrap locks minimist 1.2.5 gets node_modules/foo/node_modules/minimist 1.2.5 from `npm
 * ci`, the lockfile naming only minimist 1.2.8). The lockfile cannot say what that is: a partial
 * inventory, as for bundled dependencies.
 */
export function noteShrinkwrappedPackages(graph: DependencyGraph, packages: readonly UnlistedBundle[]): void {
  noteTarballDecided(graph, packages, {
    partial: (required) =>
      `${required.length === 1 ? 'a package is marked' : `${required.length} packages are marked`} hasShrinkwrap, so npm installs ${required.length === 1 ? 'its' : 'their'} dependencies from the npm-shrinkwrap.json inside ${required.length === 1 ? 'its tarball' : 'their tarballs'}, not from the lockfile`,
    optional: (count) =>
      `${count === 1 ? 'an optional package is marked' : `${count} optional packages are marked`} hasShrinkwrap: what npm installs below ${count === 1 ? 'it' : 'them'} from the npm-shrinkwrap.json inside the tarball is NOT audited`,
  });
}

/** What the lockfile leaves to packages' own tarballs: partial for required packages, a warning for optional ones. */
function noteTarballDecided(
  graph: DependencyGraph,
  packages: readonly UnlistedBundle[],
  say: { partial: (required: readonly string[]) => string; optional: (count: number) => string },
): void {
  const required = packages.filter((b) => b.pkg.flags?.optional !== true);
  const optional = packages.filter((b) => b.pkg.flags?.optional === true).map((b) => b.label);
  if (required.length > 0) {
    const labels = required.map((b) => b.label);
    const reason = `${say.partial(labels)}: ${shortList(labels, 5, '; ')}`;
    graph.partial = true;
    graph.partialPackages = [...(graph.partialPackages ?? []), ...required.map((b) => b.pkg.id)];
    graph.partialReason = graph.partialReason === undefined ? reason : `${graph.partialReason}; and ${reason}`;
  }
  if (optional.length > 0) (graph.warnings ??= []).push(`${graph.path}: ${say.optional(optional.length)}: ${shortList(optional, 5, '; ')}`);
}

function bundling(labels: readonly string[]): string {
  return labels.length === 1 ? 'a package bundles' : `${labels.length} packages bundle`;
}
