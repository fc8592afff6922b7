import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Texts appended one after another to a temporary file, read back by ranges of them: what a
 * command that changes many applications in one transaction (`fleet add`, `fleet promote
 * --snapshot`) keeps of each application's output until the transaction is committed and the
 * output written, so that its memory does not grow with the number of applications. The file
 * is unlinked as soon as it is open where the system allows it (nothing is left behind, even by
 * a killed command), and removed by close() elsewhere.
 */
export class Spool {
  private file: { fd: number; dir: string; unlinked: boolean } | null = null;
  private size = 0;
  /** Where each text ends, in bytes. */
  private readonly ends: number[] = [];

  /** `command` names the command in the temporary directory's name (`stowage-COMMAND-…`) and in errors. */
  constructor(private readonly command: string) {}

  get length(): number {
    return this.ends.length;
  }

  /** Appends one text, given in parts (strings, and UTF-8 bytes). */
  append(parts: readonly (string | Uint8Array)[]): void {
    if (this.file === null) {
      const dir = mkdtempSync(join(tmpdir(), `stowage-${this.command}-`));
      const path = join(dir, 'json');
      const fd = openSync(path, 'w+', 0o600);
      let unlinked = true;
      try {
        rmSync(dir, { recursive: true });
      } catch {
        unlinked = false;
      }
      this.file = { fd, dir, unlinked };
    }
    // One write per text, not per part (an application's JSON is a few parts per finding).
    let length = 0;
    for (const part of parts) length += typeof part === 'string' ? Buffer.byteLength(part, 'utf8') : part.length;
    const bytes = Buffer.allocUnsafe(length);
    let used = 0;
    for (const part of parts) {
      if (typeof part === 'string') used += bytes.write(part, used, 'utf8');
      else {
        bytes.set(part, used);
        used += part.length;
      }
    }
    for (let at = 0; at < bytes.length; ) at += writeSync(this.file.fd, bytes, at, bytes.length - at, this.size + at);
    this.size += bytes.length;
    this.ends.push(this.size);
  }

  /**
   * The texts from `start` to before `end` as UTF-8, less their last `trim` bytes, with `before`
   * and `after` around them: one buffer, the file read straight into its place.
   */
  readBytes(start: number, end: number, trim = 0, before: Uint8Array = EMPTY, after: Uint8Array = EMPTY): Buffer {
    const from = start === 0 ? 0 : (this.ends[start - 1] as number);
    const length = this.file === null || end <= start ? 0 : Math.max(0, (this.ends[end - 1] as number) - from - trim);
    const bytes = Buffer.allocUnsafe(before.length + length + after.length);
    bytes.set(before, 0);
    for (let at = 0; at < length; ) {
      const read = readSync((this.file as { fd: number }).fd, bytes, before.length + at, length - at, from + at);
      if (read === 0) throw new Error(`fleet ${this.command}: its temporary file is shorter than written`);
      at += read;
    }
    bytes.set(after, before.length + length);
    return bytes;
  }

  /** The index after the last text from `start` that fits (with at least one) in about `bytes`. */
  endWithin(start: number, bytes: number): number {
    const from = start === 0 ? 0 : (this.ends[start - 1] as number);
    let end = start + 1;
    while (end < this.ends.length && (this.ends[end] as number) - from <= bytes) end++;
    return Math.min(end, this.ends.length);
  }

  /** Every text, in order, as UTF-8 a piece of about `bytes` (or one text) at a time: for writeStdoutPieces. */
  *pieces(bytes = PIECE_BYTES): Generator<Buffer> {
    for (let start = 0; start < this.ends.length; ) {
      const end = this.endWithin(start, bytes);
      yield this.readBytes(start, end);
      start = end;
    }
  }

  clear(): void {
    this.size = 0;
    this.ends.length = 0;
    if (this.file !== null) ftruncateSync(this.file.fd, 0);
  }

  close(): void {
    if (this.file === null) return;
    closeSync(this.file.fd);
    if (!this.file.unlinked) rmSync(this.file.dir, { recursive: true, force: true });
    this.file = null;
  }
}

const EMPTY = new Uint8Array(0);

/** What Spool.pieces reads at once: writeStdoutPieces writes a megabyte at a time. */
const PIECE_BYTES = 1 << 20;
