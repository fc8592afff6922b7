import { createHash } from 'node:crypto';
import { decompress } from 'zstd-napi';
import zstd from 'zstd-napi/binding.js';
import { StowageError } from '../core/errors.js';
import type { DependencyGraph, Edge, EdgeKind } from '../core/graph.js';
import type { Package } from '../core/package.js';
import { NodeIds, NUMBERED_GRAPH, PACKAGE_ROWS, type NameFilter, type NumberedGraph, type PackageRows } from '../audit/paths.js';
import type { RevisionDocument } from './store/store.js';
import { compareText } from '../core/compare-text.js';

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
  return compareText(a.name, b.name);
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
 * lockfiles), 'stowage-graphs-v3': binary, so that reading it is mostly taking views of its
 * bytes. Every string once in a table (UTF-8, decoded only when read), each package a row of
 * integers after the shape (keys and how each value is kept) it has, made an object only when
 * read, and the graph's nodes numbered as stored: sync decodes one document per revision it
 * re-matches, looks at a few names and searches the paths of a few packages. Decoding gives
 * back the same objects, keys in the same order, so findings made from them serialise alike.
 * Stores written before (v2, a compact JSON text; before it a JSON array) still decode.
 *
 * The layout, in little-endian 32-bit words (byte sections padded to a word):
 *   header   GRAPHS_V3_MAGIC, string bytes, JSON bytes, graph count G
 *   lengths  [S]: each string's, as its bytes times 4 plus how they are kept (ASCII, UTF8, UTF16)
 *   JSON     { shapes, objects, values, graphs: [{ keys, fields, edges? }] }: the few odd values
 *   strings  the bytes of every string: UTF-8, or UTF-16LE for one with a lone surrogate (no UTF-8)
 *   per graph, each list after its length:
 *            flags (NUMBERED, EDGES_NUMBERED); P; package nodes [P or 0: package i is node i];
 *            rows [W]; node ids [N]; edges from [E], to [E], kind [E]; kinds [K]; roots [R]
 *            a list's values 16-bit (two a word) when its length has NARROW set.
 * A row is its shape's index then its values: `s` a string's index, `o` an object's in
 * `objects`, `l` line and column, `j` a value's in `values`, `n` (null) nothing: where a row
 * starts, and where its name is, follow from the shapes. Nodes are numbered package ids first,
 * in package order, then the edges' ends, then the roots; an edge's kind is its place in the kinds.
 */
export function encodeGraphs(graphs: readonly DependencyGraph[]): Buffer {
  return compressBytes(writeGraphs(graphs));
}

/** "STG3" as bytes: a v3 document starts with neither `[` nor `{`, as the JSON forms before it do. */
const GRAPHS_V3_MAGIC = 0x33475453;
/** A package's node when its id is not a string (it has none: the graph is not numbered). */
const NONE = 0xffffffff;
/**
 * How a string's bytes are kept, in the low two bits of its length: ASCII (read as Latin-1,
 * without UTF-8's checks), UTF-8, or UTF-16LE for a string with a lone surrogate (no UTF-8).
 */
const ASCII = 0;
const UTF8 = 1;
const UTF16 = 2;
const STRING_ENCODINGS = ['latin1', 'utf8', 'utf16le'] as const;
const LONE_SURROGATE = /\p{Surrogate}/u;
/** A graph's flags: GraphPaths may take its nodes as numbered; its edges are numbered in the body (not in the JSON). */
const NUMBERED = 1;
const EDGES_NUMBERED = 2;
const HEADER_WORDS = 4;
/** A list's length with this bit set: its values are 16-bit. */
const NARROW = 0x80000000;

/** 32-bit words written into memory kept from the last use (an encoding is written at once, synchronously). */
class Words {
  array = new Uint32Array(16 * 1024);
  length = 0;

  reserve(words: number): void {
    if (this.length + words > this.array.length) {
      const larger = new Uint32Array(Math.max(this.length + words, this.array.length * 2));
      larger.set(this.array.subarray(0, this.length));
      this.array = larger;
    }
  }

  push(n: number): void {
    if (this.length === this.array.length) this.reserve(1);
    this.array[this.length++] = n;
  }

  /**
   * A list: its length, then its values; as 16-bit halves (NARROW set in the length, two a word,
   * the last padded) when every value fits one, which is most graphs' and compresses better.
   */
  pushList(words: Words): void {
    const list = words.array.subarray(0, words.length);
    let narrow = true;
    for (let i = 0; i < list.length; i++) {
      if ((list[i] as number) > 0xffff) {
        narrow = false;
        break;
      }
    }
    if (!narrow) {
      this.reserve(list.length + 1);
      this.array[this.length++] = list.length;
      this.array.set(list, this.length);
      this.length += list.length;
      return;
    }
    this.reserve(((list.length + 1) >> 1) + 1);
    this.array[this.length++] = list.length | NARROW;
    for (let i = 0; i < list.length; i += 2) this.array[this.length++] = (list[i] as number) | (((list[i + 1] ?? 0) as number) << 16);
  }

