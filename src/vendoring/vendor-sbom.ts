import type { DependencyGraph } from '../core/graph.js';
import { errorMessage } from '../core/errors.js';
import { readApplicationManifest } from '../inputs/application-manifest.js';
import { cycloneDx } from '../sbom/cyclonedx.js';
import { normalizeLicense } from '../sbom/licenses.js';
import { sbomJson, type SbomInput } from '../sbom/sbom.js';
import { licenseKey, vendoredLicenses } from './vendored-licenses.js';
import { SBOM_PATH } from '../core/archive.js';
import type { VendoredPackage } from '../inputs/vendor-layout.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';


function applicationOf(projectDir: string, graphs: readonly DependencyGraph[], warn: (m: string) => void): SbomInput['application'] {
  try {
    const app = readApplicationManifest(projectDir);
    return { name: app.name, version: app.version, license: app.license ? normalizeLicense(app.license, app.ecosystem) : null, ecosystem: app.ecosystem };
  } catch (err) {
    // A lockfile without its manifest still describes an application: name it after its root.
    const graph = graphs[0] as DependencyGraph;
    const root = graph.packages.find((p) => p.id === graph.roots[0]);
    warn(`SBOM: ${errorMessage(err)}; the application is named after the lockfile's root`);
    return { name: root?.name ?? 'application', version: root?.version ?? '0.0.0', license: null, ecosystem: graph.ecosystem };
  }
}

/**
 * A pure function of the lockfiles, the vendored packages and the epoch (no audit results:
 * those are in the manifest), so `vendor verify` rebuilds it byte for byte.
 */
export async function vendorSbom(
  projectDir: string,
  graphs: readonly DependencyGraph[],
  files: readonly ArchiveFile[],
  packages: readonly VendoredPackage[],
  sourceDateEpoch: number,
  warn: (message: string) => void,
): Promise<ArchiveFile> {
  const known = await vendoredLicenses(files, packages);
  const licenses = new Map<string, string | null>();
  for (const graph of graphs) {
    for (const pkg of graph.packages) licenses.set(pkg.id, known.get(licenseKey(pkg.ecosystem, pkg.name, pkg.version))?.license ?? null);
  }
  const bom = cycloneDx({ application: applicationOf(projectDir, graphs, warn), graphs: [...graphs], licenses, sourceDateEpoch });
  return { path: SBOM_PATH, mode: 0o644, data: Buffer.from(sbomJson(bom), 'utf8') };
}
