import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { StowageError, systemErrorReason } from '../core/errors.js';
import { makeDirectory } from '../core/make-directory.js';

/**
 * An upload to POST /api/v1/apps/{name}/revisions, written to a fresh temporary directory so
 * `fleet add`'s own reader reads it exactly as it reads an application on disk:
 * - multipart/form-data: every file part is one document, named by its filename, which may hold
 *   a relative path (`crates/core/Cargo.toml`): the lockfiles and manifests of a directory, or
 *   one lockfile, SBOM or vendor archive; the text field `stowage-entry` may say which to read;
 * - application/json or application/vnd.cyclonedx+json: a CycloneDX SBOM.
 * Names are checked before anything is written: no absolute path, no `..`, nothing a file
 * system would read otherwise.
 */

export interface UploadedApp {
  /** The temporary directory holding the documents. */
  dir: string;
  /** What `fleet add` reads: the directory, or the one file. */
  path: string;
  /** Removes everything written. */
  dispose(): void;
}

export interface UploadedDocument {
  name: string;
  bytes: Uint8Array;
}

const MAX_DOCUMENTS = 1000;
/** The multipart field (text) naming what to read: see writeUpload. */
export const ENTRY_FIELD = 'stowage-entry';
/** The name a CycloneDX SBOM sent as the request body is stored under. */
export const SBOM_DOCUMENT = 'bom.cdx.json';

/**
 * Refuses a multipart body of more parts than an upload may hold (its documents and the entry
 * field) before it is parsed: a parser makes an object of every part, so 60 MB of empty parts
 * would cost gigabytes of memory and a minute of work before the count was seen. Counts the
 * delimiters (`--BOUNDARY` at the start or after CRLF), which no part's content may hold; a body
 * with no usable boundary is left to the parser to refuse.
 */
export function checkMultipartParts(body: Uint8Array, contentType: string): void {
  const boundary = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  const given = boundary?.[1] ?? boundary?.[2];
  if (given === undefined) return;
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`\r\n--${given}`);
  // Parts are what lies between delimiters: one more delimiter than parts (the closing one).
  let delimiters = bytes.subarray(0, delimiter.length - 2).equals(delimiter.subarray(2)) ? 1 : 0;
  for (let at = bytes.indexOf(delimiter); at >= 0; at = bytes.indexOf(delimiter, at + delimiter.length)) {
    delimiters += 1;
    if (delimiters - 1 > MAX_DOCUMENTS + 1) throw new StowageError(`the upload holds more than ${MAX_DOCUMENTS} documents`);
  }
}

/**
 * The JSON objects and arrays an upload's JSON documents (lockfiles, manifests, an SBOM) may open
 * in all. Parsed, and read by the audit's readers, each costs hundreds of bytes of the server's
 * memory: 64 MiB of `{},` is 22 million of them, and one such upload took a server past its heap
 * (14 minutes of garbage collection, then out of memory: every client's server gone). A real
 * document opens one every 50 to 200 bytes (jellyfin-web's package-lock.json: one per 187), so a
 * 64 MiB upload of real lockfiles or an SBOM stays well under; one million is about 650 MB at most.
 */
export const MAX_JSON_CONTAINERS = 1_000_000;

/**
 * How many objects and arrays a JSON text opens (`{` and `[` outside strings), counting no further
 * than past `limit`; 0 for a document that is not JSON (its first character, after a byte-order
 * mark and white space, is neither). UTF-8 and UTF-16 (with its byte-order mark) alike.
 */
