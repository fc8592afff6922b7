import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, sep } from 'node:path';

/**
 * The directories above `dir`, nearest first, up to the file system's root: the walk every "look
 * upward" search takes. `top`: none above it (an upload's directory, `confineTo`: what lies above
 * it is the server's, not the application's); none at all when `dir` is not inside it.
 */
export function* ancestors(dir: string, top?: string): Generator<string> {
  const limit = top === undefined ? undefined : physical(top);
  for (let current = dirname(dir); ; current = dirname(current)) {
    if (limit !== undefined && !isWithin(limit, physical(current))) return;
    yield current;
    if (dirname(current) === current) return;
  }
}

/** Whether `path` is `dir` or below it (both as given: resolve symbolic links first where it matters). */
function isWithin(dir: string, path: string): boolean {
  const inside = relative(dir, path);
  return inside === '' || (inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside));
}

/** `path` with its symbolic links resolved, or as given when it cannot be (it does not exist). */
function physical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
