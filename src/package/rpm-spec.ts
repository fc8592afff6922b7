import { StowageError } from '../core/errors.js';
import type { Ecosystem } from '../core/package.js';
import { TOOL_NAME, TOOL_VERSION } from '../core/tool.js';
import type { RpmFlavor } from './rpm-flavor.js';
import { NATIVE_CODE_KINDS, isNoarch, type NativeCode, type NativeCodeKind } from './rpm-arch.js';
import { cargoBundledCLibraries, type SystemRequirement } from './cargo-native.js';
import { MANIFEST_PATH, SBOM_PATH } from '../core/archive.js';
import {
  descriptionProblem,
  cargoFeatureProblem,
  fileNameProblem,
  licenseProblem,
  packageNameProblem,
  quoted,
  relativePathProblem,
  RPM_NAME,
  RPM_RELEASE,
  summaryProblem,
  urlProblem,
  versionProblem,
} from './rpm-values.js';

/**
 * The RPM spec of an application built offline from its vendored dependencies. Pure: the
 * same input gives the same text, byte for byte (no clock, no host, no environment).
 *
 * Flavours differ where the distributions do:
 * - bundled libraries: `bundled(crate(NAME)) = VERSION` for crates in both (the Fedora Rust
 *   guidelines' form, which openSUSE's bundled-software policy also shows, e.g. fd.spec);
 *   npm packages are `bundled(nodejs-NAME)` on Fedora (the Node.js guidelines' form) and
 *   `bundled(npm(NAME))` on openSUSE (its nodejs packaging names packages `npm(NAME)`);
 * - build requirements: Fedora's `cargo`/`rust`, `nodejs`/`npm`; openSUSE's `cargo`/`rust`,
 *   `nodejs-default`/`npm-default`; both need `tar` with zstd support for the vendor archive.
 *   An npm application runs on the system's node: `Requires: nodejs`, a capability both
 *   distributions' node packages provide (openSUSE's nodejs-common requires it by that name).
 * Versions become RPM versions as rust2rpm makes them: a semver pre-release's `-` is `~`, so
 * `1.0.0-rc.1` sorts before `1.0.0`.
 */

/** Which package manager an npm-world application is locked (so built) with. */
export type NpmPackageManager = 'npm' | 'yarn-classic' | 'yarn-berry' | 'pnpm';

export interface BundledLibrary {
  ecosystem: Ecosystem;
  name: string;
  version: string;
  /** SPDX expression. */
  license: string;
  /**
   * npm: the RPM architectures it is installed on, when its `cpu` field restricts them
   * (rpmArchCondition: fixed words only); its Provides is then inside `%ifarch`/`%ifnarch`.
   */
  arch?: { only: string } | { except: string };
}

export interface RpmSpecInput {
  flavor: RpmFlavor;
  ecosystem: Ecosystem;
  /** RPM package name (rpmName of the application's name). */
  name: string;
  /** The application's version as its manifest states it. */
  version: string;
  release: string;
  summary: string;
  description: string;
  /** The combined SPDX expression. */
  license: string;
  url: string | null;
  /** What the application installs: Cargo binary targets, npm `bin` (name -> script). */
  binaries: { name: string; path: string }[];
  /** npm: whether `npm test` is defined. Cargo always has `cargo test`. */
  hasTests: boolean;
  /** Cargo: the `--features` its binaries' required-features need (application-manifest.ts). */
  cargoFeatures?: string[];
  /** Cargo: the package to build and test (`--package NAME@VERSION`, of `version`) when the workspace's `default-members` may leave it out. */
  cargoPackage?: string;
  /** npm ecosystem: the package manager of its lockfile, which the spec builds with (default npm). */
  packageManager?: NpmPackageManager;
  /** npm ecosystem: what native code the application and its production packages have (none: `BuildArch: noarch`). */
  nativeCode?: NativeCode;
  /** Licence files at the top of the application's source (`%license`). */
  licenseFiles: string[];
  bundled: BundledLibrary[];
  /** Cargo: what the vendored crates' build scripts need from the build root (cargo-native.ts). */
  systemRequires?: SystemRequirement[];
  /** Cargo: crates (`name@version`) that link the system's C library, carrying none of its sources (cargo-native.ts). */
  withoutCSources?: ReadonlySet<string>;
  /**
   * File names of Source0..Source3, and for Cargo Source4: the cargo-auditable `.dep-v0`
   * section stowage wrote for the application's binaries.
   */
  sources: { app: string; vendor: string; sbom: string; licenses: string; depV0?: string };
  /** The changelog entry's date (changelogEpoch: not before 1990); rpmbuild takes SOURCE_DATE_EPOCH from it. */
  sourceDateEpoch: number;
}

