import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkOutputPath, writeFileAtomically } from '../core/atomic-write.js';
import { StowageError, errorMessage } from '../core/errors.js';
import type { RpmOutput } from './rpm-package.js';
import { makeDirectory } from '../core/make-directory.js';

/**
 * Writes a package's outputs (spec, sources, SRPM) into `dir`, made if missing: all or
 * nothing, every path checked before the first is written, and a failed write removes what
 * this call already wrote.
 */
export function writeRpmOutputs(dir: string, outputs: readonly RpmOutput[]): void {
  try {
    makeDirectory(dir);
  } catch (err) {
    throw new StowageError(`cannot create the output directory: ${errorMessage(err)}`, dir);
  }
  for (const output of outputs) checkOutputPath(join(dir, output.name));
  const written: string[] = [];
  try {
    for (const output of outputs) {
      const path = join(dir, output.name);
      writeFileAtomically(path, output.data);
      written.push(path);
    }
  } catch (err) {
    for (const path of written) rmSync(path, { force: true });
    throw err;
  }
}
