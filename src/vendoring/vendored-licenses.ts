import { StowageError, errorMessage } from '../core/errors.js';
import type { Ecosystem } from '../core/package.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { npmLicenseText } from '../inputs/application-manifest.js';
import { normalizeLicense } from '../sbom/licenses.js';
import { isPnpmIndexPath, pnpmStoredManifestPath, readVendoredCrateManifest, readVendoredNpmPackage, type VendoredPackage } from '../inputs/vendor-layout.js';

/**
 * The licence each vendored package declares, read from the vendored files themselves (what
 * ships is what is described):
 * - Cargo: `package.license` of vendor/<dir>/Cargo.toml (`/` read as OR); a crate that names
 *   only a `license-file` gets `LicenseRef-<crate>`, its text being in that file;
 * - npm: `license` (or the legacy `licenses`) of the tarball's package.json.
 */
export interface VendoredLicense {
  ecosystem: Ecosystem;
  name: string;
  version: string;
  /** Canonical SPDX expression, or null when the package states none that is valid SPDX. */
  license: string | null;
  /** What the package wrote, for the message when it is not SPDX. */
  declared: string | null;
}

/** Key of a package in the licence map: the same name and version are the same licence. */
export function licenseKey(ecosystem: Ecosystem, name: string, version: string): string {
  return `${ecosystem}:${name}@${version}`;
}

/** `LicenseRef-` ids allow letters, digits, `.` and `-` only. */
export function licenseRefFor(name: string): string {
  return `LicenseRef-${name.replace(/[^A-Za-z0-9.-]/g, '-')}`;
}

/**
 * The files of a vendor archive that vendoredLicenses reads for these packages, asked of `read`
 * (which reads the archive for the paths given): each crate's Cargo.toml, each npm package's
 * tarball, zip or pnpm index, then, for a pnpm store, the package.json each index names (a
 * second read: the index says which stored file it is). Nothing else of the archive is held.
 */
export async function licenseSources(packages: readonly VendoredPackage[], read: (paths: ReadonlySet<string>) => Promise<ArchiveFile[]>): Promise<ArchiveFile[]> {
  const files = await read(new Set(packages.map((pkg) => (pkg.ecosystem === 'cargo' ? `${pkg.path}/Cargo.toml` : pkg.path))));
  const byPath = new Map(files.map((f) => [f.path, f]));
  const named = new Set<string>();
  for (const pkg of packages) {
    if (pkg.ecosystem !== 'npm' || !isPnpmIndexPath(pkg.path)) continue;
    let path: string | null;
    try {
      path = pnpmStoredManifestPath(pkg.path, byPath);
    } catch {
      // An index that is not JSON: vendoredLicenses reports it, as it reads it.
      continue;
    }
    if (path !== null && !byPath.has(path)) named.add(path);
  }
  return named.size === 0 ? files : [...files, ...(await read(named))];
}

export async function vendoredLicenses(files: readonly ArchiveFile[], packages: readonly VendoredPackage[]): Promise<Map<string, VendoredLicense>> {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const out = new Map<string, VendoredLicense>();
  for (const pkg of packages) {
    const key = licenseKey(pkg.ecosystem, pkg.name, pkg.version);
    if (out.has(key)) continue;
    const declared = pkg.ecosystem === 'cargo' ? cargoDeclared(pkg, byPath) : await npmDeclared(pkg, byPath);
    const license =
      declared.expression !== null ? normalizeLicense(declared.expression, pkg.ecosystem) : declared.file !== null ? licenseRefFor(pkg.name) : null;
    out.set(key, { ecosystem: pkg.ecosystem, name: pkg.name, version: pkg.version, license, declared: declared.expression });
  }
  return out;
}

function cargoDeclared(pkg: VendoredPackage, byPath: Map<string, ArchiveFile>): { expression: string | null; file: string | null } {
  const manifest = byPath.get(`${pkg.path}/Cargo.toml`);
  if (!manifest) throw new StowageError(`${pkg.name} ${pkg.version}: the vendor tree has no ${pkg.path}/Cargo.toml`);
  let read;
  try {
    read = readVendoredCrateManifest(manifest.data, `${pkg.path}/Cargo.toml`);
  } catch (err) {
    throw new StowageError(`${pkg.name} ${pkg.version}: ${errorMessage(err)}`);
  }
  return { expression: read.license, file: read.licenseFile };
}

async function npmDeclared(pkg: VendoredPackage, byPath: Map<string, ArchiveFile>): Promise<{ expression: string | null; file: null }> {
  const { manifest } = await readVendoredNpmPackage(pkg, byPath);
  return manifest === null ? { expression: null, file: null } : npmManifestLicense(pkg, manifest);
}

function npmManifestLicense(pkg: VendoredPackage, manifest: Buffer): { expression: string | null; file: null } {
  let doc: unknown;
  try {
    doc = JSON.parse(manifest.toString('utf8'));
  } catch (err) {
    throw new StowageError(`${pkg.name}@${pkg.version}: package.json is not valid JSON: ${errorMessage(err)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { expression: null, file: null };
  return { expression: npmLicenseText(doc as Record<string, unknown>), file: null };
}
