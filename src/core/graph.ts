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
 * `X-Cargo-Built-Using`/`Static-Built-Using`/`Built-Using` fields, an RPM's `bundled(...)` provides, installed
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
  | 'Built-Using'
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
  /**
   * What a partial lockfile leaves out (a pnpm-lock.yaml lists no package that another one
   * bundles in its tarball): said when it is refused, and in the warning when it is allowed.
   */
  partialReason?: string;
  /**
   * When the inventory is partial only because of what these packages hold (bundled dependencies
   * the lockfile does not list), their ids: an audit that omits every one of them (`--omit dev`
   * of a dev-only bundler) audits a complete inventory (partialUnderOmit).
   */
  partialPackages?: string[];
  /** What the reader found wrong but could work around (a lockfile older than its manifest). */
  warnings?: string[];
  /**
   * Set when the lockfile cannot tell which packages the package manager will install only as
   * dev or optional dependencies (an npm lockfileVersion 1 tree records no peer dependencies,
   * which npm 7 and later install, recomputing every flag): `--omit` is not applied to it, and
   * a warning gives this reason. Fail closed: a dev-marked package may be a runtime one's peer.
   */
  scopeUnknown?: string;
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

const KIND_BITS: Readonly<Record<EdgeKind, number>> = { normal: 1, build: 2, dev: 4, optional: 8, peer: 16 };

/**
 * For each list of edge kinds in `avoiding`, which packages (by their index in `packages`) the
 * roots reach without crossing an edge of those kinds; roots included. Every parse runs this
 * once, before the JIT has warmed up, over thousands of packages: the walk goes over integer
 * arrays, and a list whose kinds no edge has shares the walk of the kinds that do occur.
 */
export function reachableAvoiding(
  packages: readonly Package[],
  edges: readonly Edge[],
  roots: readonly string[],
  avoiding: readonly (readonly EdgeKind[])[],
): Uint8Array[] {
  const n = packages.length;
  const indexOf = new Map<string, number>();
  for (let i = 0; i < n; i++) indexOf.set((packages[i] as Package).id, i);
  const from = new Int32Array(edges.length);
  const to = new Int32Array(edges.length);
  const kinds = new Uint8Array(edges.length);
  for (let e = 0; e < edges.length; e++) {
    const edge = edges[e] as Edge;
    const f = indexOf.get(edge.from);
    const t = indexOf.get(edge.to);
    // An edge from or to a package the graph does not hold leads nowhere among its packages.
    from[e] = f === undefined || t === undefined ? -1 : f;
    to[e] = t ?? -1;
    kinds[e] = KIND_BITS[edge.kind];
  }
  const start: number[] = [];
  for (const id of roots) {
    const i = indexOf.get(id);
    if (i !== undefined) start.push(i);
  }
  return reachableAvoidingIndexes(n, { from, to, kinds, length: edges.length }, start, avoiding);
}

/**
 * Edges by package index, for a reader that numbers its packages as it goes: `from[e]` to
 * `to[e]`, of the kind whose bit (edgeKindBit) is `kinds[e]`; a negative `from` is no edge.
 * The first `length` entries are the edges.
 */
export interface EdgeArrays {
  from: ArrayLike<number>;
  to: ArrayLike<number>;
  kinds: ArrayLike<number>;
  length: number;
}

/** The bit of an edge kind in EdgeArrays.kinds. */
export function edgeKindBit(kind: EdgeKind): number {
  return KIND_BITS[kind];
}

/**
 * reachableAvoiding over packages numbered 0..n-1 and edges between those numbers: what a
 * reader that already has its packages' indexes asks, without a map from ids back to them.
 * `roots` are indexes.
 */
export function reachableAvoidingIndexes(
  n: number,
  edges: EdgeArrays,
  roots: readonly number[],
  avoiding: readonly (readonly EdgeKind[])[],
): Uint8Array[] {
  const { from, to, kinds: edgeKinds, length } = edges;
  // Adjacency as offsets into one array of targets, with each edge's kind as a bit.
  const first = new Int32Array(n + 1);
  for (let e = 0; e < length; e++) {
    const f = from[e] as number;
    if (f >= 0) first[f + 1] = (first[f + 1] as number) + 1;
  }
  for (let i = 0; i < n; i++) first[i + 1] = (first[i + 1] as number) + (first[i] as number);
  const targets = new Int32Array(first[n] as number);
  const kinds = new Uint8Array(first[n] as number);
  const fill = first.slice(0, n);
  let present = 0;
  for (let e = 0; e < length; e++) {
    const f = from[e] as number;
    if (f < 0) continue;
    const slot = fill[f] as number;
    fill[f] = slot + 1;
    targets[slot] = to[e] as number;
    const bits = edgeKinds[e] as number;
    kinds[slot] = bits;
    present |= bits;
  }
  const walked = new Map<number, Uint8Array>();
  const stack = new Int32Array(n);
  return avoiding.map((list) => {
    let skip = 0;
    for (const kind of list) skip |= KIND_BITS[kind];
    skip &= present;
    const known = walked.get(skip);
    if (known !== undefined) return known;
    const seen = new Uint8Array(n);
    let top = 0;
    for (const i of roots) {
      if (seen[i] === 0) {
        seen[i] = 1;
        stack[top++] = i;
      }
    }
    while (top > 0) {
      const i = stack[--top] as number;
      for (let k = first[i] as number, end = first[i + 1] as number; k < end; k++) {
        const t = targets[k] as number;
        if (seen[t] === 0 && ((kinds[k] as number) & skip) === 0) {
          seen[t] = 1;
          stack[top++] = t;
        }
      }
    }
    walked.set(skip, seen);
    return seen;
  });
}

