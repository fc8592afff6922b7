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
