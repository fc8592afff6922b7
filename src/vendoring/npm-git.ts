import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { redactCredentials } from '../core/credentials.js';
import { StowageError, errorMessage } from '../core/errors.js';
import { hostedGitRepository, type HostedGitRepository } from '../ecosystems/npm/hosted-git.js';
import { GitCheckout } from '../core/git-checkout.js';
import type { VendorContext } from './vendor-tree.js';

/*
 * npm git dependencies, as npm 11 installs them (pacote's GitFetcher): for a repository on
 * GitHub, GitLab or Bitbucket locked at a full commit id, npm fetches the host's tarball of the
 * commit through its HTTP cache (make-fetch-happen), unpacks it and packs the directory again
 * with npm-packlist; it never compares an integrity (npm/rfcs#525). So the vendored form is that
 * tarball, filed in the npm cache under the URL npm requests: stowage fetches the locked commit
 * with git (the commit id verifies every byte), writes what `git archive` writes for it (what
 * the hosts serve), and `npm ci --offline` reads it from the cache.
 *
 * Refused, each naming the package:
 * - any other git URL: npm clones it with git at install time, whatever its cache holds;
 * - a reference that is not a full commit id (a branch, `semver:`, a `::path:` subdirectory);
 * - a package with a `prepare` (or build, install, prepack...) script or workspaces: npm then
 *   runs `npm install` in the unpacked commit, which fetches its development dependencies and
 *   runs its scripts. Stowage runs no package script, and an offline install cannot do it.
 */

/** One git package of the lockfile, as npm records it. */
export interface LockedGitPackage {
  /** The lockfile location (`node_modules/a`), for messages. */
  location: string;
  name: string;
  /** The version the lockfile records for it (what the audit compared); '' when none. */
  version: string;
  /** `git+ssh://git@github.com/user/repo.git#<commit>` as the lockfile writes it. */
  resolved: string;
}

/** A git package ready to be filed in the npm cache. */
export interface PackedGitPackage {
  locked: LockedGitPackage;
  /** The URL npm requests the tarball from at install time. */
  requestUrl: string;
  tarball: Buffer;
  /** The repository and commit, credentials left out, for the vendor manifest. */
  source: string;
}

/** The scripts for which pacote runs `npm install` in a git dependency before packing it. */
const PREPARING_SCRIPTS = ['preinstall', 'install', 'postinstall', 'build', 'prepack', 'prepare'];

const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Every git package fetched at its locked commit and packed as the host serves it. */
export async function packGitPackages(lockfile: string, gits: readonly LockedGitPackage[], context: VendorContext): Promise<PackedGitPackage[]> {
  if (gits.length === 0) return [];
  const lockfileName = lockfile.slice(Math.max(lockfile.lastIndexOf('/'), lockfile.lastIndexOf('\\')) + 1);
  // Checked before anything is fetched: a refusal costs no download.
  const planned = gits.map((locked) => ({ locked, ...planGit(lockfile, locked) }));
  const workDir = await mkdtemp(join(tmpdir(), 'stowage-npm-git-'));
  const packed = new Map<string, Promise<Buffer>>();
  try {
    const results: PackedGitPackage[] = [];
    for (const { locked, repository, commit } of planned) {
      const key = `${repository.httpsUrl}#${commit}`;
      let tarball = packed.get(key);
      if (tarball === undefined) {
        tarball = packCommit(lockfile, lockfileName, locked, repository, commit, context, workDir);
        packed.set(key, tarball);
      }
      results.push({
        locked,
        requestUrl: repository.tarballUrl(commit),
        tarball: await tarball,
        source: redactCredentials(locked.resolved),
      });
    }
    return results;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

function planGit(lockfile: string, locked: LockedGitPackage): { repository: HostedGitRepository; commit: string } {
  const where = `${locked.name} (${locked.location})`;
  const hash = locked.resolved.indexOf('#');
  const url = hash < 0 ? locked.resolved : locked.resolved.slice(0, hash);
  const committish = hash < 0 ? '' : locked.resolved.slice(hash + 1);
  const repository = hostedGitRepository(url);
  if (repository === null) {
    throw new StowageError(
      `${where}: npm clones ${redactCredentials(url)} with git at install time, whatever its cache holds, so no vendored file can stand in for it ` +
        '(stowage vendors npm git dependencies on GitHub, GitLab and Bitbucket, which npm fetches as tarballs)',
      lockfile,
    );
  }
  if (!COMMIT.test(committish)) {
    throw new StowageError(`${where}: the lockfile locks ${JSON.stringify(committish)}, not a full commit id, so what npm installs is not fixed (${redactCredentials(url)})`, lockfile);
  }
  return { repository, commit: committish };
}

async function packCommit(
  lockfile: string,
  lockfileName: string,
  locked: LockedGitPackage,
  repository: HostedGitRepository,
  commit: string,
  context: VendorContext,
  workDir: string,
): Promise<Buffer> {
  const where = `${locked.name} (${locked.location})`;
  const label = `${where} (git ${repository.httpsUrl}#${commit.slice(0, 8)})`;
  // As pacote: HTTPS first (public repositories need no key), then SSH.
  let checkout: GitCheckout;
  try {
    checkout = await GitCheckout.fetch(repository.httpsUrl, commit, label, lockfileName, context, workDir);
  } catch (httpsError) {
    try {
      checkout = await GitCheckout.fetch(repository.sshUrl, commit, label, lockfileName, context, workDir);
    } catch {
      throw httpsError;
    }
  }
  try {
    const entry = checkout.tree.get('package.json');
    if (entry === undefined || entry.type !== 'blob') throw new StowageError(`${label}: the commit has no package.json at its root`, lockfile);
    const text = (await checkout.blobs([entry.object])).get(entry.object)?.toString('utf8') ?? '';
    let manifest: unknown;
    try {
      manifest = JSON.parse(text);
    } catch (err) {
      throw new StowageError(`${label}: its package.json is not JSON: ${errorMessage(err)}`, lockfile);
    }
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) throw new StowageError(`${label}: its package.json is not a JSON object`, lockfile);
    const fields = manifest as Record<string, unknown>;
    if (locked.version !== '' && fields.version !== locked.version) {
      throw new StowageError(
        `${label}: the lockfile records version ${locked.version} (the version audited) but the commit's package.json says ${JSON.stringify(fields.version ?? null)}`,
        lockfile,
      );
    }
    const scripts = typeof fields.scripts === 'object' && fields.scripts !== null ? (fields.scripts as Record<string, unknown>) : {};
    const preparing = PREPARING_SCRIPTS.filter((s) => typeof scripts[s] === 'string');
    if (preparing.length > 0 || fields.workspaces !== undefined) {
      const why = preparing.length > 0 ? `its ${preparing.join(', ')} script${preparing.length === 1 ? '' : 's'}` : 'its workspaces';
      throw new StowageError(
        `${label}: npm prepares this git dependency at install time (for ${why}) by running \`npm install\` in it, which fetches its development dependencies and runs its scripts; ` +
          'stowage runs no package script and an offline install cannot fetch them: publish it to a registry, or depend on a build of it',
        lockfile,
      );
    }
    // The name the hosts give the top directory; npm strips it when unpacking.
    const tar = await checkout.archive(`${repository.project}-${commit}/`);
    return gzipSync(tar, { level: 9 });
  } finally {
    await checkout.remove();
  }
}
