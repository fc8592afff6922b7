import { InputError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import { readCycloneDx, type CycloneDxReadOptions } from './cyclonedx-reader.js';
import { archiveCaps, SHIPPED_LIMITS, type ShippedLimits } from './shipped-limits.js';
import { parseManifest, type VendorManifest } from './vendor-manifest.js';
import { checkVendoredContents, VendoredContents } from './vendored-contents.js';

/** The largest SBOM a vendor archive may hold: the fleet server's whole upload limit, far past any real one. */
export const MAX_SBOM_BYTES = 64 * 1024 * 1024;
/** The largest manifest a vendor archive may hold: as its SBOM. */
const MAX_MANIFEST_BYTES = MAX_SBOM_BYTES;

/**
 * A stowage vendor archive as the applications it was made for: its stowage-sbom.cdx.json,
 * so what was vendored can be audited again without the source (given as a file, or found in
 * a source RPM that `stowage package rpm` made). The SBOM is trusted only as far as the archive
 * bears it out: what is vendored (each crate's Cargo.toml, each npm package's package.json as
 * its package manager installs it) must be, package for package, what the SBOM lists and what
 * the archive's manifest lists; the first disagreement refuses the archive (see
 * vendored-contents.ts). The archive is read once, as it inflates, holding one vendored file at
 * a time (a pnpm store is read twice: its indexes say which stored file is a package.json).
 */
export async function readVendorArchive(bytes: Buffer, label: string, options: CycloneDxReadOptions, limits: ShippedLimits = SHIPPED_LIMITS): Promise<DependencyGraph[]> {
  // Loaded only for an archive: zstd's addon is no part of a lockfile audit's start-up.
  const { consumeArchiveFiles, MANIFEST_PATH, SBOM_PATH } = await import('../core/archive.js');
  const caps = archiveCaps(limits, bytes.length);
  const contents = new VendoredContents(label);
  let sbom: Buffer | null = null;
  let manifestBytes: Buffer | null = null;
  // `docker save | gzip` (or zstd): an image archive docker and podman load compressed; not read so here.
  let imageArchive = false;
  await consumeArchiveFiles(
    bytes,
    label,
    {
      keep: (path) => {
        if (path === 'manifest.json' || path === 'oci-layout') imageArchive = true;
        return path === SBOM_PATH || path === MANIFEST_PATH || contents.wants(path);
      },
      maxFileBytes: (path) => (path === SBOM_PATH ? MAX_SBOM_BYTES : path === MANIFEST_PATH ? MAX_MANIFEST_BYTES : contents.maxBytes(path)),
      onFile: async (file) => {
        if (file.path === SBOM_PATH) sbom = file.data;
        else if (file.path === MANIFEST_PATH) manifestBytes = file.data;
        else await contents.add(file);
      },
    },
    caps,
  );
  if (sbom === null && imageArchive) {
    throw new InputError(label, 'a compressed image archive (docker save, then gzip or zstd), which stowage does not read: decompress it and audit the .tar, as docker save writes it');
  }
  if (sbom === null) throw new InputError(label, `no ${SBOM_PATH}: not a stowage vendor archive, nothing to audit`);
  if (manifestBytes === null) throw new InputError(label, `no ${MANIFEST_PATH}: not a stowage vendor archive, so what it vendors cannot be checked against its SBOM`);
  const manifest: VendorManifest = parseManifest(manifestBytes, label);
  const stored = contents.pnpmManifestPaths();
  if (stored.size > 0) {
    await consumeArchiveFiles(bytes, label, { keep: (path) => stored.has(path), maxFileBytes: () => contents.maxBytes(''), onFile: (file) => contents.addPnpmManifest(file) }, caps);
  }
  const graphs = readCycloneDx(`${label}:${SBOM_PATH}`, (sbom as Buffer).toString('utf8'), options);
  checkVendoredContents(label, graphs, manifest.packages, contents);
  return graphs.map((g) => ({ ...g, inventory: 'vendor archive' }));
}
