import { publishedTarballWarning } from './npm-published.js';
import type { RpmFlavor } from './rpm-flavor.js';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { StowageError } from '../core/errors.js';
import { outgoingEdges, reachableFrom, type DependencyGraph, type EdgeKind } from '../core/graph.js';
import type { Package } from '../core/package.js';
import type { ToolLimits } from '../core/run-tool.js';
import type { AuditResult } from '../audit/audit.js';
import { type AuditSettings } from '../audit/run.js';
import { readApplication } from '../inputs/application.js';
import { isPatchedPathCrate } from '../ecosystems/formats.js';
import { depV0Packages, encodeDepV0 } from '../inputs/binary/dep-v0.js';
import type { DownloadProgress } from '../vendoring/download.js';
import { type VendorManifest } from '../inputs/vendor-manifest.js';
import type { VendoredPackage } from '../inputs/vendor-layout.js';
import { MANIFEST_PATH } from '../core/archive.js';
import { archiveBytes, auditGate, buildVendorTree, projectDirOf } from '../vendoring/vendor-app.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { verifyArchive } from '../vendoring/verify.js';
import { NoApplicationError, readApplicationManifest, type ApplicationManifest } from '../inputs/application-manifest.js';
import { cycloneDx } from '../sbom/cyclonedx.js';
import { combineLicenses, normalizeLicense, parseLicenseExpression, renderLicenseExpression } from '../sbom/licenses.js';
import { packageNameProblem, quoted, RPM_RELEASE } from './rpm-values.js';
import {
  applicationSpecProblems,
  bundledProblems,
  renderBundledLicenses,
  renderRpmSpec,
  rpmName,
  rpmVersion,
  UnsafeSpecValues,
  type BundledLibrary,
  type NpmPackageManager,
  type SpecApplication,
} from './rpm-spec.js';
import { sbomJson } from '../sbom/sbom.js';
import { installsOnLinux, npmNativeCode, npmPlatform, rpmArchCondition, vendoredNpmManifests, type NpmPackageFiles, type NpmPlatform } from './rpm-arch.js';
import { looksLikeMachineCode } from '../inputs/binary/object-file.js';
import { applicationDeclarations, cargoSystemRequires, linuxBuildGraph } from './cargo-native.js';
import { applicationSbomLicense, localPackageLicenses } from './local-licenses.js';
import { applicationSourceFiles, buildSourceRpm, sourceArchiveBytes } from './srpm.js';
import { licenseKey, licenseRefFor, vendoredLicenses, type VendoredLicense } from '../vendoring/vendored-licenses.js';

/**
 * `stowage package rpm`: parse (the application's manifest and lockfiles, the vendored
 * sources), decide (what is bundled, under which licences), then render (spec, archives,
 * SBOM, licence list, SRPM), all in memory: the caller writes the outputs only once every one
 * of them exists.
 *
 * What counts as bundled: every package the vendor archive brings that the application does
 * not own (registry and git crates; npm registry and URL tarballs), except npm packages the
 * lockfile marks dev-only: `npm ci` installs them to build and test, and %install prunes them
 * (`npm prune --omit=dev`), so they are not in the binary package. Cargo.lock does not record
 * dependency kinds, so a crate used only by tests is listed too (over-stating, never under).
 */

/** A library (or the application) without a usable licence: packaging stops. */
export class MissingLicenses extends StowageError {
  constructor(readonly missing: string[]) {
    super(
      `no SPDX licence for ${missing.length} ${missing.length === 1 ? 'package' : 'packages'}: ${missing.join('; ')}; ` +
        'state each with --license NAME=EXPR (or NAME@VERSION=EXPR)',
    );
  }
}

