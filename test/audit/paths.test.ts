import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DependencyGraph, Edge, EdgeKind } from '../../src/core/graph.js';
import { GraphPaths } from '../../src/audit/paths.js';
import { decodeGraphs, encodeGraphs } from '../../src/fleet/revision.js';
import { readApplication } from '../../src/inputs/application.js';
import { CARGO_CORPUS, corpusFiles, NPM_CORPUS } from '../support/shared.js';

/**
 * GraphPaths walks only the paths that can be listed (those no longer than the limit-th
 * shortest): the lists and counts must be those of every path found, walked, sorted (shortest
 * first, then by text) and cut at the limit, as the report promises.
 */

/** Every path from a root through each of its direct dependencies to `target`, the shortest through each, as the README describes them. */
function everyPathSorted(graph: DependencyGraph, incoming: ReadonlyMap<string, Edge[]>, target: string, skip: ReadonlySet<EdgeKind>): string[][] {
  const roots = new Set(graph.roots);
  const label = new Map(graph.packages.map((p) => [p.id, p.version === '' ? p.name : `${p.name}@${p.version}`]));
  const name = (id: string): string => label.get(id) ?? id;
  // Breadth-first backwards from the target, edges in their order, never on through a root.
  const next = new Map<string, string | null>([[target, null]]);
  const queue = [target];
  for (let q = 0; q < queue.length; q++) {
    const node = queue[q] as string;
    if (roots.has(node) && node !== target) continue;
    for (const edge of incoming.get(node) ?? []) {
      if (skip.has(edge.kind) || next.has(edge.from)) continue;
      next.set(edge.from, node);
      queue.push(edge.from);
    }
  }
  if (!next.has(target) || !graph.packages.some((p) => p.id === target)) return [];
  const found: string[][] = [];
  const seen = new Set<string>();
  for (const root of graph.roots) {
    if (root === target) {
      found.push([name(root)]);
      continue;
    }
    for (const edge of graph.edges) {
      if (edge.from !== root || skip.has(edge.kind) || !next.has(edge.to) || (roots.has(edge.to) && edge.to !== target)) continue;
      if (seen.has(`${root}\0${edge.to}`)) continue;
      seen.add(`${root}\0${edge.to}`);
      const path = [name(root)];
      for (let at: string | null | undefined = edge.to; typeof at === 'string'; at = next.get(at)) path.push(name(at));
      found.push(path);
    }
  }
  return found.sort((a, b) => a.length - b.length || (a.join(' ') < b.join(' ') ? -1 : a.join(' ') > b.join(' ') ? 1 : 0));
}

test('the paths listed are the first `limit` of every path sorted, the rest counted, in graphs read and as a fleet sync decodes them', async () => {
  const files = [...corpusFiles(CARGO_CORPUS, '.Cargo.lock').slice(0, 2), ...corpusFiles(NPM_CORPUS, '.package-lock.json').slice(0, 2)];
  let cut = 0;
  for (const file of files) {
    const { graphs } = await readApplication([file]);
    const decoded = decodeGraphs(encodeGraphs(graphs), { readOnly: true });
    for (const [g, graph] of graphs.entries()) {
      const searched = new GraphPaths(graph);
      const searchedReadOnly = new GraphPaths(decoded[g] as DependencyGraph);
      const incoming = new Map<string, Edge[]>();
      for (const edge of graph.edges) incoming.set(edge.to, [...(incoming.get(edge.to) ?? []), edge]);
      // Every fifth package (a few hundred searches per graph), with and without dev edges, at limits cutting ties.
      for (const p of graph.packages.filter((_, i) => i % 5 === 0)) {
        for (const skip of [new Set<EdgeKind>(), new Set<EdgeKind>(['dev'])]) {
          const all = everyPathSorted(graph, incoming, p.id, skip);
          for (const limit of [1, 2, 5]) {
            const expected = { paths: all.slice(0, limit), more: Math.max(0, all.length - limit) };
            if (expected.more > 0) cut++;
            assert.deepStrictEqual(searched.paths(p.id, skip, limit), expected, `${file} ${p.id} limit ${limit}`);
            assert.deepStrictEqual(searchedReadOnly.paths(p.id, skip, limit), expected, `${file} ${p.id} limit ${limit}, read only`);
          }
        }
      }
    }
  }
  // The corpus has packages many direct dependencies lead to: the cut is exercised.
  assert.ok(cut > 100, `${cut} searches with paths left out`);
});