/**
 * Sets flags from the edge kinds, for lockfiles that do not record them per package:
 * flags.dev when a package is reachable from the roots only through a dev edge, flags.optional
 * when only through an optional edge, flags.devOptional when only through one or the other
 * (a dev dependency that a runtime one needs as optional: installed unless both are omitted).
 * Roots and packages no root reaches get no flags. A package no root reaches is locked for a
 * dependency the lockfile does not record (yarn berry's built-in packageExtensions give got@<11
 * `@types/keyv` and `@types/responselike`, and `yarn workspaces focus --production` installs
 * them with got), so it counts as a root: what it needs is never dev or optional on a guess.
 */
export function flagsFromReachability(packages: Package[], edges: readonly Edge[], roots: readonly string[]): void {
  const kinds: EdgeKind[][] = [[], ['dev'], ['optional'], ['dev', 'optional']];
  let [all, nonDev, nonOptional, required] = reachableAvoiding(packages, edges, roots, kinds) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const unreached = packages.filter((_, i) => all[i] === 0).map((p) => p.id);
  if (unreached.length > 0) {
    [all, nonDev, nonOptional, required] = reachableAvoiding(packages, edges, [...roots, ...unreached], kinds) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  }
  const rootSet = new Set([...roots, ...unreached]);
  for (let i = 0; i < packages.length; i++) {
    const pkg = packages[i] as Package;
    if (all[i] === 0 || required[i] === 1 || rootSet.has(pkg.id)) continue;
    const flags: PackageFlags = {};
    if (nonDev[i] === 0) flags.dev = true;
    if (nonOptional[i] === 0) flags.optional = true;
    if (!flags.dev && !flags.optional) flags.devOptional = true;
    pkg.flags = flags;
  }
}

/** How to find where each package's entry starts in its lockfile, kept until asked (locatePackages). */
const pendingLocations = new WeakMap<DependencyGraph, () => void>();

/**
 * Leaves the packages' `location` to be found when a report asks for it (locatePackages):
 * placing every entry is a scan of the whole lockfile text, and only SARIF points at entries.
 */
export function locatePackagesLater(graph: DependencyGraph, locate: () => void): DependencyGraph {
  pendingLocations.set(graph, locate);
  return graph;
}

/** Sets `location` on the packages of a graph whose reader left them to be found on demand; once. */
export function locatePackages(graph: DependencyGraph): void {
  const locate = pendingLocations.get(graph);
  if (locate === undefined) return;
  pendingLocations.delete(graph);
  locate();
}

/**
 * Whether `--omit` leaves the package out: it is reachable only as one of the kinds omitted, or
 * only as dev or optional (npm's devOptional) and both are. One rule for the audit and the
 * partial-inventory check.
 */
export function omittedBy(pkg: Package, omit: readonly EdgeKind[]): boolean {
  const flags = pkg.flags;
  // Most packages of most lockfiles carry no flags, and most audits omit nothing.
  if (flags === undefined || omit.length === 0) return false;
  if (omit.some((kind) => flags[kind as keyof PackageFlags] === true)) return true;
  return flags.devOptional === true && omit.includes('dev') && omit.includes('optional');
}

/**
 * Whether the graph is partial for an audit that omits `omit`: not when what makes it partial is
 * only packages that audit leaves out (a dev dependency bundling what pnpm-lock.yaml does not
 * list, under `--omit dev`), and the lockfile can tell what is dev (scopeUnknown unset).
 */
export function partialUnderOmit(graph: DependencyGraph, omit: readonly EdgeKind[]): boolean {
  if (graph.partial !== true) return false;
  const causes = graph.partialPackages;
  if (causes === undefined || causes.length === 0 || omit.length === 0 || graph.scopeUnknown !== undefined) return true;
  const ids = new Set(causes);
  return graph.packages.some((pkg) => ids.has(pkg.id) && !omittedBy(pkg, omit));
}

