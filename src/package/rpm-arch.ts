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
export type NativeCodeKind = 'install-script' | 'binding-gyp' | 'node-addon' | 'machine-code' | 'platform';

export const NATIVE_CODE_KINDS: readonly NativeCodeKind[] = ['install-script', 'binding-gyp', 'node-addon', 'machine-code', 'platform'];

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
export function nativeCodeKinds(paths: readonly string[], manifest: unknown, machineCode: readonly string[] = []): NativeCodeKind[] {
  const kinds: NativeCodeKind[] = [];
  const fields = typeof manifest === 'object' && manifest !== null && !Array.isArray(manifest) ? (manifest as Record<string, unknown>) : {};
  const scripts = typeof fields.scripts === 'object' && fields.scripts !== null ? (fields.scripts as Record<string, unknown>) : {};
  if (['preinstall', 'install', 'postinstall'].some((s) => typeof scripts[s] === 'string' && scripts[s] !== '')) kinds.push('install-script');
  if (paths.includes('binding.gyp')) kinds.push('binding-gyp');
  if (paths.some((p) => p.endsWith('.node'))) kinds.push('node-addon');
  // A prebuilt executable or library under any name (clipboardy's fallbacks/linux/xsel): rpmbuild refuses it in a noarch package.
  if (machineCode.some((p) => !p.endsWith('.node'))) kinds.push('machine-code');
  const platform = npmPlatform(manifest);
  if (platform.os.length > 0 || platform.cpu.length > 0 || platform.libc.length > 0) kinds.push('platform');
  return kinds;
}

/** Whether anything in `native` makes the RPM architecture-specific. */
export function isNoarch(native: NativeCode): boolean {
  return native.application.length === 0 && native.packageCount === 0;
}

/**
 * An npm package's `os`, `cpu` and `libc` fields, as lists ("x" and ["x"] alike; absent: empty).
 * npm installs the package only where each list admits the platform (npm-install-checks).
 */
export interface NpmPlatform {
  os: string[];
  cpu: string[];
  libc: string[];
}

