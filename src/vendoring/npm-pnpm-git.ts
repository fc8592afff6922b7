import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { redactCredentials } from '../core/credentials.js';
import { base32 } from '../core/digest.js';
import { StowageError } from '../core/errors.js';
import type { Package } from '../core/package.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { checkedOutFiles, GitCheckout, gitPackageManifest } from '../core/git-checkout.js';
import { npmPackList } from './npm-packlist.js';
import { readNpmTarball } from '../inputs/vendor-layout.js';
import type { VendorContext } from './vendor-tree.js';

/*
 * pnpm 9's git dependencies, as pnpm fetches them into its store:
 * - `resolution: {type: git, repo, commit}`: pnpm clones the repository and checks the commit
 *   out (every file of the commit's tree; submodules are not cloned);
 * - `resolution: {tarball: https://codeload.github.com/USER/REPO/tar.gz/COMMIT}`, what pnpm
 *   writes for a GitHub dependency: the host's tarball of the commit (what `git archive`
 *   writes: `export-ignore` paths left out).
 * Either way pnpm then keeps what `npm pack` would pack of it (npm-packlist), and records the
 * files in its store under an index that, having no integrity to be named by, is named by the
 * package's id: `v3/<depPathToFilename(id)>/integrity.json`. With that index in the store,
 * `pnpm install --offline --frozen-lockfile` installs the package without fetching it.
 *
 * stowage fetches the locked commit with git (the commit id verifies every byte), checks the
 * commit's package.json against the lockfile's name and version, packs it as pnpm does and
 * writes the index. Refused, naming the package: a package pnpm would prepare (a `prepare`
 * script, or a prepublish/prepack/publish script without its main file: pnpm runs `pnpm install`
 * and the scripts in it), one with workspaces (pnpm's packlist and npm's then differ), a
 * symbolic link in the commit, and a codeload tarball the lockfile records an integrity for
 * (GitHub's own gzip bytes, which no checkout reproduces).
 */

/** pnpm's default `virtual-store-dir-max-length` on Linux and macOS (60 on Windows): the written .npmrc pins it. */
export const PNPM_VIRTUAL_STORE_DIR_MAX_LENGTH = 120;

/** A git package of a pnpm lockfile, as read from its snapshot key and resolution. */
export interface PnpmGitPackage {
  pkg: Package;
  label: string;
  /** pnpm's package id: the key without its name (`git+https://host/repo.git#<commit>`, `https://codeload.github.com/...`). */
  pnpmId: string;
  form: 'clone' | 'hosted-tarball';
  /** What git fetches, in order (pnpm tries HTTPS before SSH for GitHub). */
  urls: string[];
  commit: string;
}

/** One packed git package: its files as pnpm stores them, and the name of its index. */
export interface PackedPnpmGitPackage {
  git: PnpmGitPackage;
  files: ArchiveFile[];
  manifest: Record<string, unknown>;
  /** The index's directory in the store, relative to `v3/`. */
  indexDir: string;
}

const COMMIT = /^[0-9a-f]{40}$/;