export interface RpmPackageRequest {
  path: string;
  /** The output directory; files inside it are never taken into the source archive. */
  outDir: string;
  flavor: RpmFlavor;
  release: string;
  /** `--license NAME=EXPR` / `NAME@VERSION=EXPR`, as given. */
  licenses: string[];
  /** An existing vendor archive, verified before use; otherwise vendoring (and its audit gate) runs. */
  vendorArchive?: string;
  audit: AuditSettings;
  sourceDateEpoch: number;
  srpm: boolean;
  /** Bounds on `rpmbuild -bs` (a campaign's time limit and cancellation). */
  limits?: ToolLimits;
  env: NodeJS.ProcessEnv;
  concurrency?: number;
  onProgress?: (progress: DownloadProgress) => void;
  warn: (message: string) => void;
}

export interface RpmOutput {
  /** File name inside the output directory. */
  name: string;
  data: Buffer;
}

export interface RpmPackageResult {
  application: ApplicationManifest;
  rpmName: string;
  rpmVersion: string;
  license: string;
  bundled: BundledLibrary[];
  /** Spec, Source0..3 and, with srpm, the .src.rpm: in writing order. */
  outputs: RpmOutput[];
  specName: string;
  srpmName: string | null;
  /** The vendoring gate's audit (of the lockfiles a given archive was verified against, too). */
  audit: AuditResult;
  fromGit: boolean;
}

/** Parses `--license` values: NAME=EXPR or NAME@VERSION=EXPR, the expression valid SPDX. */
export function parseLicenseOverrides(values: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const value of values) {
    const eq = value.indexOf('=');
    const key = eq > 0 ? value.slice(0, eq).trim() : '';
    const expr = eq > 0 ? value.slice(eq + 1).trim() : '';
    if (key === '' || expr === '') throw new StowageError(`--license ${value}: expected NAME=EXPR, e.g. --license ring=ISC AND MIT AND OpenSSL`);
    const parsed = parseLicenseExpression(expr);
    if (parsed === null) throw new StowageError(`--license ${value}: "${expr}" is not a valid SPDX licence expression`);
    out.set(key, renderLicenseExpression(parsed));
  }
  return out;
}

function override(overrides: ReadonlyMap<string, string>, name: string, version: string): string | undefined {
  return overrides.get(`${name}@${version}`) ?? overrides.get(name);
}

/** The application's own licence: --license, else its manifest's `license`, else its `license-file`. */
export function applicationLicense(app: ApplicationManifest, overrides: ReadonlyMap<string, string>): { license: string | null; problem: string | null } {
  const given = override(overrides, app.name, app.version);
  if (given !== undefined) return { license: given, problem: null };
  if (app.license !== null) {
    const normal = normalizeLicense(app.license, app.ecosystem);
    return normal === null ? { license: null, problem: `${app.name} ${app.version} (the application: "${app.license}" is not SPDX)` } : { license: normal, problem: null };
  }
  if (app.licenseFile !== null) return { license: licenseRefFor(app.name), problem: null };
  return { license: null, problem: `${app.name} ${app.version} (the application: no license in ${basename(app.path)})` };
}

/**
 * The packages of the graphs the application's build compiles: its registry and git packages,
 * and the path crates a `[patch]` builds in place of a registry or git crate (a copy of that
 * crate, bundled as it is: isPatchedPathCrate), but development-only ones.
 */
export function builtPackages(graphs: readonly DependencyGraph[]): Package[] {
  const out = new Map<string, Package>();
  for (const graph of graphs) {
    const roots = new Set(graph.roots);
    for (const pkg of graph.packages) {
      if (roots.has(pkg.id) || pkg.flags?.dev === true) continue;
      if (pkg.source.kind !== 'registry' && pkg.source.kind !== 'git' && pkg.source.kind !== 'other' && !isPatchedPathCrate(pkg)) continue;
      const key = licenseKey(pkg.ecosystem, pkg.name, pkg.version);
      if (!out.has(key)) out.set(key, pkg);
    }
  }
  return [...out.values()];
}

/** Where patchedCopies puts the project's files: a prefix no archive path can have. */
const PROJECT_FILES = '\0project/';

/**
 * The `[patch]` path copies the build compiles (builtPackages), as vendored crates whose files
 * are the project's sources that ship (`appFiles`, relative to `projectDir`): a copy of
 * openssl-sys or of libz-sys without its C sources needs from the build root what crates.io's
 * does. A copy outside the project does not ship, and is left out.
 */
