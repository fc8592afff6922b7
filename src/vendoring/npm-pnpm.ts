import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StowageError, errorMessage } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import type { Package } from '../core/package.js';
import { digestsFromSri, sriFromDigest, type Digest } from '../core/digest.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { DEFAULT_NPM_REGISTRY } from '../ecosystems/npm/registry-source.js';
import { readManifestObject } from '../ecosystems/npm/lockfile-reading.js';
import { PUBLIC_REGISTRY_CONFIG, downloadUrlOfResolved, readNpmrcRegistries, registryFor, registryTarballUrl, type NpmRegistryConfig } from '../ecosystems/npm/registry.js';
import type { VendorContext, VendorResult } from './vendor-tree.js';
import type { VendoredPackage } from '../inputs/vendor-layout.js';
import { FileSet, checkedUrl, compare, npmrcWithSettings, readConfigFile, refuseCarried, requireInsideProject } from './npm-support.js';
import { carriedPackages } from '../ecosystems/npm/local-tarball.js';
import { PNPM_GIT_INDEX_NAME, PNPM_STORE_DIR, pnpmContentPath as contentPath, readNpmTarball } from '../inputs/vendor-layout.js';
import { sourceDateEpoch } from '../core/archive.js';
import { redactCredentials } from '../core/credentials.js';
import { PNPM_VIRTUAL_STORE_DIR_MAX_LENGTH, packPnpmGitPackages, pnpmGitPackage, type PnpmGitPackage } from './npm-pnpm-git.js';

/*
 * pnpm (lockfile 5.x, 6.0, 9.0): pnpm's own content-addressable store, store format v3 (pnpm 8
 * and 9), inside the application, and an `.npmrc` naming it (`store-dir`, `offline`).
 * `pnpm install --offline --frozen-lockfile` then finds every package by its lockfile integrity
 * and links it from the store; the lockfile is not changed. pnpm has no offline mirror of
 * tarballs: its store holds the unpacked files, so that is what the archive holds (as pnpm 9
 * writes them, read from its @pnpm/store.cafs):
 *
 * - every file of every package at `v3/files/<hex[0:2]>/<hex[2:]>` by the sha512 of its bytes,
 *   `-exec` appended when any execute bit is set;
 * - per package, `v3/files/<hex[0:2]>/<hex[2:]>-index.json` named by the hex of the tarball's
 *   integrity (what the lockfile records), listing each file's path, integrity, mode and size.
 *   `checkedAt` is the archive's epoch in milliseconds: a file whose mtime is later (extracted
 *   by a tar that does not keep times) is hashed again by pnpm before use, never trusted blindly.
 *
 * The tarballs are read by stowage's own reader (a hostile one is refused as for npm), with the
 * top directory stripped as pnpm strips it.
 */


/** Settings the written `.npmrc` decides; the application's own lines for them are commented out. */
const OWNED_SETTINGS = ['store-dir', 'offline', 'prefer-offline', 'verify-store-integrity', 'virtual-store-dir-max-length'];


/** One tarball the lockfile installs from a registry or a URL. */
interface StoredTarball {
  pkg: Package;
  label: string;
  url: string;
  digests: Digest[];
}

