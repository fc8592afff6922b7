import { closeSync, fsyncSync, lstatSync, openSync, readlinkSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StowageError, systemErrorReason } from './errors.js';
import { inputFileAt } from './input-files.js';

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Refuses to let an output replace anything but a regular file, and any file this run read as
 * input. Writing is a rename over the path, so a device (`/dev/null`, as root), a pipe or a
 * socket would be replaced by a regular file, and a lockfile by a report. A symbolic link is
 * refused too, never followed: in a shared directory a link planted by someone else would
 * point the write at any file the user can write (`/tmp/report.json -> ~/.bashrc`), and
 * replacing the link itself would silently break what it was for; the user names the target.
 */
export function checkOutputPath(path: string, options: { restoring?: boolean } = {}): void {
  let st: Stats | undefined;
  try {
    st = lstatSync(path, { throwIfNoEntry: false });
  } catch (err) {
    throw new StowageError(`cannot write: ${systemErrorReason(err)}`, path);
  }
  if (st === undefined) {
    const dir = dirname(path);
    const parent = statSync(dir, { throwIfNoEntry: false });
    if (parent === undefined) throw new StowageError(`cannot write: no such directory ${dir}`, path);
    if (!parent.isDirectory()) throw new StowageError(`cannot write: ${dir} is not a directory`, path);
    return;
  }
  if (st.isSymbolicLink()) {
    let target = '';
    try {
      target = ` to ${readlinkSync(path)}`;
    } catch {
      // The link's target only helps the message.
    }
    throw new StowageError(`refusing to write: a symbolic link${target}; name the file itself`, path);
  }
  if (!st.isFile()) {
    throw new StowageError(`refusing to write: ${kindOf(st)}; an output replaces only a regular file or makes a new one`, path);
  }
  const input = options.restoring === true ? undefined : inputFileAt(st);
  if (input !== undefined) {
    const also = input === path ? '' : ` (read as ${input})`;
    throw new StowageError(`refusing to write over an input of this run${also}; write the output elsewhere`, path);
  }
}

/**
 * Writes `data` to `path` so that `path` holds either its old content or all of `data`, never
 * a part: a temporary file beside it, fsync, rename over it. The temporary file is removed if
 * anything fails. What is at `path` must be a regular file or nothing (checkOutputPath).
 */
export function writeFileAtomically(path: string, data: Buffer): void {
  writeAtomically(path, data, false);
}

/**
 * Writes over a file this run read as input, the one write that may replace one: putting back
 * what it held when a change failed (fix --apply), or a change the user asked for (`fix --apply
 * --allow-overrides` adds an entry to package.json's overrides). As writeFileAtomically otherwise.
 */
export function writeOverInputAtomically(path: string, data: Buffer): void {
  writeAtomically(path, data, true);
}

function writeAtomically(path: string, data: Buffer, restoring: boolean): void {
  checkOutputPath(path, { restoring });
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
    throw new StowageError(`cannot write: ${systemErrorReason(err)}`, path);
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
