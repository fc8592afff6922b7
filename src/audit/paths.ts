import type { DependencyGraph, EdgeKind } from '../core/graph.js';
import type { Package } from '../core/package.js';

export const MAX_PATHS = 5;

/**
 * A graph's edges and package ids as indexes into a table of strings, each string once (a fleet
 * revision's graphs as stored, src/fleet/revision.ts): GraphPaths numbers the nodes from the
 * indexes, without an object per edge nor a lookup of each edge's ids by text.
 */
export interface IndexedEdges {
  strings: readonly string[];
  /** from, to, kind: three indexes per edge, in the graph's edge order. */
  edges: readonly number[];
  /** The index of each package's id, in the graph's package order. */
  packageIds: readonly number[] | Int32Array;
}

/** Where a graph decoded for reading only keeps its IndexedEdges (not enumerable: never serialised). */
export const INDEXED_EDGES: unique symbol = Symbol('stowage.indexedEdges');

/**
 * A graph's packages as decoded rows, each expanded into its object only when read (a fleet
 * revision's graphs decoded for reading only): a re-match restricted to a few names looks at
 * the names alone, and expands the handful of packages they designate and those on their paths.
 */
export interface PackageRows {
  /** How many packages the graph has. */
  readonly count: number;
  /** The package at `i` (in the graph's package order), expanded once. */
  package(i: number): Package;
  /** The packages whose name `wanted` accepts, in the graph's order; each distinct name is asked once. */
  named(wanted: (name: string) => boolean): Package[];
}

/** Where a graph decoded for reading only keeps its PackageRows (not enumerable: never serialised). */
export const PACKAGE_ROWS: unique symbol = Symbol('stowage.packageRows');

export type IndexedGraph = DependencyGraph & { [INDEXED_EDGES]?: IndexedEdges; [PACKAGE_ROWS]?: PackageRows };

/** How many packages the graph has, without expanding packages kept as rows. */
export function packageCount(graph: DependencyGraph): number {
  return (graph as IndexedGraph)[PACKAGE_ROWS]?.count ?? graph.packages.length;
}

/**
 * The graph's packages whose names are `wanted`, in the graph's order: from its rows when it has
 * them (each distinct name asked once, only those packages made objects), else its packages.
 */
export function packagesNamed(graph: DependencyGraph, wanted: (name: string) => boolean): Package[] {
  const rows = (graph as IndexedGraph)[PACKAGE_ROWS];
  return rows !== undefined ? rows.named(wanted) : graph.packages.filter((p) => wanted(p.name));
}

/**
 * A graph's edges as integer arrays, built once per graph that has findings: the dependency paths
 * to each affected package and what the roots reach. Every id the graph names (its packages',
 * its edges' ends, its roots) is a node number; the edges of each node, in and out, are kept in
 * the graph's edge order, so every search visits what a search over the edge list would, in the
 * same order. A fleet sync re-matches thousands of graphs: this is a few arrays per graph
 * instead of maps of strings and an object per edge.
 */
export class GraphPaths {
  private readonly nodes: string[] = [];
  private readonly numbers = new Map<string, number>();
  /** The package of each node (the last of an id listed twice, as a map from id would keep), or undefined. */
  private readonly packages: (Package | undefined)[] = [];
  /** With PackageRows: the row of each node's package instead (expanded when its label is made), or undefined. */
  private readonly packageRows: (number | undefined)[] = [];
  private readonly rows: PackageRows | undefined;
  private readonly labels: (string | undefined)[] = [];
  /** Each edge kind a bit of its own, numbered as met. */
  private readonly kindBits = new Map<string, number>();
  private readonly roots: number[];
  private readonly isRoot: Uint8Array;
  /** Edges into node n: inFrom[inFirst[n] .. inFirst[n + 1]), with their kinds' bits. */
  private readonly inFirst: Int32Array;
  private readonly inFrom: Int32Array;
  private readonly inKind: Int32Array;
  private readonly outFirst: Int32Array;
  private readonly outTo: Int32Array;
  private readonly outKind: Int32Array;