export async function vendorPnpm(graph: DependencyGraph, context: VendorContext): Promise<VendorResult> {
  refuseLaterPnpm(context.projectDir);
  const npmrcPath = join(context.projectDir, '.npmrc');
  const existing = existsSync(npmrcPath) ? readConfigFile(npmrcPath) : null;
  const config = existing === null ? PUBLIC_REGISTRY_CONFIG : readNpmrcRegistries(npmrcPath, existing, { ...process.env, ...context.env });
  const tarballs: StoredTarball[] = [];
  const gits: PnpmGitPackage[] = [];
  const lockfileVersion = graph.format.slice('pnpm-lock.yaml '.length);
  for (const pkg of graph.packages) {
    // Checked before anything is fetched: a refusal costs no download.
    if (pkg.source.kind === 'git') gits.push(pnpmGitPackage(graph.path, lockfileVersion, pkg));
    else {
      const tarball = storedTarball(graph.path, context.projectDir, pkg, config);
      if (tarball !== null) tarballs.push(tarball);
    }
  }
  const bodies = await context.downloader.fetchAll(tarballs.map((t) => ({ url: t.url, expected: t.digests, label: t.label })));
  const packedGits = await packPnpmGitPackages(graph.path, gits, context);
  const epochMs = sourceDateEpoch({ ...process.env, ...context.env }) * 1000;

  const files = new FileSet();
  const packages: VendoredPackage[] = [];
  for (const [i, t] of tarballs.entries()) {
    const unpacked = await readNpmTarball(bodies[i] as Buffer, t.label);
    // pnpm installs what a tarball by URL carries, and its lockfile lists no bundled package (checked
    // with pnpm 9.15.9: node_modules/carrier/node_modules/minimist from carrier's http tarball).
    if (t.pkg.source.kind !== 'registry') refuseCarried(graph.path, t.label, t.url, carriedPackages(unpacked));
    const index = storeFiles(files, unpacked, epochMs);
    const indexPath = contentPath((t.digests[0] as Digest).hex, 'index');
    const record = { name: t.pkg.name, version: t.pkg.version, requiresBuild: requiresBuild(unpacked, t.label), files: index };
    files.add(indexPath, Buffer.from(JSON.stringify(record)));
    packages.push({ ecosystem: graph.ecosystem, name: t.pkg.name, version: t.pkg.version, source: t.url, checksum: t.digests.map(sriFromDigest).join(' '), path: indexPath });
  }
  for (const packed of packedGits) {
    const index = storeFiles(files, packed.files, epochMs);
    const record = Buffer.from(JSON.stringify({ name: packed.git.pkg.name, version: packed.git.pkg.version, requiresBuild: requiresBuild(packed.files, packed.git.label), files: index }));
    // Named by the package's id, having no integrity; pnpm reads the second when scripts are ignored.
    const indexPath = `${PNPM_STORE_DIR}/v3/${packed.indexDir}/${PNPM_GIT_INDEX_NAME}`;
    files.add(indexPath, record);
    files.add(`${PNPM_STORE_DIR}/v3/${packed.indexDir}/integrity-not-built.json`, record);
    const source = redactCredentials(`${packed.git.urls[0] ?? ''}#${packed.git.commit}`);
    packages.push({ ecosystem: graph.ecosystem, name: packed.git.pkg.name, version: packed.git.pkg.version, source, checksum: null, path: indexPath });
  }
  if (tarballs.length > 0 || packedGits.length > 0) {
    const settings = [
      '; stowage: install from the vendored pnpm store, without the network.',
      `store-dir=${PNPM_STORE_DIR}`,
      'offline=true',
      'verify-store-integrity=true',
      // The store's index of a git package is named by a directory name this length bounds.
      ...(packedGits.length > 0 ? [`virtual-store-dir-max-length=${PNPM_VIRTUAL_STORE_DIR_MAX_LENGTH}`] : []),
    ];
    files.add('.npmrc', Buffer.from(npmrcWithSettings(npmrcPath, existing, OWNED_SETTINGS, settings, context.warn)));
  }
  packages.sort((a, b) => compare(a.name, b.name) || compare(a.version, b.version));
  return { files: files.sorted(), packages };
}

/**
 * A project whose package.json `packageManager` names pnpm 10 or later is installed by a pnpm
 * that reads its own store format (`v10/`, index files under `v10/index/`), never the `v3/` one
 * written here: `pnpm install --offline` found no package in the archive
 * (ERR_PNPM_NO_OFFLINE_TARBALL, checked with pnpm 10.33.0 on vercel/serve). Refused before
 * anything is fetched, rather than an archive, and a source RPM, that cannot install.
 */
function refuseLaterPnpm(projectDir: string): void {
  const manifestPath = join(projectDir, 'package.json');
  if (!existsSync(manifestPath)) return;
  const manifest = readManifestObject(manifestPath, readFileSync(manifestPath, 'utf8'));
  const declared = manifest.packageManager;
  if (typeof declared !== 'string') return;
  const major = /^pnpm@(\d+)\./.exec(declared)?.[1];
  if (major === undefined || Number(major) < 10) return;
  throw new StowageError(
    `packageManager ${JSON.stringify(declared.split('+')[0])} names pnpm ${major}, which installs offline only from its own store format (v10); stowage vendors pnpm 8 and 9's store (v3), in which pnpm ${major} finds no package: install and lock with pnpm 9 (packageManager pnpm@9) to vendor this application`,
    manifestPath,
  );
}

