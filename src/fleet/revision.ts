import { createHash } from 'node:crypto';
import { compress, decompress } from 'zstd-napi';
import { StowageError } from '../core/errors.js';
import type { DependencyGraph, Edge, EdgeKind } from '../core/graph.js';
import type { Package } from '../core/package.js';
import { INDEXED_EDGES, type IndexedEdges } from '../audit/paths.js';
import type { RevisionDocument } from './store/store.js';

/**
 * A revision is what an application was read from: its documents (lockfiles, manifests, the
 * SBOM or archive, the policy file), named as stored. Its identity is a digest of those
 * documents, so the same content is the same revision whatever path it was added from.
 */

/** A document as read, before it is stored. */
export interface DocumentContent {
  name: string;
  bytes: Buffer;
}

/** Framing tag of the revision digest: a change of framing must never collide with this one. */
const REVISION_FRAMING = 'stowage-revision-v1\0';

export const REVISION_PREFIX = 'sha256:';

/** `sha256:` + hex of the bytes. */
export function documentDigest(bytes: Uint8Array): string {
  return REVISION_PREFIX + createHash('sha256').update(bytes).digest('hex');
}

function compareNames(a: DocumentContent, b: DocumentContent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * sha256 over the documents sorted by name, each as its name's length (4 bytes), its name
 * (UTF-8), its length (8 bytes) and its bytes: no two sets of documents frame alike.
 */
export function revisionDigest(documents: readonly DocumentContent[]): string {
  const hash = createHash('sha256').update(REVISION_FRAMING);
  for (const doc of [...documents].sort(compareNames)) {
    const name = Buffer.from(doc.name, 'utf8');
    const head = Buffer.alloc(12);
    head.writeUInt32BE(name.length, 0);
    head.writeBigUInt64BE(BigInt(doc.bytes.length), 4);
    hash.update(head.subarray(0, 4)).update(name).update(head.subarray(4)).update(doc.bytes);
  }
  return REVISION_PREFIX + hash.digest('hex');
}

/** zstd level 1: the fastest of its levels (a bulk add compresses every lockfile), a lockfile still to about a tenth. */
const ZSTD_LEVEL = 1;

export function compressBytes(bytes: Uint8Array): Buffer {
  return compress(bytes, { compressionLevel: ZSTD_LEVEL });
}

export function decompressBytes(bytes: Uint8Array): Buffer {
  return decompress(bytes);
}

/** The documents as the store keeps them: listed (name, digest, size) and compressed once per digest. */
export function storedDocuments(documents: readonly DocumentContent[]): { listed: RevisionDocument[]; contents: { digest: string; size: number; content: Buffer }[] } {
  const listed: RevisionDocument[] = [];
  const contents = new Map<string, { digest: string; size: number; content: Buffer }>();
  for (const doc of [...documents].sort(compareNames)) {
    const digest = documentDigest(doc.bytes);
    listed.push({ name: doc.name, digest, size: doc.bytes.length });
    if (!contents.has(digest)) contents.set(digest, { digest, size: doc.bytes.length, content: compressBytes(doc.bytes) });
  }
  return { listed, contents: [...contents.values()] };
}

/**
 * The graphs as one compressed document (sync, promote and export read them without the
 * lockfiles). Compact: every string once in a table, each package an array of indexes after
 * the shape (keys and how each value is kept) it has, each edge three indexes. A graph of 800
 * packages is a third of its JSON, and parsed that much faster by sync, which decodes one per
 * revision it re-matches. Decoding gives back the same objects, keys in the same order, so
 * findings made from them serialise alike. Stores written before (a JSON array) still decode.
 */
export function encodeGraphs(graphs: readonly DependencyGraph[]): Buffer {
  return compressBytes(Buffer.from(JSON.stringify(compactGraphs(graphs)), 'utf8'));
}

export function decodeGraphs(stored: Uint8Array, options: DecodeOptions = {}): DependencyGraph[] {
  const text = decompressBytes(stored).toString('utf8');
  // A JSON array: the graphs as written before the compact form.
  if (text.startsWith('[')) return JSON.parse(text) as DependencyGraph[];
  return expandGraphs(JSON.parse(text) as CompactGraphs, options.readOnly === true);
}

export interface DecodeOptions {
  /**
   * The graphs are only read (sync re-matches them): the packages of a graph share the values
   * kept once (their source) instead of each getting a copy of its own, a third of decoding.
   */
  readOnly?: boolean;
}

const COMPACT_FORMAT = 'stowage-graphs-v2';

/**
 * How a value of a package is kept: `s` a string (its index), `n` null (nothing kept), `o` an
 * object kept once in `objects` (its index; a source is shared by most packages), `l` a
 * location as [line, column], `j` any other JSON value as it is.
 */
type ValueCode = 's' | 'n' | 'o' | 'l' | 'j';

interface CompactGraph {
  /** The graph's keys in order; `packages` and `edges` are kept below, the others in `fields`. */
  keys: string[];
  fields: Record<string, unknown>;
  /** [shape index, value...] per package. */
  packages: unknown[][];
  /** from, to, kind as string indexes, three per edge; or the edges as they are when one has other keys. */
  edges: number[] | Edge[];
}

interface CompactGraphs {
  format: typeof COMPACT_FORMAT;
  strings: string[];
  /** Per shape: [key, code] pairs flattened. */
  shapes: string[][];
  objects: unknown[];
  graphs: CompactGraph[];
}

function isLocation(value: object): value is { line: number; column: number } {
  const keys = Object.keys(value);
  const v = value as Record<string, unknown>;
  return keys.length === 2 && keys[0] === 'line' && keys[1] === 'column' && typeof v.line === 'number' && typeof v.column === 'number';
}

function isPlainEdge(edge: Edge): boolean {
  const keys = Object.keys(edge);
  return keys.length === 3 && keys[0] === 'from' && keys[1] === 'to' && keys[2] === 'kind' && typeof edge.from === 'string' && typeof edge.to === 'string' && typeof edge.kind === 'string';
}

function compactGraphs(graphs: readonly DependencyGraph[]): CompactGraphs {
  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  const str = (s: string): number => {
    let i = stringIndex.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      stringIndex.set(s, i);
    }
    return i;
  };
  const shapes: string[][] = [];
  const shapeIndex = new Map<string, number>();
  const objects: unknown[] = [];
  const objectIndex = new Map<string, number>();
  const compactGraph = (graph: DependencyGraph): CompactGraph => {
    const fields: Record<string, unknown> = {};
    // Keys whose value is undefined are left out, as JSON leaves them out.
    const keys = Object.keys(graph).filter((key) => (graph as unknown as Record<string, unknown>)[key] !== undefined);
    for (const key of keys) if (key !== 'packages' && key !== 'edges') fields[key] = (graph as unknown as Record<string, unknown>)[key];
    // Consecutive packages mostly share a shape: compared with the last one before a lookup.
    let lastShape: string[] = [];
    let lastIndex = -1;
    const packages = graph.packages.map((p) => {
      const row: unknown[] = [0];
      const shape: string[] = [];
      const record = p as unknown as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const value = record[key];
        if (value === undefined) continue;
        let code: ValueCode;
        if (typeof value === 'string') {
          code = 's';
          row.push(str(value));
        } else if (value === null) code = 'n';
        else if (typeof value === 'object' && !Array.isArray(value) && isLocation(value)) {
          code = 'l';
          row.push([value.line, value.column]);
        } else if (typeof value === 'object' && !Array.isArray(value)) {
          code = 'o';
          const text = JSON.stringify(value);
          let i = objectIndex.get(text);
          if (i === undefined) {
            i = objects.length;
            objects.push(value);
            objectIndex.set(text, i);
          }
          row.push(i);
        } else {
          code = 'j';
          row.push(value);
        }
        shape.push(key, code);
      }
      if (shape.length !== lastShape.length || shape.some((v, i) => v !== lastShape[i])) {
        const shapeKey = shape.join('\0');
        let s = shapeIndex.get(shapeKey);
        if (s === undefined) {
          s = shapes.length;
          shapes.push(shape);
          shapeIndex.set(shapeKey, s);
        }
        lastShape = shape;
        lastIndex = s;
      }
      row[0] = lastIndex;
      return row;
    });
    let edges: number[] | Edge[] = graph.edges;
    if (graph.edges.every(isPlainEdge)) {
      const flat = new Array<number>(graph.edges.length * 3);
      let i = 0;
      for (const e of graph.edges) {
        flat[i++] = str(e.from);
        flat[i++] = str(e.to);
        flat[i++] = str(e.kind);
      }
      edges = flat;
    }
    return { keys, fields, packages, edges };
  };
  return { format: COMPACT_FORMAT, strings, shapes, objects, graphs: graphs.map(compactGraph) };
}