function patchedCopies(graphs: readonly DependencyGraph[], built: ReadonlySet<Package>, projectDir: string, appFiles: readonly ArchiveFile[]): { files: ArchiveFile[]; packages: VendoredPackage[] } {
  const dirs = new Map<string, VendoredPackage>();
  for (const graph of graphs) {
    for (const pkg of graph.packages) {
      if (!built.has(pkg) || !isPatchedPathCrate(pkg) || pkg.source.url === null) continue;
      const dir = relative(projectDir, resolve(dirname(graph.path), pkg.source.url)).split(sep).join('/');
      if (dir === '' || dir === '..' || dir.startsWith('../') || isAbsolute(dir)) continue;
      dirs.set(`${dir}/`, { ecosystem: 'cargo', name: pkg.name, version: pkg.version, source: pkg.source.url, checksum: null, path: `${PROJECT_FILES}${dir}` });
    }
  }
  if (dirs.size === 0) return { files: [], packages: [] };
  const prefixes = [...dirs.keys()];
  const files = appFiles.filter((f) => prefixes.some((dir) => f.path.startsWith(dir))).map((f) => ({ ...f, path: `${PROJECT_FILES}${f.path}` }));
  return { files, packages: [...dirs.values()] };
}

const DEV: ReadonlySet<EdgeKind> = new Set(['dev']);
const BUILD_TIME: ReadonlySet<EdgeKind> = new Set(['dev', 'build']);

/**
 * The packages of the graphs that are bundled into the built application: those built, less
 * what only build-time edges reach (a Cargo build script's dependencies, proc-macro crates:
 * linuxBuildGraph). A package no edge reaches at all is kept: a doubt declares more.
 */
export function bundledPackages(graphs: readonly DependencyGraph[]): Package[] {
  const buildOnly = new Set<string>();
  const bundledSomewhere = new Set<string>();
  for (const graph of graphs) {
    const outgoing = outgoingEdges(graph.edges);
    const built = reachableFrom(outgoing, graph.roots, DEV);
    const runtime = reachableFrom(outgoing, graph.roots, BUILD_TIME);
    for (const pkg of graph.packages) {
      const key = licenseKey(pkg.ecosystem, pkg.name, pkg.version);
      if (built.has(pkg.id) && !runtime.has(pkg.id)) buildOnly.add(key);
      else bundledSomewhere.add(key);
    }
  }
  return builtPackages(graphs).filter((pkg) => {
    const key = licenseKey(pkg.ecosystem, pkg.name, pkg.version);
    return bundledSomewhere.has(key) || !buildOnly.has(key);
  });
}

/**
 * Every bundled library with its licence, or the list of those without one. `local` gives the
 * licences of packages the vendor archive does not carry because the project's tree does (a
 * `[patch]` path copy of a crate), by licenseKey: from their own manifests (localPackageLicenses).
 */
export function decideLicenses(
  packages: readonly Package[],
  vendored: ReadonlyMap<string, VendoredLicense>,
  overrides: ReadonlyMap<string, string>,
  local: ReadonlyMap<string, string> = new Map(),
): { bundled: BundledLibrary[]; missing: string[] } {
  const bundled: BundledLibrary[] = [];
  const missing: string[] = [];
  for (const pkg of packages) {
    const key = licenseKey(pkg.ecosystem, pkg.name, pkg.version);
    const found = vendored.get(key);
    // A package the lockfile names but the archive does not carry (an npm `file:` tarball) is
    // the application's own source.
    if (!found && pkg.source.kind === 'other') continue;
    const license = override(overrides, pkg.name, pkg.version) ?? (isPatchedPathCrate(pkg) ? local.get(key) : undefined) ?? found?.license ?? null;
    if (license === null && isPatchedPathCrate(pkg)) {
      // Not the application's own code: a copy of a third-party crate, whose licence is its own
      // (read where cargo builds it from, a Cargo configuration's patch included: --license says it when it states none).
      missing.push(`${pkg.name} ${pkg.version} (a [patch] path copy of the crate: no licence found in its Cargo.toml in the project)`);
    } else if (license === null) {
      const declared = found?.declared;
      missing.push(`${pkg.name} ${pkg.version} (${declared ? `"${declared}" is not SPDX` : 'declares no licence'})`);
    } else {
      bundled.push({ ecosystem: pkg.ecosystem, name: pkg.name, version: pkg.version, license });
    }
  }
  return { bundled, missing };
}

