import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/* Git repositories the tests make: a fixed identity and date, so commit ids are the same every run. */

/** Who commits, and when, in the tests' repositories. */
export const TEST_GIT_ENV: Readonly<Record<string, string>> = {
  GIT_AUTHOR_NAME: 'stowage test',
  GIT_AUTHOR_EMAIL: 'test@stowage.invalid',
  GIT_COMMITTER_NAME: 'stowage test',
  GIT_COMMITTER_EMAIL: 'test@stowage.invalid',
  GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
};

/** Runs git in `cwd` as the tests' committer (`extra` overrides, e.g. another date); its trimmed output. */
export function git(args: readonly string[], cwd: string, extra: NodeJS.ProcessEnv = {}): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...TEST_GIT_ENV, ...extra }, encoding: 'utf8' }).trim();
}

/** `git init` on branch `main` in `dir` (made if missing). */
export function initRepository(dir: string): string {
  mkdirSync(dir, { recursive: true });
  git(['init', '--quiet', '--initial-branch=main', '.'], dir);
  return dir;
}

/** Writes `files` (path → text) into the repository and commits everything (`extra`: e.g. another date); the commit id. */
export function commitFiles(dir: string, files: Readonly<Record<string, string>>, message = 'test commit', extra: NodeJS.ProcessEnv = {}): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git(['add', '--all'], dir, extra);
  git(['commit', '--quiet', '--no-gpg-sign', '--allow-empty', '-m', message], dir, extra);
  return git(['rev-parse', 'HEAD'], dir);
}

/**
 * Environment variables making git fetch `prefix` (`https://github.com/`) from `localBase`
 * (`file:///tmp/x/`), as a mirror does with `url.<base>.insteadOf`: the tests' stand-in for a
 * git host, without the network.
 */
export function gitUrlRewrites(rewrites: ReadonlyArray<readonly [prefix: string, localBase: string]>): Record<string, string> {
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(rewrites.length) };
  rewrites.forEach(([prefix, localBase], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = `url.${localBase}.insteadOf`;
    env[`GIT_CONFIG_VALUE_${i}`] = prefix;
  });
  return env;
}