  clear(): Words {
    this.length = 0;
    if (this.array.length * 4 > KEPT_MAX) this.array = new Uint32Array(16 * 1024);
    return this;
  }
}

/** The strings' UTF-8, written as they are met; kept from the last use. */
class StringBytes {
  buffer = Buffer.allocUnsafeSlow(64 * 1024);
  length = 0;

  /** Writes `s`; returns its length in bytes times 4 plus how they are kept. */
  write(s: string): number {
    if (this.length + s.length * 3 > this.buffer.length) {
      const larger = Buffer.allocUnsafeSlow(Math.max(this.length + s.length * 3, this.buffer.length * 2));
      this.buffer.copy(larger, 0, 0, this.length);
      this.buffer = larger;
    }
    // Mostly ASCII (ids, names, versions, digests): copied code by code, without a call out of JavaScript.
    const at = this.length;
    for (let i = 0; i < s.length; i++) {
      const code = s.charCodeAt(i);
      if (code >= 0x80) {
        // A lone surrogate has no UTF-8: such a string is kept as UTF-16.
        const encoding = LONE_SURROGATE.test(s) ? UTF16 : UTF8;
        const bytes = this.buffer.write(s, at, STRING_ENCODINGS[encoding]);
        this.length = at + bytes;
        return bytes * 4 + encoding;
      }
      this.buffer[at + i] = code;
    }
    this.length = at + s.length;
    return s.length * 4 + ASCII;
  }

  clear(): StringBytes {
    this.length = 0;
    if (this.buffer.length > KEPT_MAX) this.buffer = Buffer.allocUnsafeSlow(64 * 1024);
    return this;
  }
}

/** The lists writeGraphs fills, kept from one encoding to the next. */
const written = {
  strings: new StringBytes(),
  lengths: new Words(),
  table: new Words(),
  body: new Words(),
  packageNodes: new Words(),
  rows: new Words(),
  nodeIds: new Words(),
  from: new Words(),
  to: new Words(),
  kinds: new Words(),
  kindTexts: new Words(),
  roots: new Words(),
  out: Buffer.alloc(0),
};

/** Per string index, the node it was given in the graph being written (valid where `nodeStamps` is that graph's stamp). */
let nodeOfString = new Int32Array(4096);
let nodeStamps = new Uint32Array(4096);
let nodeStamp = 0;

function isLocation(value: object): value is { line: number; column: number } {
  const keys = Object.keys(value);
  const v = value as Record<string, unknown>;
  return keys.length === 2 && keys[0] === 'line' && keys[1] === 'column' && typeof v.line === 'number' && typeof v.column === 'number';
}

/** A location kept as two words: its line and column whole numbers a word holds (any other is kept as an object). */
function isWordLocation(value: object): value is { line: number; column: number } {
  if (!isLocation(value)) return false;
  const { line, column } = value;
  return Number.isInteger(line) && Number.isInteger(column) && line >= 0 && column >= 0 && line <= 0xffffffff && column <= 0xffffffff && !Object.is(line, -0) && !Object.is(column, -0);
}

function isPlainEdge(edge: Edge): boolean {
  const keys = Object.keys(edge);
  return keys.length === 3 && keys[0] === 'from' && keys[1] === 'to' && keys[2] === 'kind' && typeof edge.from === 'string' && typeof edge.to === 'string' && typeof edge.kind === 'string';
}

/**
 * How a value of a package is kept: `s` a string (its index), `n` null (nothing kept), `o` an
 * object kept once in `objects` (its index; a source is shared by most packages), `l` a
 * location (v2: as [line, column]; v3: two words), `j` any other JSON value (v2: as it is; v3:
 * its index in `values`).
 */
type ValueCode = 's' | 'n' | 'o' | 'l' | 'j';

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

/** What the JSON section of a v3 document holds. */
interface GraphsJson {
  /** Per shape: [key, code] pairs flattened. */
  shapes: string[][];
  objects: unknown[];
  values: unknown[];
  graphs: { keys: string[]; fields: Record<string, unknown>; edges?: Edge[] }[];
}