export function jsonContainers(bytes: Uint8Array, limit: number): number {
  let step = 1;
  let low = 0;
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  else if (bytes[0] === 0xff && bytes[1] === 0xfe) [step, low, start] = [2, 0, 2];
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) [step, low, start] = [2, 1, 2];
  // A UTF-16 code unit as a byte when it is ASCII, else 0x80 (never a JSON delimiter).
  const unit = step === 1 ? (i: number): number => bytes[i] as number : (i: number): number => (bytes[i + 1 - low] === 0 ? (bytes[i + low] as number) : 0x80);
  let i = start;
  while (i < bytes.length && [0x20, 0x09, 0x0a, 0x0d].includes(unit(i))) i += step;
  if (unit(i) !== 0x7b && unit(i) !== 0x5b) return 0;
  let count = 0;
  let inString = false;
  for (; i < bytes.length; i += step) {
    const b = unit(i);
    if (inString) {
      if (b === 0x5c) i += step;
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if ((b === 0x7b || b === 0x5b) && ++count > limit) return count;
  }
  return count;
}

/** Why the upload's JSON documents are too many objects and arrays to read (see MAX_JSON_CONTAINERS), or null. */
export function jsonContainersProblem(documents: readonly UploadedDocument[], limit = MAX_JSON_CONTAINERS): string | null {
  let left = limit;
  for (const d of documents) {
    left -= jsonContainers(d.bytes, left);
    if (left < 0) {
      return `${d.name}: the upload's JSON documents open more than ${limit} objects and arrays (a JSON bomb: a real lockfile or SBOM of 64 MiB opens a few hundred thousand); nothing was stored`;
    }
  }
  return null;
}

/** Why a document name cannot be written under the upload's directory, or null. */
export function documentNameProblem(name: string): string | null {
  if (name === '' || name.length > 1000) return 'a document name is 1 to 1000 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\:]/.test(name)) return 'a document name holds no control characters, "\\" or ":"';
  if (name.startsWith('/')) return 'a document name is a relative path';
  if (name.split('/').some((part) => part === '' || part === '.' || part === '..')) return 'a document name has no empty, "." or ".." part';
  return null;
}

/**
 * Writes the documents; `entry` is what `fleet add` reads among them: `.` (the directory), or the
 * name of one document (a `NAME.Cargo.lock`, an SBOM, an archive). By default the one document
 * when there is one at the top, else the directory.
 */
export function writeUpload(documents: readonly UploadedDocument[], entry: string | null = null): UploadedApp {
  if (documents.length === 0) throw new StowageError('the upload holds no document: send lockfiles and manifests (multipart/form-data) or a CycloneDX SBOM (application/json)');
  if (documents.length > MAX_DOCUMENTS) throw new StowageError(`the upload holds ${documents.length} documents, more than ${MAX_DOCUMENTS}`);
  const seen = new Set<string>();
  for (const d of documents) {
    const problem = documentNameProblem(d.name);
    if (problem !== null) throw new StowageError(`document ${JSON.stringify(d.name)}: ${problem}`);
    if (seen.has(d.name)) throw new StowageError(`document ${JSON.stringify(d.name)} is uploaded twice`);
    seen.add(d.name);
  }
  if (entry !== null && entry !== '.' && !seen.has(entry)) throw new StowageError(`${ENTRY_FIELD} ${JSON.stringify(entry)} is not "." or the name of an uploaded document`);
  const dir = mkdtempSync(join(tmpdir(), 'stowage-upload-'));
  const dispose = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    for (const d of documents) {
      const file = join(dir, d.name);
      makeDirectory(dirname(file));
      writeFileSync(file, d.bytes, { flag: 'wx' });
    }
  } catch (err) {
    dispose();
    throw new StowageError(`cannot write the uploaded documents (a name is both a file and a directory?): ${systemErrorReason(err)}`);
  }
  const only = documents.length === 1 ? (documents[0] as UploadedDocument) : null;
  const file = entry ?? (only !== null && !only.name.includes('/') ? only.name : '.');
  const path = file === '.' ? dir : join(dir, file);
  return { dir, path, dispose };
}

/** A message of `fleet add` about the temporary copy, naming the documents as they were uploaded. */
export function uploadMessage(message: string, app: UploadedApp): string {
  return message.split(`${app.dir}/`).join('').split(app.dir).join('upload');
}
