import { createHash } from 'node:crypto';
import { compress, decompress } from 'zstd-napi';
import { StowageError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
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

/** The graphs as one compressed JSON document (sync and affected read them without re-parsing). */
export function encodeGraphs(graphs: readonly DependencyGraph[]): Buffer {
  return compressBytes(Buffer.from(JSON.stringify(graphs), 'utf8'));
}

export function decodeGraphs(stored: Uint8Array): DependencyGraph[] {
  return JSON.parse(decompressBytes(stored).toString('utf8')) as DependencyGraph[];
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
