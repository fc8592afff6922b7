import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { compress } from 'zstd-napi';
import type { DependencyGraph, EdgeKind } from '../../src/core/graph.js';
import { GraphPaths, NUMBERED_GRAPH, PACKAGE_ROWS, type IndexedGraph } from '../../src/audit/paths.js';
import { compressBytes, decodeGraphs, decompressBytes, encodeGraphs, withGraphs } from '../../src/fleet/revision.js';
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
    // The binary form is what is stored, not the graphs' JSON.
    assert.equal(decompressBytes(stored).toString('latin1', 0, 4), 'STG3', file);
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

test('GraphPaths searching one package after another finds what a GraphPaths of its own finds for each', async () => {
  const files = [...corpusFiles(CARGO_CORPUS, '.Cargo.lock').slice(0, 4), ...corpusFiles(NPM_CORPUS, '.package-lock.json').slice(0, 4)];
  let searched = 0;
  for (const file of files) {
    const { graphs } = await readApplication([file]);
    for (const graph of [...graphs, ...decodeGraphs(encodeGraphs(graphs), { readOnly: true })]) {
      const shared = new GraphPaths(graph);
      const skip = new Set<EdgeKind>(['dev']);
      // Packages far apart in the graph, each searched with and without dev edges: what one search leaves must not change the next.
      for (const p of graph.packages.filter((_, i) => i % 7 === 0)) {
        for (const kinds of [skip, new Set<EdgeKind>()]) {
          assert.deepStrictEqual(shared.paths(p.id, kinds, 3), new GraphPaths(graph).paths(p.id, kinds, 3), `${file} ${p.id}`);
          searched++;
        }
      }
    }
  }
  assert.ok(searched > 200, `${searched} searches`);
});