/** Each file of a package into the store by its sha512; the package's index of them. */
function storeFiles(files: FileSet, unpacked: readonly ArchiveFile[], epochMs: number): Record<string, { checkedAt: number; integrity: string; mode: number; size: number }> {
  const index: Record<string, { checkedAt: number; integrity: string; mode: number; size: number }> = {};
  for (const file of unpacked) {
    const hex = createHash('sha512').update(file.data).digest('hex');
    files.add(contentPath(hex, file.mode), file.data, file.mode);
    index[file.path] = { checkedAt: epochMs, integrity: sriFromDigest({ algorithm: 'sha512', hex }), mode: file.mode, size: file.data.length };
  }
  return index;
}

/**
 * What pnpm fetches for a package; null for the application's own (importers, links, directories).
 * pnpm leaves a registry package's tarball URL out of the lockfile when it is the configured
 * registry's (`registry=`, `@scope:registry=` in the project's `.npmrc`): it is fetched from there,
 * as pnpm fetches it, not from the public registry (a mirror or a private registry may be the only
 * one that has it). The lockfile's integrity is checked either way.
 */
function storedTarball(lockfile: string, projectDir: string, pkg: Package, config: NpmRegistryConfig): StoredTarball | null {
  const label = `${pkg.name}@${pkg.version}`;
  const { source } = pkg;
  switch (source.kind) {
    case 'workspace':
      return null;
    case 'path':
      requireInsideProject(lockfile, projectDir, label, source.url ?? '.');
      return null;
    case 'git':
      return null;
    case 'registry':
    case 'other':
      break;
  }
  const spec = source.url ?? '';
  if (source.kind === 'other' && spec.startsWith('file:')) {
    // A local tarball is part of the application's source; pnpm reads it from there.
    requireInsideProject(lockfile, projectDir, label, spec.slice('file:'.length));
    return null;
  }
  if (/^https:\/\/(bitbucket\.org|gitlab\.com)\//.test(spec) && spec.includes('tar.gz')) {
    // pnpm fetches these as git-hosted tarballs and packs them again; only GitHub's are vendored.
    throw new StowageError(`${label}: git dependencies on GitLab and Bitbucket cannot be vendored for pnpm yet (${spec})`, lockfile);
  }
  if (pkg.checksum === null) throw new StowageError(`${label}: the lockfile records no integrity, so its bytes cannot be verified`, lockfile);
  const digests = digestsFromSri(pkg.checksum);
  if (digests.length === 0) throw new StowageError(`${label}: integrity ${JSON.stringify(pkg.checksum)} has no sha512, sha256 or sha1 digest`, lockfile);
  const url =
    source.kind === 'registry'
      ? registryTarballUrl(source.isDefaultRegistry ? registryFor(config, pkg.name) : (source.url ?? DEFAULT_NPM_REGISTRY), pkg.name, pkg.version)
      : downloadUrlOfResolved(checkedUrl(spec, label));
  return { pkg, label, url, digests };
}

/** As pnpm's pkgRequiresBuild: an install script, a `binding.gyp` or `.hooks/` make it build. */
function requiresBuild(files: readonly ArchiveFile[], label: string): boolean {
  if (files.some((f) => f.path === 'binding.gyp' || f.path.startsWith('.hooks/'))) return true;
  const manifest = files.find((f) => f.path === 'package.json');
  if (manifest === undefined) return false;
  let doc: unknown;
  try {
    doc = JSON.parse(manifest.data.toString('utf8'));
  } catch (err) {
    throw new StowageError(`${label}: package.json is not valid JSON: ${errorMessage(err)}`);
  }
  const scripts = typeof doc === 'object' && doc !== null ? (doc as { scripts?: unknown }).scripts : undefined;
  if (typeof scripts !== 'object' || scripts === null) return false;
  const s = scripts as Record<string, unknown>;
  return Boolean(s.preinstall) || Boolean(s.install) || Boolean(s.postinstall);
}
