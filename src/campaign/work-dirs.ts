import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The work directories of campaign attempts: one per attempt under the system's temporary
 * directory, named after the worker's process id, so that a worker that starts can remove those
 * of workers that died without cleaning up (SIGKILL, a crash, the machine's OOM killer): a
 * candidate's build tree can be gigabytes, and the attempt that takes the application over
 * starts again from the store's checkpoint, never from a dead attempt's directory.
 */

const PREFIX = 'stowage-campaign-';
/** mkdtemp's six characters after `PREFIX<pid>-`. */
const NAME = /^stowage-campaign-([1-9][0-9]{0,9})-[A-Za-z0-9]{6}$/;

export function makeWorkDir(root: string = tmpdir()): string {
  return mkdtempSync(join(root, `${PREFIX}${process.pid}-`));
}

/** Whether a process with this id exists (EPERM: it does, and belongs to someone else). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the work directories under `root` left by workers of this user whose process is gone;
 * returns their paths. A directory of a live process (this one included) is kept: a reused
 * process id keeps a dead worker's directory until that process is gone too, never the reverse.
 */
export function sweepAbandonedWorkDirs(root: string = tmpdir()): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(NAME.exec(name)?.[1] ?? NaN);
    if (!Number.isSafeInteger(pid) || pid === process.pid || processExists(pid)) continue;
    const path = join(root, name);
    try {
      const stat = lstatSync(path);
      if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Removed meanwhile by another worker, or not ours to remove: nothing to do.
    }
  }
  return removed;
}
