import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { redactCredentials } from '../core/credentials.js';
import { StowageError } from '../core/errors.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { checkedOutFiles, GitCheckout, gitPackageManifest } from '../core/git-checkout.js';
import { npmPackList } from './npm-packlist.js';
import { readNpmTarball } from '../inputs/vendor-layout.js';
import type { VendorContext } from './vendor-tree.js';
import { yarnCacheZip } from './yarn-cache-zip.js';
import { compareText } from '../core/compare-text.js';

/*
 * yarn berry's git dependencies (`resolution: "name@<repository>#commit=<sha>"`). yarn 4 clones
 * the repository at the commit (a GitHub repository: GitHub's tarball of the commit, what `git
 * archive` writes), packs it as a package manager would publish it (scriptUtils.
 * prepareExternalProject: a project with no lockfile and no `packageManager` field is packed by
 * yarn itself, `yarn pack`), turns the tarball into a zip for its cache, and records the zip's
 * sha512 as the lockfile's `checksum`. That checksum is the verification here: stowage fetches
 * the commit with git, packs it as `yarn pack` does (npm-packlist's file rules, asked of npm;
 * package.json written again as `JSON.stringify(manifest, null, 2)`; entries sorted, under
 * `package/`, 0755 for `bin` files), makes the zip and keeps it only when its sha512 is the
 * lockfile's. Whatever yarn would pack otherwise shows as another checksum, and is refused.
 *
 * Refused, naming the package: a commit that is not a full id, other parameters (`workspace=`,
 * a subdirectory), and a repository yarn would pack with another package manager or by running
 * scripts (a lockfile, a `packageManager` field, prepack/postpack scripts: yarn runs an install
 * in it first, then them).
 */

export interface BerryGitPackage {
  name: string;
  version: string;
  label: string;
  /** What git fetches, in order. */
  urls: string[];
  commit: string;
  /** GitHub's tarball (git archive: export-ignore applies) or a clone's checkout. */
  form: 'clone' | 'hosted-tarball';
  /** The lockfile's zip checksum, `10c0/<hex>`, and its hex. */
  checksum: string;
  hex: string;
}

const COMMIT = /^[0-9a-f]{40}$/;

/** The git package a berry resolution reference names, or a refusal naming it. */
export function berryGitPackage(lockfile: string, name: string, version: string, reference: string, where: string, checksum: { full: string; hex: string }): BerryGitPackage {
  const label = `${name}@${version}`;
  const hash = reference.indexOf('#');
  const repository = hash < 0 ? reference : reference.slice(0, hash);
  const params = new URLSearchParams(hash < 0 ? '' : reference.slice(hash + 1));
  const commit = params.get('commit') ?? '';
  const others = [...params.keys()].filter((k) => k !== 'commit');
  if (others.length > 0) throw new StowageError(`${where}: a git reference with ${others.map((k) => `${k}=`).join(', ')} cannot be vendored for yarn berry yet`, lockfile);
  if (!COMMIT.test(commit)) throw new StowageError(`${where}: the lockfile locks no full commit id (${JSON.stringify(commit)}), so what yarn installs is not fixed`, lockfile);
  const url = repository.replace(/^git\+/, '');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StowageError(`${where}: ${JSON.stringify(redactCredentials(repository))} is not a git URL stowage can fetch`, lockfile);
  }
  if (!['https:', 'http:', 'ssh:', 'git:'].includes(parsed.protocol)) {
    throw new StowageError(`${where}: ${JSON.stringify(redactCredentials(repository))} is not a git URL stowage can fetch`, lockfile);
  }
  const github = parsed.hostname === 'github.com' && /^\/[^/]+\/[^/]+?(\.git)?$/.test(parsed.pathname) && parsed.protocol !== 'ssh:';
  const urls = github ? [`https://github.com${parsed.pathname.replace(/(\.git)?$/, '.git')}`, `ssh://git@github.com${parsed.pathname.replace(/(\.git)?$/, '.git')}`] : [url];
  return { name, version, label, urls, commit, form: github ? 'hosted-tarball' : 'clone', checksum: checksum.full, hex: checksum.hex };
}

