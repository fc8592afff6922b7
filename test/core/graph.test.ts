import { test } from 'node:test';
import assert from 'node:assert/strict';
import { edgeKindBit, reachableAvoiding, reachableAvoidingIndexes, type Edge, type EdgeKind } from '../../src/core/graph.js';
import type { Package } from '../../src/core/package.js';

function pkg(id: string): Package {
  return { id, ecosystem: 'npm', name: id, version: '1.0.0', source: { kind: 'registry', url: null, isDefaultRegistry: true }, checksum: null };
}

// root -> a (normal) -> b (dev) -> c (optional); root -> d (peer); e unreachable; an edge to a
// package the graph does not hold leads nowhere.
const packages = ['root', 'a', 'b', 'c', 'd', 'e'].map(pkg);
const edges: Edge[] = [
  { from: 'root', to: 'a', kind: 'normal' },
  { from: 'a', to: 'b', kind: 'dev' },
  { from: 'b', to: 'c', kind: 'optional' },
  { from: 'root', to: 'd', kind: 'peer' },
  { from: 'a', to: 'missing', kind: 'normal' },
  { from: 'e', to: 'a', kind: 'normal' },
];
const avoiding: EdgeKind[][] = [[], ['dev'], ['optional'], ['peer'], ['dev', 'optional'], ['build']];

test('reachableAvoiding: what the roots reach without crossing the kinds listed', () => {
  const got = reachableAvoiding(packages, edges, ['root'], avoiding).map((seen) => [...seen]);
  assert.deepEqual(got, [
    [1, 1, 1, 1, 1, 0],
    [1, 1, 0, 0, 1, 0],
    [1, 1, 1, 0, 1, 0],
    [1, 1, 1, 1, 0, 0],
    [1, 1, 0, 0, 1, 0],
    [1, 1, 1, 1, 1, 0],
  ]);
});

test('reachableAvoidingIndexes answers as reachableAvoiding does, from package indexes', () => {
  const index = new Map(packages.map((p, i) => [p.id, i]));
  const held = edges.filter((e) => index.has(e.from) && index.has(e.to));
  const byIndex = {
    // A negative `from` is no edge: left in to show it is skipped.
    from: [...held.map((e) => index.get(e.from) as number), -1],
    to: [...held.map((e) => index.get(e.to) as number), 0],
    kinds: [...held.map((e) => edgeKindBit(e.kind)), edgeKindBit('normal')],
    length: held.length + 1,
  };
  const expected = reachableAvoiding(packages, edges, ['root'], avoiding).map((seen) => [...seen]);
  assert.deepEqual(
    reachableAvoidingIndexes(packages.length, byIndex, [0], avoiding).map((seen) => [...seen]),
    expected,
  );
});