  constructor(graph: DependencyGraph) {
    const indexed = (graph as IndexedGraph)[INDEXED_EDGES];
    let from: Int32Array;
    let to: Int32Array;
    let kind: Int32Array;
    const rows = (graph as IndexedGraph)[PACKAGE_ROWS];
    const byIndex = indexed !== undefined && indexed.packageIds.length === packageCount(graph);
    this.rows = byIndex ? rows : undefined;
    if (byIndex) {
      // Numbered as the ids are met, as below: an index stands for one text, so the numbers are the same.
      const { strings, edges, packageIds } = indexed;
      const nodeOf = new Int32Array(strings.length).fill(-1);
      const bitOf = new Int32Array(strings.length);
      const node = (i: number): number => {
        let n = nodeOf[i] as number;
        if (n === -1) {
          n = this.nodes.length;
          const id = strings[i] as string;
          this.nodes.push(id);
          this.numbers.set(id, n);
          nodeOf[i] = n;
        }
        return n;
      };
      if (rows !== undefined) packageIds.forEach((id, i) => (this.packageRows[node(id)] = i));
      else
        graph.packages.forEach((p, i) => {
          this.packages[node(packageIds[i] as number)] = p;
        });
      const count = edges.length / 3;
      from = new Int32Array(count);
      to = new Int32Array(count);
      kind = new Int32Array(count);
      for (let e = 0, i = 0; e < count; e++, i += 3) {
        from[e] = node(edges[i] as number);
        to[e] = node(edges[i + 1] as number);
        const k = edges[i + 2] as number;
        let bit = bitOf[k] as number;
        if (bit === 0) {
          const text = strings[k] as string;
          bit = this.kindBits.get(text) ?? 0;
          if (bit === 0) this.kindBits.set(text, (bit = 1 << this.kindBits.size));
          bitOf[k] = bit;
        }
        kind[e] = bit;
      }
    } else {
      for (const p of graph.packages) this.packages[this.node(p.id)] = p;
      const edges = graph.edges;
      from = new Int32Array(edges.length);
      to = new Int32Array(edges.length);
      kind = new Int32Array(edges.length);
      // Edges mostly come grouped by where they leave from: that node is looked up once per group.
      let lastFrom: string | null = null;
      let lastFromNode = -1;
      for (let e = 0; e < edges.length; e++) {
        const edge = edges[e] as (typeof edges)[number];
        if (edge.from !== lastFrom) {
          lastFrom = edge.from;
          lastFromNode = this.node(edge.from);
        }
        from[e] = lastFromNode;
        to[e] = this.node(edge.to);
        let bit = this.kindBits.get(edge.kind);
        if (bit === undefined) this.kindBits.set(edge.kind, (bit = 1 << this.kindBits.size));
        kind[e] = bit;
      }
    }
    this.roots = graph.roots.map((id) => this.node(id));
    const n = this.nodes.length;
    this.isRoot = new Uint8Array(n);
    for (const r of this.roots) this.isRoot[r] = 1;
    [this.inFirst, this.inFrom, this.inKind] = adjacency(n, to, from, kind);
    [this.outFirst, this.outTo, this.outKind] = adjacency(n, from, to, kind);
  }

  private node(id: string): number {
    let n = this.numbers.get(id);
    if (n === undefined) {
      n = this.nodes.length;
      this.nodes.push(id);
      this.numbers.set(id, n);
    }
    return n;
  }

  private mask(kinds: ReadonlySet<EdgeKind>): number {
    let mask = 0;
    for (const kind of kinds) mask |= this.kindBits.get(kind) ?? 0;
    return mask;
  }

  /** Whether the graph has an edge of this kind. */
  hasEdgeOf(kind: EdgeKind): boolean {
    return this.kindBits.has(kind);
  }

  private label(n: number): string {
    let label = this.labels[n];
    if (label === undefined) {
      const row = this.rows === undefined ? undefined : this.packageRows[n];
      const p = row === undefined ? this.packages[n] : this.rows?.package(row);
      // A root whose version nothing recorded (an SBOM's application without one) is its name alone, not `rg@`.
      label = p ? (p.version === '' ? p.name : `${p.name}@${p.version}`) : (this.nodes[n] as string);
      this.labels[n] = label;
    }
    return label;
  }

  /**
   * Paths from the roots to `target`, one per direct dependency that leads to it, each the
   * shortest through that dependency: the list a user reads to decide which direct dependency
   * to move. Shortest first, then by name; at most `limit`, with the count of the rest.
   */
  paths(target: string, skipKinds: ReadonlySet<EdgeKind>, limit = MAX_PATHS): { paths: string[][]; more: number } {
    // A package several advisories affect is searched for once (each finding gets its own lists).
    const key = `${limit}\0${this.mask(skipKinds)}\0${target}`;
    let found = this.found.get(key);
    if (found === undefined) this.found.set(key, (found = this.search(target, skipKinds, limit)));
    return { paths: found.paths.map((p) => [...p]), more: found.more };
  }