function topLevelLicenseFiles(files: readonly ArchiveFile[]): string[] {
  return files
    .map((f) => f.path)
    .filter((p) => !p.includes('/') && /^(LICEN[CS]E|COPYING|NOTICE|UNLICENSE)([-._].*)?$/i.test(p))
    .sort();
}

/**
 * The vendor archive's files and manifest, after the audit gate: verified when given (read
 * once), built otherwise. A given archive passes the same gate as one built here: the lockfiles
 * it was verified against are audited with this run's databases and policy, never trusted from
 * what its manifest says of its own audit.
 */
async function vendorStep(request: RpmPackageRequest, projectDir: string): Promise<{ files: ArchiveFile[]; manifest: VendorManifest; bytes: Buffer; compression: 'zst' | 'gz'; audit: AuditResult }> {
  if (request.vendorArchive !== undefined) {
    const audited = await auditGate(request.path, request.audit);
    const outcome = await verifyArchive({
      archive: request.vendorArchive,
      path: projectDir,
      // The lockfiles the gate just read, when it read the same directory (a lockfile given: verify reads its directory).
      ...(resolve(request.path) === projectDir ? { application: audited } : {}),
      cacheRoot: request.audit.cacheRoot,
      env: request.env,
      ...(request.concurrency !== undefined ? { concurrency: request.concurrency } : {}),
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      warn: request.warn,
    });
    if (outcome.problems.length > 0) {
      throw new StowageError(`does not match the application's lockfile (${outcome.problems.join('; ')}); run \`stowage vendor\` again`, request.vendorArchive);
    }
    const { bytes } = outcome;
    const files = outcome.archiveFiles.filter((f) => f.path !== MANIFEST_PATH);
    return { files, manifest: outcome.manifest, bytes, compression: bytes.readUInt32LE(0) === 0xfd2fb528 ? 'zst' : 'gz', audit: audited.result };
  }
  const build = await buildVendorTree({
    path: request.path,
    audit: request.audit,
    sourceDateEpoch: request.sourceDateEpoch,
    env: request.env,
    ...(request.concurrency !== undefined ? { concurrency: request.concurrency } : {}),
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    warn: request.warn,
  });
  const { bytes } = await archiveBytes(build.files, build.manifest, 'vendor.tar.zst');
  return { files: build.files, manifest: build.manifest, bytes, compression: 'zst', audit: build.audit };
}

/**
 * The package manager an npm-world application builds with: its lockfile's. Two lockfiles of
 * different package managers in one application leave no single way to build it.
 */
export function npmPackageManager(graphs: readonly DependencyGraph[]): NpmPackageManager | null {
  const found = new Map<NpmPackageManager, string>();
  for (const graph of graphs) {
    if (graph.ecosystem !== 'npm') continue;
    const manager: NpmPackageManager = graph.format.startsWith('pnpm-lock.yaml')
      ? 'pnpm'
      : graph.format === 'yarn.lock v1'
        ? 'yarn-classic'
        : graph.format.startsWith('yarn.lock')
          ? 'yarn-berry'
          : 'npm';
    found.set(manager, graph.path);
  }
  if (found.size > 1) {
    throw new StowageError(`lockfiles of several package managers (${[...found.values()].join(', ')}): the RPM builds with one; remove the others`);
  }
  return [...found.keys()][0] ?? null;
}

