import { lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SOURCE_DATE_EPOCH, readArchive, tarBytes } from '../core/archive.js';
import { StowageError } from '../core/errors.js';
import { vendorPathProblem } from '../core/untrusted-tar.js';
import { applicationSourceFiles } from '../package/srpm.js';
import { compressBytes, documentDigest } from './revision.js';
import type { FleetStore, RevisionSource } from './store/store.js';
import { makeDirectory } from '../core/make-directory.js';

/**
 * An application's source, kept with the revision `fleet add DIR` records: exactly the files
 * `stowage package rpm` takes as Source0 (src/package/srpm.ts chooses them), as one
 * reproducible tar, content-addressed and zstd-compressed in the store's documents. A campaign
 * rebuilds the registered revision from it, never from the application's own directory.
 */

/** The source as the store keeps it: `content` is the zstd tar, `digest` names the tar's bytes. */
export interface KeptSource extends RevisionSource {
  size: number;
  content: Buffer;
}

/** Reads DIR's source files (Source0's selection) into one document. */
export async function readSource(dir: string): Promise<KeptSource> {
  const { files } = await applicationSourceFiles(dir);
  const tar = tarBytes(files, DEFAULT_SOURCE_DATE_EPOCH);
  return { digest: documentDigest(tar), size: tar.length, files: files.length, content: compressBytes(tar) };
}

/**
 * Keeps DIR's source with a revision that has none yet (the first source kept wins, so nothing
 * is read for one that has): read only when a revision is recorded, never for unchanged content.
 * A source that cannot be read is not an error: the returned warning says campaigns will report
 * needs-source. DIR may be given as already read (readSourceOrWarning, in a worker thread).
 */
export async function keepSourceOf(tx: FleetStore, revisionId: number, dir: string | SourceReading): Promise<string | null> {
  if ((await tx.revisionSource(revisionId)) !== null) return null;
  const reading = typeof dir === 'string' ? await readSourceOrWarning(dir) : dir;
  if ('warning' in reading) return reading.warning;
  await keepSource(tx, revisionId, reading.kept);
  return null;
}

/** DIR's source as read, or the warning that it cannot be (an error of DIR); other errors are thrown. */
export type SourceReading = { kept: KeptSource } | { warning: string };

export async function readSourceOrWarning(dir: string): Promise<SourceReading> {
  try {
    return { kept: await readSource(dir) };
  } catch (err) {
    if (!(err instanceof StowageError)) throw err;
    return { warning: `source not kept (campaigns will report needs-source): ${err.line}` };
  }
}

/** Stores a read source and ties it to a revision (in the caller's transaction). */
export async function keepSource(tx: FleetStore, revisionId: number, source: KeptSource): Promise<void> {
  await tx.putDocuments([{ digest: source.digest, size: source.size, content: source.content }]);
  await tx.setRevisionSource(revisionId, { digest: source.digest, files: source.files });
}

/**
 * Writes a revision's kept source into `workDir` (which must be empty or absent), and returns
 * how many files were written. The archive is read as untrusted (it comes from the store, which
 * another process may have written): absolute paths, `..`, links and devices are refused before
 * anything is written, and no file is written through a link already in `workDir`.
 * Null when the revision has no source (it was added from a lockfile, SBOM or archive alone).
 */
export async function materialiseSource(store: FleetStore, revisionId: number, workDir: string): Promise<number | null> {
  const source = await store.revisionSource(revisionId);
  if (source === null) return null;
  const content = await store.document(source.digest);
  if (content === null) throw new StowageError(`the fleet store has no document ${source.digest} (the source of revision ${revisionId})`, store.location);
  const label = `the source of revision ${revisionId}`;
  const files = await readArchive(content, label);
  // Refused as a whole before the first write: nothing half-written.
  for (const f of files) {
    const problem = vendorPathProblem(f.path);
    if (problem !== null) throw new StowageError(`${label}: ${JSON.stringify(f.path)}: ${problem}`);
  }
  makeDirectory(workDir);
  if (readdirSync(workDir).length > 0) throw new StowageError('the work directory is not empty', workDir);
  for (const f of files) {
    const segments = f.path.split('/');
    let dir = workDir;
    for (const segment of segments.slice(0, -1)) {
      dir = join(dir, segment);
      const st = lstatSync(dir, { throwIfNoEntry: false });
      if (st === undefined) mkdirSync(dir);
      else if (!st.isDirectory()) throw new StowageError(`${label}: ${JSON.stringify(f.path)}: a parent is not a directory`);
    }
    // `wx`: never through an existing file or link.
    writeFileSync(join(workDir, f.path), f.data, { mode: f.mode, flag: 'wx' });
  }
  return files.length;
}
