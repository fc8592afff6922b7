import { chmodSync, existsSync, lstatSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StowageError } from '../core/errors.js';
import { runTool, type ToolLimits } from '../core/run-tool.js';
import { writeArchive } from '../core/archive.js';
import { vendorPathProblem } from '../core/untrusted-tar.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { isolatedGitEnvironment } from '../core/git-environment.js';
import { makeDirectory } from '../core/make-directory.js';

/**
 * The application's source archive (Source0) and the source RPM.
 *
 * Which files: in a git checkout, exactly the tracked files (`git ls-files`, as they are in
 * the working tree); otherwise the directory, less build outputs and VCS data: `target/`,
 * `node_modules/`, `.git/`, the vendored tree (`vendor/`, which Source1 brings) and earlier
 * archives or packages (`*.tar.*`, `*.tgz`, `*.rpm`) at any depth. Symbolic links are
 * refused in both cases: an RPM build has no use for one that points out of the tree.
 */

const EXCLUDED_DIRS = new Set(['target', 'node_modules', '.git', 'vendor', '.cargo-home', '.npm-home']);
const EXCLUDED_FILE = /\.(tar\.(gz|zst|xz|bz2)|tgz|rpm|crate)$/;
/** A vendor archive (Source1 brings it), left out even when committed: Source0 must not hold it twice. */
const VENDOR_ARCHIVE = /(?:^|[/-])vendor\.(?:tar\.(?:zst|gz)|tgz)$/;

/**
 * The tracked files when `dir` is (inside) a git work tree, relative to `dir`; null otherwise.
 * git runs without the caller's repository overrides (GIT_DIR from a hook would otherwise
 * list another repository's files).
 */
async function gitTrackedFiles(dir: string): Promise<string[] | null> {
  // The repository's own settings that run commands (core.fsmonitor for ls-files) are overridden there too.
  const git = (args: string[]): ReturnType<typeof runTool> => runTool('git', args, { cwd: dir, env: isolatedGitEnvironment(process.env) });
  const probe = await git(['rev-parse', '--is-inside-work-tree']).catch(() => null);
  if (probe === null || probe.status !== 0 || probe.stdout.toString('utf8').trim() !== 'true') return null;
  const listed = await git(['ls-files', '-z', '--cached', '--full-name', '--', '.']);
  if (listed.status !== 0) throw new StowageError(`git ls-files failed: ${listed.stderr.trim().split('\n').pop() ?? ''}`, dir);
  const prefix = (await git(['rev-parse', '--show-prefix'])).stdout.toString('utf8').trim();
  return listed.stdout
    .toString('utf8')
    .split('\0')
    .filter((p) => p !== '')
    .map((p) => p.slice(prefix.length))
    // A tracked file deleted from the working tree is not part of what is packaged.
    .filter((p) => existsSync(join(dir, p)));
}

function walk(dir: string, prefix: string, out: string[]): void {
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!EXCLUDED_DIRS.has(entry.name)) walk(dir, rel, out);
    } else if (entry.name === '.git') {
      // VCS data as a `.git` directory is: a `gitdir:` file names a repository elsewhere (or in
      // the tree), which git, run in the unpacked source, would take for the work tree's.
      continue;
    } else if (!EXCLUDED_FILE.test(entry.name)) {
      out.push(rel);
    }
  }
}

/**
 * The application's files, relative to `dir`, with `exclude` (the outputs being written)
 * left out. Each file's mode is normalised to 0644 or 0755 as in the vendor archive.
 */