/** The v3 document of the graphs, uncompressed. */
function writeGraphs(graphs: readonly DependencyGraph[]): Buffer {
  const w = written;
  const stringBytes = w.strings.clear();
  const lengths = w.lengths.clear();
  const body = w.body.clear();
  const stringIndex = new Map<string, number>();
  const str = (s: string): number => {
    let i = stringIndex.get(s);
    if (i === undefined) {
      i = lengths.length;
      lengths.push(stringBytes.write(s));
      stringIndex.set(s, i);
    }
    return i;
  };
  const json: GraphsJson = { shapes: [], objects: [], values: [], graphs: [] };
  const shapeIndex = new Map<string, number>();
  const objectIndex = new Map<string, number>();
  /** An object value's code (`l` or `o`) and row entry, the first time one like it is met at its position. */
  const keepObject = (value: object): LastObject => {
    const record = value as Record<string, unknown>;
    if (!Array.isArray(value) && isWordLocation(value)) return { value: record, keys: Object.keys(value), code: 'l', index: -1 };
    const text = JSON.stringify(value);
    let i = objectIndex.get(text);
    if (i === undefined) {
      i = json.objects.length;
      json.objects.push(value);
      objectIndex.set(text, i);
    }
    return { value: record, keys: Object.keys(value), code: 'o', index: i };
  };
  for (const graph of graphs) {
    const stamp = (nodeStamp = (nodeStamp + 1) >>> 0 || 1);
    const nodeIds = w.nodeIds.clear();
    /** The node of the string at `s`: numbered as first met in this graph. */
    const node = (s: number): number => {
      if (s >= nodeOfString.length) {
        const size = Math.max(s + 1, nodeOfString.length * 2);
        const stamps = new Uint32Array(size);
        stamps.set(nodeStamps);
        nodeStamps = stamps;
        nodeOfString = new Int32Array(size);
        // The nodes given so far are in nodeIds: given again in the larger array.
        for (let n = 0; n < nodeIds.length; n++) nodeOfString[nodeIds.array[n] as number] = n;
      }
      if (nodeStamps[s] === stamp) return nodeOfString[s] as number;
      nodeStamps[s] = stamp;
      nodeOfString[s] = nodeIds.length;
      nodeIds.push(s);
      return nodeIds.length - 1;
    };
    const record = graph as unknown as Record<string, unknown>;
    const fields: Record<string, unknown> = {};
    // Keys whose value is undefined are left out, as JSON leaves them out.
    const keys = Object.keys(graph).filter((key) => record[key] !== undefined);
    for (const key of keys) if (key !== 'packages' && key !== 'edges') fields[key] = record[key];
    let numbered = true;
    let identity = true;
    const packageNodes = w.packageNodes.clear();
    const rows = w.rows.clear();
    // Consecutive packages mostly share a shape: compared with the last one as the package is
    // read, and a shape of its own built (and looked up) only when it differs.
    let lastShape: string[] = [];
    let lastIndex = -1;
    // By position in the shape (a key, a code): the last string and object met there.
    const lastStrings: (string | undefined)[] = [];
    const lastStringIndexes: number[] = [];
    const lastObjects: (LastObject | undefined)[] = [];
    for (const p of graph.packages) {
      const pkg = p as unknown as Record<string, unknown>;
      // The shape's index, known once the values are: room left for it.
      const rowStart = rows.length;
      rows.push(0);
      let id = NONE;
      let shape: string[] | null = null;
      let at = 0;
      for (const key of Object.keys(pkg)) {
        const value = pkg[key];
        if (value === undefined) continue;
        let code: ValueCode;
        if (typeof value === 'string') {
          code = 's';
          let i: number;
          if (lastStrings[at] === value) i = lastStringIndexes[at] as number;
          else {
            i = str(value);
            lastStrings[at] = value;
            lastStringIndexes[at] = i;
          }
          rows.push(i);
          if (key === 'id') id = i;
        } else if (value === null) code = 'n';
        else if (typeof value === 'object' && !Array.isArray(value)) {
          let kept = lastObjects[at];
          if (kept === undefined || !sameEntries(value, kept)) {
            kept = keepObject(value);
            if (isPlainObject(value)) lastObjects[at] = kept;
          }
          code = kept.code;
          if (code === 'l') {
            const location = value as { line: number; column: number };
            rows.push(location.line);
            rows.push(location.column);
          } else rows.push(kept.index);
        } else {
          code = 'j';
          rows.push(json.values.length);
          json.values.push(value);
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
          s = json.shapes.length;
          json.shapes.push(shape);
          shapeIndex.set(shapeKey, s);
        }
        lastShape = shape;
        lastIndex = s;
      }
      rows.array[rowStart] = lastIndex;
      if (id === NONE) numbered = false;
      const n = id === NONE ? NONE : node(id);
      packageNodes.push(n);
      // Nodes are numbered package ids first: package i is node i but where an id is listed twice.
      if (n !== packageNodes.length - 1) identity = false;
    }
    const from = w.from.clear();
    const to = w.to.clear();
    const kinds = w.kinds.clear();
    const kindTexts = w.kindTexts.clear();
    const graphJson: GraphsJson['graphs'][number] = { keys, fields };
    let flags = 0;
    if (graph.edges.every(isPlainEdge)) {
      flags |= EDGES_NUMBERED;
      // Consecutive edges mostly leave one package, all of one kind.
      let lastFrom: string | undefined;
      let lastFromNode = -1;
      let lastKind: string | undefined;
      let lastKindNumber = -1;
      for (const e of graph.edges) {
        if (e.from !== lastFrom) {
          lastFrom = e.from;
          lastFromNode = node(str(e.from));
        }
        from.push(lastFromNode);
        to.push(node(str(e.to)));
        if (e.kind !== lastKind) {
          lastKind = e.kind;
          const k = str(e.kind);
          lastKindNumber = kindTexts.array.subarray(0, kindTexts.length).indexOf(k);
          if (lastKindNumber === -1) {
            lastKindNumber = kindTexts.length;
            kindTexts.push(k);
          }
        }
        kinds.push(lastKindNumber);
      }
    } else {
      graphJson.edges = graph.edges;
      numbered = false;
    }
    const roots = w.roots.clear();
    if (Array.isArray(graph.roots) && graph.roots.every((r) => typeof r === 'string')) for (const r of graph.roots) roots.push(node(str(r)));
    else numbered = false;
    if (numbered) flags |= NUMBERED;
    if (identity) packageNodes.clear();
    json.graphs.push(graphJson);
    body.push(flags);
    body.push(graph.packages.length);
    for (const list of [packageNodes, rows, nodeIds, from, to, kinds, kindTexts, roots]) body.pushList(list);
  }
  const jsonBytes = Buffer.from(JSON.stringify(json), 'utf8');
  const padded = (bytes: number): number => (bytes + 3) & ~3;
  const table = w.table.clear();
  table.pushList(lengths);
  const size = (HEADER_WORDS + table.length + body.length) * 4 + padded(jsonBytes.length) + padded(stringBytes.length);
  // Compressed into a buffer of its own (compressBytes): the bytes are written to memory kept, their padding zeroed.
  if (size > written.out.length) written.out = Buffer.allocUnsafeSlow(Math.max(size, written.out.length * 2));
  const out = written.out.subarray(0, size);
  if (size > KEPT_MAX) written.out = Buffer.alloc(0);
  const header = [GRAPHS_V3_MAGIC, stringBytes.length, jsonBytes.length, graphs.length];
  let at = 0;
  for (const word of header) at = out.writeUInt32LE(word, at);
  at = copyWords(out, at, table);
  out.set(jsonBytes, at);
  out.fill(0, at + jsonBytes.length, at + padded(jsonBytes.length));
  at += padded(jsonBytes.length);
  stringBytes.buffer.copy(out, at, 0, stringBytes.length);
  out.fill(0, at + stringBytes.length, at + padded(stringBytes.length));
  at += padded(stringBytes.length);
  copyWords(out, at, body);
  return out;
}