/** An RPM Name from a package name: npm scopes (`@scope/name`) become `scope-name`. */
export function rpmName(name: string): string {
  return name.replace(/^@/, '').replace(/\//g, '-').replace(/[^A-Za-z0-9._+-]/g, '_');
}

/** An RPM Version from a semver version: no `-` allowed, pre-releases sort first with `~`. */
export function rpmVersion(version: string): string {
  return version.replace(/-/g, '~').replace(/[^A-Za-z0-9._+~^]/g, '_');
}

/** The `Provides:` capability that names one bundled library, in the flavour's convention. */
export function bundledProvide(flavor: RpmFlavor, library: Pick<BundledLibrary, 'ecosystem' | 'name' | 'version'>): string {
  const version = rpmVersion(library.version);
  if (library.ecosystem === 'cargo') return `bundled(crate(${library.name})) = ${version}`;
  return flavor === 'fedora' ? `bundled(nodejs-${library.name}) = ${version}` : `bundled(npm(${library.name})) = ${version}`;
}

const BUILD_REQUIRES: Record<RpmFlavor, Record<Ecosystem, string[]>> = {
  // binutils: objcopy embeds the .dep-v0 section in each installed binary.
  fedora: { cargo: ['binutils', 'cargo', 'rust', 'tar', 'zstd'], npm: ['nodejs', 'npm', 'tar', 'zstd'] },
  opensuse: { cargo: ['binutils', 'cargo', 'rust', 'tar', 'zstd'], npm: ['nodejs-default', 'npm-default', 'tar', 'zstd'] },
};

/**
 * What node-gyp needs to build a binding.gyp offline (NativeCode.compiles): a C++ compiler, make,
 * python3 (gyp itself), and node's headers, which NODE_HEADERS points it at.
 */
const NATIVE_BUILD_REQUIRES: Record<RpmFlavor, string[]> = {
  fedora: ['gcc-c++', 'make', 'python3', 'nodejs-devel'],
  opensuse: ['gcc-c++', 'make', 'python3', 'nodejs-devel-default'],
};

/**
 * node-gyp takes node's headers from `npm_config_nodedir` and otherwise downloads them from
 * nodejs.org, which an offline build cannot reach: node's own installation prefix, when it holds
 * them (`include/node/common.gypi`: the nodejs-devel package, an official release tarball).
 * npm, pnpm and yarn all pass `npm_config_*` on to the node-gyp they run. Fixed text.
 */
const NODE_HEADERS = [
  'node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"',
  'if [ -f "$node_prefix/include/node/common.gypi" ]; then export npm_config_nodedir="$node_prefix"; fi',
];

/** What the built package needs at run time, beyond what rpm finds itself (shared libraries). */
const REQUIRES: Record<Ecosystem, string[]> = { cargo: [], npm: ['nodejs'] };

/**
 * Spec-wide settings. No debuginfo subpackage: npm packages are JavaScript, and cargo's release
 * profile carries no debug information, so Fedora's debuginfo step (on for every arch-specific
 * package) would find no debug sources and fail the build with an empty debugsourcefiles.list.
 * A packager who wants one removes the line and enables debug info in the release profile.
 */
const NO_DEBUGINFO = '%global debug_package %{nil}';
/**
 * The tests run by default and can be left out as packagers leave them out (Fedora's
 * convention): `rpmbuild --without check`, or `%_without_check 1` in a build system's macros.
 * rpmbuild's own `--nocheck` also skips the section.
 */
const CHECK_CONDITION = '%bcond_without check';
const GLOBALS: Record<Ecosystem, string[]> = { cargo: [NO_DEBUGINFO, CHECK_CONDITION], npm: [NO_DEBUGINFO, CHECK_CONDITION] };

/** The %check section: its commands under the `check` condition (CHECK_CONDITION). */
function checkSection(commands: readonly string[]): string[] {
  return ['%check', '%if %{with check}', ...commands, '%endif', ''];
}

/** Text for a spec tag: one line, `%` doubled so that no macro expands. */
function field(text: string): string {
  return text.replace(/\s+/g, ' ').trim().replace(/%/g, '%%');
}

/** The `%description` text: the description, else the summary, before `%` is doubled. */
function descriptionText(input: Pick<RpmSpecInput, 'summary' | 'description'>): string {
  return input.description.replace(/\r\n/g, '\n').trim() || input.summary.replace(/\s+/g, ' ').trim();
}

const ECOSYSTEM_WORD: Record<Ecosystem, string> = { cargo: 'crate', npm: 'npm package' };

/** A value that cannot be written into a spec: packaging stops (exit 2) with every such value named. */
export class UnsafeSpecValues extends StowageError {
  constructor(readonly problems: string[], file?: string) {
    super(`cannot be written into an RPM spec: ${problems.join('; ')}`, file);
  }
}

/** Who a bundled library is, for messages: its name and version quoted. */
function libraryLabel(lib: Pick<BundledLibrary, 'ecosystem' | 'name' | 'version'>): string {
  return `${ECOSYSTEM_WORD[lib.ecosystem]} ${quoted(lib.name)} ${quoted(lib.version)}`;
}

/** Every bundled library's name, version and (when known) licence, checked for the spec. */
export function bundledProblems(bundled: readonly (Pick<BundledLibrary, 'ecosystem' | 'name' | 'version'> & { license?: string })[]): string[] {
  const problems: string[] = [];
  for (const lib of bundled) {
    const found = [packageNameProblem(lib.ecosystem, lib.name), versionProblem(lib.version)];
    if (lib.license !== undefined) found.push(licenseProblem(lib.license));
    for (const problem of found) if (problem !== null) problems.push(`${libraryLabel(lib)}: ${problem}`);
  }
  return problems;
}

/** The application's own values that reach the spec, known before anything is vendored. */
export type SpecApplication = Pick<RpmSpecInput, 'ecosystem' | 'version' | 'summary' | 'description' | 'url' | 'binaries' | 'cargoFeatures' | 'cargoPackage'>;

export function applicationSpecProblems(app: SpecApplication): string[] {
  const problems: string[] = [];
  const check = (what: string, problem: string | null): void => {
    if (problem !== null) problems.push(`${what}: ${problem}`);
  };
  check('Version', versionProblem(app.version));
  check('Summary', summaryProblem(app.summary));
  check('%description', descriptionProblem(descriptionText(app)));
  if (app.url !== null) check('URL', urlProblem(app.url));
  for (const bin of app.binaries) {
    check(`binary ${quoted(bin.name)}`, fileNameProblem(bin.name));
    // Only npm scripts are named in the spec's shell lines; Cargo installs from target/release.
    if (app.ecosystem === 'npm') check(`binary ${quoted(bin.name)} script`, relativePathProblem(bin.path));
  }
  for (const feature of app.cargoFeatures ?? []) check(`feature ${quoted(feature)}`, cargoFeatureProblem(feature));
  if (app.cargoPackage !== undefined) check('--package', packageNameProblem('cargo', app.cargoPackage));
  return problems;
}

/** Every value of `input` that the spec could not hold as plain data (see rpm-values.ts). */
function specInputProblems(input: RpmSpecInput): string[] {
  const problems: string[] = [];
  const check = (what: string, problem: string | null): void => {
    if (problem !== null) problems.push(`${what}: ${problem}`);
  };
  check('Name', RPM_NAME.test(input.name) ? null : `${quoted(input.name)} is not an RPM name`);
  check('Release', RPM_RELEASE.test(input.release) ? null : `${quoted(input.release)}: letters, digits, . _ + ~ only`);
  check('License', licenseProblem(input.license));
  problems.push(...applicationSpecProblems(input));
  for (const file of input.licenseFiles) check('%license file', fileNameProblem(file));
  for (const source of Object.values(input.sources)) if (source !== undefined) check('Source', fileNameProblem(source));
  problems.push(...bundledProblems(input.bundled));
  return problems;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * 1990-01-01T00:00:00Z: rpmbuild refuses an earlier `%changelog` date ("bad date in %changelog",
 * rpm 4.18), drops the entry, and then dates the SRPM and its files by the clock (no
 * SOURCE_DATE_EPOCH from the changelog). Stowage's default epoch, 1980-01-01, is earlier.
 */
export const EARLIEST_CHANGELOG_EPOCH = 631_152_000;

/** The date of the spec's one `%changelog` entry: the source date, not before EARLIEST_CHANGELOG_EPOCH. */
export function changelogEpoch(sourceDateEpoch: number): number {
  return Math.max(sourceDateEpoch, EARLIEST_CHANGELOG_EPOCH);
}

/** `%changelog`'s date form, `Thu Jan 01 1970`, in UTC. */
export function changelogDate(epoch: number): string {
  const d = new Date(epoch * 1000);
  return `${WEEKDAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, '0')} ${d.getUTCFullYear()}`;
}

function compareLibraries(a: BundledLibrary, b: BundledLibrary): number {
  const ka = `${a.ecosystem}\0${a.name}\0${a.version}`;
  const kb = `${b.ecosystem}\0${b.name}\0${b.version}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The bundled-licences file shipped as `%license`: one line per library. */
export function renderBundledLicenses(app: { name: string; version: string; license: string | null }, bundled: readonly BundledLibrary[]): string {
  const lines = [
    `Libraries bundled in ${app.name} ${app.version}, with the licence each declares (SPDX).`,
    `${app.name} itself: ${app.license ?? 'not stated'}`,
    '',
  ];
  const kind: Record<Ecosystem, string> = { cargo: 'crate', npm: 'npm' };
  for (const lib of [...bundled].sort(compareLibraries)) lines.push(`${kind[lib.ecosystem]} ${lib.name} ${lib.version}: ${lib.license}`);
  return `${lines.join('\n')}\n`;
}

export function renderRpmSpec(input: RpmSpecInput): string {
  // Checked here too, so that no caller can render a value unchecked.
  const problems = specInputProblems(input);
  if (problems.length > 0) throw new UnsafeSpecValues(problems);
  const name = input.name;
  const out: string[] = [];
  const tag = (key: string, value: string): void => {
    out.push(`${`${key}:`.padEnd(16)}${value}`);
  };
  out.push(`# Written by ${TOOL_NAME} ${TOOL_VERSION} (flavour: ${input.flavor}). The application builds offline:`);
  out.push('# Source1 holds every locked dependency, verified against the lockfile and audited.');
  out.push('# Regenerate it with `stowage package rpm` rather than editing it.');
  out.push('');
  if (GLOBALS[input.ecosystem].length > 0) out.push(...GLOBALS[input.ecosystem], '');
  tag('Name', name);
  tag('Version', rpmVersion(input.version));
  tag('Release', `${field(input.release)}%{?dist}`);
  tag('Summary', field(input.summary));
  tag('License', input.license);
  if (input.url !== null) tag('URL', field(input.url));
  tag('Source0', input.sources.app);
  tag('Source1', input.sources.vendor);
  tag('Source2', input.sources.sbom);
  tag('Source3', input.sources.licenses);
  if (input.sources.depV0 !== undefined) tag('Source4', input.sources.depV0);
  out.push('');
  if (input.ecosystem === 'npm' && input.nativeCode !== undefined) {
    out.push(architectureComment(input.nativeCode));
    if (isNoarch(input.nativeCode)) tag('BuildArch', 'noarch');
    out.push('');
  }
  const buildRequires = input.ecosystem === 'npm' ? npmBuildRequires(input.flavor, input.packageManager ?? 'npm', input.nativeCode?.compiles === true) : BUILD_REQUIRES[input.flavor].cargo;
  for (const req of buildRequires) tag('BuildRequires', req);
  if (input.systemRequires !== undefined && input.systemRequires.length > 0) {
    out.push("# What the vendored crates' build scripts need from the build root:");
    for (const req of input.systemRequires) {
      out.push(`# ${req.capability} for ${req.neededBy.join(', ')}`);
      tag('BuildRequires', req.capability);
    }
  }
  for (const req of REQUIRES[input.ecosystem]) tag('Requires', req);
  out.push('');
  if (input.bundled.length > 0) {
    out.push('# Every library compiled into the application, for security trackers (see Source3 for licences).');
    // Each npm package built for some CPUs only is installed, so bundled, on those alone.
    const condition = (lib: BundledLibrary): string => (lib.arch === undefined ? '' : 'only' in lib.arch ? `%ifarch ${lib.arch.only}` : `%ifnarch ${lib.arch.except}`);
    const sorted = [...input.bundled].sort(compareLibraries);
    for (const cond of [...new Set(sorted.map(condition))].sort()) {
      if (cond !== '') out.push(cond);
      for (const p of new Set(sorted.filter((lib) => condition(lib) === cond).map((lib) => bundledProvide(input.flavor, lib)))) tag('Provides', p);
      if (cond !== '') out.push('%endif');
    }
    const cLibraries = input.ecosystem === 'cargo' ? cargoBundledCLibraries(input.bundled, input.withoutCSources) : [];
    if (cLibraries.length > 0) {
      out.push('# C libraries built from the sources these crates carry (their versions name them):');
      for (const c of cLibraries) {
        out.push(`# bundled(${c.name}) from ${c.crate}`);
        tag('Provides', `bundled(${c.name}) = ${c.version}`);
      }
    }
    out.push('');
  }
  out.push('%description');
  out.push(descriptionText(input).replace(/%/g, '%%'));
  out.push('');
  out.push('%prep');
  out.push(`%autosetup -n ${name}-%{version}`);
  out.push('# The vendored dependencies, laid out at the application root as stowage vendor writes them.');
  out.push(`tar ${input.sources.vendor.endsWith('.tar.zst') ? '--zstd ' : ''}-xf %{SOURCE1}`);
  out.push('cp -p %{SOURCE3} bundled-licenses.txt');
  out.push('');
  if (input.ecosystem === 'cargo') renderCargoSections(out, input);
  else renderNpmSections(out, input);
  out.push('%changelog');
  out.push(`* ${changelogDate(changelogEpoch(input.sourceDateEpoch))} ${TOOL_NAME} <${TOOL_NAME}@localhost> - ${rpmVersion(input.version)}-${field(input.release)}`);
  out.push(`- Packaged by ${TOOL_NAME} from the application's lockfile, dependencies vendored`);
  return `${out.join('\n')}\n`;
}

/** How each kind of native code is named in the spec's comment (fixed words). */
const NATIVE_CODE_WORDS: Record<NativeCodeKind, string> = {
  'install-script': 'install scripts',
  'binding-gyp': 'binding.gyp',
  'node-addon': '.node files',
  'machine-code': 'prebuilt executables',
  platform: 'os/cpu restrictions',
};

/**
 * Why the package is, or is not, architecture-specific: counts and fixed words only (package
 * names come from lockfiles and registries, and have no place in the spec's text).
 */
function architectureComment(native: NativeCode): string {
  if (isNoarch(native)) {
    return '# noarch: neither the application nor any bundled package has an install script, a binding.gyp, a .node file or an os/cpu restriction.';
  }
  const parts: string[] = [];
  if (native.application.length > 0) parts.push(`the application has ${native.application.map((k) => NATIVE_CODE_WORDS[k]).join(', ')}`);
  if (native.packageCount > 0) {
    const kinds = NATIVE_CODE_KINDS.filter((k) => native.packages[k] > 0).map((k) => `${NATIVE_CODE_WORDS[k]}: ${native.packages[k]}`);
    parts.push(`${native.packageCount} bundled ${native.packageCount === 1 ? 'package has' : 'packages have'} native code or a platform restriction (${kinds.join(', ')})`);
  }
  return `# Architecture-specific: ${parts.join('; ')}.`;
}

/** Cargo reads no user configuration and writes no user cache: a CARGO_HOME of the build's own. */
const CARGO_ENV = ['export CARGO_HOME="$PWD/.cargo-home"', 'export CARGO_TARGET_DIR="$PWD/target"'];

/** What a Cargo application's build and tests must name beyond a plain `cargo build` at its root. */
export type CargoBuildSelection = Pick<RpmSpecInput, 'version' | 'cargoPackage' | 'cargoFeatures'>;

/**
 * The spec's %build and %check commands of a Cargo application, as argument lists, for running
 * the same steps outside rpmbuild (a campaign's sandboxed build and test): a workspace's
 * default-members may leave the application's package out of a plain build (`--package`), and a
 * binary whose required-features are off by default is not built without them (`--features`).
 * The package is named with its version: `--package tool` is ambiguous to cargo (1.95: "specification
 * `tool` is ambiguous") when the workspace also depends on another version of a `tool`.
 */
export function cargoBuildCommands(app: CargoBuildSelection): { build: [string, ...string[]]; test: [string, ...string[]] } {
  const features = app.cargoFeatures ?? [];
  const flags = [...(app.cargoPackage === undefined ? [] : ['--package', `${app.cargoPackage}@${app.version}`]), ...(features.length > 0 ? ['--features', features.join(',')] : [])];
  return { build: ['cargo', 'build', '--release', '--offline', '--frozen', ...flags], test: ['cargo', 'test', '--release', '--offline', '--frozen', ...flags] };
}

function renderCargoSections(out: string[], input: RpmSpecInput): void {
  const sbomDir = `%{_datadir}/${input.name}`;
  // Words of checked values only (applicationSpecProblems): joined, they are the shell line.
  const commands = cargoBuildCommands(input);
  out.push('%build', ...CARGO_ENV);
  if (input.cargoPackage !== undefined) out.push("# The workspace's default-members: the application's package is named.");
  if ((input.cargoFeatures ?? []).length > 0) out.push("# The features the binaries' required-features need, beyond the default ones.");
  out.push(commands.build.join(' '), '');
  out.push('%install');
  for (const bin of input.binaries) out.push(`install -Dpm 0755 target/release/${bin.name} %{buildroot}%{_bindir}/${bin.name}`);
  // cargo-auditable's format (Source4, written by stowage from the lockfile), so that
  // cargo-audit, Trivy, syft, osv-scanner and stowage can audit the installed binaries.
  if (input.sources.depV0 !== undefined) {
    for (const bin of input.binaries) out.push(`objcopy --add-section .dep-v0=%{SOURCE4} %{buildroot}%{_bindir}/${bin.name}`);
  }
  out.push(`install -Dpm 0644 %{SOURCE2} %{buildroot}${sbomDir}/${input.sources.sbom}`, '');
  out.push(...checkSection([...CARGO_ENV, commands.test.join(' ')]));
  out.push('%files');
  for (const file of input.licenseFiles) out.push(`%license ${file}`);
  out.push('%license bundled-licenses.txt');
  for (const bin of input.binaries) out.push(`%{_bindir}/${bin.name}`);
  out.push(`%dir ${sbomDir}`, `${sbomDir}/${input.sources.sbom}`, '');
}

/**
 * How each package manager builds, installs and tests offline from the vendored layout, run at
 * the application's root (relative settings in .npmrc/.yarnrc/.yarnrc.yml are read from there):
 * - `env`: a HOME of the build's own, so no user configuration or cache is read or written;
 * - `install`: dependencies for the build and the tests (development ones included);
 * - `build`: the application's `build` script, when it has one;
 * - `production`: run in the copy under %{buildroot}, with `$OLDPWD` the build directory:
 *   development dependencies removed, offline, from the same vendored files;
 * - `buildOnly`: what the build directory holds that the installed application does not.
 * The package manager is required as a command (`/usr/bin/yarn`, `/usr/bin/pnpm`): distributions
 * package them under different names, or not at all (pnpm).
 */
interface PackageManagerSteps {
  buildRequires: string[];
  env: string[];
  install: string[];
  build: string;
  production: string[];
  test: string;
  buildOnly: string[];
}

/** A script that runs `command` only when package.json defines a `build` script (yarn has no --if-present). */
const IF_BUILD_SCRIPT = `if node -e 'process.exit(require("./package.json").scripts?.build ? 0 : 1)'; then`;

const PACKAGE_MANAGERS: Record<NpmPackageManager, PackageManagerSteps> = {
  npm: {
    buildRequires: [],
    // npm resolves the .npmrc's relative cache from the directory it runs in: the application root.
    env: ['unset npm_config_cache', 'export npm_config_update_notifier=false', 'export HOME="$PWD/.npm-home"', ...NODE_HEADERS],
    install: ['npm ci --offline --no-audit --no-fund'],
    build: 'npm run build --if-present --offline',
    production: ['npm prune --omit=dev --offline --no-audit --no-fund --cache="$OLDPWD/vendor/npm-cache"'],
    test: 'npm test',
    buildOnly: ['vendor', '.npmrc', '.npm-home'],
  },
  'yarn-classic': {
    buildRequires: ['/usr/bin/yarn'],
    env: ['export HOME="$PWD/.yarn-home"', 'export YARN_CACHE_FOLDER="$PWD/.yarn-home/cache"', ...NODE_HEADERS],
    // The archive's .yarnrc sets the offline mirror, --offline and --frozen-lockfile.
    install: ['yarn install --non-interactive'],
    build: `${IF_BUILD_SCRIPT} yarn run build; fi`,
    // The .yarnrc names its mirror relative to itself: the build directory's. --ignore-scripts:
    // everything was built in %build; yarn would run the project's own postinstall again with the
    // development dependencies gone (`husky install`, `patch-package` and the like: not found).
    // The packages already built keep what their scripts made (checked with yarn 1.22.22).
    production: ['yarn install --production --non-interactive --ignore-scripts --use-yarnrc "$OLDPWD/.yarnrc"'],
    test: 'yarn test',
    buildOnly: ['vendor', '.yarnrc', '.yarn-home'],
  },
  'yarn-berry': {
    buildRequires: ['/usr/bin/yarn'],
    // node_modules whatever the project's linker: the installed application runs on plain node.
    env: ['export HOME="$PWD/.yarn-home"', 'export YARN_NODE_LINKER=node-modules', 'export YARN_ENABLE_TELEMETRY=0', ...NODE_HEADERS],
    // The archive's .yarnrc.yml keeps the cache in .yarn/cache and the network off.
    install: ['yarn install --immutable'],
    build: `${IF_BUILD_SCRIPT} yarn run build; fi`,
    production: ['YARN_CACHE_FOLDER="$OLDPWD/.yarn/cache" yarn workspaces focus --all --production', 'rm -f .yarn/install-state.gz', '{ rmdir .yarn 2>/dev/null || true; }'],
    test: 'yarn run test',
    buildOnly: ['.yarn/cache', '.yarn-home'],
  },
  pnpm: {
    buildRequires: ['/usr/bin/pnpm'],
    env: ['export HOME="$PWD/.pnpm-home"', 'export npm_config_update_notifier=false', ...NODE_HEADERS],
    // The archive's .npmrc names the vendored store and turns the network off.
    install: ['pnpm install --offline --frozen-lockfile'],
    build: 'pnpm run --if-present build',
    // --ignore-scripts: everything was built in %build; pnpm would run the project's own prepare
    // again with the development dependencies gone (`husky install` and the like: not found).
    // The packages already built keep what their scripts made (checked with pnpm 9.15.9).
    production: ['pnpm install --offline --frozen-lockfile --prod --ignore-scripts --store-dir="$OLDPWD/vendor/pnpm-store"'],
    test: 'pnpm test',
    buildOnly: ['vendor', '.npmrc', '.pnpm-home'],
  },
};

/**
 * The spec's %build and %check of an npm-world application as two shell scripts, for running
 * the same steps outside rpmbuild (a campaign's sandboxed build and test). Fixed text: nothing
 * of the application's becomes part of them.
 */
export function npmBuildScripts(packageManager: NpmPackageManager): { build: string; test: string } {
  const steps = PACKAGE_MANAGERS[packageManager];
  return { build: [...steps.env, ...steps.install, steps.build].join('\n'), test: [...steps.env, steps.test].join('\n') };
}

/** The BuildRequires of an npm-world application: node and npm, its own package manager, and what node-gyp needs when the build compiles. */
function npmBuildRequires(flavor: RpmFlavor, packageManager: NpmPackageManager, compiles: boolean): string[] {
  return [...BUILD_REQUIRES[flavor].npm, ...PACKAGE_MANAGERS[packageManager].buildRequires, ...(compiles ? NATIVE_BUILD_REQUIRES[flavor] : [])];
}

/**
 * What %install copies from the staged application into the package: the files `npm pack`
 * would publish (package.json's `files`, .npmignore or else .gitignore, the files npm always
 * includes, never lockfiles or .npmrc), read from npm itself (`--dry-run` only reads the tree,
 * `--ignore-scripts` runs no prepack), and the production node_modules. A workspace member the
 * production install links into node_modules (`node_modules/@app/lib -> ../packages/lib`, as npm,
 * pnpm and both yarns link them) is the application's too: its own `npm pack` files and its
 * node_modules are copied the same way, so no installed link dangles. The list passes from npm's
 * JSON to tar as NUL-separated data, never as shell words; `--verbatim-files-from` keeps a name
 * starting with `-` a name. `APP_DIR` is replaced by the installed application's path.
 * `--loglevel=error`: npm's warnings here are advice to a publisher (`gitignore-fallback`: add an
 * .npmignore), which a packager cannot act on.
 */
const PACKED_FILES_SCRIPT = [
  'const fs = require("fs"); const path = require("path"); const cp = require("child_process");',
  'const stage = fs.realpathSync(process.argv[1]); const files = []; const seen = new Set();',
  'const packed = (dir) => JSON.parse(cp.execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", "--offline", "--loglevel=error"], { cwd: dir, encoding: "utf8" }))[0].files.map((f) => f.path).filter((p) => !p.startsWith("node_modules/"));',
  'const links = (modules) => fs.readdirSync(modules).filter((e) => !e.startsWith(".")).flatMap((e) => e.startsWith("@") && fs.lstatSync(path.join(modules, e)).isDirectory() ? fs.readdirSync(path.join(modules, e)).map((s) => path.join(modules, e, s)) : [path.join(modules, e)]).filter((p) => fs.lstatSync(p).isSymbolicLink());',
  'const member = (link) => { let target; try { target = fs.realpathSync(link); } catch { return null; } const rel = path.relative(stage, target);',
  '  if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel) || rel.split(path.sep).includes("node_modules") || !fs.existsSync(path.join(target, "package.json"))) return null; return rel.split(path.sep).join("/"); };',
  'const add = (rel) => { if (seen.has(rel)) return; seen.add(rel); const dir = path.join(stage, rel); const prefix = rel === "" ? "" : rel + "/";',
  '  for (const p of packed(dir)) files.push(prefix + p); const modules = path.join(dir, "node_modules"); if (!fs.existsSync(modules)) return; files.push(prefix + "node_modules");',
  '  for (const link of links(modules)) { const m = member(link); if (m !== null) add(m); } };',
  'add(""); process.stdout.write(files.map((p) => p + "\\0").join(""));',
].join(' ');

const PACKED_FILES = [
  `node -e '${PACKED_FILES_SCRIPT}' "$stage" > "$stage.files"`,
  'mkdir -p APP_DIR',
  'tar -C "$stage" --null --verbatim-files-from -T "$stage.files" -cf - | tar -xf - -C APP_DIR',
  'rm -rf "$stage" "$stage.files"',
];

function renderNpmSections(out: string[], input: RpmSpecInput): void {
  const steps = PACKAGE_MANAGERS[input.packageManager ?? 'npm'];
  const appDir = `%{_prefix}/lib/node_modules/${input.name}`;
  const sbomDir = `%{_datadir}/${input.name}`;
  out.push('%build', ...steps.env);
  // Development dependencies are installed for the build and the tests; %install removes them.
  out.push(...steps.install, steps.build, '');
  out.push('%install', ...steps.env);
  // The application as it runs, staged beside the build directory: everything the build made
  // except what only the build needs (the vendored files and their settings, the package
  // manager's HOME, the vendor archive's own manifest, which names the build host's paths, and
  // SBOM, installed once below), then its development dependencies removed.
  const buildOnly = [...steps.buildOnly, 'bundled-licenses.txt', MANIFEST_PATH, SBOM_PATH];
  out.push('stage="$PWD.install"', 'rm -rf "$stage" && mkdir -p "$stage"');
  out.push(`tar ${buildOnly.map((p) => `--exclude=./${p}`).join(' ')} -cf - . | tar -xf - -C "$stage"`);
  out.push(`(cd "$stage" && ${steps.production.join(' && ')})`);
  out.push(...PACKED_FILES.map((line) => line.replace('APP_DIR', `%{buildroot}${appDir}`)));
  if (input.binaries.length > 0) out.push('mkdir -p %{buildroot}%{_bindir}');
  for (const bin of input.binaries) {
    const script = bin.path.replace(/^\.\//, '');
    out.push(`chmod 0755 %{buildroot}${appDir}/${script}`);
    out.push(`ln -s ../lib/node_modules/${input.name}/${script} %{buildroot}%{_bindir}/${bin.name}`);
  }
  out.push(`install -Dpm 0644 %{SOURCE2} %{buildroot}${sbomDir}/${input.sources.sbom}`, '');
  if (input.hasTests) out.push(...checkSection([...steps.env, steps.test]));
  out.push('%files');
  for (const file of input.licenseFiles) out.push(`%license ${file}`);
  out.push('%license bundled-licenses.txt', appDir);
  for (const bin of input.binaries) out.push(`%{_bindir}/${bin.name}`);
  out.push(`%dir ${sbomDir}`, `${sbomDir}/${input.sources.sbom}`, '');
}