export async function applicationSourceFiles(dir: string, exclude: ReadonlySet<string> = new Set()): Promise<{ files: ArchiveFile[]; fromGit: boolean }> {
  const tracked = await gitTrackedFiles(dir);
  let paths: string[];
  if (tracked !== null) paths = tracked;
  else {
    paths = [];
    walk(dir, '', paths);
  }
  const files: ArchiveFile[] = [];
  for (const path of paths.sort()) {
    if (exclude.has(path) || VENDOR_ARCHIVE.test(path)) continue;
    const problem = vendorPathProblem(path);
    if (problem) throw new StowageError(`cannot package ${JSON.stringify(path)}: ${problem}`, dir);
    const full = join(dir, path);
    const st = lstatSync(full);
    if (st.isSymbolicLink()) throw new StowageError(`${path} is a symbolic link; the source archive holds regular files only`, dir);
    if (st.isDirectory()) continue; // a git submodule: its files are not the application's own
    if (!st.isFile()) throw new StowageError(`${path} is not a regular file`, dir);
    files.push({ path, mode: (st.mode & 0o111) !== 0 ? 0o755 : 0o644, data: readFileSync(full) });
  }
  if (files.length === 0) throw new StowageError('no source files to package', dir);
  return { files, fromGit: tracked !== null };
}

/** Source0: the files under `NAME-VERSION/`, gzip, every mtime the epoch, owner 0. */
export function sourceArchiveBytes(files: readonly ArchiveFile[], topDir: string, epoch: number): Promise<Buffer> {
  return writeArchive(
    files.map((f) => ({ ...f, path: `${topDir}/${f.path}` })),
    { compression: 'gz', mtime: epoch },
  );
}

/** The macros that make rpmbuild's output depend on its inputs only. */
const REPRODUCIBLE_MACROS: readonly [string, string][] = [
  ['source_date_epoch_from_changelog', '1'],
  ['use_source_date_epoch_as_buildtime', '1'],
  ['clamp_mtime_to_source_date_epoch', '1'],
  ['_buildhost', 'stowage'],
];

/**
 * `rpmbuild -bs` in a private top directory holding the spec and its sources; returns the
 * .src.rpm's bytes and file name. Build dependencies are not checked (`--nodeps`): they are
 * needed where the package is built, not where its source package is made.
 */
export async function buildSourceRpm(
  spec: { name: string; text: string },
  sources: { name: string; data: Buffer }[],
  topDir: string,
  limits?: ToolLimits,
): Promise<{ fileName: string; data: Buffer }> {
  for (const sub of ['SOURCES', 'SPECS', 'SRPMS', 'BUILD', 'RPMS']) makeDirectory(join(topDir, sub));
  // Explicit modes: the SRPM payload records them, and the user's umask must not change the bytes.
  for (const source of sources) {
    writeFileSync(join(topDir, 'SOURCES', source.name), source.data);
    chmodSync(join(topDir, 'SOURCES', source.name), 0o644);
  }
  const specPath = join(topDir, 'SPECS', spec.name);
  writeFileSync(specPath, spec.text);
  chmodSync(specPath, 0o644);
  // A relative top directory (rpmbuild runs inside it): the SRPM header keeps the %prep script
  // with its paths expanded, so an absolute temporary path would differ from run to run.
  const args = ['-bs', '--nodeps', '--define', '_topdir .'];
  for (const [macro, value] of REPRODUCIBLE_MACROS) args.push('--define', `${macro} ${value}`);
  args.push(join('SPECS', spec.name));
  // SOURCE_DATE_EPOCH comes from the changelog: one from the environment must not override it.
  // HOME is the private top directory, so no ~/.rpmmacros (a %packager, a %dist) reaches the header.
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', HOME: topDir };
  delete env.SOURCE_DATE_EPOCH;
  const result = await runTool('rpmbuild', args, { cwd: topDir, env, ...(limits ? { limits } : {}) });
  if (result.status !== 0) {
    const reason = result.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${result.status}`;
    throw new StowageError(`rpmbuild -bs failed: ${reason}`, spec.name);
  }
  const built = readdirSync(join(topDir, 'SRPMS')).filter((f) => f.endsWith('.src.rpm'));
  if (built.length !== 1) throw new StowageError(`rpmbuild -bs wrote ${built.length} source packages, expected one`, spec.name);
  const fileName = built[0] as string;
  return { fileName, data: readFileSync(join(topDir, 'SRPMS', fileName)) };
}