/** Writes the words little-endian at `at`; returns where they end. */
function copyWords(out: Buffer, at: number, words: Words): number {
  const list = words.array.subarray(0, words.length);
  if (LITTLE_ENDIAN) out.set(new Uint8Array(list.buffer, list.byteOffset, list.byteLength), at);
  else for (let i = 0; i < list.length; i++) out.writeUInt32LE(list[i] as number, at + i * 4);
  return at + list.byteLength;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Decompressed graphs are read in place (views of their bytes) for as long as a graph read only
 * lives, so each document gets bytes of its own: cut from slabs of SLAB bytes, word-aligned,
 * rather than a fresh buffer each (memory outside V8's heap, which V8 answers with full
 * collections). A slab is freed when the last graph read from it is.
 */
const SLAB = 8 * 1024 * 1024;
let slab = Buffer.alloc(0);
let slabUsed = 0;
let decompression: zstd.DCtx | null = null;

/** One zstd frame (a stored graph) decompressed into bytes of its own, word-aligned; `release` gives them back when nothing keeps them. */
function decompressGraphs(stored: Uint8Array): { bytes: Buffer; release: () => void } {
  const size = zstd.getFrameContentSize(stored);
  if (size === null || size > SLAB / 4 || zstd.findFrameCompressedSize(stored) !== stored.length) {
    const bytes = decompressBytes(stored);
    if (bytes.byteOffset % 4 === 0) return { bytes, release: () => undefined };
    const aligned = Buffer.allocUnsafeSlow(bytes.length);
    bytes.copy(aligned);
    return { bytes: aligned, release: () => undefined };
  }
  let at = (slabUsed + 7) & ~7;
  if (at + size > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB);
    at = 0;
  }
  decompression ??= new zstd.DCtx();
  const bytes = slab.subarray(at, at + size);
  const length = decompression.decompress(bytes, stored);
  if (length !== size) throw new Error(`fleet store: a graph decompressed to ${length} bytes, its frame says ${size}`);
  const from = slab;
  slabUsed = at + size;
  let given = false;
  return {
    bytes,
    // Once: a second call could give back the same place, taken meanwhile by other bytes.
    release: () => {
      if (!given && slab === from && slabUsed === at + size) slabUsed = at;
      given = true;
    },
  };
}

export function decodeGraphs(stored: Uint8Array, options: DecodeOptions = {}): DependencyGraph[] {
  return decodedGraphs(stored, options.readOnly === true).graphs;
}

/**
 * The graphs decoded read only (decodeGraphs' readOnly) for a use that ends when `use` settles:
 * their bytes are then given back, and the next graphs decoded in this thread are read from the
 * same memory. A sync decodes one revision's graphs after another: each read from bytes of its
 * own, cut from fresh slabs, cost its thread the slabs' first writes (page faults) and V8 the
 * collections external memory asks for, more than the decompression itself (measured: 0.30 s of
 * CPU for 667 graphs into fresh slabs, 0.12 s into the same one). Nothing `use` gives back may
 * read the graphs (it gets strings and objects made from them, never views of their bytes).
 */
