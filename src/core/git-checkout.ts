import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, StowageError } from './errors.js';
import type { ArchiveFile } from './untrusted-tar.js';
import { isolatedGitEnvironment } from './git-environment.js';
import type { RegistryAllowance } from './registry-allowance.js';
import { compareText } from './compare-text.js';
import { gitFailureReason } from './git-failure.js';

/*
 * A git repository fetched at one locked commit, for the ecosystems whose lockfiles lock git
 * dependencies (cargo's git crates, npm's git packages). The commit id is the verification: git
 * checks every object it fetches against its id, and the commit names its tree.
 */

/** One entry of `git ls-tree -r`. */
export interface GitTreeEntry {
  mode: string;
  type: string;
  object: string;
  path: string;
}

/** What a fetch reads of its caller's context (vendoring's, a fix's): the environment git runs with, and the places it may reach. */
export interface GitFetchContext {
  env: NodeJS.ProcessEnv;
  /** A campaign's: the only places git may fetch from; absent: anywhere. */
  registries?: RegistryAllowance;
}

function gitEnv(context: GitFetchContext): NodeJS.ProcessEnv {
  // Only the transports cargo and npm fetch with: never `ext::` and friends from a lockfile.
  return isolatedGitEnvironment({ ...process.env, ...context.env }, { GIT_ALLOW_PROTOCOL: 'file:git:http:https:ssh' });
}

function runGit(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: options.cwd, env: options.env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => reject(new StowageError(`cannot run git: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else {
        // git's own reason, not its closing advice ("and the repository exists.").
        const message = gitFailureReason(Buffer.concat(err).toString('utf8'), `exit ${code}`);
        reject(new GitFailed(message));
      }
    });
    if (child.stdin) {
      // git may exit before reading all of stdin; its exit status tells what happened.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}

class GitFailed extends Error {}

/** The repository could not be fetched, or holds no such commit: what the lockfile locks is out of reach. */
export class GitUnreachable extends StowageError {
  constructor(message: string) {
    super(message);
    this.name = 'GitUnreachable';
  }
}

/** A repository fetched at one commit: its tree, and blob contents on demand. */
export class GitCheckout {
  private constructor(
    private readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
    readonly rev: string,
    readonly tree: Map<string, GitTreeEntry>,
  ) {}

  static async fetch(url: string, rev: string, label: string, lockfileName: string, context: GitFetchContext, workDir: string): Promise<GitCheckout> {
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(rev)) throw new StowageError(`${label}: the locked git revision "${rev}" is not a full commit id`);
    context.registries?.check(url, `${label}: git source`);
    const env = gitEnv(context);
    // Bounded to the allowed places, git follows no redirect (it would go wherever the server says).
    const bounded = context.registries !== undefined ? ['-c', 'http.followRedirects=false'] : [];
    const dir = await mkdtemp(join(workDir, 'git-'));
    await runGit(['init', '--quiet', '--bare', dir], { cwd: workDir, env });
    try {
      // Most servers (and every local repository) hand out a commit by id: one shallow fetch.
      await runGit([...bounded, 'fetch', '--quiet', '--depth=1', '--no-tags', '--', url, rev], { cwd: dir, env });
    } catch {
      try {
        await runGit([...bounded, 'fetch', '--quiet', '--', url, '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'], { cwd: dir, env });
      } catch (err) {
        throw new GitUnreachable(`${label}: cannot fetch ${url}: ${(err as Error).message}`);
      }
    }
    try {
      await runGit(['cat-file', '-e', `${rev}^{commit}`], { cwd: dir, env });
    } catch {
      throw new GitUnreachable(`${label}: ${url} has no commit ${rev} (the revision ${lockfileName} locks)`);
    }
    const listing = await runGit(['ls-tree', '-r', '-z', '--full-tree', rev], { cwd: dir, env });
    const tree = new Map<string, GitTreeEntry>();
    for (const record of listing.toString('utf8').split('\0')) {
      if (!record) continue;
      const tab = record.indexOf('\t');
      const [mode = '', type = '', object = ''] = record.slice(0, tab).split(' ');
      const path = record.slice(tab + 1);
      tree.set(path, { mode, type, object, path });
    }
    return new GitCheckout(dir, env, rev, tree);
  }

  /** Blob contents by object id, read in one `git cat-file --batch`. */
  async blobs(objects: readonly string[]): Promise<Map<string, Buffer>> {
    const unique = [...new Set(objects)];
    const out = await runGit(['cat-file', '--batch'], { cwd: this.dir, env: this.env, input: unique.map((o) => `${o}\n`).join('') });
    const blobs = new Map<string, Buffer>();
    let offset = 0;
    for (const object of unique) {
      const eol = out.indexOf(0x0a, offset);
      const header = out.subarray(offset, eol).toString('utf8').split(' ');
      if (header[1] !== 'blob') throw new StowageError(`git object ${object} is not a blob`);
      const size = Number(header[2]);
      blobs.set(object, out.subarray(eol + 1, eol + 1 + size));
      offset = eol + 1 + size + 1;
    }
    return blobs;
  }

  /**
   * The commit's files as `git archive` writes them (the tar GitHub's codeload serves), every
   * path under `prefix`; `export-ignore` attributes apply, as they do there.
   */
  archive(prefix: string): Promise<Buffer> {
    return runGit(['archive', '--format=tar', `--prefix=${prefix}`, this.rev], { cwd: this.dir, env: this.env });
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * The commit's tree as a clone checks it out, sorted by path: blobs only (submodules, mode
 * 160000, are not cloned: an empty directory, which packs to nothing); a symbolic link is refused.
 */
export async function checkedOutFiles(checkout: GitCheckout, label: string, lockfile: string): Promise<ArchiveFile[]> {
  const entries = [...checkout.tree.values()];
  const link = entries.find((e) => e.mode === '120000');
  if (link !== undefined) throw new StowageError(`${label}: the commit holds a symbolic link (${JSON.stringify(link.path)}); stowage does not vendor links`, lockfile);
  const blobs = entries.filter((e) => e.type === 'blob');
  const contents = await checkout.blobs(blobs.map((e) => e.object));
  return blobs
    .map((e): ArchiveFile => ({ path: e.path, mode: e.mode === '100755' ? 0o755 : 0o644, data: contents.get(e.object) as Buffer }))
    .sort((a, b) => compareText(a.path, b.path));
}

/** The package.json at the root of a git package's files, as a JSON object, or a one-line refusal naming the package. */
export function gitPackageManifest(files: readonly ArchiveFile[], label: string, lockfile: string): Record<string, unknown> {
  const file = files.find((f) => f.path === 'package.json');
  if (file === undefined) throw new StowageError(`${label}: the commit has no package.json at its root`, lockfile);
  let manifest: unknown;
  try {
    manifest = JSON.parse(file.data.toString('utf8'));
  } catch (err) {
    throw new StowageError(`${label}: its package.json is not JSON: ${errorMessage(err)}`, lockfile);
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) throw new StowageError(`${label}: its package.json is not a JSON object`, lockfile);
  return manifest as Record<string, unknown>;
}
