import { InputError } from '../core/errors.js';
import { utf16ByteOrder } from '../core/input-files.js';
import { parseJsonText } from '../core/json-text.js';
import { isCycloneDxDocument } from './cyclonedx-reader.js';
import { isSpdxDocument } from './spdx-reader.js';

/**
 * Which SBOM a file holds, told from the document itself. JSON objects have no key order and
 * tools write `bomFormat` or `spdxVersion` wherever they like (after kilobytes of `metadata`, or
 * last, as a serialiser sorting keys does), so a JSON file is parsed once and its top-level keys
 * decide; the parsed document is what the reader then reads. SBOM encodings stowage does not
 * read are told apart from lockfiles too, so their refusal says what they are.
 */

export type SbomDocument = { format: 'cyclonedx' | 'spdx'; doc: unknown };

/** The SBOM a JSON text holds, or null when it is JSON of another kind (or not JSON and names neither key). */
export function sbomDocumentOf(path: string, text: string): SbomDocument | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text) as unknown;
  } catch {
    // An SBOM with a syntax error: its error and position, not "not a lockfile".
    if (/"(bomFormat|spdxVersion)"\s*:/.test(text)) parseJsonText(path, text);
    return null;
  }
  // Both at once: which packages a tool reads depends on which key it looks for first, so
  // reading either half would audit less than the other half lists.
  if (isCycloneDxDocument(doc) && isSpdxDocument(doc)) {
    throw new InputError(path, 'both a CycloneDX SBOM ("bomFormat") and an SPDX one ("spdxVersion"): a tool may read either, so stowage reads neither');
  }
  if (isCycloneDxDocument(doc)) return { format: 'cyclonedx', doc };
  if (isSpdxDocument(doc)) return { format: 'spdx', doc };
  if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) {
    if (someString((doc as Record<string, unknown>)['@context'], (s) => s.includes('spdx.org/rdf/3'))) {
      throw new InputError(path, 'an SPDX 3 JSON-LD document: stowage reads SPDX 2.2 and 2.3 JSON and CycloneDX JSON SBOMs');
    }
  }
  return null;
}

/**
 * Whether a string anywhere inside a JSON value passes `test`; without recursion, so a value
 * nested a million arrays deep (JSON.parse takes it) is walked, not a stack overflow.
 */
function someString(value: unknown, test: (s: string) => boolean): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (test(v)) return true;
    } else if (Array.isArray(v)) pushAll(stack, v);
    else if (typeof v === 'object' && v !== null) pushAll(stack, Object.values(v));
  }
  return false;
}

/** Pushes one at a time: spread as arguments, a long array overflows the stack. */
function pushAll(stack: unknown[], values: readonly unknown[]): void {
  for (const v of values) stack.push(v);
}

/** How many bytes of a file startsJsonObject and unreadSbomEncoding look at, as headText decodes them. */
export const SBOM_HEAD_BYTES = 4096;

/**
 * A file's first bytes as the text the sniffers above read: Latin-1 (a UTF-8 BOM is then
 * `\xEF\xBB\xBF`), or what UTF-16 they are when a byte-order mark says so (the mark dropped; a
 * head cut inside a character loses that character, not what comes before it).
 */
export function headText(head: Uint8Array): string {
  const encoding = utf16ByteOrder(head);
  if (encoding === null) return Buffer.from(head).toString('latin1');
  const even = Buffer.from(head.subarray(2, 2 + ((head.length - 2) & ~1)));
  // Not strict: the head may end between the two halves of a surrogate pair.
  return (encoding === 'UTF-16LE' ? even : even.swap16()).toString('utf16le');
}

/** Whether a file's first bytes start a JSON object with a key (an SBOM whatever its name); text, so no NUL (a tar header holds some). */
export function startsJsonObject(head: string): boolean {
  return /^(?:\xEF\xBB\xBF)?\s*\{\s*"/.test(head) && !head.includes('\0');
}

/**
 * The SBOM encoding stowage does not read that a file's first bytes show (CycloneDX XML, SPDX
 * tag-value or RDF/XML), with how to get one it reads; null for anything else.
 */
export function unreadSbomEncoding(head: string): string | null {
  if (/<bom\b[^>]*cyclonedx\.org\/schema\/bom/.test(head)) {
    return 'a CycloneDX XML SBOM: stowage reads CycloneDX JSON (cyclonedx-cli: cyclonedx convert --output-format json)';
  }
  if (/^(?:\xEF\xBB\xBF)?(?:\s*#[^\n]*\n|\s*\n)*\s*SPDXVersion:\s*SPDX-/.test(head)) {
    return 'an SPDX tag-value SBOM: stowage reads SPDX 2.2 and 2.3 JSON (spdx-tools: pyspdxtools -i FILE -o FILE.spdx.json)';
  }
  if (/<rdf:RDF\b[\s\S]*spdx\.org\/rdf\/terms/.test(head)) {
    return 'an SPDX RDF/XML SBOM: stowage reads SPDX 2.2 and 2.3 JSON (spdx-tools: pyspdxtools -i FILE -o FILE.spdx.json)';
  }
  return null;
}