export async function withGraphs<T>(stored: Uint8Array, use: (graphs: DependencyGraph[]) => Promise<T>): Promise<T> {
  const { graphs, release } = decodedGraphs(stored, true);
  try {
    return await use(graphs);
  } finally {
    release();
  }
}

/** The graphs, and what gives their bytes back once nothing reads them (nothing to give when `shared` is false: read to the end). */
function decodedGraphs(stored: Uint8Array, shared: boolean): { graphs: DependencyGraph[]; release: () => void } {
  const { bytes, release } = decompressGraphs(stored);
  const none = (): void => undefined;
  const first = bytes.length === 0 ? 0 : (bytes[0] as number);
  // A JSON text: the graphs as written before v3, a JSON array before the compact form.
  if (first === 0x5b || first === 0x7b) {
    const text = bytes.toString('utf8');
    release();
    if (first === 0x5b) return { graphs: JSON.parse(text) as DependencyGraph[], release: none };
    return { graphs: readCompactGraphs(JSON.parse(text) as CompactGraphs, shared).map((g) => assembleGraph(g, shared)), release: none };
  }
  const graphs = readGraphsV3(bytes, shared).map((g) => assembleGraph(g, shared));
  // Read to the end (not read only): nothing keeps the bytes.
  if (!shared) {
    release();
    return { graphs, release: none };
  }
  return { graphs, release };
}

export interface DecodeOptions {
  /**
   * The graphs are only read (sync re-matches them): the packages of a graph share the values
   * kept once (their source) instead of each getting a copy of its own, and packages and edges
   * are made objects only when read.
   */
  readOnly?: boolean;
}

/** One graph as stored (v2 or v3), read as the graph's objects are asked for. */
interface StoredGraph {
  /** The graph's keys in order; `packages` and `edges` are read below, the others in `fields`. */
  keys: string[];
  fields: Record<string, unknown>;
  packageCount: number;
  /** Package `i` as an object of its own (`shared`: the objects kept once shared with the other packages). */
  expand(i: number, shared: boolean): Package;
  /** The string index of package `i`'s name, or -1 when its name is not kept as a string. */
  nameAt(i: number): number;
  /** The string index of package `i`'s version, or -1 when its version is not kept as a string. */
  versionAt(i: number): number;
  stringCount: number;
  string(i: number): string;
  /** The strings' bytes, where a v3 document keeps them (null: v2, strings already parsed). */
  ascii: StringBytesRead | null;
  /** The edges as objects. */
  edges(): Edge[];
  /** The graph numbered (made when first asked), or null when it cannot be (an id not a string, edges of another shape). */
  numbered: (() => NumberedGraph) | null;
}

/** A v3 document's strings as bytes, read in place. */
interface StringBytesRead {
  bytes: Buffer;
  /** Where each string starts (and the last ends). */
  starts: Uint32Array;
  /** Per string, its length in bytes times 4 plus how they are kept (ASCII, UTF8, UTF16). */
  lengths: Uint32Array | Uint16Array;
}

/** `make`'s value, made when first asked. */
function once<T>(make: () => T): () => T {
  let made: T | undefined;
  let done = false;
  return () => {
    if (!done) {
      made = make();
      done = true;
    }
    return made as T;
  };
}

/** Read only: the packages as rows, each expanded when first read (by `packages` or PACKAGE_ROWS). */
function rowsOf(g: StoredGraph): PackageRows {
  const expanded: (Package | undefined)[] = new Array<Package | undefined>(g.packageCount);
  const at = (i: number): Package => (expanded[i] ??= g.expand(i, true));
  return {
    count: g.packageCount,
    package: at,
    nameAndVersion(i: number): { name: string; version: string } {
      const p = expanded[i];
      if (p !== undefined) return p;
      const name = g.nameAt(i);
      const version = g.versionAt(i);
      return name === -1 || version === -1 ? at(i) : { name: g.string(name), version: g.string(version) };
    },
    named(wanted: NameFilter): Package[] {
      // Per string of the table: 0 not asked yet, 1 wanted, 2 not.
      const verdicts = new Uint8Array(g.stringCount);
      const found: Package[] = [];
      // A name kept as ASCII is looked at in its bytes first: most are not wanted, and are never made strings.
      const ascii = wanted.mayHaveAscii === undefined ? null : g.ascii;
      for (let i = 0; i < g.packageCount; i++) {
        const name = g.nameAt(i);
        if (name === -1) {
          // A name not kept as a string: asked of the package itself.
          const p = at(i);
          if (wanted.has(p.name)) found.push(p);
          continue;
        }
        let verdict = verdicts[name] as number;
        if (verdict === 0) {
          const unwanted = ascii !== null && ((ascii.lengths[name] as number) & 3) === ASCII && wanted.mayHaveAscii?.(ascii.bytes, ascii.starts[name] as number, ascii.starts[name + 1] as number) === false;
          verdicts[name] = verdict = !unwanted && wanted.has(g.string(name)) ? 1 : 2;
        }
        if (verdict === 1) found.push(at(i));
      }
      return found;
    },
  };
}

