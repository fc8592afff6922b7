import { createHash } from 'node:crypto';
import { decompress } from 'zstd-napi';
import zstd from 'zstd-napi/binding.js';
import { StowageError } from '../core/errors.js';
import type { DependencyGraph, Edge, EdgeKind } from '../core/graph.js';
import type { Package } from '../core/package.js';
import { INDEXED_EDGES, PACKAGE_ROWS, type IndexedEdges, type PackageRows } from '../audit/paths.js';
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

/**
 * One zstd compression context, set to ZSTD_LEVEL once, and the memory it compresses into, kept
 * from one call to the next up to `keptMax` bytes (a larger input gets memory of its own):
 * zstd-napi's `compress` sets its parameters again each call and takes a fresh destination the
 * size of the input for anything over 128 KiB (a lockfile), memory outside V8's heap that V8
 * answers with full collections. The frame is the one `compress` writes (ZSTD_compress2 with the
 * same parameters).
 */
export class Compressor {
  private context: zstd.CCtx | null = null;
  private destination = Buffer.alloc(0);

  constructor(private readonly keptMax: number) {}

  compress(bytes: Uint8Array): Buffer {
    if (this.context === null) {
      this.context = new zstd.CCtx();
      this.context.setParameter(zstd.CParameter.compressionLevel, ZSTD_LEVEL);
    }
    const bound = zstd.compressBound(bytes.length);
    if (bound > this.keptMax) {
      const large = Buffer.allocUnsafe(bound);
      // A copy the size of the frame: a view would keep (and a worker's message would copy) all of `large`.
      return Buffer.from(large.subarray(0, this.context.compress2(large, bytes)));
    }
    if (this.destination.length < bound) this.destination = Buffer.allocUnsafeSlow(Math.min(this.keptMax, Math.max(bound, this.destination.length * 2)));
    return Buffer.from(this.destination.subarray(0, this.context.compress2(this.destination, bytes)));
  }
}

/** Memory kept from one document, graph or text to the next is at most this size; a larger one gets memory of its own. */
const KEPT_MAX = 16 * 1024 * 1024;

const documents = new Compressor(KEPT_MAX);

export function compressBytes(bytes: Uint8Array): Buffer {
  return documents.compress(bytes);
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
  // The packages' and edges' text is written as they are compacted, before the tables it cites are complete.
  const rows = new TextBytes();
  const compact = compactGraphs(graphs, rows);
  const out = new TextBytes();
  writeCompactJson(out, compact, rows.bytes());
  rows.release();
  const compressed = compressBytes(out.bytes());
  out.release();
  return compressed;
}

/**
 * Text written as UTF-8 into memory kept from the last use. The JSON of a large graph is
 * written piece by piece: as one string it would be a tree of parts (what JSON.stringify
 * builds) flattened into a fresh large string before any byte is written, and a fresh buffer
 * the size of the text besides, which together cost several times the writing. Numbers and
 * punctuation are written as bytes, without a string.
 */
class TextBytes {
  private buffer: Buffer;
  length = 0;

  constructor() {
    this.buffer = TextBytes.kept.pop() ?? Buffer.allocUnsafeSlow(64 * 1024);
  }

  /** The buffers TextBytes write to (an encoding uses two at once), kept up to KEPT_MAX each. */
  private static readonly kept: Buffer[] = [];

  private reserve(bytes: number): void {
    const most = this.length + bytes;
    if (most > this.buffer.length) {
      const larger = Buffer.allocUnsafeSlow(Math.max(most, this.buffer.length * 2));
      this.buffer.copy(larger, 0, 0, this.length);
      this.buffer = larger;
    }
  }

