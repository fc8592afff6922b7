import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StowageError, errorMessage } from './errors.js';

/**
 * Writes `data` to `path` so that `path` holds either its old content or all of `data`, never
 * a part: a temporary file beside it, fsync, rename over it. The temporary file is removed if
 * anything fails.
 */
export function writeFileAtomically(path: string, data: Buffer): void {
  // Unique enough with the pid, and opened exclusively ('wx'): a clash fails, never clobbers.
  // (Not node:crypto: loading it costs more start-up time than this whole write.)
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new StowageError(`cannot write: ${errorMessage(err)}`, path);
  }
  syncDirectory(dirname(path));
}

/** Makes the rename itself durable; some file systems refuse to open a directory, which is fine. */
function syncDirectory(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Best effort: the data is already written and renamed.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