/** The graph's object: its keys in their order; read only, packages and edges made when read, rows and numbering kept aside. */
function assembleGraph(g: StoredGraph, shared: boolean): DependencyGraph {
  const graph: Record<string, unknown> = {};
  /** The value of `key` made when first read, then kept as an ordinary property. */
  const lazily = <T>(key: string, make: () => T): void => {
    Object.defineProperty(graph, key, {
      enumerable: true,
      configurable: true,
      get(): T {
        const value = make();
        Object.defineProperty(graph, key, { value, enumerable: true, configurable: true, writable: true });
        return value;
      },
    });
  };
  for (const key of g.keys) {
    if (key === 'packages') {
      if (shared) {
        // Read only: the package objects are made if something reads them (a restricted re-match reads PACKAGE_ROWS).
        const rows = rowsOf(g);
        Object.defineProperty(graph, PACKAGE_ROWS, { value: rows, enumerable: false });
        lazily(key, () => Array.from({ length: rows.count }, (_, i) => rows.package(i)));
      } else graph[key] = Array.from({ length: g.packageCount }, (_, i) => g.expand(i, false));
    } else if (key === 'edges') {
      // Read only: the edge objects are made if something reads them (GraphPaths reads the numbered graph).
      if (shared) lazily(key, () => g.edges());
      else graph[key] = g.edges();
    } else graph[key] = g.fields[key];
  }
  if (shared && g.numbered !== null) Object.defineProperty(graph, NUMBERED_GRAPH, { value: once(g.numbered), enumerable: false });
  return graph as unknown as DependencyGraph;
}

/** How a row's values are read, in the shape's order (v2 and v3 keep them differently). */
interface RowValues {
  string(): string;
  location(): { line: number; column: number };
  /** An object kept once. */
  object(): unknown;
  /** Any other JSON value; `copy`: the package gets one of its own. */
  json(copy: boolean): unknown;
}

/** A package from its shape (keys and how each value is kept) and its row's values; `share`: objects kept once are shared, not copied. */
function packageOfShape(shape: readonly string[], share: boolean, read: RowValues): Package {
  const p: Record<string, unknown> = {};
  for (let k = 0; k < shape.length; k += 2) {
    const key = shape[k] as string;
    switch (shape[k + 1] as ValueCode) {
      case 's':
        p[key] = read.string();
        break;
      case 'n':
        p[key] = null;
        break;
      case 'l':
        p[key] = read.location();
        break;
      case 'o':
        p[key] = share ? read.object() : copyJson(read.object());
        break;
      default:
        p[key] = read.json(!share);
    }
  }
  return p as unknown as Package;
}

/** A fresh copy of a JSON value (an object kept once is given to every package as its own). */
function copyJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyJson);
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) copy[k] = copyJson(v);
  return copy;
}

/** `count` words from byte `at` of `bytes`: a view (the bytes are word-aligned), or on a big-endian machine a copy read little-endian. */
function wordsAt(bytes: Buffer, at: number, count: number): Uint32Array {
  if (LITTLE_ENDIAN) return new Uint32Array(bytes.buffer, bytes.byteOffset + at, count);
  return Uint32Array.from({ length: count }, (_, i) => bytes.readUInt32LE(at + i * 4));
}

/** `count` 16-bit values from byte `at`, as wordsAt. */
function halvesAt(bytes: Buffer, at: number, count: number): Uint16Array {
  if (LITTLE_ENDIAN) return new Uint16Array(bytes.buffer, bytes.byteOffset + at, count);
  return Uint16Array.from({ length: count }, (_, i) => bytes.readUInt16LE(at + i * 2));
}

/** How many words of a row each value kept as `code` takes. */
const VALUE_WORDS: Record<ValueCode, number> = { s: 1, n: 0, o: 1, l: 2, j: 1 };