/** The git package `pkg` is in a pnpm 9 lockfile, or a refusal naming it. */
export function pnpmGitPackage(lockfile: string, lockfileVersion: string, pkg: Package): PnpmGitPackage {
  const label = `${pkg.name}@${pkg.version}`;
  const pnpmId = pkg.id.slice(pkg.id.indexOf('@', 1) + 1);
  const commit = pkg.source.rev ?? '';
  const shown = redactCredentials(`${pkg.source.url ?? 'git'}#${commit}`);
  if (!lockfileVersion.startsWith('9.')) {
    throw new StowageError(`${label}: git dependencies are vendored from pnpm 9 lockfiles (lockfileVersion 9.0); lock again with pnpm 9 (${shown})`, lockfile);
  }
  if (/[#&]path:/.test(pnpmId)) throw new StowageError(`${label}: a package in a subdirectory of a git repository (${JSON.stringify(pnpmId.slice(pnpmId.search(/[#&]path:/) + 1))}) cannot be vendored for pnpm yet (${shown})`, lockfile);
  if (!COMMIT.test(commit)) throw new StowageError(`${label}: the lockfile locks ${JSON.stringify(commit)}, not a full commit id (${shown})`, lockfile);
  const codeload = /^https:\/\/codeload\.github\.com\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)\/tar\.gz\/([0-9a-f]{40})$/.exec(pnpmId);
  if (codeload) {
    if (pkg.checksum !== null) {
      throw new StowageError(
        `${label}: the lockfile records an integrity for GitHub's tarball of ${commit}, the bytes of GitHub's own gzip, which no checkout of the commit reproduces (${shown})`,
        lockfile,
      );
    }
    const [, user, project] = codeload as unknown as [string, string, string];
    return { pkg, label, pnpmId, form: 'hosted-tarball', urls: [`https://github.com/${user}/${project}.git`, `ssh://git@github.com/${user}/${project}.git`], commit };
  }
  const repo = pkg.source.url ?? '';
  if (!pnpmId.includes(`#${commit}`) || repo === '') throw new StowageError(`${label}: a git resolution without its repository and commit (${shown})`, lockfile);
  return { pkg, label, pnpmId, form: 'clone', urls: [repo], commit };
}

/** Every git package fetched at its commit and packed as pnpm packs it. */
export async function packPnpmGitPackages(lockfile: string, gits: readonly PnpmGitPackage[], context: VendorContext): Promise<PackedPnpmGitPackage[]> {
  if (gits.length === 0) return [];
  const lockfileName = lockfile.slice(Math.max(lockfile.lastIndexOf('/'), lockfile.lastIndexOf('\\')) + 1);
  const workDir = await mkdtemp(join(tmpdir(), 'stowage-pnpm-git-'));
  try {
    const packed: PackedPnpmGitPackage[] = [];
    for (const git of gits) packed.push(await packOne(lockfile, lockfileName, git, context, workDir));
    return packed;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function packOne(lockfile: string, lockfileName: string, git: PnpmGitPackage, context: VendorContext, workDir: string): Promise<PackedPnpmGitPackage> {
  const label = `${git.label} (git ${redactCredentials(git.urls[0] ?? '')}#${git.commit.slice(0, 8)})`;
  let checkout: GitCheckout | null = null;
  let firstError: unknown = null;
  for (const url of git.urls) {
    try {
      checkout = await GitCheckout.fetch(url, git.commit, label, lockfileName, context, workDir);
      break;
    } catch (err) {
      firstError ??= err;
    }
  }
  if (checkout === null) {
    // Named against the lockfile, as every other refusal here.
    throw firstError instanceof StowageError && firstError.file === undefined ? new StowageError(firstError.message, lockfile) : firstError;
  }
  try {
    const files = git.form === 'hosted-tarball' ? await archivedFiles(checkout, label) : await checkedOutFiles(checkout, label, lockfile);
    const manifest = gitPackageManifest(files, label, lockfile);
    if (manifest.name !== git.pkg.name || manifest.version !== git.pkg.version) {
      throw new StowageError(
        `${label}: the lockfile records ${git.pkg.name}@${git.pkg.version} but the commit's package.json says ${JSON.stringify(manifest.name ?? null)}@${JSON.stringify(manifest.version ?? null)}`,
        lockfile,
      );
    }
    const prepared = preparation(manifest, files);
    if (prepared !== null) {
      throw new StowageError(
        `${label}: pnpm prepares this git dependency at install time (for ${prepared}) by running \`pnpm install\` and its scripts in it; stowage runs no package script and an offline install cannot fetch what they need: publish it to a registry, or depend on a build of it`,
        lockfile,
      );
    }
    if (manifest.workspaces !== undefined) {
      throw new StowageError(`${label}: a git dependency with workspaces: what pnpm packs of it (npm-packlist 5 without the workspaces) cannot be reproduced`, lockfile);
    }
    const kept = await npmPackList(files, label, { ...process.env, ...context.env });
    return { git, files: files.filter((f) => kept.has(f.path)), manifest, indexDir: depPathToFilename(git.pnpmId, PNPM_VIRTUAL_STORE_DIR_MAX_LENGTH) };
  } finally {
    await checkout.remove();
  }
}

/** The commit as its host's tarball holds it (`git archive`: export-ignore and export-subst apply). */
async function archivedFiles(checkout: GitCheckout, label: string): Promise<ArchiveFile[]> {
  const tar = await checkout.archive('package/');
  return readNpmTarball(gzipSync(tar, { level: 1 }), label);
}

/** Why pnpm would prepare the package (preparePackage's packageShouldBeBuilt), or null. */
function preparation(manifest: Record<string, unknown>, files: readonly ArchiveFile[]): string | null {
  const scripts = typeof manifest.scripts === 'object' && manifest.scripts !== null ? (manifest.scripts as Record<string, unknown>) : {};
  const set = (name: string): boolean => scripts[name] !== undefined && scripts[name] !== null && scripts[name] !== '';
  if (set('prepare')) return 'its prepare script';
  const prepublish = ['prepublish', 'prepack', 'publish'].filter(set);
  if (prepublish.length === 0) return null;
  const main = (typeof manifest.main === 'string' ? manifest.main : 'index.js').replace(/^\.\//, '');
  return files.some((f) => f.path === main) ? null : `its ${prepublish.join(', ')} script without its main file ${JSON.stringify(main)}`;
}

/**
 * pnpm's directory name for a package id (@pnpm/dependency-path's depPathToFilename): `/ \ : * ?
 * " < > |` become `+`, and a name too long or holding capitals is cut and suffixed with the
 * base32 md5 of the whole.
 */
export function depPathToFilename(depPath: string, maxLengthWithoutHash: number): string {
  let unescaped: string;
  if (depPath.startsWith('file:')) unescaped = depPath.replace(':', '+');
  else unescaped = depPath.startsWith('/') ? depPath.slice(1) : depPath;
  let filename = unescaped.replace(/[\\/:*?"<>|]/g, '+');
  if (filename.includes('(')) filename = filename.replace(/\)$/, '').replace(/(\)\()|\(|\)/g, '_');
  if (filename.length > maxLengthWithoutHash || (filename !== filename.toLowerCase() && !filename.startsWith('file+'))) {
    return `${filename.substring(0, maxLengthWithoutHash - 27)}_${base32(createHash('md5').update(filename).digest())}`;
  }
  return filename;
}
