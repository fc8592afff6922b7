import type { DependencyGraph, EdgeKind } from '../core/graph.js';
import type { Package } from '../core/package.js';
import { compareText } from '../core/compare-text.js';

export const MAX_PATHS = 5;

/**
 * A graph's nodes already numbered (a fleet revision's graphs as stored, src/fleet/revision.ts):
 * every id the graph names (its packages', its edges' ends, its roots) a number from 0 to
 * `count`, the edges as arrays of those numbers. GraphPaths takes them as they are, without an
 * object per edge nor a lookup of each id by its text.
 */
export interface NumberedGraph {
  /** How many nodes. */
  readonly count: number;
  /** The node of each package, in the graph's package order. */
  readonly packageNodes: ArrayLike<number>;
  /** Each edge's ends, in the graph's edge order. */
  readonly from: Int32Array | Uint32Array | Uint16Array;
  readonly to: Int32Array | Uint32Array | Uint16Array;
  /** Each edge's kind: its place in `kindTexts`, the kinds in the order the edges first meet them. */
  readonly kinds: ArrayLike<number>;
  readonly kindTexts: readonly string[];
  /** The nodes of the graph's roots, in their order. */
  readonly roots: ArrayLike<number>;
  /** The id of node `n`. */
  id(n: number): string;
  /** The node of an id, or undefined when the graph names no such id. */
  node(id: string): number | undefined;
}

/** Ids numbered as they are met, each once: 0, 1, ... */
export class NodeIds {
  private readonly ids: string[] = [];
  private readonly numbers = new Map<string, number>();

  get count(): number {
    return this.ids.length;
  }

  /** The node of `id`, numbered next when met for the first time. */
  node(id: string): number {
    let n = this.numbers.get(id);
    if (n === undefined) {
      n = this.ids.length;
      this.ids.push(id);
      this.numbers.set(id, n);
    }
    return n;
  }

  /** The node of `id` if it was met. */
  known(id: string): number | undefined {
    return this.numbers.get(id);
  }

  id(n: number): string {
    return this.ids[n] as string;
  }
}

/** Where a graph decoded for reading only keeps how to number it (not enumerable: never serialised); numbered when first asked. */
export const NUMBERED_GRAPH: unique symbol = Symbol('stowage.numberedGraph');

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
  /** The name and version of the package at `i`, as package(i) has them, without expanding it when the rows keep them as strings. */
  nameAndVersion(i: number): { name: string; version: string };
  /** The packages whose name `wanted` has, in the graph's order; each distinct name is asked once. */
  named(wanted: NameFilter): Package[];
}

/** The package names an audit restricted to some names looks at (package-names.ts: LockfileNameKeys). */
export interface NameFilter {
  /** Whether packages of this name are wanted. */
  has(name: string): boolean;
  /**
   * Whether the name whose bytes (ASCII) are `bytes[start, end)` may be wanted: false only where
   * `has` would say false. Graphs kept as bytes ask it first, and make strings of the few names
   * it lets through.
   */
  mayHaveAscii?(bytes: Uint8Array, start: number, end: number): boolean;
}

/** Where a graph decoded for reading only keeps its PackageRows (not enumerable: never serialised). */
export const PACKAGE_ROWS: unique symbol = Symbol('stowage.packageRows');

export type IndexedGraph = DependencyGraph & { [NUMBERED_GRAPH]?: () => NumberedGraph; [PACKAGE_ROWS]?: PackageRows };

/** How many packages the graph has, without expanding packages kept as rows. */
export function packageCount(graph: DependencyGraph): number {
  return (graph as IndexedGraph)[PACKAGE_ROWS]?.count ?? graph.packages.length;
}

/**
 * The graph's packages whose names are `wanted`, in the graph's order: from its rows when it has
 * them (each distinct name asked once, only those packages made objects), else its packages.
 */