/** A fresh copy of a JSON value (an object kept once is given to every package as its own). */
function copyJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyJson);
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) copy[k] = copyJson(v);
  return copy;
}

function expandGraphs(compact: CompactGraphs, shared: boolean): DependencyGraph[] {
  if (compact.format !== COMPACT_FORMAT) throw new Error(`fleet store: unknown graph encoding ${JSON.stringify(compact.format)}`);
  const { strings, shapes, objects } = compact;
  const expandPackage = (row: unknown[]): Package => {
    const shape = shapes[row[0] as number] as string[];
    const p: Record<string, unknown> = {};
    let v = 1;
    for (let k = 0; k < shape.length; k += 2) {
      const key = shape[k] as string;
      switch (shape[k + 1] as ValueCode) {
        case 's':
          p[key] = strings[row[v++] as number];
          break;
        case 'n':
          p[key] = null;
          break;
        case 'l': {
          const [line, column] = row[v++] as [number, number];
          p[key] = { line, column };
          break;
        }
        case 'o':
          p[key] = shared ? objects[row[v++] as number] : copyJson(objects[row[v++] as number]);
          break;
        default:
          p[key] = row[v++];
      }
    }
    return p as unknown as Package;
  };
  const edgesOf = (flat: readonly number[]): Edge[] => {
    const edges: Edge[] = new Array<Edge>(flat.length / 3);
    for (let i = 0, j = 0; i < flat.length; i += 3, j++) {
      edges[j] = { from: strings[flat[i] as number] as string, to: strings[flat[i + 1] as number] as string, kind: strings[flat[i + 2] as number] as EdgeKind };
    }
    return edges;
  };
  // Read only: the index of each package's id, for GraphPaths (a package whose id is not kept as a string has none).
  const idIndex = (row: unknown[]): number => {
    const shape = shapes[row[0] as number] as string[];
    for (let k = 0, v = 1; k < shape.length; k += 2) {
      const code = shape[k + 1] as ValueCode;
      if (shape[k] === 'id') return code === 's' ? (row[v] as number) : -1;
      if (code !== 'n') v++;
    }
    return -1;
  };
  return compact.graphs.map((g) => {
    const graph: Record<string, unknown> = {};
    let packageIds: number[] | null = null;
    let flatEdges: number[] | null = null;
    for (const key of g.keys) {
      if (key === 'packages') {
        graph[key] = g.packages.map(expandPackage);
        if (shared) packageIds = g.packages.map(idIndex);
      } else if (key === 'edges') {
        const e = g.edges;
        if (e.length > 0 && typeof e[0] !== 'number') graph[key] = e;
        else if (shared) {
          // Read only: the edge objects are made if something reads them (GraphPaths reads the indexes, INDEXED_EDGES).
          const flat = (flatEdges = e as number[]);
          Object.defineProperty(graph, key, {
            enumerable: true,
            configurable: true,
            get(): Edge[] {
              const edges = edgesOf(flat);
              Object.defineProperty(graph, key, { value: edges, enumerable: true, configurable: true, writable: true });
              return edges;
            },
          });
        } else graph[key] = edgesOf(e as number[]);
      } else graph[key] = g.fields[key];
    }
    if (packageIds !== null && flatEdges !== null && !packageIds.includes(-1)) {
      const indexed: IndexedEdges = { strings, edges: flatEdges, packageIds };
      Object.defineProperty(graph, INDEXED_EDGES, { value: indexed, enumerable: false });
    }
    return graph as unknown as DependencyGraph;
  });
}

/** Shortest abbreviation of a revision id accepted on input, as git's default. */
export const MIN_ABBREVIATION = 12;

/**
 * The hex digits a user gave for a revision (of application `app`, when given): `sha256:HEX` or
 * bare HEX, at least 12 of them. Refused otherwise, naming what was given and whose revision.
 */
export function revisionHexPrefix(given: string, app?: string): string {
  const hex = given.startsWith(REVISION_PREFIX) ? given.slice(REVISION_PREFIX.length) : given;
  const what = `revision ${JSON.stringify(given)}${app === undefined ? '' : ` of ${JSON.stringify(app)}`}`;
  if (!/^[0-9a-f]+$/i.test(hex) || hex.length > 64) {
    throw new StowageError(`${what}: expected sha256:HEX or at least ${MIN_ABBREVIATION} hex digits of it`);
  }
  if (hex.length < MIN_ABBREVIATION) throw new StowageError(`${what}: give at least ${MIN_ABBREVIATION} hex digits`);
  return hex.toLowerCase();
}