/** The graphs of a v3 document (writeGraphs), read in place. */
function readGraphsV3(bytes: Buffer, shared: boolean): StoredGraph[] {
  if (bytes.length < HEADER_WORDS * 4 || bytes.readUInt32LE(0) !== GRAPHS_V3_MAGIC) throw new Error('fleet store: unknown graph encoding');
  const [, stringLength, jsonLength, graphCount] = wordsAt(bytes, 0, HEADER_WORDS) as unknown as [number, number, number, number];
  const padded = (n: number): number => (n + 3) & ~3;
  let at = HEADER_WORDS * 4;
  const list = (): Uint32Array | Uint16Array => {
    const head = bytes.readUInt32LE(at);
    const count = head & ~NARROW;
    if ((head & NARROW) === 0) {
      const words = wordsAt(bytes, at + 4, count);
      at += 4 + count * 4;
      return words;
    }
    const halves = halvesAt(bytes, at + 4, count);
    at += 4 + ((count + 1) >> 1) * 4;
    return halves;
  };
  const lengths = list();
  const stringCount = lengths.length;
  const json = JSON.parse(bytes.toString('utf8', at, at + jsonLength)) as GraphsJson;
  at += padded(jsonLength);
  // Where each string starts (and the last ends).
  const starts = new Uint32Array(stringCount + 1);
  starts[0] = at;
  for (let i = 0; i < stringCount; i++) starts[i + 1] = (starts[i] as number) + ((lengths[i] as number) >>> 2);
  at += padded(stringLength);
  const strings = new Array<string | undefined>(stringCount);
  const string = (i: number): string => {
    let s = strings[i];
    if (s === undefined) {
      s = strings[i] = bytes.toString(STRING_ENCODINGS[(lengths[i] as number) & 3] as BufferEncoding, starts[i], starts[i + 1]);
    }
    return s;
  };
  const { shapes, objects, values } = json;
  // Per shape: how many words its rows take (the shape's index and its values), and where it keeps the name as a string, or -1.
  const shapeWords = Int32Array.from(shapes, (shape) => {
    let words = 1;
    for (let k = 1; k < shape.length; k += 2) words += VALUE_WORDS[shape[k] as ValueCode];
    return words;
  });
  const shapeNames = stringPlaces(shapes, 'name');
  const shapeVersions = stringPlaces(shapes, 'version');
  return json.graphs.map((g, index) => {
    if (index >= graphCount) throw new Error('fleet store: a graph document lists more graphs than it holds');
    const flags = bytes.readUInt32LE(at);
    const packageCount = bytes.readUInt32LE(at + 4);
    at += 8;
    const [listedNodes, rows, nodeIds, from, to, kinds, kindTexts, roots] = [list(), list(), list(), list(), list(), list(), list(), list()] as const;
    const packageNodes = listedNodes.length === packageCount ? listedNodes : identityOf(packageCount);
    const rowStarts = new Int32Array(packageCount);
    for (let i = 0, v = 0; i < packageCount; i++) {
      rowStarts[i] = v;
      v += shapeWords[rows[v] as number] as number;
    }
    const names = once(() => rowStrings(packageCount, (i) => rows[rowStarts[i] as number] as number, (i, v) => rows[(rowStarts[i] as number) + v] as number, shapeNames));
    /** Ids met in packages expanded so far, and the node of each: the ids paths are asked for. */
    const expandedIds = new Map<string, number>();
    const expand = (i: number, share: boolean): Package => {
      let v = rowStarts[i] as number;
      const pkg = packageOfShape(shapes[rows[v++] as number] as string[], share, {
        string: () => string(rows[v++] as number),
        location: () => {
          const line = rows[v++] as number;
          return { line, column: rows[v++] as number };
        },
        object: () => objects[rows[v++] as number],
        json: (copy) => (copy ? copyJson(values[rows[v++] as number]) : values[rows[v++] as number]),
      });
      if (share && (flags & NUMBERED) !== 0) expandedIds.set(pkg.id, packageNodes[i] as number);
      return pkg;
    };
    const nodeId = (n: number): string => string(nodeIds[n] as number);
    const numbered = (): NumberedGraph => {
      let all: Map<string, number> | undefined;
      return {
        count: nodeIds.length,
        packageNodes,
        from,
        to,
        kinds,
        kindTexts: Array.from(kindTexts, string),
        roots,
        id: nodeId,
        // The ids asked for are mostly those of packages expanded (found affected); any other has every id read.
        node: (id) => expandedIds.get(id) ?? (all ??= new Map(Array.from(nodeIds, (s, n) => [string(s), n]))).get(id),
      };
    };
    return {
      keys: g.keys,
      fields: g.fields,
      packageCount,
      expand,
      nameAt: (i) => names()[i] as number,
      versionAt: (i) => {
        const v = shapeVersions[rows[rowStarts[i] as number] as number] as number;
        return v === -1 ? -1 : (rows[(rowStarts[i] as number) + v] as number);
      },
      stringCount,
      string,
      ascii: { bytes, starts, lengths },
      edges: () => g.edges ?? Array.from(from, (f, e) => ({ from: nodeId(f), to: nodeId(to[e] as number), kind: string(kindTexts[kinds[e] as number] as number) as EdgeKind })),
      numbered: shared && (flags & NUMBERED) !== 0 ? numbered : null,
    };
  });
}

/** Per shape, where its rows keep a package's `key` as a string index (the value's place in a row), or -1; `v2`: a location one value. */
function stringPlaces(shapes: readonly string[][], key: string, v2 = false): Int32Array {
  return Int32Array.from(shapes, (shape) => {
    for (let k = 0, v = 1; k < shape.length; k += 2) {
      const code = shape[k + 1] as ValueCode;
      if (shape[k] === key) return code === 's' ? v : -1;
      v += v2 && code === 'l' ? 1 : VALUE_WORDS[code];
    }
    return -1;
  });
}

