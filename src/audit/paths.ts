import { reachableFrom, type EdgeKind, type GraphIndex } from '../core/graph.js';

export const MAX_PATHS = 5;

function label(index: GraphIndex, id: string): string {
  const p = index.byId.get(id);
  // A root whose version nothing recorded (an SBOM's application without one) is its name alone, not `rg@`.
  return p ? (p.version === '' ? p.name : `${p.name}@${p.version}`) : id;
}

/**
 * Paths from the roots to `target`, one per direct dependency that leads to it, each the
 * shortest through that dependency: the list a user reads to decide which direct dependency
 * to move. Shortest first, then by name; at most `limit`, with the count of the rest.
 */
export function dependencyPaths(
  index: GraphIndex,
  incoming: Map<string, { from: string; kind: EdgeKind }[]>,
  target: string,
  skipKinds: ReadonlySet<EdgeKind>,
  limit = MAX_PATHS,
): { paths: string[][]; more: number } {
  // Breadth-first search backwards from the target: next hop towards it, for every node that reaches it.
  const next = new Map<string, string | null>([[target, null]]);
  let frontier = [target];
  while (frontier.length > 0) {
    const following: string[] = [];
    for (const node of frontier) {
      for (const edge of incoming.get(node) ?? []) {
        if (skipKinds.has(edge.kind) || next.has(edge.from)) continue;
        next.set(edge.from, node);
        following.push(edge.from);
      }
    }
    frontier = following;
  }
  const walk = (start: string): string[] => {
    const path: string[] = [];
    for (let at: string | null | undefined = start; at != null; at = next.get(at)) path.push(label(index, at));
    return path;
  };
  const found: string[][] = [];
  const seen = new Set<string>();
  // A path through another root repeats that root's own paths: a workspace member's dependency
  // on a sibling is not a dependency the user can move.
  const roots = new Set(index.graph.roots);
  for (const root of index.graph.roots) {
    if (root === target) {
      found.push([label(index, root)]);
      continue;
    }
    for (const edge of index.outgoing.get(root) ?? []) {
      if (skipKinds.has(edge.kind) || !next.has(edge.to) || (roots.has(edge.to) && edge.to !== target)) continue;
      const key = `${root}\0${edge.to}`;
      if (seen.has(key)) continue;
      seen.add(key);
      found.push([label(index, root), ...walk(edge.to)]);
    }
  }
  const keys = new Map(found.map((p) => [p, p.join(' ')]));
  found.sort((a, b) => a.length - b.length || compareText(keys.get(a) as string, keys.get(b) as string));
  return { paths: found.slice(0, limit), more: Math.max(0, found.length - limit) };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Incoming edges by target id, built once per graph. */
export function incomingEdges(index: GraphIndex): Map<string, { from: string; kind: EdgeKind }[]> {
  const incoming = new Map<string, { from: string; kind: EdgeKind }[]>();
  for (const edge of index.graph.edges) {
    let list = incoming.get(edge.to);
    if (!list) incoming.set(edge.to, (list = []));
    list.push({ from: edge.from, kind: edge.kind });
  }
  return incoming;
}

/** Ids reachable from the roots without crossing an edge of `skipKinds`. */
export function reachable(index: GraphIndex, skipKinds: ReadonlySet<EdgeKind>): Set<string> {
  return reachableFrom(index.outgoing, index.graph.roots, skipKinds);
}
