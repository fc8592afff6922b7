import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import { InputError, StowageError } from './errors.js';

/**
 * The files this run has read as its input (lockfiles, manifests, the policy file, an SBOM or
 * vendor archive, a .zip database), by identity: device and inode, so another spelling of the
 * path, `..`, or a hard link still names the same file. No output may replace one of them.
 */
const inputs = new Map<string, string>();

function identity(st: Stats): string {
  return `${st.dev}:${st.ino}`;
}

/** Records `path` (whose stat is `st`, when the caller has it) as an input of this run. */
export function noteInputFile(path: string, st?: Stats): void {
  const stat = st ?? statSync(path, { throwIfNoEntry: false });
  if (stat?.isFile()) inputs.set(identity(stat), path);
}

/**
 * The input path that `st` is, as it was named when read, or undefined. An input since replaced
 * or removed (a lockfile the package manager rewrote) no longer counts: its inode may have been
 * given to a new file, which a long-running process (a campaign worker) must be able to write.
 */
export function inputFileAt(st: Stats): string | undefined {
  const key = identity(st);
  const path = inputs.get(key);
  if (path === undefined) return undefined;
  const now = statSync(path, { throwIfNoEntry: false });
  if (now !== undefined && identity(now) === key) return path;
  inputs.delete(key);
  return undefined;
}

/**
 * Forgets the inputs read under `dir`, which the caller is deleting: a campaign worker reads the
 * inputs of job after job, and the map must not grow with every work directory it removed.
 */
export function forgetInputsUnder(dir: string): void {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  for (const [id, path] of inputs) if (path.startsWith(prefix)) inputs.delete(id);
}

/** The most Node reads into one buffer (fs's kIoMaxLength, 2 GiB less a byte): past it readFileSync throws. */
export const MAX_WHOLE_FILE_BYTES = 2 ** 31 - 1;

/**
 * A file read whole into memory (`what`: an executable, a package or image archive), refused in
 * one line naming it when it is larger than `maxBytes`: never a read Node cannot make (a sparse
 * file of terabytes has the size of one), nor gigabytes held for a file no real input comes near.
 */
export function readWholeFile(path: string, maxBytes: number, what: string): Buffer {
  const size = statSync(path).size;
  if (size > maxBytes) throw new InputError(path, `${what} of ${size} bytes, larger than the ${maxBytes} bytes stowage reads whole: not read`);
  return readFileSync(path);
}

/** No real lockfile comes near this; a file past it is refused rather than read into memory. */
export const MAX_LOCKFILE_BYTES = 256 * 1024 * 1024;

/** A text input as read: its text, and the bytes that encode it (the file's, less a byte-order mark). */
export interface TextInput {
  text: string;
  bytes: Buffer;
}

/**
 * Reads a text input file defensively: refuses what is too large to be a real lockfile and
 * anything binary, strips a UTF-8 byte-order mark.
 */
export function readTextInput(path: string, maxBytes = MAX_LOCKFILE_BYTES): string {
  return readTextInputFile(path, maxBytes).text;
}

/**
 * readTextInput with the bytes the text was decoded from, for a caller that keeps them (the
 * fleet records each document's bytes): the file is read once and never encoded again.
 */
export function readTextInputFile(path: string, maxBytes = MAX_LOCKFILE_BYTES, options: { utf16?: boolean } = {}): TextInput {
  // A FIFO would block the open forever, a directory fails obscurely: only regular files.
  const kind = statSync(path, { throwIfNoEntry: false });
  if (kind === undefined) throw new StowageError('no such file', path);
  if (!kind.isFile()) throw new InputError(path, kind.isDirectory() ? 'a directory, not a file' : 'not a regular file');
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new StowageError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, path);
  }
  try {
    const st = fstatSync(fd);
    noteInputFile(path, st);
    const size = st.size;
    if (size > maxBytes) throw new InputError(path, `file is ${size} bytes, over the ${maxBytes}-byte limit for a lockfile`);
    return decodeTextInput(path, readFileSync(fd), options.utf16 === true);
  } finally {
    closeSync(fd);
  }
}

const REPLACEMENT_CHARACTER = Buffer.from('\uFFFD');

/** The UTF-16 encoding a file's byte-order mark announces (Windows PowerShell writes `>` so), or null. */
export function utf16ByteOrder(bytes: Uint8Array): 'UTF-16LE' | 'UTF-16BE' | null {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'UTF-16LE';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'UTF-16BE';
  return null;
}

/** UTF-16 bytes after their byte-order mark as text, or null when they are not UTF-16 (an odd length, an unpaired surrogate). */
export function decodeUtf16(bytes: Uint8Array, encoding: 'UTF-16LE' | 'UTF-16BE'): string | null {
  if (bytes.length % 2 !== 0) return null;
  const little = encoding === 'UTF-16LE' ? Buffer.from(bytes) : Buffer.from(bytes).swap16();
  try {
    return new TextDecoder('utf-16le', { fatal: true, ignoreBOM: true }).decode(little);
  } catch {
    return null;
  }
}

/**
 * The text of a file's bytes, refused when it is not UTF-8 text; UTF-16 with a byte-order mark
 * when the caller reads it (an SBOM), else refused as what it is. A UTF-16 text's bytes are the
 * whole file, mark included: read again, they decode to the same text.
 */
function decodeTextInput(path: string, bytes: Buffer, utf16: boolean): TextInput {
  const encoding = utf16ByteOrder(bytes);
  if (encoding !== null) {
    if (!utf16) throw new InputError(path, `${encoding} text (its byte-order mark says so), not UTF-8: convert it (iconv -f ${encoding} -t UTF-8)`);
    const text = decodeUtf16(bytes.subarray(2), encoding);
    if (text === null) throw new InputError(path, `not valid ${encoding} text, though its byte-order mark says it is`);
    const nul = text.indexOf('\0');
    if (nul !== -1) throw new InputError(path, `binary data (NUL character at character ${nul}), not ${encoding} text`);
    return { text, bytes };
  }
  // Nearly every lockfile is ASCII: checked in one native pass, it decodes as Latin-1 (a plain
  // copy) to the same string UTF-8 decoding gives, and a NUL's byte offset is its character's.
  if (isAscii(bytes)) {
    const nul = bytes.indexOf(0);
    if (nul !== -1) throw new InputError(path, `binary data (NUL byte at character ${nul}), not a text lockfile`);
    return { text: bytes.toString('latin1'), bytes };
  }
  const text = bytes.toString('utf8');
  const nul = text.indexOf('\0');
  if (nul !== -1) throw new InputError(path, `binary data (NUL byte at character ${nul}), not a text lockfile`);
  // Malformed UTF-8 decodes to U+FFFD; a U+FFFD the file really holds is valid.
  if (text.includes('\uFFFD') && !bytes.includes(REPLACEMENT_CHARACTER)) {
    throw new InputError(path, 'not valid UTF-8 text');
  }
  // A byte-order mark is EF BB BF in UTF-8: the bytes lose it with the text.
  return text.charCodeAt(0) === 0xfeff ? { text: text.slice(1), bytes: bytes.subarray(3) } : { text, bytes };
}
