import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, StowageError } from '../core/errors.js';
import { readApplication, type ApplicationRead } from '../inputs/application.js';
import { readArchive } from '../core/archive.js';
import type { DownloadProgress } from './download.js';
import { parseManifest, type VendorManifest } from '../inputs/vendor-manifest.js';
import { MANIFEST_PATH } from '../core/archive.js';
import { archiveBytes, lockfileMismatches, projectDirOf, vendorGraphs } from './vendor-app.js';
import { vendorPathProblem, type ArchiveFile } from '../core/untrusted-tar.js';
import { vendorSbom } from './vendor-sbom.js';

export interface VerifyRequest {
  archive: string;
  /** The application the archive was made for (default: the archive's directory). */
  path: string;
  /** `path` as already read (package rpm's audit gate read it): its lockfiles are not parsed again. */
  application?: Pick<ApplicationRead, 'locations' | 'graphs'>;
  cacheRoot: string;
  env: NodeJS.ProcessEnv;
  concurrency?: number;
  onProgress?: (progress: DownloadProgress) => void;
  warn: (message: string) => void;
}

export interface VerifyOutcome {
  manifest: VendorManifest;
  files: number;
  /** Empty when the archive is exactly what the lockfile(s) give. */
  problems: string[];
  sha256: string;
  /** The archive as read (once), and its files, the manifest included. */
  bytes: Buffer;
  archiveFiles: ArchiveFile[];
}

const MAX_LISTED = 10;

function differences(archived: readonly ArchiveFile[], rebuilt: readonly ArchiveFile[]): string[] {
  const ours = new Map(rebuilt.map((f) => [f.path, f]));
  const theirs = new Map(archived.map((f) => [f.path, f]));
  const out: string[] = [];
  for (const [path, file] of theirs) {
    const expected = ours.get(path);
    if (!expected) out.push(`${path}: in the archive, not in a rebuild from the lockfile`);
    else if (!expected.data.equals(file.data)) out.push(`${path}: content differs from a rebuild from the lockfile`);
    else if (expected.mode !== file.mode) out.push(`${path}: mode ${file.mode.toString(8)}, a rebuild gives ${expected.mode.toString(8)}`);
  }
  for (const path of ours.keys()) if (!theirs.has(path)) out.push(`${path}: missing from the archive`);
  if (out.length > MAX_LISTED) return [...out.slice(0, MAX_LISTED), `… and ${out.length - MAX_LISTED} more differences`];
  return out;
}

/**
 * Checks an archive against the application's lockfile(s): the lockfiles are the ones the
 * manifest names (same sha256), and vendoring them again (every download verified against
 * its checksum) writes the very same bytes. Any difference is listed, file by file.
 */
export async function verifyArchive(request: VerifyRequest): Promise<VerifyOutcome> {
  if (!existsSync(request.archive)) throw new StowageError('no such file', request.archive);
  const bytes = readFileSync(request.archive);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const files = await readArchive(bytes, request.archive);
  const manifestFile = files.find((f) => f.path === MANIFEST_PATH);
  if (!manifestFile) throw new InputError(request.archive, `no ${MANIFEST_PATH}: not a stowage vendor archive`);
  const manifest = parseManifest(manifestFile.data, request.archive);
  // Its audit record is reproduced as it stands and said to be the archive's claim: it must be one.
  if (!Array.isArray(manifest.audit.databases) || !Array.isArray(manifest.audit.findings)) {
    throw new InputError(request.archive, `${MANIFEST_PATH}: its audit record lacks the databases or findings list`);
  }
  const projectDir = projectDirOf(request.path);

  // The manifest is the archive's, so untrusted: a lockfile path climbing out of the application
  // (`../other-app/Cargo.lock`) would verify the archive against another application's lockfile.
  for (const lockfile of manifest.lockfiles) {
    const problem = vendorPathProblem(lockfile.path);
    if (problem !== null) throw new InputError(request.archive, `${MANIFEST_PATH}: lockfile path ${JSON.stringify(lockfile.path)}: ${problem}`);
  }

  const problems: string[] = [];
  for (const lockfile of manifest.lockfiles) {
    const file = join(projectDir, lockfile.path);
    if (!existsSync(file)) {
      problems.push(`${lockfile.path}: the archive was made for this lockfile, and ${projectDir} has none`);
      continue;
    }
    const actual = createHash('sha256').update(readFileSync(file)).digest('hex');
    if (actual !== lockfile.sha256) problems.push(`${lockfile.path}: changed since the archive was made (sha256 ${actual}, archive records ${lockfile.sha256})`);
  }
  if (problems.length > 0) return { manifest, files: files.length, problems, sha256, bytes, archiveFiles: files };

  // What is rebuilt is compared byte for byte, whatever the lockfile lists of each package's
  // bundle (the bundler's tarball is checked whole): an archive `vendor --omit dev` made of a
  // dev dependency bundling unlisted packages is verified as it was made.
  // What `stowage vendor PATH` vendors: the application's own lockfiles, each of which the
  // manifest must record (an archive recording none of them would rebuild as empty, and match).
  const located = request.application ?? (await readApplication([request.path], { allowUnidentified: false, allowPartial: true }));
  problems.push(...lockfileMismatches(projectDir, located.locations, manifest));
  if (problems.length > 0) return { manifest, files: files.length, problems, sha256, bytes, archiveFiles: files };
  const vendored = await vendorGraphs(projectDir, located, { ...request, cacheRoot: request.cacheRoot });
  const sbom = await vendorSbom(projectDir, located.graphs, vendored.files, vendored.packages, manifest.sourceDateEpoch, request.warn);
  const rebuiltFiles = [...vendored.files, sbom];
  if (JSON.stringify(vendored.packages) !== JSON.stringify(manifest.packages)) {
    problems.push(`${MANIFEST_PATH}: its package list differs from the lockfile's`);
  }
  const archivedFiles = files.filter((f) => f.path !== MANIFEST_PATH);
  problems.push(...differences(archivedFiles, rebuiltFiles));
  const { bytes: rebuilt } = await archiveBytes(rebuiltFiles, manifest, request.archive);
  if (problems.length === 0 && !rebuilt.equals(bytes)) {
    problems.push('the files match, but the archive bytes do not reproduce (entry order, metadata or compression differ)');
  }
  return { manifest, files: files.length, problems, sha256, bytes, archiveFiles: files };
}