test('read only (as sync decodes): the same graphs, and GraphPaths numbers them from the stored indexes with the same paths', async () => {
  const files = [...corpusFiles(CARGO_CORPUS, '.Cargo.lock').slice(0, 8), ...corpusFiles(NPM_CORPUS, '.package-lock.json').slice(0, 8)];
  let indexed = 0;
  for (const file of files) {
    const { graphs } = await readApplication([file]);
    const stored = encodeGraphs(graphs);
    const readOnly = decodeGraphs(stored, { readOnly: true });
    indexed += readOnly.filter((g) => (g as IndexedGraph)[NUMBERED_GRAPH] !== undefined).length;
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
  assert.ok(readOnly !== undefined && (readOnly as IndexedGraph)[NUMBERED_GRAPH] !== undefined);
  assert.deepStrictEqual(everyPath(readOnly), everyPath(graph));
  assert.deepStrictEqual(new GraphPaths(readOnly).paths('c 1.0.0', new Set()), { paths: [['app@1.0.0', 'a@1.0.1', 'c@1.0.0'], ['ws-member', 'b@1.0.0', 'c@1.0.0']], more: 0 });
});

/**
 * Graphs of 1,200 packages built to meet every case of the compact encoding: one source object
 * shared, equal sources of their own, sources with their keys in another order, flags,
 * locations, licences, aliases, other JSON values (an array, a number, a Date, non-ASCII and
 * escaped text), keys left undefined, edges of three kinds, and a graph whose edges have
 * another key.
 */
function craftedGraphs(): DependencyGraph[] {
  const registry = { kind: 'registry', url: 'https://registry.npmjs.org/', isDefaultRegistry: true };
  const packages: Record<string, unknown>[] = [];
  for (let i = 0; i < 1200; i++) {
    const p: Record<string, unknown> = { id: `p${i % 1100}@1.${i}.0`, ecosystem: 'npm', name: `p${i % 1100}`, version: `1.${i}.0` };
    p.source =
      i % 7 === 0
        ? { kind: 'registry', url: 'https://registry.npmjs.org/', isDefaultRegistry: true }
        : i % 11 === 0
          ? { kind: 'git', url: 'https://example.org/x.git', rev: `r${i % 3}`, isDefaultRegistry: false }
          : i % 13 === 0
            ? { url: 'https://registry.npmjs.org/', kind: 'registry', isDefaultRegistry: true }
            : registry;
    p.checksum = i % 5 === 0 ? null : `sha512-${'A'.repeat(i % 9)}${i}==`;
    if (i % 3 === 0) p.flags = { dev: true };
    if (i % 4 === 0) p.flags = { dev: true, optional: true };
    if (i % 6 === 0) p.license = i % 12 === 0 ? 'MIT' : 'Apache-2.0 OR MIT';
    if (i % 17 === 0) p.alias = `a${i}`;
    if (i % 19 === 0) p.location = { line: i, column: 3 };
    if (i % 23 === 0) p.location = { line: 5, column: 3 };
    if (i % 29 === 0) p.extra = [i, 'x', { deep: true }];
    if (i % 31 === 0) p.count = i;
    if (i % 37 === 0) p.when = new Date(Date.UTC(2020, 0, 1 + (i % 5)));
    if (i % 41 === 0) p.unset = undefined;
    if (i % 43 === 0) p.text = 'caf\u00e9 \u2603 "quoted" \\ \n tab\t';
    packages.push(p);
  }
  const id = (i: number): string => (packages[i % packages.length] as { id: string }).id;
  const edges = Array.from({ length: 1500 }, (_, i) => ({ from: id(i >> 2), to: id(i * 7), kind: i % 10 < 7 ? 'normal' : i % 10 < 9 ? 'dev' : 'optional' }));
  return [
    { ecosystem: 'npm', path: 'a/package-lock.json', format: 'package-lock.json v3', packages, edges, roots: [id(0)], warnings: ['a warning'], stale: undefined },
    { ecosystem: 'cargo', path: 'Cargo.lock', format: 'Cargo.lock v4', packages: packages.slice(0, 3), edges: [{ from: id(0), to: id(1), kind: 'peer', extra: 1 }], roots: [], partial: true },
    { ecosystem: 'cargo', path: 'b/Cargo.lock', format: 'Cargo.lock v3', packages: [], edges: [], roots: [] },
  ] as unknown as DependencyGraph[];
}

/** An edge from, to, kind alone (v2 kept such edges as three string indexes). */
function isPlainEdge(edge: object): edge is { from: string; to: string; kind: string } {
  const e = edge as Record<string, unknown>;
  return Object.keys(e).join() === 'from,to,kind' && typeof e.from === 'string' && typeof e.to === 'string' && typeof e.kind === 'string';
}

/**
 * The v2 form (a compact JSON text), as stowage wrote it from REVISION_GRAPHS_VERSION 11 until
 * v3, built plainly: stores hold graphs in it, and they must still decode.
 */
function compactV2(graphs: readonly DependencyGraph[]): string {
  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  const str = (s: string): number => {
    let i = stringIndex.get(s);
    if (i === undefined) stringIndex.set(s, (i = strings.push(s) - 1));
    return i;
  };
  const shapes: string[][] = [];
  const shapeIndex = new Map<string, number>();
  const objects: unknown[] = [];
  const objectIndex = new Map<string, number>();
  const compacted = graphs.map((graph) => {
    const record = graph as unknown as Record<string, unknown>;
    const keys = Object.keys(graph).filter((key) => record[key] !== undefined);
    const fields = Object.fromEntries(keys.filter((key) => key !== 'packages' && key !== 'edges').map((key) => [key, record[key]]));
    const packages = graph.packages.map((p) => {
      const shape: string[] = [];
      const row: unknown[] = [];
      for (const [key, value] of Object.entries(p)) {
        if (value === undefined) continue;
        const keep = (code: string, ...kept: unknown[]): void => {
          shape.push(key, code);
          row.push(...kept);
        };
        if (typeof value === 'string') keep('s', str(value));
        else if (value === null) keep('n');
        else if (typeof value === 'object' && !Array.isArray(value)) {
          const v = value as Record<string, unknown>;
          if (Object.keys(v).join() === 'line,column' && typeof v.line === 'number' && typeof v.column === 'number') keep('l', [v.line, v.column]);
          else {
            const text = JSON.stringify(value);
            let i = objectIndex.get(text);
            if (i === undefined) objectIndex.set(text, (i = objects.push(value) - 1));
            keep('o', i);
          }
        } else keep('j', value);
      }
      let s = shapeIndex.get(shape.join('\0'));
      if (s === undefined) shapeIndex.set(shape.join('\0'), (s = shapes.push(shape) - 1));
      return [s, ...row];
    });
    const edges = graph.edges.every(isPlainEdge) ? graph.edges.flatMap((e) => [str(e.from), str(e.to), str(e.kind)]) : graph.edges;
    return { keys, fields, packages, edges };
  });
  return JSON.stringify({ format: 'stowage-graphs-v2', strings, shapes, objects, graphs: compacted });
}

test('graphs stores kept as v2 (the compact JSON text) still decode, and read only GraphPaths numbers them with the same paths', async () => {
  const text = compactV2(craftedGraphs());
  // The very text stowage stored as v2 (its digest as the v2 writer's test pinned it).
  assert.equal(text.length, 120430);
  assert.equal(createHash('sha256').update(text).digest('hex'), '25aae274cd19a506bee66c20d251d75a84862f3bc3ed33a55b07163d9ea6e3d2');
  const stored = compress(Buffer.from(text, 'utf8'), { compressionLevel: 1 });
  assert.equal(asJson(decodeGraphs(stored)), asJson(craftedGraphs()));
  assert.equal(asJson(decodeGraphs(stored, { readOnly: true })), asJson(craftedGraphs()));
  const files = [...corpusFiles(CARGO_CORPUS, '.Cargo.lock').slice(0, 4), ...corpusFiles(NPM_CORPUS, '.package-lock.json').slice(0, 4)];
  for (const file of files) {
    const { graphs } = await readApplication([file]);
    const v2 = compress(Buffer.from(compactV2(graphs), 'utf8'), { compressionLevel: 1 });
    const readOnly = decodeGraphs(v2, { readOnly: true });
    assert.ok(readOnly.every((g) => (g as IndexedGraph)[NUMBERED_GRAPH] !== undefined), file);
    assert.deepStrictEqual(readOnly.map(everyPath), graphs.map(everyPath), file);
    assert.equal(asJson(readOnly), asJson(graphs), file);
    assert.deepStrictEqual(decodeGraphs(v2), JSON.parse(asJson(graphs)), file);
  }
});

test('v3 keeps every case of the crafted graphs, read in full or read only, and GraphPaths gives the same paths', () => {
  const stored = encodeGraphs(craftedGraphs());
  assert.equal(asJson(decodeGraphs(stored)), asJson(craftedGraphs()));
  assert.deepStrictEqual(decodeGraphs(stored), JSON.parse(asJson(craftedGraphs())));
  const readOnly = decodeGraphs(stored, { readOnly: true });
  // The first graph is numbered; the second's edge has another key (its paths come from its objects).
  assert.deepStrictEqual(readOnly.map((g) => (g as IndexedGraph)[NUMBERED_GRAPH] !== undefined), [true, false, true]);
  assert.deepStrictEqual(readOnly.map(everyPath), craftedGraphs().map(everyPath));
  assert.equal(asJson(readOnly), asJson(craftedGraphs()));
});

test('v3 keeps numbers of every kind, many shapes, non-ASCII and lone surrogates, and empty lists', () => {
  const lines = [1.5, -3, 2 ** 40, Number.NaN, 0, -0, 1e21, 123456789, 2 ** 32 - 1, 2 ** 32];
  const texts = ['plain', 'caf\u00e9', '\u{1F600} emoji', 'lone \ud800 high', 'lone \udc00 low', '', '\u2603\u0000nul', 'tab\t"q"\\'];
  const packages: Record<string, unknown>[] = [];
  for (let i = 0; i < 300; i++) {
    const text = texts[i % texts.length] as string;
    const p: Record<string, unknown> = { id: `${text}${i}@1.0.0`, name: i % 50 === 0 ? i : `${text}${i % 7}` };
    // Fifteen shapes, met out of order.
    p[`k${(i * 7) % 15}`] = i % 2 === 0 ? i : -i / 3;
    if (i % 3 === 0) p.location = { line: lines[i % lines.length], column: i * 1000003 };
    if (i % 5 === 0) p.extra = [i, -0, 0.1, null, 'x', text];
    if (i % 9 === 0) p.flag = i % 2 === 0;
    if (i % 11 === 0) p.nothing = null;
    packages.push(p);
  }
  const id = (i: number): string => (packages[i % 300] as { id: string }).id;
  const edges = Array.from({ length: 900 }, (_, i) => ({ from: id(i >> 1), to: i % 97 === 0 ? `outside ${texts[i % texts.length]}` : id(i * 13), kind: i % 3 === 0 ? 'dev' : 'normal' }));
  const graphs = [
    { ecosystem: 'npm', path: 'p \u00e9', format: 'f', packages, edges, roots: [id(0), 'no package'] },
    { ecosystem: 'npm', path: 'empty', format: 'f', packages: [], edges: [], roots: [] },
    { ecosystem: 'cargo', path: 'ids not text', format: 'f', packages: [{ id: 1, name: 'x' }], edges: [], roots: ['x'] },
  ] as unknown as DependencyGraph[];
  const stored = encodeGraphs(graphs);
  assert.equal(asJson(decodeGraphs(stored)), asJson(graphs));
  assert.deepStrictEqual(decodeGraphs(stored), JSON.parse(asJson(graphs)));
  const readOnly = decodeGraphs(stored, { readOnly: true });
  assert.equal(asJson(readOnly), asJson(graphs));
  assert.deepStrictEqual(readOnly.map((g) => (g as IndexedGraph)[NUMBERED_GRAPH] !== undefined), [true, true, false]);
  assert.deepStrictEqual(everyPath(readOnly[0] as DependencyGraph), everyPath(graphs[0] as DependencyGraph));
  // Names looked up in the rows: a name not kept as a string is asked of its package.
  const rows = (readOnly[0] as IndexedGraph)[PACKAGE_ROWS];
  assert.deepStrictEqual(
    rows?.named({ has: (name) => typeof name !== 'string' || name.startsWith('caf') }).map((p) => p.id),
    packages.filter((p) => typeof p.name !== 'string' || (p.name as string).startsWith('caf')).map((p) => p.id),
  );
  // The same graphs are the same bytes, whatever was written before in the memory the writer keeps.
  encodeGraphs(craftedGraphs());
  assert.deepEqual(encodeGraphs(graphs), stored);
  // No graphs at all.
  assert.deepStrictEqual(decodeGraphs(encodeGraphs([])), []);
  assert.deepStrictEqual(decodeGraphs(encodeGraphs([]), { readOnly: true }), []);
});

test('a graph read only keeps its own bytes: graphs decoded after it do not change it', () => {
  const graphs = craftedGraphs();
  const first = decodeGraphs(encodeGraphs(graphs), { readOnly: true });
  for (let i = 0; i < 50; i++) decodeGraphs(encodeGraphs([{ ...(graphs[0] as DependencyGraph), path: `other ${i}`, packages: (graphs[0] as DependencyGraph).packages.slice(i) }]), { readOnly: true });
  decodeGraphs(encodeGraphs(graphs));
  assert.equal(asJson(first), asJson(graphs));
  assert.deepStrictEqual(first.map(everyPath), graphs.map(everyPath));
});

/** Where a graph's edges are read from (the numbered graph's views of its decompressed bytes). */
function edgeBytes(graph: DependencyGraph): { buffer: ArrayBufferLike; byteOffset: number } {
  const numbered = (graph as IndexedGraph)[NUMBERED_GRAPH]?.();
  assert.ok(numbered !== undefined, 'the graph is read from its stored indexes');
  return { buffer: numbered.from.buffer, byteOffset: numbered.from.byteOffset };
}

test('graphs used through withGraphs (as sync re-matches them) give their bytes back: the next ones are read from the same memory, and read as they were stored', async () => {
  const graphs = craftedGraphs();
  const variant = (i: number): DependencyGraph[] => [{ ...(graphs[0] as DependencyGraph), path: `other ${i}`, packages: (graphs[0] as DependencyGraph).packages.slice(i) }];
  const stored = Array.from({ length: 40 }, (_, i) => encodeGraphs(i % 2 === 0 ? graphs : variant(i)));
  const places: { buffer: ArrayBufferLike; byteOffset: number }[] = [];
  for (const [i, bytes] of stored.entries()) {
    const read = await withGraphs(bytes, async (decoded) => {
      places.push(edgeBytes(decoded[0] as DependencyGraph));
      await new Promise((resolve) => setImmediate(resolve));
      return { json: asJson(decoded), paths: decoded.map(everyPath) };
    });
    const expected = i % 2 === 0 ? graphs : variant(i);
    assert.equal(read.json, asJson(expected), `graphs ${i}`);
    assert.deepStrictEqual(read.paths, expected.map(everyPath), `graphs ${i}`);
  }
  // Each decoded into the place the one before gave back: one piece of memory (fresh bytes each time: 40 places, in 1-2 slabs), the same documents' edges at the same offset.
  assert.ok(places.every((p) => p.buffer === places[0]?.buffer));
  assert.equal(new Set(places.filter((_, i) => i % 2 === 0).map((p) => p.byteOffset)).size, 1);
});

test('withGraphs: graphs in use are never overwritten (nested uses, a use that fails gives its bytes back too)', async () => {
  const graphs = craftedGraphs();
  const other = [{ ...(graphs[0] as DependencyGraph), path: 'other', packages: (graphs[0] as DependencyGraph).packages.slice(7) }];
  const outer = await withGraphs(encodeGraphs(graphs), async (decoded) => {
    const inner = await withGraphs(encodeGraphs(other), async (again) => {
      assert.notDeepStrictEqual(edgeBytes(again[0] as DependencyGraph), edgeBytes(decoded[0] as DependencyGraph));
      return asJson(again);
    });
    // Read after the inner graphs were given back, and others decoded meanwhile by a plain decode.
    decodeGraphs(encodeGraphs(other), { readOnly: true });
    return { inner, json: asJson(decoded), paths: decoded.map(everyPath) };
  });
  assert.equal(outer.inner, asJson(other));
  assert.equal(outer.json, asJson(graphs));
  assert.deepStrictEqual(outer.paths, graphs.map(everyPath));
  let place: { buffer: ArrayBufferLike; byteOffset: number } | null = null;
  await assert.rejects(
    withGraphs(encodeGraphs(graphs), async (decoded) => {
      place = edgeBytes(decoded[0] as DependencyGraph);
      throw new Error('the use failed');
    }),
    /the use failed/,
  );
  const after = await withGraphs(encodeGraphs(graphs), async (decoded) => ({ place: edgeBytes(decoded[0] as DependencyGraph), json: asJson(decoded) }));
  assert.deepStrictEqual(after.place, place);
  assert.equal(after.json, asJson(graphs));
});

test('documents are compressed as zstd level 1 compresses them, whatever their size and order', () => {
  const sizes = [0, 1, 5000, 200 * 1024, 3 * 1024 * 1024, 10, 300 * 1024];
  for (const size of sizes) {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = 97 + ((i * 7919) % 23) + (i % 1000 === 0 ? 1 : 0);
    assert.deepEqual(compressBytes(bytes), compress(bytes, { compressionLevel: 1 }), `${size} bytes`);
    assert.deepEqual(decompressBytes(compressBytes(bytes)), bytes);
  }
});
