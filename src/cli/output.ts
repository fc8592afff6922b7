import { writeSync } from 'node:fs';
import { terminalText } from '../core/terminal-text.js';

/**
 * Everything stowage prints goes through here. Text is written straight to file descriptors 1
 * and 2: creating process.stdout / process.stderr loads node's stream, net and tty modules, a
 * visible part of a short run's time, and a report written to a file or pipe needs none of it.
 * Where a stream is needed (a progress bar, a terminal's width and colours) the accessors below
 * create it, with the same handling of a closed pipe.
 *
 * `stowage ... | head`: a reader that stops early is not an error. What it no longer reads is
 * dropped, and the run goes on to its own exit code: a policy failure still exits 1, so a
 * pipeline with `set -o pipefail` cannot turn a failing audit into a pass.
 */

const EAGAIN_WAIT = new Int32Array(new SharedArrayBuffer(4));

/** Descriptors whose reader has gone. */
const closed = new Set<number>();

function writeAll(fd: number, text: string): void {
  if (closed.has(fd)) return; // not even encoded
  const bytes = Buffer.from(text, 'utf8');
  writeBytes(fd, bytes, 0, bytes.length);
}

function writeBytes(fd: number, bytes: Buffer, from: number, to: number): void {
  if (closed.has(fd)) return;
  for (let at = from; at < to; ) {
    try {
      at += writeSync(fd, bytes, at, to - at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') {
        closed.add(fd);
        return;
      }
      // A non-blocking descriptor inherited from the parent (a full pipe): wait, then retry.
      if (code === 'EAGAIN') Atomics.wait(EAGAIN_WAIT, 0, 0, 5);
      else throw err;
    }
  }
}

export function writeStdout(text: string): void {
  writeAll(1, text);
}

/** Bytes gathered before a write by writeStdoutPieces. */
const PIECES_BUFFER = 1 << 20;

/**
 * A report made of many pieces (a fleet's JSON, element by element), encoded into one buffer and
 * written a megabyte at a time: no string of the whole, no write per piece. A piece given as
 * bytes is UTF-8 already (text shared by many elements, encoded once).
 */
export function writeStdoutPieces(pieces: Iterable<string | Uint8Array>): void {
  const buffer = Buffer.allocUnsafe(PIECES_BUFFER);
  let used = 0;
  for (const piece of pieces) {
    if (typeof piece !== 'string') {
      if (used + piece.length > PIECES_BUFFER) {
        writeBytes(1, buffer, 0, used);
        used = 0;
      }
      if (piece.length > PIECES_BUFFER) writeBytes(1, Buffer.from(piece.buffer, piece.byteOffset, piece.length), 0, piece.length);
      else {
        buffer.set(piece, used);
        used += piece.length;
      }
      continue;
    }
    // UTF-8 takes at most three bytes per UTF-16 code unit: a piece that may not fit flushes first.
    if (used + piece.length * 3 > PIECES_BUFFER) {
      writeBytes(1, buffer, 0, used);
      used = 0;
      if (piece.length * 3 > PIECES_BUFFER) {
        writeAll(1, piece);
        continue;
      }
    }
    used += buffer.write(piece, used, 'utf8');
  }
  writeBytes(1, buffer, 0, used);
}

export function writeStderr(text: string): void {
  writeAll(2, text);
}

/** A warning on stderr, the one form every command uses: one line, whatever its data holds. */
export function warn(message: string): void {
  writeStderr(`stowage: warning: ${terminalText(message)}\n`);
}

let guarded = false;

function guardStreams(): void {
  if (guarded) return;
  guarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      // The stream's own writes (a progress bar) are dropped like ours.
      if (err.code === 'EPIPE') closed.add(stream === process.stdout ? 1 : 2);
      else throw err;
    });
  }
}

/** process.stdout, for what needs a stream (is it a terminal? how wide?). */
export function stdoutStream(): NodeJS.WriteStream {
  guardStreams();
  return process.stdout;
}

/** process.stderr, for progress bars. */
export function stderrStream(): NodeJS.WriteStream {
  guardStreams();
  return process.stderr;
}

/** Names of standard output as a file: written to descriptor 1, never replaced by a file. */
const STANDARD_OUTPUT = new Set(['-', '/dev/stdout', '/dev/fd/1', '/proc/self/fd/1']);

/**
 * The file an `-o/--output` option names, or undefined for standard output (`-`,
 * `/dev/stdout`: replacing the device with a file, as a rename would, is never meant).
 */
export function outputFile(option: string | undefined): string | undefined {
  return option === undefined || STANDARD_OUTPUT.has(option) ? undefined : option;
}

/** A size as people read it: KiB under a mebibyte, MiB above. */
export function formatBytes(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
