import { statSync, type Stats } from 'node:fs';

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

/** The input path that `st` is, as it was named when read, or undefined. */
export function inputFileAt(st: Stats): string | undefined {
  return inputs.get(identity(st));
}
