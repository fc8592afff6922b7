import type { DependencyGraph, InventorySource } from '../core/graph.js';
import type { Ecosystem, PackageSource } from '../core/package.js';

/** The public registry of each ecosystem, as stowage records it in a package's source. */
export const PUBLIC_REGISTRY: Readonly<Record<Ecosystem, string>> = {
  cargo: 'https://github.com/rust-lang/crates.io-index',
  npm: 'https://registry.npmjs.org/',
};

export function publicRegistrySource(ecosystem: Ecosystem): PackageSource {
  return { kind: 'registry', url: PUBLIC_REGISTRY[ecosystem], isDefaultRegistry: true };
}

/** A package a shipped artifact names: what it was built from, without the lockfile's graph. */
export interface InventoryEntry {
  name: string;
  version: string;
}

/**
 * A flat inventory (a `.deb`'s X-Cargo-Built-Using, an RPM's bundled provides) as a graph: the
 * artifact is the root, and every package it names hangs off it, from the public registry (a
 * distribution packages crates.io's crates and npm's packages). The record says nothing of
 * which package needs which, so each is its own direct dependency in a finding's path.
 */
export function inventoryGraph(options: {
  ecosystem: Ecosystem;
  path: string;
  format: string;
  inventory: InventorySource;
  application: InventoryEntry;
  packages: readonly InventoryEntry[];
  warnings?: string[];
}): DependencyGraph {
  const { ecosystem, application } = options;
  const rootId = `${application.name}@${application.version} (${options.path})`;
  const graph: DependencyGraph = {
    ecosystem,
    path: options.path,
    format: options.format,
    packages: [{ id: rootId, ecosystem, name: application.name, version: application.version, source: { kind: 'workspace', url: null, isDefaultRegistry: false }, checksum: null }],
    edges: [],
    roots: [rootId],
    inventory: options.inventory,
  };
  const seen = new Set<string>();
  for (const entry of options.packages) {
    const id = `${entry.name}@${entry.version}`;
    if (seen.has(id)) continue;
    seen.add(id);
    graph.packages.push({ id, ecosystem, name: entry.name, version: entry.version, source: publicRegistrySource(ecosystem), checksum: null });
    graph.edges.push({ from: rootId, to: id, kind: 'normal' });
  }
  if (options.warnings && options.warnings.length > 0) graph.warnings = options.warnings;
  return graph;
}
