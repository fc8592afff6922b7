import type { ExecFileOptions } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { redactCredentials } from '../core/credentials.js';
import { isolatedGitEnvironment } from '../core/git-environment.js';

/**
 * node:child_process, loaded on the first git call: a warm audit often runs no git at all,
 * and loading the module (with net, dgram and streams) is a visible part of its start-up.
 */
type ExecFileText = (file: string, args: string[], options: ExecFileOptions) => Promise<{ stdout: string }>;
let execFileText: ExecFileText | undefined;

function execFileLazily(file: string, args: string[], options: ExecFileOptions): Promise<{ stdout: string }> {
  // require, not import(): the bundle runs as a CommonJS script (src/cli/launcher.ts).
  execFileText ??= promisify((createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process')).execFile) as ExecFileText;
  return execFileText(file, args, options);
}

export class GitError extends Error {}

/** Runs the system `git`; stderr's last line is the error message. No prompts, ever. */
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
    if (e.code === 'ENOENT') throw new GitError('the `git` command is not installed');
    const lines = (e.stderr ?? '').trim().split('\n').filter(Boolean);
    // git hides a URL's password but not a token in its query; node's message quotes the command line.
    throw new GitError(redactCredentials(lines.at(-1) ?? e.message));
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