function platformList(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function npmPlatform(manifest: unknown): NpmPlatform {
  const fields = typeof manifest === 'object' && manifest !== null && !Array.isArray(manifest) ? (manifest as Record<string, unknown>) : {};
  return { os: platformList(fields.os), cpu: platformList(fields.cpu), libc: platformList(fields.libc) };
}

/** npm-install-checks' checkList: `value` is admitted by `list` (empty or `any`: everything; `!x` excludes x). */
function admits(list: readonly string[], value: string): boolean {
  if (list.length === 0 || (list.length === 1 && list[0] === 'any')) return true;
  let negated = 0;
  let match = false;
  for (const entry of list) {
    if (entry.startsWith('!')) {
      negated++;
      if (entry.slice(1) === value) return false;
    } else if (entry === value) match = true;
  }
  return match || negated === list.length;
}

/**
 * Whether npm, pnpm or yarn installs the package on the Linux distributions the spec is for
 * (glibc: Fedora, openSUSE): `@esbuild/darwin-arm64` (`os: ["darwin"]`) or a musl-only build
 * (`libc: ["musl"]`) is vendored for the lockfile but never installed, so never bundled.
 */
export function installsOnLinux(platform: NpmPlatform): boolean {
  // Installed where npm-install-checks admits one of node's CPUs (the table below names them all):
  // `cpu: ["x64", "!x64"]` or `["any", "!x64"]` (`any` means every CPU only alone) admit none.
  const someCpu = Object.keys(RPM_ARCHES).some((cpu) => admits(platform.cpu, cpu));
  return admits(platform.os, 'linux') && admits(platform.libc, 'glibc') && someCpu;
}

/** node's process.arch names, as npm's `cpu` field uses them, and the RPM architectures (macros) of each. */
const RPM_ARCHES: Record<string, string> = {
  arm: '%{arm}',
  arm64: 'aarch64',
  ia32: '%{ix86}',
  loong64: 'loongarch64',
  mips: 'mips',
  mipsel: 'mipsel',
  mips64: 'mips64',
  mips64el: 'mips64el',
  ppc: 'ppc',
  ppc64: 'ppc64 ppc64le',
  riscv64: 'riscv64',
  s390: 's390',
  s390x: 's390x',
  x64: 'x86_64',
};

/**
 * The RPM architectures a package with a `cpu` restriction is installed on: `%ifarch` (`only`)
 * or `%ifnarch` (`except`) arguments, made of the table's fixed words alone (a package's text
 * never reaches the spec); null when it is installed everywhere, or when the list names a cpu
 * the table does not know (then it is declared for every architecture: over-stating, never under).
 */
export function rpmArchCondition(cpu: readonly string[]): { only: string } | { except: string } | null {
  if (cpu.length === 0 || (cpu.length === 1 && cpu[0] === 'any')) return null;
  const names = cpu.map((c) => (c.startsWith('!') ? c.slice(1) : c));
  if (!names.every((n) => Object.hasOwn(RPM_ARCHES, n))) return null;
  const positive = cpu.filter((c) => !c.startsWith('!'));
  if (positive.length > 0) {
    const only = positive.filter((c) => admits(cpu, c)).map((c) => RPM_ARCHES[c] as string);
    return { only: [...new Set(only)].join(' ') };
  }
  return { except: [...new Set(names.map((n) => RPM_ARCHES[n] as string))].join(' ') };
}

/** An npm package's (or the application's) file list, parsed package.json (null when unreadable) and machine-code files. */
export interface NpmPackageFiles {
  paths: readonly string[];
  manifest: unknown;
  machineCode: readonly string[];
}

/** Each vendored npm package's files (NpmPackageFiles), by licenseKey. */
export async function vendoredNpmManifests(vendored: { files: readonly ArchiveFile[]; packages: readonly VendoredPackage[] }): Promise<Map<string, NpmPackageFiles>> {
  const byPath = new Map(vendored.files.map((f) => [f.path, f]));
  const out = new Map<string, NpmPackageFiles>();
  for (const pkg of vendored.packages) {
    const key = licenseKey(pkg.ecosystem, pkg.name, pkg.version);
    if (pkg.ecosystem !== 'npm' || out.has(key)) continue;
    const read = await readVendoredNpmPackage(pkg, byPath);
    let manifest: unknown = null;
    try {
      manifest = read.manifest === null ? null : JSON.parse(read.manifest.toString('utf8'));
    } catch {
      // An unreadable package.json: npm could not install it either; licences already said so.
    }
    out.set(key, { paths: read.paths, manifest, machineCode: read.machineCode });
  }
  return out;
}

/**
 * The native code of an npm application: its own (source files and package.json) and that of
 * every vendored package (`manifests`, from vendoredNpmManifests) whose key (licenseKey) is in
 * `bundled`; and whether the build compiles (any vendored package's binding.gyp).
 */
export function npmNativeCode(
  application: NpmPackageFiles,
  manifests: ReadonlyMap<string, NpmPackageFiles>,
  bundled: ReadonlySet<string>,
): NativeCode {
  const counts: Record<NativeCodeKind, number> = { 'install-script': 0, 'binding-gyp': 0, 'node-addon': 0, 'machine-code': 0, platform: 0 };
  let packageCount = 0;
  const own = nativeCodeKinds(application.paths, application.manifest, application.machineCode);
  let compiles = own.includes('binding-gyp');
  for (const [key, read] of manifests) {
    const kinds = nativeCodeKinds(read.paths, read.manifest, read.machineCode);
    if (kinds.includes('binding-gyp')) compiles = true;
    if (!bundled.has(key)) continue;
    for (const kind of kinds) counts[kind]++;
    if (kinds.length > 0) packageCount++;
  }
  return { application: own, packages: counts, packageCount, compiles };
}
