import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isolatedGitEnvironment } from '../core/git-environment.js';

const execFileAsync = promisify(execFile);

export class GitError extends Error {}

/** Runs the system `git`; stderr's last line is the error message. No prompts, ever. */
export async function git(args: string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', args, {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
      env: isolatedGitEnvironment(process.env),
    });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new GitError('the `git` command is not installed');
    const lines = (e.stderr ?? '').trim().split('\n').filter(Boolean);
    throw new GitError(lines.at(-1) ?? e.message);
  }
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
