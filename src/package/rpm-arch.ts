import type { ArchiveFile } from '../core/untrusted-tar.js';
import { readVendoredNpmPackage, type VendoredPackage } from '../inputs/vendor-layout.js';
import { licenseKey } from '../vendoring/vendored-licenses.js';

/*
 * Whether an npm application's binary RPM is the same on every architecture (`BuildArch:
 * noarch`). It is not when anything installed could hold or build machine code, or is chosen by
 * platform: an install script (`preinstall`, `install`, `postinstall`: npm runs them, and they
 * usually compile or download a binary), a `binding.gyp` (npm runs `node-gyp rebuild` for it
 * when there is no install script), a compiled addon (`*.node`), or an `os`/`cpu`/`libc`
 * restriction (a package built for some platforms only, such as esbuild's `@esbuild/linux-x64`).
 * Only what %install keeps counts: the application and its production packages.
 */

/** Why a package makes the RPM architecture-specific; fixed words, never a package's text. */
export type NativeCodeKind = 'install-script' | 'binding-gyp' | 'node-addon' | 'platform';

export const NATIVE_CODE_KINDS: readonly NativeCodeKind[] = ['install-script', 'binding-gyp', 'node-addon', 'platform'];

/** What makes the application architecture-specific: counts and kinds only, so that the spec's comment holds no package's text. */
export interface NativeCode {
  /** The kinds the application's own source has. */
  application: NativeCodeKind[];
  /** How many bundled packages have each kind. */
  packages: Record<NativeCodeKind, number>;
  /** How many bundled packages have any. */
  packageCount: number;
  /**
   * Whether installing for the build compiles: the application or any package the build installs
   * (development ones too: `npm ci` runs their builds before %install prunes them) has a
   * binding.gyp, which npm, pnpm and yarn build with node-gyp: a C++ compiler, make, python3
   * and node's headers.
   */
  compiles: boolean;
}

/** The kinds of native code or platform restriction in one package's file list and package.json. */
export function nativeCodeKinds(paths: readonly string[], manifest: unknown): NativeCodeKind[] {
  const kinds: NativeCodeKind[] = [];
  const fields = typeof manifest === 'object' && manifest !== null && !Array.isArray(manifest) ? (manifest as Record<string, unknown>) : {};
  const scripts = typeof fields.scripts === 'object' && fields.scripts !== null ? (fields.scripts as Record<string, unknown>) : {};
  if (['preinstall', 'install', 'postinstall'].some((s) => typeof scripts[s] === 'string' && scripts[s] !== '')) kinds.push('install-script');
  if (paths.includes('binding.gyp')) kinds.push('binding-gyp');
  if (paths.some((p) => p.endsWith('.node'))) kinds.push('node-addon');
  const restricted = (value: unknown): boolean => (Array.isArray(value) ? value.length > 0 : typeof value === 'string' && value !== '');
  if (restricted(fields.os) || restricted(fields.cpu) || restricted(fields.libc)) kinds.push('platform');
  return kinds;
}

/** Whether anything in `native` makes the RPM architecture-specific. */
export function isNoarch(native: NativeCode): boolean {
  return native.application.length === 0 && native.packageCount === 0;
}

/**
 * The native code of an npm application: its own (source files and package.json) and that of
 * every vendored package whose key (licenseKey) is in `bundled`, read from the vendored files;
 * and whether the build compiles (any vendored package's binding.gyp).
 */
export async function npmNativeCode(
  application: { paths: readonly string[]; manifest: unknown },
  vendored: { files: readonly ArchiveFile[]; packages: readonly VendoredPackage[] },
  bundled: ReadonlySet<string>,
): Promise<NativeCode> {
  const byPath = new Map(vendored.files.map((f) => [f.path, f]));
  const counts: Record<NativeCodeKind, number> = { 'install-script': 0, 'binding-gyp': 0, 'node-addon': 0, platform: 0 };
  const seen = new Set<string>();
  let packageCount = 0;
  const own = nativeCodeKinds(application.paths, application.manifest);
  let compiles = own.includes('binding-gyp');
  for (const pkg of vendored.packages) {
    const key = licenseKey(pkg.ecosystem, pkg.name, pkg.version);
    if (pkg.ecosystem !== 'npm' || seen.has(key)) continue;
    seen.add(key);
    const read = await readVendoredNpmPackage(pkg, byPath);
    let manifest: unknown = null;
    try {
      manifest = read.manifest === null ? null : JSON.parse(read.manifest.toString('utf8'));
    } catch {
      // An unreadable package.json: npm could not install it either; licences already said so.
    }
    const kinds = nativeCodeKinds(read.paths, manifest);
    if (kinds.includes('binding-gyp')) compiles = true;
    if (!bundled.has(key)) continue;
    for (const kind of kinds) counts[kind]++;
    if (kinds.length > 0) packageCount++;
  }
  return { application: own, packages: counts, packageCount, compiles };
}
