import { dirname } from 'node:path';

/** The directories above `dir`, nearest first, up to the file system's root: the walk every "look upward" search takes. */
export function* ancestors(dir: string): Generator<string> {
  for (let current = dirname(dir); ; current = dirname(current)) {
    yield current;
    if (dirname(current) === current) return;
  }
}