export function packagesNamed(graph: DependencyGraph, wanted: NameFilter): Package[] {
  const rows = (graph as IndexedGraph)[PACKAGE_ROWS];
  return rows !== undefined ? rows.named(wanted) : graph.packages.filter((p) => wanted.has(p.name));
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
  /** How many nodes. */
  private readonly count: number;
  /** The id of a node, and the node of an id. */
  private readonly idOf: (n: number) => string;
  private readonly nodeOf: (id: string) => number | undefined;
  /** The package of each node (the last of an id listed twice, as a map from id would keep), or undefined. */
  private readonly packages: (Package | undefined)[] = [];
  /** With PackageRows: the row of each node's package instead (expanded when its label is made), or -1. */
  private readonly packageRows: Int32Array | undefined;
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
    const rows = (graph as IndexedGraph)[PACKAGE_ROWS];
    const numbered = rows === undefined ? undefined : (graph as IndexedGraph)[NUMBERED_GRAPH]?.();
    let from: Int32Array | Uint32Array | Uint16Array;
    let to: Int32Array | Uint32Array | Uint16Array;
    let kind: Int32Array;
    if (numbered !== undefined && rows !== undefined && numbered.packageNodes.length === rows.count) {
      // The nodes as numbered where the graph was stored: a search visits them in the edges' order whatever their numbers.
      this.rows = rows;
      this.count = numbered.count;
      this.idOf = (n) => numbered.id(n);
      this.nodeOf = (id) => numbered.node(id);
      const packageRows = (this.packageRows = new Int32Array(this.count).fill(-1));
      const { packageNodes, kinds, kindTexts } = numbered;
      for (let i = 0; i < packageNodes.length; i++) packageRows[packageNodes[i] as number] = i;
      kindTexts.forEach((text, k) => this.kindBits.set(text, 1 << k));
      ({ from, to } = numbered);
      kind = new Int32Array(kinds.length);
      for (let e = 0; e < kinds.length; e++) kind[e] = 1 << (kinds[e] as number);
      this.roots = Array.from(numbered.roots);
    } else {
      this.rows = undefined;
      this.packageRows = undefined;
      const ids = new NodeIds();
      const node = (id: string): number => ids.node(id);
      for (const p of graph.packages) this.packages[node(p.id)] = p;
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
          lastFromNode = node(edge.from);
        }
        from[e] = lastFromNode;
        to[e] = node(edge.to);
        let bit = this.kindBits.get(edge.kind);
        if (bit === undefined) this.kindBits.set(edge.kind, (bit = 1 << this.kindBits.size));
        kind[e] = bit;
      }
      this.roots = graph.roots.map(node);
      this.count = ids.count;
      this.idOf = (n) => ids.id(n);
      this.nodeOf = (id) => ids.known(id);
    }
    const n = this.count;
    this.isRoot = new Uint8Array(n);
    for (const r of this.roots) this.isRoot[r] = 1;
    [this.inFirst, this.inFrom, this.inKind] = adjacency(n, to, from, kind);
    [this.outFirst, this.outTo, this.outKind] = adjacency(n, from, to, kind);
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
      const row = this.packageRows === undefined ? -1 : (this.packageRows[n] as number);
      const p = row === -1 ? this.packages[n] : this.rows?.nameAndVersion(row);
      // A root whose version nothing recorded (an SBOM's application without one) is its name alone, not `rg@`.
      label = p ? (p.version === '' ? p.name : `${p.name}@${p.version}`) : this.idOf(n);
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
  /** search's next hops (NOT_REACHING between searches), hops to the target and queue, made at the first search. */
  private next: Int32Array | undefined;
  private hops: Int32Array | undefined;
  private queue: Int32Array | undefined;

  private search(target: string, skipKinds: ReadonlySet<EdgeKind>, limit: number): { paths: string[][]; more: number } {
    const t = this.nodeOf(target);
    if (t === undefined) return { paths: [], more: 0 };
    const skip = this.mask(skipKinds);
    // Breadth-first search backwards from the target: next hop towards it, and how many hops, for
    // every node that reaches it. The arrays are the graph's, for every search: `next` is all
    // NOT_REACHING again once the search is done (each node queued is reset), and a node is queued once.
    const next = (this.next ??= new Int32Array(this.count).fill(NOT_REACHING));
    const hops = (this.hops ??= new Int32Array(this.count));
    const queue = (this.queue ??= new Int32Array(this.count));
    next[t] = -1;
    hops[t] = 0;
    queue[0] = t;
    let queued = 1;
    for (let q = 0; q < queued; q++) {
      const node = queue[q] as number;
      // No path goes on through a root: a package that depends back on the application (a
      // plugin's peer dependency on it) does not bring in what the application itself does.
      if (this.isRoot[node] === 1 && node !== t) continue;
      for (let e = this.inFirst[node] as number, end = this.inFirst[node + 1] as number; e < end; e++) {
        const from = this.inFrom[e] as number;
        if (((this.inKind[e] as number) & skip) !== 0 || next[from] !== NOT_REACHING) continue;
        next[from] = node;
        hops[from] = (hops[node] as number) + 1;
        queue[queued++] = from;
      }
    }
    // Each path found as its root and first step (-1: the root is the target), and its length:
    // only those that can be among the first `limit` are walked and labelled.
    const starts: { root: number; to: number; length: number }[] = [];
    try {
      const seen = new Set<number>();
      // A path through another root repeats that root's own paths: a workspace member's dependency
      // on a sibling is not a dependency the user can move.
      for (const root of this.roots) {
        if (root === t) {
          starts.push({ root, to: -1, length: 1 });
          continue;
        }
        for (let e = this.outFirst[root] as number, end = this.outFirst[root + 1] as number; e < end; e++) {
          const to = this.outTo[e] as number;
          if (((this.outKind[e] as number) & skip) !== 0 || next[to] === NOT_REACHING || (this.isRoot[to] === 1 && to !== t)) continue;
          const key = root * this.count + to;
          if (seen.has(key)) continue;
          seen.add(key);
          starts.push({ root, to, length: (hops[to] as number) + 2 });
        }
      }
      // Shortest first, then by text: a path longer than the limit-th shortest cannot be listed, nor change the order of those that are.
      let wanted = starts;
      if (starts.length > limit) {
        const longest = limit > 0 ? (starts.map((s) => s.length).sort((a, b) => a - b)[limit - 1] as number) : 0;
        wanted = starts.filter((s) => s.length <= longest);
      }
      const found = wanted.map(({ root, to }) => {
        const path = [this.label(root)];
        for (let at = to; at >= 0; at = next[at] as number) path.push(this.label(at));
        return path;
      });
      const keys = new Map(found.map((p) => [p, p.join(' ')]));
      found.sort((a, b) => a.length - b.length || compareText(keys.get(a) as string, keys.get(b) as string));
      return { paths: found.slice(0, limit), more: Math.max(0, starts.length - limit) };
    } finally {
      for (let q = 0; q < queued; q++) next[queue[q] as number] = NOT_REACHING;
    }
  }

  /** Whether the roots reach `id` (roots included) without crossing an edge of `skipKinds`; the search is made once per set of kinds. */
  reaches(id: string, skipKinds: ReadonlySet<EdgeKind>): boolean {
    const n = this.nodeOf(id);
    return n !== undefined && this.reached(skipKinds)[n] === 1;
  }

  private readonly reachedAvoiding = new Map<ReadonlySet<EdgeKind>, Uint8Array>();

  private reached(skipKinds: ReadonlySet<EdgeKind>): Uint8Array {
    let seen = this.reachedAvoiding.get(skipKinds);
    if (seen !== undefined) return seen;
    const skip = this.mask(skipKinds);
    seen = new Uint8Array(this.count);
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

/** A node's next hop in GraphPaths' search when it does not reach the target (-1: it is the target). */
const NOT_REACHING = -2;

/** Edges grouped by `key` (counting sort, so each group keeps the edges' order): first index per node, the other ends, the kinds. */
function adjacency(n: number, key: Int32Array | Uint32Array | Uint16Array, other: Int32Array | Uint32Array | Uint16Array, kind: Int32Array): [Int32Array, Int32Array, Int32Array] {
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
