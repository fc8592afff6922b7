import { InputError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import { readCycloneDx, type CycloneDxReadOptions } from './cyclonedx-reader.js';

/**
 * A stowage vendor archive as the applications it was made for: its stowage-sbom.cdx.json,
 * so what was vendored can be audited again without the source (given as a file, or found in
 * a source RPM that `stowage package rpm` made).
 */
export async function readVendorArchive(bytes: Buffer, label: string, options: CycloneDxReadOptions): Promise<DependencyGraph[]> {
  // Loaded only for an archive: zstd's addon is no part of a lockfile audit's start-up.
  const { readArchive, SBOM_PATH } = await import('../core/archive.js');
  const files = await readArchive(bytes, label);
  const sbom = files.find((f) => f.path === SBOM_PATH);
  if (!sbom) throw new InputError(label, `no ${SBOM_PATH}: not a stowage vendor archive, nothing to audit`);
  return readCycloneDx(`${label}:${SBOM_PATH}`, sbom.data.toString('utf8'), options).map((g) => ({ ...g, inventory: 'vendor archive' }));
}