/** Per row of `count`, the string index its shape keeps at `places` (an id, a name), or -1; `shapeOf` and `valueOf` read a row. */
function rowStrings(count: number, shapeOf: (i: number) => number, valueOf: (i: number, v: number) => number, places: Int32Array): Int32Array {
  const found = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const v = places[shapeOf(i)] ?? -1;
    found[i] = v === -1 ? -1 : valueOf(i, v);
  }
  return found;
}

/** 0, 1, ... count - 1. */
function identityOf(count: number): Int32Array {
  const identity = new Int32Array(count);
  for (let i = 0; i < count; i++) identity[i] = i;
  return identity;
}

/** The v2 form: a compact JSON text. */
const COMPACT_FORMAT = 'stowage-graphs-v2';

interface CompactGraph {
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

/** The graphs of a v2 document, parsed. */
function readCompactGraphs(compact: CompactGraphs, shared: boolean): StoredGraph[] {
  if (compact.format !== COMPACT_FORMAT) throw new Error(`fleet store: unknown graph encoding ${JSON.stringify(compact.format)}`);
  const { strings, shapes, objects } = compact;
  const expandPackage = (row: unknown[], share: boolean): Package => {
    let v = 1;
    return packageOfShape(shapes[row[0] as number] as string[], share, {
      string: () => strings[row[v++] as number] as string,
      location: () => {
        const [line, column] = row[v++] as [number, number];
        return { line, column };
      },
      object: () => objects[row[v++] as number],
      // v2 keeps any other JSON value in the row itself: parsed for this row alone, it is the package's own.
      json: () => row[v++],
    });
  };
  // v2 keeps a location as one value ([line, column]): its rows' places are v3's but for locations.
  const idAt = stringPlaces(shapes, 'id', true);
  const nameAt = stringPlaces(shapes, 'name', true);
  const versionAt = stringPlaces(shapes, 'version', true);
  const stringsOf = (rows: readonly unknown[][], at: Int32Array): Int32Array =>
    rowStrings(
      rows.length,
      (i) => (rows[i] as unknown[])[0] as number,
      (i, v) => (rows[i] as unknown[])[v] as number,
      at,
    );
  return compact.graphs.map((g) => {
    const flat = g.edges.length > 0 && typeof g.edges[0] !== 'number' ? null : (g.edges as number[]);
    const names = once(() => stringsOf(g.packages, nameAt));
    const roots = g.fields.roots;
    const numberable = shared && flat !== null && Array.isArray(roots) && roots.every((r) => typeof r === 'string');
    const packageIds = numberable ? stringsOf(g.packages, idAt) : null;
    return {
      keys: g.keys,
      fields: g.fields,
      packageCount: g.packages.length,
      expand: (i, share) => expandPackage(g.packages[i] as unknown[], share),
      nameAt: (i) => names()[i] as number,
      versionAt: (i) => {
        const row = g.packages[i] as unknown[];
        const v = versionAt[row[0] as number] as number;
        return v === -1 ? -1 : (row[v] as number);
      },
      stringCount: strings.length,
      string: (i) => strings[i] as string,
      ascii: null,
      edges: () => (flat === null ? (g.edges as Edge[]) : Array.from({ length: flat.length / 3 }, (_, j) => ({ from: strings[flat[j * 3] as number] as string, to: strings[flat[j * 3 + 1] as number] as string, kind: strings[flat[j * 3 + 2] as number] as EdgeKind }))),
      numbered: flat !== null && packageIds !== null && !packageIds.includes(-1) ? () => numberCompactGraph(strings, flat, packageIds, roots as string[]) : null,
    };
  });
}

/** A v2 graph numbered from its string indexes: nodes as first met among the package ids, the edges' ends, then the roots. */
function numberCompactGraph(strings: readonly string[], edges: readonly number[], packageIds: Int32Array, roots: readonly string[]): NumberedGraph {
  const nodeOf = new Int32Array(strings.length).fill(-1);
  const ids = new NodeIds();
  const byText = (id: string): number => ids.node(id);
  // An index stands for one text: numbered once per index, by its text.
  const node = (i: number): number => {
    let n = nodeOf[i] as number;
    if (n === -1) nodeOf[i] = n = byText(strings[i] as string);
    return n;
  };
  const packageNodes = packageIds.map(node);
  const count = edges.length / 3;
  const from = new Int32Array(count);
  const to = new Int32Array(count);
  const kinds = new Int32Array(count);
  const kindTexts: string[] = [];
  const kindOf = new Int32Array(strings.length).fill(-1);
  for (let e = 0, i = 0; e < count; e++, i += 3) {
    from[e] = node(edges[i] as number);
    to[e] = node(edges[i + 1] as number);
    const k = edges[i + 2] as number;
    let kind = kindOf[k] as number;
    if (kind === -1) {
      const text = strings[k] as string;
      kind = kindTexts.indexOf(text);
      if (kind === -1) kind = kindTexts.push(text) - 1;
      kindOf[k] = kind;
    }
    kinds[e] = kind;
  }
  const rootNodes = roots.map(byText);
  return { count: ids.count, packageNodes, from, to, kinds, kindTexts, roots: rootNodes, id: (n) => ids.id(n), node: (id) => ids.known(id) };
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
