import { StowageError } from '../core/errors.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { readZipEntries } from '../advisories/zip.js';
import { readNpmTarball, readPlainPackageTar } from './npm-support.js';
import { isPnpmIndexPath, pnpmStoredManifest } from './npm-pnpm.js';
import type { VendoredPackage } from './vendor-tree.js';

/**
 * One vendored npm package as its package manager will install it, whichever layout holds it
 * (npm's cache or yarn v1's mirror: the tarball; pnpm's store: the package's index; yarn berry's
 * cache: the zip, the package under `node_modules/<name>/`): the paths of its files, relative to
 * the package's directory, and the bytes of its package.json (null when it has none).
 */
export interface VendoredNpmPackage {
  paths: string[];
  manifest: Buffer | null;
}

export async function readVendoredNpmPackage(pkg: VendoredPackage, byPath: ReadonlyMap<string, ArchiveFile>): Promise<VendoredNpmPackage> {
  const label = `${pkg.name}@${pkg.version}`;
  const stored = byPath.get(pkg.path);
  if (stored === undefined) throw new StowageError(`${label}: the vendor tree has no ${pkg.path}`);
  if (isPnpmIndexPath(pkg.path)) {
    const index = JSON.parse(stored.data.toString('utf8')) as { files?: Record<string, unknown> };
    const manifest = pnpmStoredManifest(pkg.path, byPath);
    if (manifest === null) throw new StowageError(`${label}: the vendored pnpm store has no ${pkg.path} with a package.json`);
    return { paths: Object.keys(index.files ?? {}), manifest };
  }
  if (pkg.path.endsWith('.zip')) {
    const top = `node_modules/${pkg.name}/`;
    const paths: string[] = [];
    const [manifest] = await readZipEntries(
      pkg.path,
      (name) => {
        if (name.startsWith(top)) paths.push(name.slice(top.length));
        return name === `${top}package.json`;
      },
      { bytes: stored.data },
    );
    return { paths, manifest: manifest === undefined ? null : Buffer.from(manifest.text, 'utf8') };
  }
  if (stored.data[0] !== 0x1f || stored.data[1] !== 0x8b) {
    // Not gzip: yarn v1's mirror file of a git dependency, the commit's files at the top.
    const files = await readPlainPackageTar(stored.data, label);
    return { paths: files.map((e) => e.path), manifest: files.find((e) => e.path === 'package.json')?.data ?? null };
  }
  // npm tarballs hold one top directory (usually `package/`), whatever it is named. Read as
  // npm extracts it, so the package.json read is the one npm installs (the last, if repeated).
  const entries = await readNpmTarball(stored.data, label);
  return { paths: entries.map((e) => e.path), manifest: entries.find((e) => e.path === 'package.json')?.data ?? null };
}
