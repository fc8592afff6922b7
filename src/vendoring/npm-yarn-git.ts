import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactCredentials } from '../core/credentials.js';
import { StowageError, errorMessage } from '../core/errors.js';
import { GitCheckout } from '../core/git-checkout.js';
import type { VendorContext } from './vendor-tree.js';

/*
 * yarn v1's git dependencies (`resolved "git+https://host/repo.git#<commit>"`, `git+ssh:`,
 * `git:`), as yarn 1.22's GitFetcher takes them from an offline mirror: the file
 * `<last path segment of the URL>-<commit>` (`left.git-<sha>`), which it unpacks as a plain tar
 * of the commit's files, what it writes there itself with `git archive <commit>`. yarn checks
 * no digest of it (the lockfile has none); the commit id is the verification: stowage fetches
 * that commit with git and writes `git archive` of it, after checking its package.json against
 * the lockfile's name and version.
 *
 * Refused, naming the package: a `#` fragment that is not a full commit id, and a package with a
 * `prepare` script (yarn then clones it, runs `yarn install` in it and packs the result).
 */

export interface YarnGitPackage {
  name: string;
  version: string;
  /** `name@version (yarn.lock line N)`. */
  where: string;
  url: string;
  commit: string;
  /** The offline mirror's file name for it. */
  fileName: string;
}

const COMMIT = /^[0-9a-f]{40}$/;

/** A yarn v1 git `resolved` as yarn fetches it, or a refusal naming the entry. */
export function yarnGitPackage(lockfile: string, name: string, version: string, where: string, resolved: string): YarnGitPackage {
  const hash = resolved.indexOf('#');
  const repository = hash < 0 ? resolved : resolved.slice(0, hash);
  const commit = hash < 0 ? '' : resolved.slice(hash + 1);
  if (!COMMIT.test(commit)) throw new StowageError(`${where}: the lockfile locks ${JSON.stringify(commit)}, not a full commit id (${redactCredentials(repository)})`, lockfile);
  const url = repository.replace(/^git\+/, '');
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    throw new StowageError(`${where}: ${JSON.stringify(redactCredentials(repository))} is not a git URL stowage can fetch`, lockfile);
  }
  const base = pathname.split('/').filter(Boolean).pop() ?? '';
  if (base === '' || base === '.' || base === '..') throw new StowageError(`${where}: ${JSON.stringify(redactCredentials(repository))} names no repository`, lockfile);
  return { name, version, where, url, commit, fileName: `${decodeURIComponent(base)}-${commit}` };
}

/** Each git package's mirror file: `git archive` of its commit. */
export async function archiveYarnGitPackages(lockfile: string, gits: readonly YarnGitPackage[], context: VendorContext): Promise<Buffer[]> {
  if (gits.length === 0) return [];
  const workDir = await mkdtemp(join(tmpdir(), 'stowage-yarn1-git-'));
  try {
    const out: Buffer[] = [];
    for (const git of gits) out.push(await archiveOne(lockfile, git, context, workDir));
    return out;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function archiveOne(lockfile: string, git: YarnGitPackage, context: VendorContext, workDir: string): Promise<Buffer> {
  const label = `${git.where} (git ${redactCredentials(git.url)}#${git.commit.slice(0, 8)})`;
  let checkout: GitCheckout;
  try {
    checkout = await GitCheckout.fetch(git.url, git.commit, label, 'yarn.lock', context, workDir);
  } catch (err) {
    throw err instanceof StowageError && err.file === undefined ? new StowageError(err.message, lockfile) : err;
  }
  try {
    const entry = checkout.tree.get('package.json');
    if (entry === undefined || entry.type !== 'blob') throw new StowageError(`${label}: the commit has no package.json at its root`, lockfile);
    let manifest: unknown;
    try {
      manifest = JSON.parse((await checkout.blobs([entry.object])).get(entry.object)?.toString('utf8') ?? '');
    } catch (err) {
      throw new StowageError(`${label}: its package.json is not JSON: ${errorMessage(err)}`, lockfile);
    }
    const fields = typeof manifest === 'object' && manifest !== null && !Array.isArray(manifest) ? (manifest as Record<string, unknown>) : {};
    if (fields.name !== git.name || fields.version !== git.version) {
      throw new StowageError(
        `${label}: the lockfile records ${git.name}@${git.version} but the commit's package.json says ${JSON.stringify(fields.name ?? null)}@${JSON.stringify(fields.version ?? null)}`,
        lockfile,
      );
    }
    const scripts = typeof fields.scripts === 'object' && fields.scripts !== null ? (fields.scripts as Record<string, unknown>) : {};
    if (scripts.prepare) {
      throw new StowageError(
        `${label}: yarn prepares this git dependency at install time (for its prepare script) by running \`yarn install\` in it; stowage runs no package script and an offline install cannot fetch what it needs`,
        lockfile,
      );
    }
    return await checkout.archive('');
  } finally {
    await checkout.remove();
  }
}
