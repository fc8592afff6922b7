import { mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Makes `dir` and its missing parents, as `mkdir -p`. Written out rather than
 * `mkdirSync(dir, { recursive: true })`: Node 20's recursive mkdir loops forever when the kernel
 * answers ENOENT for a parent that exists (`/proc/x`, or a directory removed under it), so a
 * mistyped `--store /proc/x/fleet.sqlite` or `-o /proc/x` hung the command instead of failing.
 * Here each missing directory is made once, from the top, and the first failure is thrown with
 * its real reason (ENOENT, EACCES, EROFS, ENOTDIR, ENOSPC) and the path it concerns.
 */
export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    const st = existing(at);
    if (st !== undefined) {
      if (!st.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${at}'`), { code: 'ENOTDIR', path: at, syscall: 'mkdir' });
      break;
    }
    missing.push(at);
    if (dirname(at) === at) break;
  }
  for (const at of missing.reverse()) {
    try {
      mkdirSync(at);
    } catch (err) {
      // Made meanwhile by another process: as good as made here.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && statSync(at, { throwIfNoEntry: false })?.isDirectory() === true) continue;
      throw err;
    }
  }
}

/** The directory entry at `path`, or undefined when there is none (a parent that is a file counts as none: the parent is looked at next). */
function existing(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}
