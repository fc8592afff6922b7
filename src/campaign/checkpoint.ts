import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { StowageError } from '../core/errors.js';
import { vendorPathProblem } from '../core/untrusted-tar.js';
import { compressBytes, decompressBytes, documentDigest } from '../fleet/revision.js';
import type { WorkCheckpoint } from '../fleet/store/campaign-store.js';
import type { FleetStore } from '../fleet/store/store.js';
import { compareText } from '../core/compare-text.js';

/**
 * A campaign application's work directory, kept in the store after each completed step so that
 * an attempt that takes over from a dead worker (on any machine) resumes after the last step
 * done rather than starting the application over. What is kept is what differs from the
 * revision's source materialised in `source/` (the changed lockfile, the kept originals, the
 * artifacts, the pipeline's progress), each file a content-addressed document: the vendor
 * archive is stored once however many checkpoints name it, and once more as the candidate's
 * artifact costs nothing. Scratch directories (the build tree, the package managers' caches)
 * are left out: the pipeline makes them again from the rest.
 */

/** path (relative, `/`-separated) -> sha256 of the bytes, for the files of a directory. */
export type TreeDigests = Map<string, string>;

interface TreeFile {
  path: string;
  mode: number;
  abs: string;
}

/** Regular files under `dir` (links and special files are not work the pipeline keeps), skipping `skip` (absolute). */
function filesUnder(dir: string, skip: ReadonlySet<string>): TreeFile[] {
  const out: TreeFile[] = [];
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) => compareText(a.name, b.name))) {
      const abs = join(at, entry.name);
      if (skip.has(abs)) continue;
      if (entry.isDirectory()) walk(abs);
      else if (entry.isFile()) out.push({ path: relative(dir, abs).split(sep).join('/'), mode: lstatSync(abs).mode & 0o777, abs });
    }
  };
  walk(dir);
  return out;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** The digests of the files under `dir` as `prefix/path` (the base a checkpoint is taken against). */
export function treeDigests(dir: string, prefix: string): TreeDigests {
  return new Map(filesUnder(dir, new Set()).map((f) => [`${prefix}/${f.path}`, sha256(readFileSync(f.abs))]));
}

export interface TakenCheckpoint {
  checkpoint: WorkCheckpoint;
  /** The documents to put with it (compressed, as the store keeps them). */
  documents: { digest: string; size: number; content: Buffer }[];
}

/**
 * The checkpoint of `workDir` against `base` (the digests of the materialised source, as
 * `source/...`), leaving out the `scratch` directories (absolute). `stored` holds the digests
 * this attempt has already put, so an unchanged vendor archive is not compressed again.
 */
export function takeCheckpoint(workDir: string, base: TreeDigests, scratch: readonly string[], stored: ReadonlySet<string>): TakenCheckpoint {
  const files: WorkCheckpoint['files'] = [];
  const documents: TakenCheckpoint['documents'] = [];
  const seen = new Set<string>();
  for (const f of filesUnder(workDir, new Set(scratch))) {
    seen.add(f.path);
    const bytes = readFileSync(f.abs);
    if (base.get(f.path) === sha256(bytes)) continue;
    const digest = documentDigest(bytes);
    files.push({ path: f.path, mode: f.mode, digest });
    if (!stored.has(digest) && !documents.some((d) => d.digest === digest)) documents.push({ digest, size: bytes.length, content: compressBytes(bytes) });
  }
  const removed = [...base.keys()].filter((p) => !seen.has(p)).sort();
  return { checkpoint: { files, removed }, documents };
}

/**
 * Lays a checkpoint over `workDir`, in which the revision's source is already materialised.
 * The checkpoint comes from the store (another process wrote it): every path is checked
 * before anything is written, and no file is written through a link.
 */
export async function restoreCheckpoint(store: FleetStore, checkpoint: WorkCheckpoint, workDir: string): Promise<void> {
  const label = 'the campaign checkpoint';
  for (const path of [...checkpoint.files.map((f) => f.path), ...checkpoint.removed]) {
    const problem = vendorPathProblem(path);
    if (problem !== null) throw new StowageError(`${label}: ${JSON.stringify(path)}: ${problem}`, store.location);
  }
  const contents = new Map<string, Buffer>();
  for (const f of checkpoint.files) {
    const content = contents.get(f.digest) ?? (await store.document(f.digest));
    if (content === null) throw new StowageError(`${label}: the fleet store has no document ${f.digest} (${f.path})`, store.location);
    contents.set(f.digest, content);
  }
  for (const path of checkpoint.removed) rmSync(join(workDir, path), { force: true });
  for (const f of checkpoint.files) {
    let dir = workDir;
    for (const segment of f.path.split('/').slice(0, -1)) {
      dir = join(dir, segment);
      const st = lstatSync(dir, { throwIfNoEntry: false });
      if (st === undefined) mkdirSync(dir);
      else if (!st.isDirectory()) throw new StowageError(`${label}: ${JSON.stringify(f.path)}: a parent is not a directory`, store.location);
    }
    const target = join(workDir, f.path);
    rmSync(target, { force: true });
    // `wx`: a file of its own, never through a link.
    writeFileSync(target, decompressBytes(contents.get(f.digest) as Buffer), { mode: f.mode, flag: 'wx' });
  }
}
