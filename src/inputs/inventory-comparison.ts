import { outgoingEdges, reachableFrom, type DependencyGraph, type EdgeKind } from '../core/graph.js';
import { lockfileNameKey } from '../ecosystems/package-names.js';
import { shortList } from '../core/short-list.js';

/**
 * Two inventories of one artifact (a package's own record of what it bundles, and what a
 * binary in it says it was built from) are both reported; these say where they differ.
 */

/** Versions by the name key packages are matched under, the artifact's root left out (and, given `only`, any package not in it). */
function versionsByName(graph: DependencyGraph, only?: ReadonlySet<string>): Map<string, { name: string; versions: Set<string> }> {
  const roots = new Set(graph.roots);
  const byName = new Map<string, { name: string; versions: Set<string> }>();
  for (const pkg of graph.packages) {
    if (roots.has(pkg.id) || pkg.source.kind === 'workspace' || (only !== undefined && !only.has(pkg.id))) continue;
    const key = lockfileNameKey(pkg.ecosystem, pkg.name);
    let entry = byName.get(key);
    if (!entry) byName.set(key, (entry = { name: pkg.name, versions: new Set() }));
    entry.versions.add(pkg.version);
  }
  return byName;
}

const LISTED = 10;

const BUILD_AND_DEV: ReadonlySet<EdgeKind> = new Set(['build', 'dev']);

/**
 * One warning when `record` and `binary` name the same package at other versions, and one
 * when a complete binary inventory holds packages the record does not name (a partial one,
 * read from embedded paths, misses crates by nature: only what it holds is compared).
 */
export function inventoryDisagreements(record: DependencyGraph, binary: DependencyGraph, own?: { name: string; version: string }): string[] {
  if (record.ecosystem !== binary.ecosystem) return [];
  const recorded = versionsByName(record);
  const built = versionsByName(binary);
  // The package's own application, installed as a package of the tree it ships (an npm
  // application under /usr/lib/node_modules): what the package is, not something it bundles.
  if (own !== undefined) {
    const key = lockfileNameKey(binary.ecosystem, own.name);
    const entry = built.get(key);
    if (entry?.versions.delete(own.version) === true && entry.versions.size === 0) built.delete(key);
  }
  // What the binary holds: a crate it was built with only through build-dependencies (cc,
  // bindgen; cargo-auditable's kind "build") is not in it, so no record of what it bundles names it.
  const linked = versionsByName(binary, reachableFrom(outgoingEdges(binary.edges), binary.roots, BUILD_AND_DEV));
  const versionDiffs: string[] = [];
  const missing: string[] = [];
  for (const [key, { name, versions }] of built) {
    const other = recorded.get(key);
    if (!other) {
      if (binary.partial !== true && linked.has(key)) missing.push(`${name} ${[...(linked.get(key)?.versions ?? versions)].join(', ')}`);
      continue;
    }
    const same = [...versions].every((v) => other.versions.has(v));
    if (!same) versionDiffs.push(`${name} ${[...other.versions].join(', ')} against ${[...versions].join(', ')}`);
  }
  const between = `${record.path} (${record.format}) and ${binary.path} (${binary.format})`;
  const warnings: string[] = [];
  if (versionDiffs.length > 0) warnings.push(`${between} disagree on ${versionDiffs.length} ${versionDiffs.length === 1 ? 'version' : 'versions'}: ${listed(versionDiffs)}`);
  if (missing.length > 0) warnings.push(`${binary.path} was built from ${missing.length} ${missing.length === 1 ? 'package' : 'packages'} that ${record.format} does not name: ${listed(missing)}`);
  return warnings;
}

function listed(items: readonly string[]): string {
  return shortList(items, LISTED, '; ');
}

/** `name` as the first of `graphs` that holds the same package spells it (else as given). */
export function respellFrom(graphs: readonly DependencyGraph[], name: string): string {
  for (const graph of graphs) {
    const key = lockfileNameKey(graph.ecosystem, name);
    const found = graph.packages.find((p) => lockfileNameKey(p.ecosystem, p.name) === key);
    if (found) return found.name;
  }
  return name;
}
