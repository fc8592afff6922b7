import type { Ecosystem, Package, PackageFlags } from './package.js';

/**
 * normal: needed at run time; build: build scripts (Cargo build-dependencies);
 * dev: tests and development only; optional: may be absent; peer: provided by the dependent.
 */
export type EdgeKind = 'normal' | 'build' | 'dev' | 'optional' | 'peer';

/**
 * Where a graph's packages were learnt from, named in every report: a lockfile says what was
 * meant to be built; the others say what shipped (an SBOM, a vendor archive, a binary's
 * cargo-auditable `.dep-v0` section or its embedded source paths, a Debian package's
 * `X-Cargo-Built-Using`/`Static-Built-Using` fields, an RPM's `bundled(...)` provides, installed
 * `package.json` files).
 */
export type InventorySource =
  | 'lockfile'
  | 'sbom'
  | 'vendor archive'
  | 'dep-v0'
  | 'embedded paths'
  | 'X-Cargo-Built-Using'
  | 'Static-Built-Using'
  | 'bundled provides'
  | 'package.json';

export interface Edge {
  from: string;
  to: string;
  kind: EdgeKind;
}

/**
 * The locked dependency set of one lockfile: every consumer (audit, vendor, package, fleet)
 * reads this one model. Produced by the ecosystem parsers in src/ecosystems/<name>/.
 */
export interface DependencyGraph {
  ecosystem: Ecosystem;
  /** The lockfile this graph was read from. */
  path: string;
  /** Human-readable format, e.g. `Cargo.lock v3`, `package-lock.json v2`, `pnpm-lock.yaml 9.0`. */
  format: string;
  /** Every package, in lockfile order; ids are unique. */
  packages: Package[];
  edges: Edge[];
  /** Ids of the application's own packages (workspace members, importers). */
  roots: string[];
  /** Where the packages were learnt from; absent means a lockfile. */
  inventory?: InventorySource;
  /**
   * The inventory is known to be incomplete (crates recovered from a binary's embedded source
   * paths): refused unless the user allows it, and then every report says so.
   */
  partial?: boolean;
  /** What the reader found wrong but could work around (a lockfile older than its manifest). */
  warnings?: string[];
  /**
   * Set when the manifest asks for dependencies the lockfile does not lock (it names them): an
   * install that keeps the lockfile as it is fails, so it is audited as locked but not vendored.
   */
  stale?: string;
  /**
   * What an SBOM lists as a package but does not identify (no purl, or a purl that contradicts
   * the component), read only when the user allowed it: reported as not audited.
   */
  unidentified?: UnidentifiedComponent[];
}

/** A component of an SBOM that names a package stowage cannot identify, so cannot audit. */
export interface UnidentifiedComponent {
  /** The bom-ref, or where the component is in the document when it has none. */
  ref: string;
  name: string;
  version: string;
  reason: string;
}

/** Adjacency lookups over a graph, built once. */
export class GraphIndex {
  readonly byId: Map<string, Package>;
  readonly outgoing: Map<string, Edge[]>;

  constructor(readonly graph: DependencyGraph) {
    this.byId = new Map(graph.packages.map((p) => [p.id, p]));
    this.outgoing = outgoingEdges(graph.edges);
  }

  package(id: string): Package {
    const found = this.byId.get(id);
    if (!found) throw new Error(`no package with id ${id} in ${this.graph.path}`);
    return found;
  }
}

/** Edges by source id, in edge order. */
export function outgoingEdges(edges: readonly Edge[]): Map<string, Edge[]> {
  const outgoing = new Map<string, Edge[]>();
  for (const edge of edges) {
    let list = outgoing.get(edge.from);
    if (!list) outgoing.set(edge.from, (list = []));
    list.push(edge);
  }
  return outgoing;
}

/** Ids reachable from `roots` (roots included) without crossing an edge whose kind is in `skipKinds`. */
export function reachableFrom(
  outgoing: ReadonlyMap<string, readonly Edge[]>,
  roots: readonly string[],
  skipKinds: ReadonlySet<EdgeKind>,
): Set<string> {
  const seen = new Set(roots);
  const stack = [...roots];
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    for (const edge of outgoing.get(id) ?? []) {
      if (skipKinds.has(edge.kind) || seen.has(edge.to)) continue;
      seen.add(edge.to);
      stack.push(edge.to);
    }
  }
  return seen;
}

const NO_EDGES: ReadonlySet<EdgeKind> = new Set();
const DEV_EDGES: ReadonlySet<EdgeKind> = new Set(['dev']);
const OPTIONAL_EDGES: ReadonlySet<EdgeKind> = new Set(['optional']);
const DEV_AND_OPTIONAL_EDGES: ReadonlySet<EdgeKind> = new Set(['dev', 'optional']);

/**
 * Sets flags from the edge kinds, for lockfiles that do not record them per package:
 * flags.dev when a package is reachable from the roots only through a dev edge, flags.optional
 * when only through an optional edge, flags.devOptional when only through one or the other
 * (a dev dependency that a runtime one needs as optional: installed unless both are omitted).
 * Roots and packages no root reaches get no flags.
 */
export function flagsFromReachability(packages: Package[], edges: readonly Edge[], roots: readonly string[]): void {
  const outgoing = outgoingEdges(edges);
  const all = reachableFrom(outgoing, roots, NO_EDGES);
  const nonDev = reachableFrom(outgoing, roots, DEV_EDGES);
  const nonOptional = reachableFrom(outgoing, roots, OPTIONAL_EDGES);
  const required = reachableFrom(outgoing, roots, DEV_AND_OPTIONAL_EDGES);
  const rootSet = new Set(roots);
  for (const pkg of packages) {
    if (!all.has(pkg.id) || rootSet.has(pkg.id) || required.has(pkg.id)) continue;
    const flags: PackageFlags = {};
    if (!nonDev.has(pkg.id)) flags.dev = true;
    if (!nonOptional.has(pkg.id)) flags.optional = true;
    if (!flags.dev && !flags.optional) flags.devOptional = true;
    pkg.flags = flags;
  }
}