/** The application's values as the spec states them. */
function specApplication(app: ApplicationManifest): SpecApplication {
  return {
    ecosystem: app.ecosystem,
    version: app.version,
    summary: app.description ?? `${app.name}, built with its vendored dependencies`,
    description: app.description ?? `${app.name} ${app.version}, built offline with its locked dependencies vendored.`,
    url: app.homepage,
    binaries: app.binaries,
    cargoFeatures: app.cargoFeatures ?? [],
    ...(app.cargoPackage === undefined ? {} : { cargoPackage: app.cargoPackage }),
  };
}

/**
 * What to package instead of the workspace member `name`: its root, when the root's application
 * is that member; else what the root packages, for the member cannot be packaged on its own (the
 * root's `[package]`, or a virtual workspace with several binary members, which is refused).
 */
function memberAdvice(root: string, name: string): string {
  let rootApplication: string;
  try {
    rootApplication = readApplicationManifest(root).name;
  } catch (err) {
    if (!(err instanceof NoApplicationError)) throw err;
    return `stowage packages a workspace's one application from its root, and ${root} names none (${err.message})`;
  }
  return rootApplication === name ? `package ${root}` : `stowage packages a workspace's one application from its root, and ${root}'s is ${rootApplication}, not ${name}`;
}

export async function packageRpm(request: RpmPackageRequest): Promise<RpmPackageResult> {
  const projectDir = projectDirOf(request.path);
  const app = readApplicationManifest(projectDir);
  if (app.ecosystem === 'cargo' && app.binaries.length === 0) {
    // A library crate (blake3 1.3.1): the RPM would install none of its code, yet declare every
    // crate it bundles, for security trackers to report against a package that ships none of them.
    throw new NoApplicationError(app.path, `${app.name} has no binary target (src/main.rs, src/bin/, [[bin]]): a library crate, nothing to package`);
  }
  const overrides = parseLicenseOverrides(request.licenses);
  if (!RPM_RELEASE.test(request.release)) throw new StowageError(`--release ${quoted(request.release)}: letters, digits, . _ + ~ only`);

  const { graphs, locations } = await readApplication([request.path], { allowUnidentified: false, allowPartial: false, omit: request.audit.policy.omit });
  // A Cargo workspace member without a lockfile of its own builds with its workspace root's
  // lockfile and manifest: a source package of the member's directory holds neither, so its
  // `cargo build --frozen` fails ("failed to find a workspace root"), and what it inherits from
  // the root (version, licence, description) is not there to read.
  const member = locations.find((l) => l.format.ecosystem === 'cargo' && l.buildDir !== undefined);
  if (member !== undefined) {
    const root = dirname(member.path);
    throw new StowageError(`a member of the Cargo workspace in ${root}, which cargo builds with ${member.path} and the workspace's manifest: ${memberAdvice(root, app.name)}`, projectDir);
  }
  const packageManager = npmPackageManager(graphs);
  // Every value that will reach the spec is checked before anything is downloaded.
  const specApp = specApplication(app);
  const appName = packageNameProblem(app.ecosystem, app.name);
  const appProblems = [...(appName === null ? [] : [`Name: ${appName}`]), ...applicationSpecProblems(specApp)];
  if (appProblems.length > 0) throw new UnsafeSpecValues(appProblems, app.path);
  for (const graph of graphs) {
    // An npm `file:` package the archive does not carry is the application's own: checked at rendering, if bundled.
    // Names and versions only, before vendoring: the licence the spec gets is decided later (normalised,
    // from the package itself), not the one a lockfile states.
    const problems = bundledProblems(
      builtPackages([graph])
        .filter((pkg) => pkg.source.kind !== 'other')
        .map(({ ecosystem, name, version }) => ({ ecosystem, name, version })),
    );
    if (problems.length > 0) throw new UnsafeSpecValues(problems, graph.path);
  }
  const vendor = await vendorStep(request, projectDir);
  const vendored = await vendoredLicenses(vendor.files, vendor.manifest.packages);
  const appLicense = applicationLicense(app, overrides);
  // Cargo: as a Linux build compiles it, from the crates' own manifests (build-time edges, other systems' dependencies).
  const builtGraphs = graphs.map((g) => (g.ecosystem === 'cargo' ? linuxBuildGraph(g, vendor.files, vendor.manifest.packages, applicationDeclarations(g.path)) : g));
  // What the build never installs on Linux (another OS's or musl's build) is not bundled; what
  // some CPUs alone install is bundled on those (its Provides under %ifarch).
  const npmManifests = app.ecosystem === 'npm' ? await vendoredNpmManifests({ files: vendor.files, packages: vendor.manifest.packages }) : new Map<string, NpmPackageFiles>();
  const platformOf = (lib: { ecosystem: Package['ecosystem']; name: string; version: string }): NpmPlatform | null => {
    const read = npmManifests.get(licenseKey(lib.ecosystem, lib.name, lib.version));
    return read === undefined ? null : npmPlatform(read.manifest);
  };
  const onLinux = bundledPackages(builtGraphs).filter((pkg) => {
    const platform = platformOf(pkg);
    return platform === null || installsOnLinux(platform);
  });
  // The application's own workspace members and path packages: their sources are the application's, their licences may not be.
  const local = localPackageLicenses(projectDir, app, builtGraphs, (n, v) => override(overrides, n, v));
  const localByKey = new Map(local.licenses.map((l) => [licenseKey(l.ecosystem, l.name, l.version), l.license]));
  const decided = decideLicenses(onLinux, vendored, overrides, localByKey);
  for (const lib of decided.bundled) {
    const platform = platformOf(lib);
    const arch = platform === null ? null : rpmArchCondition(platform.cpu);
    if (arch !== null) lib.arch = arch;
  }
  const missing = [...(appLicense.problem ? [appLicense.problem] : []), ...local.problems, ...decided.missing];
  if (missing.length > 0) throw new MissingLicenses(missing);
  const license = combineLicenses([appLicense.license as string, ...local.licenses.map((l) => l.license), ...decided.bundled.map((b) => b.license)]);

  const name = rpmName(app.name);
  const version = rpmVersion(app.version);
  const topDir = `${name}-${version}`;
  const names = {
    spec: `${name}.spec`,
    app: `${topDir}.tar.gz`,
    vendor: `${topDir}-vendor.tar.${vendor.compression}`,
    sbom: `${topDir}.cdx.json`,
    licenses: `${topDir}-bundled-licenses.txt`,
    depV0: `${topDir}.dep-v0`,
  };
  // What each installed binary was built from, in cargo-auditable's format (see the spec's %install).
  const cargoGraph = app.ecosystem === 'cargo' ? builtGraphs.find((g) => g.ecosystem === 'cargo') : undefined;
  const depV0 = cargoGraph ? encodeDepV0(depV0Packages(cargoGraph)) : null;

  // The SBOM describes every locked package, each with the licence its vendored sources state.
  const sbomLicenses = new Map<string, string | null>();
  for (const graph of graphs) {
    for (const pkg of graph.packages) {
      const key = licenseKey(pkg.ecosystem, pkg.name, pkg.version);
      sbomLicenses.set(pkg.id, override(overrides, pkg.name, pkg.version) ?? vendored.get(key)?.license ?? localByKey.get(key) ?? null);
    }
  }
  const sbom = Buffer.from(
    sbomJson(
      cycloneDx({
        application: { name: app.name, version: app.version, license: applicationSbomLicense(appLicense.license, local.licenses, graphs), ecosystem: app.ecosystem },
        graphs,
        licenses: sbomLicenses,
        sourceDateEpoch: request.sourceDateEpoch,
      }),
    ),
  );
  const licensesText = Buffer.from(renderBundledLicenses({ name: app.name, version: app.version, license: appLicense.license }, decided.bundled));

  // Outputs written into the application directory must not end up in its own source archive.
  const outRel = relative(projectDir, resolve(request.outDir));
  const inside = outRel !== '' && !outRel.startsWith('..') && !outRel.startsWith(sep);
  const sources = await applicationSourceFiles(projectDir, new Set(Object.values(names).map((n) => (outRel === '' ? n : `${outRel.split(sep).join('/')}/${n}`))));
  const appFiles = inside ? sources.files.filter((f) => !f.path.startsWith(`${outRel.split(sep).join('/')}/`)) : sources.files;
  // What the vendored crates' build scripts need from the build root (system libraries, tools),
  // and the [patch] path copies' from the project's sources (nothing is written yet).
  const built = app.ecosystem === 'cargo' ? new Set(builtPackages(graphs)) : new Set<Package>();
  const copies = app.ecosystem === 'cargo' ? patchedCopies(graphs, built, projectDir, appFiles) : { files: [], packages: [] };
  const system = app.ecosystem === 'cargo' ? cargoSystemRequires([...vendor.files, ...copies.files], [...vendor.manifest.packages, ...copies.packages], new Set([...built].map((b) => `${b.name}@${b.version}`))) : null;
  if (system !== null && system.unsafe.length > 0) throw new UnsafeSpecValues(system.unsafe, request.vendorArchive ?? app.path);
  const appArchive = await sourceArchiveBytes(appFiles, topDir, request.sourceDateEpoch);
  if (app.ecosystem === 'npm') {
    const published = publishedTarballWarning(appFiles.map((f) => f.path), npmApplicationFiles(appFiles).manifest, sources.fromGit);
    if (published !== null) request.warn(published);
  }
  const nativeCode = app.ecosystem === 'npm' ? npmNativeCode(npmApplicationFiles(appFiles), npmManifests, new Set(decided.bundled.map((b) => licenseKey(b.ecosystem, b.name, b.version)))) : null;

  const spec = renderRpmSpec({
    flavor: request.flavor,
    name,
    ...specApp,
    release: request.release,
    license,
    hasTests: app.hasTests,
    ...(packageManager !== null ? { packageManager } : {}),
    ...(nativeCode !== null ? { nativeCode } : {}),
    licenseFiles: topLevelLicenseFiles(appFiles),
    bundled: decided.bundled,
    ...(system !== null ? { systemRequires: system.requirements, withoutCSources: system.withoutSources } : {}),
    sources: { app: names.app, vendor: names.vendor, sbom: names.sbom, licenses: names.licenses, ...(depV0 ? { depV0: names.depV0 } : {}) },
    sourceDateEpoch: request.sourceDateEpoch,
  });
  const outputs: RpmOutput[] = [
    { name: names.spec, data: Buffer.from(spec) },
    { name: names.app, data: appArchive },
    { name: names.vendor, data: vendor.bytes },
    { name: names.sbom, data: sbom },
    { name: names.licenses, data: licensesText },
    ...(depV0 ? [{ name: names.depV0, data: depV0 }] : []),
  ];

  let srpmName: string | null = null;
  if (request.srpm) {
    const work = mkdtempSync(resolve(tmpdir(), 'stowage-rpmbuild-'));
    try {
      const built = await buildSourceRpm({ name: names.spec, text: spec }, outputs.slice(1), work, request.limits);
      srpmName = built.fileName;
      outputs.push({ name: built.fileName, data: built.data });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return {
    application: app,
    rpmName: name,
    rpmVersion: version,
    license,
    bundled: decided.bundled,
    outputs,
    specName: names.spec,
    srpmName,
    audit: vendor.audit,
    fromGit: sources.fromGit,
  };
}

/** The application's own files and package.json, for its native code (rpm-arch.ts). */
function npmApplicationFiles(files: readonly ArchiveFile[]): NpmPackageFiles {
  const manifest = files.find((f) => f.path === 'package.json');
  let parsed: unknown = null;
  try {
    parsed = manifest === undefined ? null : JSON.parse(manifest.data.toString('utf8'));
  } catch {
    // readApplicationManifest has read it already: an unreadable one stopped packaging there.
  }
  return { paths: files.map((f) => f.path), manifest: parsed, machineCode: files.filter((f) => looksLikeMachineCode(f.data.subarray(0, 8))).map((f) => f.path) };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
