import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';

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

/**
 * A bare repository `<root>/someone/<name>.git` holding one commit of `files` (made in a work tree
 * under `scratch`), ready for git's dumb HTTP protocol; its commit id.
 */
export function bareRepository(scratch: string, root: string, name: string, files: Readonly<Record<string, string>>): string {
  const work = initRepository(join(scratch, 'work', name));
  const id = commitFiles(work, files);
  const bare = join(root, 'someone', `${name}.git`);
  git(['clone', '--quiet', '--bare', work, bare], scratch);
  git(['update-server-info'], bare);
  return id;
}

/** Serves `root` read-only over HTTP on 127.0.0.1: git's dumb protocol needs only files (for package managers that take no file:// URL). */
export async function serveRepositories(root: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent((req.url ?? '/').split('?')[0] as string)));
    if (!path.startsWith(root) || !existsSync(path) || !statSync(path).isFile()) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.end(readFileSync(path));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
