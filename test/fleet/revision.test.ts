import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DependencyGraph, EdgeKind } from '../../src/core/graph.js';
import { GraphPaths, INDEXED_EDGES, type IndexedGraph } from '../../src/audit/paths.js';
import { compressBytes, decodeGraphs, decompressBytes, encodeGraphs } from '../../src/fleet/revision.js';
import { readApplication } from '../../src/inputs/application.js';
import { CARGO_CORPUS, corpusFiles, NPM_CORPUS } from '../support/shared.js';

/**
 * A revision's graphs are kept in a compact encoding (sync decodes one per revision it
 * re-matches): what comes back is what was read, key for key and in the same order, so the
 * findings made from a decoded graph serialise exactly as those of a fresh read.
 */

const asJson = (graphs: readonly DependencyGraph[]): string => JSON.stringify(graphs);

test('every corpus lockfile (Cargo and npm) comes back from the store as it was read', async () => {
  const files = [...corpusFiles(CARGO_CORPUS, '.Cargo.lock'), ...corpusFiles(NPM_CORPUS, '.package-lock.json')];
  assert.ok(files.length > 10, 'the shared corpus is there');
  for (const file of files) {
    const { graphs } = await readApplication([file]);
    const stored = encodeGraphs(graphs);
    const decoded = decodeGraphs(stored);
    assert.equal(asJson(decoded), asJson(graphs), file);
    assert.deepStrictEqual(decoded, JSON.parse(asJson(graphs)), file);
    // The compact form is what is stored, not the graphs' JSON.
    assert.ok(!decompressBytes(stored).toString('utf8').startsWith('['), file);
  }
});

test('graphs of unusual shape come back as they were (other edge keys, aliases, flags, nulls, left-out keys)', () => {
  const graphs = [
    {
      ecosystem: 'npm',
      path: 'a/package-lock.json',
      format: 'package-lock.json v3',
      packages: [
        { id: 'node_modules/x', ecosystem: 'npm', name: 'x', version: '1.0.0', source: { kind: 'other', url: 'file:x.tgz', isDefaultRegistry: false }, checksum: null, flags: { dev: true }, alias: 'y' },
        { id: 'node_modules/z', ecosystem: 'npm', name: 'z', version: '2.0.0', source: { kind: 'git', url: 'https://example.org/z.git', rev: 'abc', isDefaultRegistry: false }, checksum: 'sha512-AA==', location: { line: 3, column: 5 }, flags: undefined },
      ],
      edges: [{ from: 'node_modules/x', to: 'node_modules/z', kind: 'peer', extra: 1 }],
      roots: ['node_modules/x'],
      warnings: ['a warning'],
      stale: undefined,
    },
    { ecosystem: 'cargo', path: 'Cargo.lock', format: 'Cargo.lock v4', packages: [], edges: [], roots: [], partial: true, inventory: 'embedded paths' },
  ] as unknown as DependencyGraph[];
  const decoded = decodeGraphs(encodeGraphs(graphs));
  assert.equal(asJson(decoded), asJson(graphs));
  assert.deepStrictEqual(decoded, JSON.parse(asJson(graphs)));
  // Every package has an object of its own, not one shared by all.
  const [first, second] = decodeGraphs(encodeGraphs([{ ...(graphs[0] as DependencyGraph), packages: [graphs[0]?.packages[0], graphs[0]?.packages[0]] } as DependencyGraph]))[0]?.packages ?? [];
  assert.notEqual(first?.source, second?.source);
});

test('graphs a store kept before the compact encoding (a JSON array) still decode', async () => {
  const { graphs } = await readApplication([corpusFiles(CARGO_CORPUS, '.Cargo.lock')[0] as string]);
  assert.equal(asJson(decodeGraphs(compressBytes(Buffer.from(asJson(graphs), 'utf8')))), asJson(graphs));
});

/** Every path and reach GraphPaths gives for every package of `graph`, avoiding no kind and avoiding dev edges. */
function everyPath(graph: DependencyGraph): unknown[] {
  const paths = new GraphPaths(graph);
  const skips = [new Set<EdgeKind>(), new Set<EdgeKind>(['dev'])];
  return graph.packages.flatMap((p) => skips.map((skip) => [p.id, paths.paths(p.id, skip), paths.reaches(p.id, skip), paths.hasEdgeOf('dev')]));
}

test('read only (as sync decodes): the same graphs, and GraphPaths numbers them from the stored indexes with the same paths', async () => {
  const files = [...corpusFiles(CARGO_CORPUS, '.Cargo.lock').slice(0, 8), ...corpusFiles(NPM_CORPUS, '.package-lock.json').slice(0, 8)];
  let indexed = 0;
  for (const file of files) {
    const { graphs } = await readApplication([file]);
    const stored = encodeGraphs(graphs);
    const readOnly = decodeGraphs(stored, { readOnly: true });
    indexed += readOnly.filter((g) => (g as IndexedGraph)[INDEXED_EDGES] !== undefined).length;
    assert.deepStrictEqual(readOnly.map(everyPath), graphs.map(everyPath), file);
    // Its edges are made when read, in their place among the keys.
    assert.equal(asJson(readOnly), asJson(graphs), file);
  }
  assert.ok(indexed > 0, 'the decoded graphs carry their indexes');
});

test('GraphPaths from the stored indexes: a root no package names, an id listed twice, edge kinds in the order met', () => {
  const pkg = (id: string, version: string) => ({ id, ecosystem: 'cargo', name: id.split(' ')[0], version, source: null, checksum: null });
  const graph = {
    ecosystem: 'cargo',
    path: 'Cargo.lock',
    format: 'Cargo.lock v4',
    packages: [pkg('app 1.0.0', '1.0.0'), pkg('a 1.0.0', '1.0.0'), pkg('b 1.0.0', '1.0.0'), pkg('a 1.0.0', '1.0.1'), pkg('c 1.0.0', '1.0.0')],
    edges: [
      { from: 'app 1.0.0', to: 'a 1.0.0', kind: 'dev' },
      { from: 'ws-member', to: 'b 1.0.0', kind: 'normal' },
      { from: 'a 1.0.0', to: 'c 1.0.0', kind: 'normal' },
      { from: 'b 1.0.0', to: 'c 1.0.0', kind: 'build' },
      { from: 'app 1.0.0', to: 'ws-member', kind: 'normal' },
    ],
    roots: ['app 1.0.0', 'ws-member'],
  } as unknown as DependencyGraph;
  const [readOnly] = decodeGraphs(encodeGraphs([graph]), { readOnly: true });
  assert.ok(readOnly !== undefined && (readOnly as IndexedGraph)[INDEXED_EDGES] !== undefined);
  assert.deepStrictEqual(everyPath(readOnly), everyPath(graph));
  assert.deepStrictEqual(new GraphPaths(readOnly).paths('c 1.0.0', new Set()), { paths: [['app@1.0.0', 'a@1.0.1', 'c@1.0.0'], ['ws-member', 'b@1.0.0', 'c@1.0.0']], more: 0 });
});