  private readonly found = new Map<string, { paths: string[][]; more: number }>();

  private search(target: string, skipKinds: ReadonlySet<EdgeKind>, limit: number): { paths: string[][]; more: number } {
    const t = this.numbers.get(target);
    if (t === undefined) return { paths: [], more: 0 };
    const skip = this.mask(skipKinds);
    // Breadth-first search backwards from the target: next hop towards it, for every node that reaches it.
    const NOT_REACHING = -2;
    const next = new Int32Array(this.nodes.length).fill(NOT_REACHING);
    next[t] = -1;
    const queue = [t];
    for (let q = 0; q < queue.length; q++) {
      const node = queue[q] as number;
      for (let e = this.inFirst[node] as number, end = this.inFirst[node + 1] as number; e < end; e++) {
        const from = this.inFrom[e] as number;
        if (((this.inKind[e] as number) & skip) !== 0 || next[from] !== NOT_REACHING) continue;
        next[from] = node;
        queue.push(from);
      }
    }
    const walk = (start: number): string[] => {
      const path: string[] = [];
      for (let at = start; at >= 0; at = next[at] as number) path.push(this.label(at));
      return path;
    };
    const found: string[][] = [];
    const seen = new Set<number>();
    // A path through another root repeats that root's own paths: a workspace member's dependency
    // on a sibling is not a dependency the user can move.
    for (const root of this.roots) {
      if (root === t) {
        found.push([this.label(root)]);
        continue;
      }
      for (let e = this.outFirst[root] as number, end = this.outFirst[root + 1] as number; e < end; e++) {
        const to = this.outTo[e] as number;
        if (((this.outKind[e] as number) & skip) !== 0 || next[to] === NOT_REACHING || (this.isRoot[to] === 1 && to !== t)) continue;
        const key = root * this.nodes.length + to;
        if (seen.has(key)) continue;
        seen.add(key);
        found.push([this.label(root), ...walk(to)]);
      }
    }
    const keys = new Map(found.map((p) => [p, p.join(' ')]));
    found.sort((a, b) => a.length - b.length || compareText(keys.get(a) as string, keys.get(b) as string));
    return { paths: found.slice(0, limit), more: Math.max(0, found.length - limit) };
  }

  /** Whether the roots reach `id` (roots included) without crossing an edge of `skipKinds`; the search is made once per set of kinds. */
  reaches(id: string, skipKinds: ReadonlySet<EdgeKind>): boolean {
    const n = this.numbers.get(id);
    return n !== undefined && this.reached(skipKinds)[n] === 1;
  }

  private readonly reachedAvoiding = new Map<ReadonlySet<EdgeKind>, Uint8Array>();

  private reached(skipKinds: ReadonlySet<EdgeKind>): Uint8Array {
    let seen = this.reachedAvoiding.get(skipKinds);
    if (seen !== undefined) return seen;
    const skip = this.mask(skipKinds);
    seen = new Uint8Array(this.nodes.length);
    const stack: number[] = [];
    for (const r of this.roots) {
      if (seen[r] === 1) continue;
      seen[r] = 1;
      stack.push(r);
    }
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      for (let e = this.outFirst[node] as number, end = this.outFirst[node + 1] as number; e < end; e++) {
        const to = this.outTo[e] as number;
        if (((this.outKind[e] as number) & skip) !== 0 || seen[to] === 1) continue;
        seen[to] = 1;
        stack.push(to);
      }
    }
    this.reachedAvoiding.set(skipKinds, seen);
    return seen;
  }
}

/** Edges grouped by `key` (counting sort, so each group keeps the edges' order): first index per node, the other ends, the kinds. */
function adjacency(n: number, key: Int32Array, other: Int32Array, kind: Int32Array): [Int32Array, Int32Array, Int32Array] {
  const first = new Int32Array(n + 1);
  for (let e = 0; e < key.length; e++) {
    const k = (key[e] as number) + 1;
    first[k] = (first[k] as number) + 1;
  }
  for (let i = 0; i < n; i++) first[i + 1] = (first[i + 1] as number) + (first[i] as number);
  const fill = first.slice(0, n);
  const ends = new Int32Array(key.length);
  const kinds = new Int32Array(key.length);
  for (let e = 0; e < key.length; e++) {
    const k = key[e] as number;
    const at = fill[k] as number;
    fill[k] = at + 1;
    ends[at] = other[e] as number;
    kinds[at] = kind[e] as number;
  }
  return [first, ends, kinds];
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