  write(text: string): void {
    // UTF-8 takes at most three bytes a UTF-16 unit.
    this.reserve(text.length * 3);
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  /** One ASCII character, by its code. */
  byte(code: number): void {
    this.reserve(1);
    this.buffer[this.length++] = code;
  }

  /** A number as JSON.stringify writes it (an index: its decimal digits). */
  number(n: number): void {
    if (!(Number.isInteger(n) && n >= 0 && n <= 0xffffffff)) {
      this.write(JSON.stringify(n));
      return;
    }
    if (n < 10) {
      this.byte(0x30 + n);
      return;
    }
    const digits = n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : String(n).length;
    this.reserve(digits);
    let at = this.length + digits;
    this.length = at;
    for (let rest = n; rest > 0; rest = (rest - (rest % 10)) / 10) this.buffer[--at] = 0x30 + (rest % 10);
  }

  append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Moves the text from `from` on to `to` (before it), dropping what was between. */
  moveBack(from: number, to: number): void {
    this.buffer.copyWithin(to, from, this.length);
    this.length -= from - to;
  }

  /** Leaves `bytes` of room, to be written later (setByte, indexBefore). */
  skip(bytes: number): void {
    this.reserve(bytes);
    this.length += bytes;
  }

  /** Writes the integer `n` (at most ten digits, or -1) ending just before `end`, in room left; returns where it starts. */
  indexBefore(end: number, n: number): number {
    let at = end;
    let rest = Math.abs(n);
    do {
      this.buffer[--at] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    } while (rest > 0);
    if (n < 0) this.buffer[--at] = 0x2d;
    return at;
  }

  setByte(at: number, code: number): void {
    this.buffer[at] = code;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  /** Done with the bytes: the buffer serves the next TextBytes. */
  release(): void {
    if (this.buffer.length <= KEPT_MAX && TextBytes.kept.length < 2) TextBytes.kept.push(this.buffer);
  }
}

const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;

/** Elements stringified at once: a piece of a few kilobytes. */
const ELEMENTS_A_PIECE = 512;

/** JSON.stringify(values), written in pieces of elements (each element's JSON is the same whatever array it is written in). */
function writeJsonArray(out: TextBytes, values: readonly unknown[]): void {
  if (values.length <= ELEMENTS_A_PIECE) {
    out.write(JSON.stringify(values));
    return;
  }
  for (let from = 0; from < values.length; from += ELEMENTS_A_PIECE) {
    const piece = JSON.stringify(values.slice(from, from + ELEMENTS_A_PIECE));
    // `[a,b]` then `,c,d]` ...: each piece's brackets but the outer ones become commas.
    const first = from === 0;
    const last = from + ELEMENTS_A_PIECE >= values.length;
    out.write(first ? piece.slice(0, -1) : last ? `,${piece.slice(1)}` : `,${piece.slice(1, -1)}`);
  }
}

/** JSON.stringify of the compact form, byte for byte: keys in the order the objects are built with; `rows` the packages' and edges' text. */
function writeCompactJson(out: TextBytes, compact: WrittenGraphs, rows: Uint8Array): void {
  out.write(`{"format":${JSON.stringify(compact.format)},"strings":`);
  writeJsonArray(out, compact.strings);
  out.write(',"shapes":');
  writeJsonArray(out, compact.shapes);
  out.write(',"objects":');
  writeJsonArray(out, compact.objects);
  out.write(',"graphs":[');
  compact.graphs.forEach((graph, i) => {
    out.write(`${i === 0 ? '' : ','}{"keys":${JSON.stringify(graph.keys)},"fields":${JSON.stringify(graph.fields)},"packages":`);
    out.append(rows.subarray(graph.packages.start, graph.packages.end));
    out.write(',"edges":');
    if (Array.isArray(graph.edges)) writeJsonArray(out, graph.edges);
    else out.append(rows.subarray(graph.edges.start, graph.edges.end));
    out.write('}');
  });
  out.write(']}');
}

/**
 * One decompression context and the memory a graph is decompressed into, kept from one call to
 * the next (sync decodes one graph per revision it re-matches): zstd-napi's `decompress` takes a
 * fresh buffer the size of the text each call, only to have it read into a string.
 */
let decompression: zstd.DCtx | null = null;
let decompressed = Buffer.alloc(0);

/** The UTF-8 text of one zstd frame (a stored graph). */
function decompressText(bytes: Uint8Array): string {
  const size = zstd.getFrameContentSize(bytes);
  if (size === null || size > KEPT_MAX || zstd.findFrameCompressedSize(bytes) !== bytes.length) return decompressBytes(bytes).toString('utf8');
  decompression ??= new zstd.DCtx();
  if (decompressed.length < size) decompressed = Buffer.allocUnsafeSlow(Math.max(size, decompressed.length * 2));
  const length = decompression.decompress(decompressed, bytes);
  if (length !== size) throw new Error(`fleet store: a graph decompressed to ${length} bytes, its frame says ${size}`);
  return decompressed.toString('utf8', 0, length);
}

export function decodeGraphs(stored: Uint8Array, options: DecodeOptions = {}): DependencyGraph[] {
  const text = decompressText(stored);
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

/** Where a part of the rows' text is (encodeGraphs): from `start` to before `end`. */
interface TextRange {
  start: number;
  end: number;
}

/** A CompactGraph as encodeGraphs writes it: its packages' JSON, and its edges' when flat, already text. */
interface WrittenGraph {
  keys: string[];
  fields: Record<string, unknown>;
  packages: TextRange;
  edges: TextRange | Edge[];
}

/** CompactGraphs as encodeGraphs writes them. */
interface WrittenGraphs {
  format: typeof COMPACT_FORMAT;
  strings: string[];
  shapes: string[][];
  objects: unknown[];
  graphs: WrittenGraph[];
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

/**
 * An object value as last kept at one position of a package's shape: how (`o` or `l`) and, for
 * `o`, its index in `objects`. Consecutive packages mostly hold equal objects there (a registry
 * source, `{ dev: true }`): one equal to the last is kept alike without its JSON being written.
 */
interface LastObject {
  value: Record<string, unknown>;
  keys: string[];
  code: 'o' | 'l';
  index: number;
}

/**
 * Whether `value` has `last`'s keys in the same order with the very same values (`===`): then
 * JSON.stringify writes the two alike. Only plain objects (no toJSON of a prototype's to make
 * two of them differ); anything else is not compared and goes by its JSON.
 */
function sameEntries(value: object, last: LastObject): boolean {
  if (value === last.value) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(value);
  if (keys.length !== last.keys.length) return false;
  const v = value as Record<string, unknown>;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (key !== last.keys[i] || v[key] !== last.value[key]) return false;
  }
  return true;
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Room left before a package's values for `[` and its shape's index (at most ten digits). */
const SHAPE_ROOM = 11;

/** The graphs compacted, the packages' and edges' JSON written to `rows` as they are (writeCompactJson writes the whole). */
function compactGraphs(graphs: readonly DependencyGraph[], rows: TextBytes): WrittenGraphs {
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
  /** An object value's code (`l` or `o`) and row entry, the first time one like it is met at its position. */
  const keepObject = (value: object): LastObject => {
    const record = value as Record<string, unknown>;
    if (!Array.isArray(value) && isLocation(value)) return { value: record, keys: Object.keys(value), code: 'l', index: -1 };
    const text = JSON.stringify(value);
    let i = objectIndex.get(text);
    if (i === undefined) {
      i = objects.length;
      objects.push(value);
      objectIndex.set(text, i);
    }
    return { value: record, keys: Object.keys(value), code: 'o', index: i };
  };
  const compactGraph = (graph: DependencyGraph): WrittenGraph => {
    const fields: Record<string, unknown> = {};
    // Keys whose value is undefined are left out, as JSON leaves them out.
    const keys = Object.keys(graph).filter((key) => (graph as unknown as Record<string, unknown>)[key] !== undefined);
    for (const key of keys) if (key !== 'packages' && key !== 'edges') fields[key] = (graph as unknown as Record<string, unknown>)[key];
    // Consecutive packages mostly share a shape: compared with the last one as the package is
    // read, and a shape of its own built (and looked up) only when it differs.
    let lastShape: string[] = [];
    let lastIndex = -1;
    // By position in the shape (a key, a code): the last string and object met there.
    const lastStrings: (string | undefined)[] = [];
    const lastStringIndexes: number[] = [];
    const lastObjects: (LastObject | undefined)[] = [];
    // Each package's row, `[shape, value...]`: its values are written first, after room for its
    // shape's index, which is known once they are; then the row is moved back over the room left.
    const packagesStart = rows.length;
    rows.byte(OPEN);
    for (let n = 0; n < graph.packages.length; n++) {
      const record = graph.packages[n] as unknown as Record<string, unknown>;
      if (n > 0) rows.byte(COMMA);
      const rowStart = rows.length;
      rows.skip(SHAPE_ROOM);
      let shape: string[] | null = null;
      let at = 0;
      for (const key of Object.keys(record)) {
        const value = record[key];
        if (value === undefined) continue;
        let code: ValueCode;
        if (typeof value === 'string') {
          code = 's';
          rows.byte(COMMA);
          if (lastStrings[at] === value) rows.number(lastStringIndexes[at] as number);
          else {
            const i = str(value);
            lastStrings[at] = value;
            lastStringIndexes[at] = i;
            rows.number(i);
          }
        } else if (value === null) code = 'n';
        else if (typeof value === 'object' && !Array.isArray(value)) {
          let kept = lastObjects[at];
          if (kept === undefined || !sameEntries(value, kept)) {
            kept = keepObject(value);
            if (isPlainObject(value)) lastObjects[at] = kept;
          }
          code = kept.code;
          rows.byte(COMMA);
          if (code === 'l') {
            const location = value as { line: number; column: number };
            rows.byte(OPEN);
            rows.number(location.line);
            rows.byte(COMMA);
            rows.number(location.column);
            rows.byte(CLOSE);
          } else rows.number(kept.index);
        } else {
          code = 'j';
          rows.byte(COMMA);
          // As an array's element: what JSON has no text for is null.
          rows.write((JSON.stringify(value) as string | undefined) ?? 'null');
        }
        if (shape === null) {
          if (lastShape[at] === key && lastShape[at + 1] === code) {
            at += 2;
            continue;
          }
          shape = lastShape.slice(0, at);
        }
        shape.push(key, code);
        at += 2;
      }
      if (shape === null && at !== lastShape.length) shape = lastShape.slice(0, at);
      if (shape !== null) {
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
      const open = rows.indexBefore(rowStart + SHAPE_ROOM, lastIndex) - 1;
      rows.setByte(open, OPEN);
      rows.moveBack(open, rowStart);
      rows.byte(CLOSE);
    }
    rows.byte(CLOSE);
    const packages = { start: packagesStart, end: rows.length };
    let edges: TextRange | Edge[] = graph.edges;
    if (graph.edges.every(isPlainEdge)) {
      const edgesStart = rows.length;
      rows.byte(OPEN);
      // Consecutive edges mostly leave one package, all of one kind.
      let lastFrom: string | undefined;
      let lastFromIndex = -1;
      let lastKind: string | undefined;
      let lastKindIndex = -1;
      let i = 0;
      for (const e of graph.edges) {
        if (e.from !== lastFrom) {
          lastFrom = e.from;
          lastFromIndex = str(e.from);
        }
        if (i++ > 0) rows.byte(COMMA);
        rows.number(lastFromIndex);
        rows.byte(COMMA);
        rows.number(str(e.to));
        if (e.kind !== lastKind) {
          lastKind = e.kind;
          lastKindIndex = str(e.kind);
        }
        rows.byte(COMMA);
        rows.number(lastKindIndex);
      }
      rows.byte(CLOSE);
      edges = { start: edgesStart, end: rows.length };
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
  // Read only: where each shape keeps a package's id and name as a string index (the value's place in a row), or -1.
  const stringAt = (key: string): Int32Array =>
    Int32Array.from(shapes, (shape) => {
      for (let k = 0, v = 1; k < shape.length; k += 2) {
        const code = shape[k + 1] as ValueCode;
        if (shape[k] === key) return code === 's' ? v : -1;
        if (code !== 'n') v++;
      }
      return -1;
    });
  const idAt = shared ? stringAt('id') : null;
  const nameAt = shared ? stringAt('name') : null;
  /** Per row, the string index the shape keeps at `at` (an id, a name), or -1. */
  const stringsOf = (rows: readonly unknown[][], at: Int32Array): Int32Array => {
    const found = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as unknown[];
      const v = at[row[0] as number] ?? -1;
      found[i] = v === -1 ? -1 : (row[v] as number);
    }
    return found;
  };
  /** Read only: the packages as rows, each expanded when first read (by `packages` or PACKAGE_ROWS). */
  const rowsOf = (packageRows: unknown[][], names: Int32Array): PackageRows => {
    const expanded: (Package | undefined)[] = new Array<Package | undefined>(packageRows.length);
    const at = (i: number): Package => (expanded[i] ??= expandPackage(packageRows[i] as unknown[]));
    return {
      count: packageRows.length,
      package: at,
      named(wanted: (name: string) => boolean): Package[] {
        // Per string of the table: 0 not asked yet, 1 wanted, 2 not.
        const verdicts = new Uint8Array(strings.length);
        const found: Package[] = [];
        for (let i = 0; i < names.length; i++) {
          const name = names[i] as number;
          if (name === -1) {
            // A name not kept as a string: asked of the package itself.
            const p = at(i);
            if (wanted(p.name)) found.push(p);
            continue;
          }
          let verdict = verdicts[name] as number;
          if (verdict === 0) verdicts[name] = verdict = wanted(strings[name] as string) ? 1 : 2;
          if (verdict === 1) found.push(at(i));
        }
        return found;
      },
    };
  };
  return compact.graphs.map((g) => {
    const graph: Record<string, unknown> = {};
    let packageIds: Int32Array | null = null;
    let flatEdges: number[] | null = null;
    for (const key of g.keys) {
      if (key === 'packages') {
        if (idAt !== null && nameAt !== null) {
          // Read only: the package objects are made if something reads them (a restricted re-match reads PACKAGE_ROWS).
          const packageRows = g.packages;
          packageIds = stringsOf(packageRows, idAt);
          const rows = rowsOf(packageRows, stringsOf(packageRows, nameAt));
          Object.defineProperty(graph, PACKAGE_ROWS, { value: rows, enumerable: false });
          Object.defineProperty(graph, key, {
            enumerable: true,
            configurable: true,
            get(): Package[] {
              const packages = Array.from({ length: rows.count }, (_, i) => rows.package(i));
              Object.defineProperty(graph, key, { value: packages, enumerable: true, configurable: true, writable: true });
              return packages;
            },
          });
        } else graph[key] = g.packages.map(expandPackage);
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
