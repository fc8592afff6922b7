import { InputError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import { readCycloneDx, type CycloneDxReadOptions } from './cyclonedx-reader.js';
import { archiveCaps, SHIPPED_LIMITS, type ShippedLimits } from './shipped-limits.js';

/** The largest SBOM a vendor archive may hold: the fleet server's whole upload limit, far past any real one. */
export const MAX_SBOM_BYTES = 64 * 1024 * 1024;

/**
 * A stowage vendor archive as the applications it was made for: its stowage-sbom.cdx.json,
 * so what was vendored can be audited again without the source (given as a file, or found in
 * a source RPM that `stowage package rpm` made).
 */
export async function readVendorArchive(bytes: Buffer, label: string, options: CycloneDxReadOptions, limits: ShippedLimits = SHIPPED_LIMITS): Promise<DependencyGraph[]> {
  // Loaded only for an archive: zstd's addon is no part of a lockfile audit's start-up.
  const { readArchiveFile, SBOM_PATH } = await import('../core/archive.js');
  // The SBOM alone is held: the vendored crates are counted as they inflate, never kept.
  const sbom = await readArchiveFile(bytes, label, SBOM_PATH, MAX_SBOM_BYTES, archiveCaps(limits, bytes.length));
  if (sbom === null) throw new InputError(label, `no ${SBOM_PATH}: not a stowage vendor archive, nothing to audit`);
  return readCycloneDx(`${label}:${SBOM_PATH}`, sbom.toString('utf8'), options).map((g) => ({ ...g, inventory: 'vendor archive' }));
}
