import { gitFailureReason } from '../core/git-failure.js';
import type { ExecFileOptions } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { redactCredentials } from '../core/credentials.js';
import { isolatedGitEnvironment } from '../core/git-environment.js';

/**
 * node:child_process, loaded on the first git call: a warm audit often runs no git at all,
 * and loading the module (with net, dgram and streams) is a visible part of its start-up.
 */
type ChildProcessModule = typeof import('node:child_process');
type ExecFileText = (file: string, args: string[], options: ExecFileOptions) => Promise<{ stdout: string }>;
let childProcess: ChildProcessModule | undefined;
let execFileText: ExecFileText | undefined;

function childProcessModule(): ChildProcessModule {
  // require, not import(): the bundle runs as a CommonJS script (src/cli/launcher.ts).
  childProcess ??= createRequire(import.meta.url)('node:child_process') as ChildProcessModule;
  return childProcess;
}

function execFileLazily(file: string, args: string[], options: ExecFileOptions): Promise<{ stdout: string }> {
  execFileText ??= promisify(childProcessModule().execFile) as ExecFileText;
  return execFileText(file, args, options);
}

/** A git command that failed; the message is git's own reason (see gitFailureReason). */
export class GitError extends Error {}

export { gitFailureReason };

const NOT_INSTALLED = 'the `git` command is not installed (or not on PATH)';

/** Runs the system `git`; a failure carries git's reason. No prompts, ever. */
export async function git(args: string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await execFileLazily('git', args, {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
      env: isolatedGitEnvironment(process.env),
    });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT' && e.syscall?.startsWith('spawn')) throw new GitError(NOT_INSTALLED);
    // git hides a URL's password but not a token in its query; node's message quotes the command line.
    throw new GitError(redactCredentials(gitFailureReason(e.stderr ?? '', e.message.split('\n')[0] ?? 'git failed')));
  }
}

/** Runs git with `input` on its standard input and returns its output as bytes (`cat-file --batch`). */
export function gitBytes(args: string[], cwd: string, input = ''): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = childProcessModule().spawn('git', args, {
      cwd,
      env: isolatedGitEnvironment(process.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e: NodeJS.ErrnoException) => reject(new GitError(e.code === 'ENOENT' ? NOT_INSTALLED : e.message)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new GitError(gitFailureReason(Buffer.concat(err).toString('utf8'), `git ${args[0] ?? ''} ended with ${signal ?? `exit ${code}`}`)));
    });
    // git exits early on a bad object; what it did not read is not an error of ours.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

export interface GitCommit {
  commit: string;
  /** Committer date, RFC 3339. */
  date: string;
}

export async function headCommit(dir: string, rev = 'HEAD'): Promise<GitCommit> {
  const out = (await git(['log', '-1', '--format=%H%x09%cI', rev, '--'], dir)).trim();
  const [commit, date] = out.split('\t');
  if (!commit || !date) throw new GitError(`cannot read commit ${rev} in ${dir}`);
  return { commit, date };
}

/**
 * Paths of the work tree at `dir` that differ from its HEAD commit (`changed`): modified,
 * deleted, and files git does not track (ignored ones included: a reader of the directory reads
 * them too). Files git was told not to look at count as differing, since `git diff` cannot say:
 * marked skip-worktree or assume-unchanged (edited, git still calls them clean). `hidden`: the
 * skip-worktree ones absent from the work tree, as a sparse checkout leaves every file outside
 * its cone: HEAD holds them, and a reader of the directory never sees them.
 */
export async function changedFromHead(dir: string): Promise<{ changed: string[]; hidden: string[] }> {
  const tracked = await git(['diff', '--name-only', '--no-renames', '-z', 'HEAD', '--'], dir);
  const untracked = await git(['ls-files', '-z', '--others'], dir);
  // `ls-files -v`: each path after a tag and a space; `S` skip-worktree, lower case assume-unchanged.
  const tagged = (await git(['ls-files', '-z', '-v'], dir)).split('\0').filter((line) => line.length > 2);
  const unwatched = tagged.filter((line) => line[0] === 'S' || line[0] !== line[0]?.toUpperCase()).map((line) => line.slice(2));
  const hidden = tagged.filter((line) => line[0] === 'S' && !existsSync(join(dir, line.slice(2)))).map((line) => line.slice(2));
  return { changed: [...`${tracked}${untracked}`.split('\0').filter(Boolean), ...unwatched], hidden };
}

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const BRANCH_REF = /^refs\/(?!.*\.\.)[A-Za-z0-9._/-]+$/;

/**
 * The HEAD commit of the work tree at `dir`, read from `.git` itself (HEAD, a loose ref or
 * packed-refs) as git resolves it: a warm audit of a checkout need not start git to know it.
 * Null for anything else (a `.git` file of a linked work tree, a reftable, a ref git would
 * resolve otherwise): the caller asks git.
 */
export function headCommitFromFiles(dir: string): string | null {
  try {
    const gitDir = join(dir, '.git');
    if (!statSync(gitDir).isDirectory()) return null;
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (OBJECT_ID.test(head)) return head;
    const ref = /^ref: (\S+)$/.exec(head)?.[1];
    if (ref === undefined || !BRANCH_REF.test(ref)) return null;
    const loose = readFileSync(join(gitDir, ref), { encoding: 'utf8', flag: 'r' }).trim();
    return OBJECT_ID.test(loose) ? loose : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return null;
    return packedRef(dir);
  }
}

/** A branch found only in packed-refs (after `git gc` or a fresh clone). */
function packedRef(dir: string): string | null {
  try {
    const gitDir = join(dir, '.git');
    const ref = /^ref: (\S+)$/.exec(readFileSync(join(gitDir, 'HEAD'), 'utf8').trim())?.[1];
    if (ref === undefined) return null;
    for (const line of readFileSync(join(gitDir, 'packed-refs'), 'utf8').split('\n')) {
      const [oid, name] = line.trim().split(' ');
      if (name === ref && oid !== undefined && OBJECT_ID.test(oid)) return oid;
    }
  } catch {
    // No packed-refs either: git will say what HEAD is.
  }
  return null;
}