/** Every git package fetched at its commit, packed as yarn packs it, its zip checked against the lockfile. */
export async function packBerryGitPackages(lockfile: string, gits: readonly BerryGitPackage[], context: VendorContext): Promise<Buffer[]> {
  if (gits.length === 0) return [];
  const workDir = await mkdtemp(join(tmpdir(), 'stowage-yarn-git-'));
  try {
    const zips: Buffer[] = [];
    for (const git of gits) zips.push(await packOne(lockfile, git, context, workDir));
    return zips;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function packOne(lockfile: string, git: BerryGitPackage, context: VendorContext, workDir: string): Promise<Buffer> {
  const label = `${git.label} (git ${redactCredentials(git.urls[0] ?? '')}#${git.commit.slice(0, 8)})`;
  let checkout: GitCheckout | null = null;
  let firstError: unknown = null;
  for (const url of git.urls) {
    try {
      checkout = await GitCheckout.fetch(url, git.commit, label, 'yarn.lock', context, workDir);
      break;
    } catch (err) {
      firstError ??= err;
    }
  }
  if (checkout === null) throw firstError instanceof StowageError && firstError.file === undefined ? new StowageError(firstError.message, lockfile) : firstError;
  try {
    const files = git.form === 'hosted-tarball' ? await readNpmTarball(gzipSync(await checkout.archive('package/'), { level: 1 }), label) : await checkedOutFiles(checkout, label, lockfile);
    const manifest = gitPackageManifest(files, label, lockfile);
    if (manifest.name !== git.name || manifest.version !== git.version) {
      throw new StowageError(
        `${label}: the lockfile records ${git.name}@${git.version} but the commit's package.json says ${JSON.stringify(manifest.name ?? null)}@${JSON.stringify(manifest.version ?? null)}`,
        lockfile,
      );
    }
    const other = otherPacker(manifest, files);
    if (other !== null) {
      throw new StowageError(`${label}: yarn packs this git dependency by running ${other} in it at install time; stowage runs no package manager or script in a dependency`, lockfile);
    }
    const kept = await npmPackList(files, label, { ...process.env, ...context.env });
    const tarball = await yarnPackTarball(files.filter((f) => kept.has(f.path)), manifest);
    const zip = await yarnCacheZip(tarball, git.name, label);
    const hex = createHash('sha512').update(zip).digest('hex');
    if (hex !== git.hex) {
      throw new StowageError(
        `${label}: the zip made from the commit as yarn packs it does not have the lockfile's checksum ${git.checksum.slice(0, 20)}…; ` +
          'yarn packed it otherwise (its own file rules, or a rewritten package.json), which stowage does not reproduce',
        lockfile,
      );
    }
    return zip;
  } finally {
    await checkout.remove();
  }
}

/** What yarn would run to pack the repository, when it is more than `yarn pack` on its files. */
function otherPacker(manifest: Record<string, unknown>, files: readonly ArchiveFile[]): string | null {
  const lockfiles = ['yarn.lock', 'package-lock.json', 'pnpm-lock.yaml', 'npm-shrinkwrap.json'].filter((l) => files.some((f) => f.path === l));
  if (lockfiles.length > 0) return `the package manager its ${lockfiles[0]} names (an install, then its pack)`;
  if (manifest.packageManager !== undefined) return 'the package manager its packageManager field names';
  const scripts = typeof manifest.scripts === 'object' && manifest.scripts !== null ? (manifest.scripts as Record<string, unknown>) : {};
  // `yarn pack --install-if-needed` installs, and pack runs, only for these (not for `prepare`).
  const running = ['prepack', 'postpack'].filter((s) => typeof scripts[s] === 'string' && scripts[s] !== '');
  if (running.length > 0) return `\`yarn install\` and its ${running.join(', ')} script${running.length === 1 ? '' : 's'}`;
  return null;
}

/** The tarball `yarn pack` writes (packUtils.genPackStream): sorted paths under `package/`, package.json written again. */
async function yarnPackTarball(files: readonly ArchiveFile[], manifest: Record<string, unknown>): Promise<Buffer> {
  const bins = new Set<string>();
  if (typeof manifest.bin === 'string') bins.add(normalize(manifest.bin));
  else if (typeof manifest.bin === 'object' && manifest.bin !== null) for (const p of Object.values(manifest.bin)) if (typeof p === 'string') bins.add(normalize(p));
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk: unknown) => {
    chunks.push(chunk as Buffer);
  });
  const ended = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  const mtime = new Date(456789000 * 1000);
  for (const file of [...files].sort((a, b) => compareText(a.path, b.path))) {
    const data = file.path === 'package.json' ? Buffer.from(JSON.stringify(manifest, null, 2)) : file.data;
    await new Promise<void>((resolve, reject) =>
      tar.entry({ name: `package/${file.path}`, size: data.length, mode: bins.has(file.path) ? 0o755 : 0o644, mtime, type: 'file' }, data, (err) => (err ? reject(err) : resolve())),
    );
  }
  tar.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks), { level: 1 });
}

function normalize(path: string): string {
  return path.replace(/^\.\//, '').replace(/\/+/g, '/');
}
