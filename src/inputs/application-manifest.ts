import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, type TomlTable, type TomlValue } from 'smol-toml';
import { InputError, StowageError, errorMessage } from '../core/errors.js';
import type { Ecosystem } from '../core/package.js';
import { isTomlTable } from '../core/toml-values.js';
import { memberManifestPathsOf } from '../ecosystems/cargo/workspace-members.js';

/**
 * A well-formed manifest that names no single application stowage can package: a virtual
 * workspace with no member (or several members) holding binaries, a package.json without a name
 * or version (a private monorepo root). A package needs one; an SBOM can name the application
 * after the lockfile's root instead.
 */
export class NoApplicationError extends InputError {
  constructor(file: string, message: string) {
    super(file, message);
    this.name = 'NoApplicationError';
  }
}

/**
 * What a package needs to know about the application itself, from its own manifest: name,
 * version, licence, description, home page, and what it installs (Cargo binaries, npm `bin`).
 */
export interface ApplicationManifest {
  ecosystem: Ecosystem;
  /** The manifest it was read from. */
  path: string;
  name: string;
  version: string;
  /** The `license` field as written; null when there is none. */
  license: string | null;
  /** Set when the manifest names a licence file instead of an SPDX expression. */
  licenseFile: string | null;
  description: string | null;
  homepage: string | null;
  /** Cargo: binary target names. npm: `bin` name -> script path (relative to the package). */
  binaries: { name: string; path: string }[];
  /** npm: `scripts.test` is defined (and is not npm's placeholder). */
  hasTests: boolean;
  /**
   * Cargo: the features `cargo build` must be given (`--features`) for every binary to be built:
   * the `required-features` of its `[[bin]]` targets that the default features do not turn on
   * (`member/feature` for a member of a virtual workspace). Empty or absent: none.
   */
  cargoFeatures?: string[];
  /**
   * Cargo: the package `cargo build` must be told to build (`--package NAME`), because the
   * workspace's `default-members` decide what a plain `cargo build` at its root builds and may
   * leave the application out. Absent: a plain `cargo build` builds it.
   */
  cargoPackage?: string;
}

const str = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);

/** Whether the directory holds a manifest readApplicationManifest reads. */
export function hasApplicationManifest(projectDir: string): boolean {
  return existsSync(join(projectDir, 'Cargo.toml')) || existsSync(join(projectDir, 'package.json'));
}

/** Reads the application's manifest: Cargo.toml (preferred when both exist) or package.json. */
export function readApplicationManifest(projectDir: string): ApplicationManifest {
  const cargo = join(projectDir, 'Cargo.toml');
  if (existsSync(cargo)) return readCargoApplication(projectDir, cargo);
  const npm = join(projectDir, 'package.json');
  if (existsSync(npm)) return readNpmApplication(npm);
  throw new StowageError('no Cargo.toml or package.json: cannot tell the application name and version', projectDir);
}

function readToml(path: string): TomlTable {
  try {
    return parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputError(path, `invalid TOML: ${errorMessage(err).split('\n')[0]}`);
  }
}

function readCargoApplication(projectDir: string, path: string): ApplicationManifest {
  const doc = readToml(path);
  if (isTomlTable(doc.package)) return withDefaultMembers(cargoPackage(projectDir, path, doc), isTomlTable(doc.workspace) ? doc.workspace : null);
  // A virtual workspace: the application is the one member with a binary.
  const workspace = isTomlTable(doc.workspace) ? doc.workspace : null;
  const candidates: ApplicationManifest[] = [];
  // The members as cargo finds them: globs (`crates/*`) expanded, `exclude` honoured.
  for (const memberManifest of memberManifestPathsOf(path, doc)) {
    const app = cargoPackage(dirname(memberManifest), memberManifest, readToml(memberManifest), workspace);
    // Built from the workspace's root, a member's feature is named with its package.
    app.cargoFeatures = app.cargoFeatures?.map((f) => (f.includes('/') ? f : `${app.name}/${f}`));
    if (app.binaries.length > 0) candidates.push(app);
  }
  if (candidates.length !== 1) {
    throw new NoApplicationError(
      path,
      candidates.length === 0
        ? 'neither [package] nor a workspace member with a binary target: nothing to package'
        : `several workspace members have binaries (${candidates.map((c) => c.name).join(', ')}); stowage packages one`,
    );
  }
  return withDefaultMembers(candidates[0] as ApplicationManifest, workspace);
}

/**
 * The application of a workspace whose root sets `default-members`: `cargo build` at the root
 * builds those packages only (cargo 1.95: `default-members = ["lib"]` leaves the binary member
 * unbuilt, and the spec's %install stopped on "cannot stat 'target/release/NAME'"), so the build
 * names the application's package.
 */
function withDefaultMembers(app: ApplicationManifest, workspace: TomlTable | null): ApplicationManifest {
  return workspace !== null && workspace['default-members'] !== undefined ? { ...app, cargoPackage: app.name } : app;
}

/** A `key.workspace = true` field resolved from `[workspace.package]`. */
function inherited(pkg: TomlTable, key: string, workspace: TomlTable | null): TomlValue | undefined {
  const value = pkg[key];
  if (isTomlTable(value) && value.workspace === true) {
    const shared = isTomlTable(workspace?.package) ? workspace.package : null;
    return shared?.[key];
  }
  return value;
}

function cargoPackage(dir: string, path: string, doc: TomlTable, workspace: TomlTable | null = isTomlTable(doc.workspace) ? doc.workspace : null): ApplicationManifest {
  const pkg = doc.package as TomlTable;
  const name = str(pkg.name);
  const version = str(inherited(pkg, 'version', workspace)) ?? '0.0.0';
  if (name === null) throw new InputError(path, '[package] has no name');
  const binaries = cargoBinaries(dir, path, name, doc, str(inherited(pkg, 'edition', workspace)) ?? '2015');
  return {
    ecosystem: 'cargo',
    path,
    name,
    version,
    license: str(inherited(pkg, 'license', workspace)),
    licenseFile: str(inherited(pkg, 'license-file', workspace)),
    description: str(inherited(pkg, 'description', workspace)),
    homepage: str(inherited(pkg, 'homepage', workspace)) ?? str(inherited(pkg, 'repository', workspace)),
    binaries,
    hasTests: true,
    cargoFeatures: featuresToEnable(doc, binaries),
  };
}

/**
 * The `required-features` of the `[[bin]]` targets that the package's default features do not
 * already turn on, sorted: without them `cargo build` skips the binary (cargo-lock 8.0.2's
 * `cargo-lock` needs `cli`), and `cargo install` refuses the package.
 */
function featuresToEnable(doc: TomlTable, binaries: readonly { requiredFeatures: string[] }[]): string[] {
  const table = isTomlTable(doc.features) ? doc.features : {};
  const defaults = new Set<string>();
  const pending = ['default'];
  for (let feature = pending.pop(); feature !== undefined; feature = pending.pop()) {
    const enables = Object.hasOwn(table, feature) ? table[feature] : undefined;
    for (const entry of Array.isArray(enables) ? enables : []) {
      if (typeof entry === 'string' && !entry.includes('/') && !entry.startsWith('dep:') && !defaults.has(entry)) {
        defaults.add(entry);
        pending.push(entry);
      }
    }
  }
  const needed = new Set<string>();
  for (const bin of binaries) {
    for (const feature of bin.requiredFeatures) if (!defaults.has(feature)) needed.add(feature);
  }
  return [...needed].sort();
}

/** A target path as Cargo compares them (`PathBuf` equality): `.` and empty segments do not count. */
function targetPath(path: string): string {
  return path.split('/').filter((segment, i) => segment !== '.' && (segment !== '' || i === 0)).join('/');
}

/**
 * Cargo's binary targets: `[[bin]]`, plus the auto-discovered src/main.rs and src/bin/*, as
 * Cargo infers them (checked with `cargo metadata`, cargo 1.95): a discovered file is no target
 * of its own when a `[[bin]]` of its name or of its path (fd-find 8.6's `fd` is
 * `path = "src/main.rs"`: there is no `fd-find` binary) exists, and edition 2015 discovers none
 * once one `[[bin]]` is declared, unless `autobins = true`.
 */
function cargoBinaries(dir: string, path: string, packageName: string, doc: TomlTable, edition: string): { name: string; path: string; requiredFeatures: string[] }[] {
  const pkg = doc.package as TomlTable;
  const found = new Map<string, string>();
  const required = new Map<string, string[]>();
  const declared = Array.isArray(doc.bin) ? doc.bin : [];
  const declaredPaths = new Set<string>();
  for (const [i, bin] of declared.entries()) {
    if (!isTomlTable(bin) || str(bin.name) === null) throw new InputError(path, `[[bin]] #${i + 1} has no name`);
    const binPath = str(bin.path);
    if (binPath !== null) declaredPaths.add(targetPath(binPath));
    found.set(bin.name as string, binPath ?? `src/bin/${bin.name as string}.rs`);
    const features = bin['required-features'];
    if (features !== undefined && (!Array.isArray(features) || !features.every((f) => typeof f === 'string'))) {
      throw new InputError(path, `[[bin]] ${bin.name as string}: required-features is not a list of feature names`);
    }
    required.set(bin.name as string, (features ?? []) as string[]);
  }
  const discover = (name: string, file: string): void => {
    if (!found.has(name) && !declaredPaths.has(file)) found.set(name, file);
  };
  const autobins = typeof pkg.autobins === 'boolean' ? pkg.autobins : !(edition === '2015' && declared.length > 0);
  if (autobins) {
    if (existsSync(join(dir, 'src', 'main.rs'))) discover(packageName, 'src/main.rs');
    const binDir = join(dir, 'src', 'bin');
    if (existsSync(binDir)) {
      for (const entry of readdirSync(binDir, { withFileTypes: true })) {
        // Cargo passes over dotfiles here (an editor's `.draft.rs`, a `.old/` directory).
        if (entry.name.startsWith('.')) continue;
        if (entry.isFile() && entry.name.endsWith('.rs')) discover(entry.name.slice(0, -3), `src/bin/${entry.name}`);
        else if (entry.isDirectory() && existsSync(join(binDir, entry.name, 'main.rs'))) discover(entry.name, `src/bin/${entry.name}/main.rs`);
      }
    }
  }
  for (const name of found.keys()) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(name)) throw new InputError(path, `binary name "${name}" cannot be installed safely`);
  }
  return [...found].map(([name, p]) => ({ name, path: p, requiredFeatures: required.get(name) ?? [] })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function readNpmApplication(path: string): ApplicationManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputError(path, `invalid JSON: ${errorMessage(err)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InputError(path, 'expected a JSON object');
  const pkg = doc as Record<string, unknown>;
  const name = str(pkg.name);
  const version = str(pkg.version);
  if (name === null || version === null) throw new NoApplicationError(path, 'package.json needs a name and a version to be packaged');
  const unscoped = name.slice(name.indexOf('/') + 1);
  const binaries: { name: string; path: string }[] = [];
  if (typeof pkg.bin === 'string') binaries.push({ name: unscoped, path: pkg.bin });
  else if (typeof pkg.bin === 'object' && pkg.bin !== null) {
    for (const [bin, target] of Object.entries(pkg.bin as Record<string, unknown>)) {
      if (typeof target === 'string') binaries.push({ name: bin, path: target });
    }
  }
  for (const bin of binaries) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(bin.name)) throw new InputError(path, `bin name "${bin.name}" cannot be installed safely`);
    if (bin.path.startsWith('/') || bin.path.split('/').includes('..')) throw new InputError(path, `bin "${bin.name}": ${bin.path} lies outside the package`);
  }
  binaries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const scripts = typeof pkg.scripts === 'object' && pkg.scripts !== null ? (pkg.scripts as Record<string, unknown>) : {};
  const test = str(scripts.test);
  const repository = typeof pkg.repository === 'object' && pkg.repository !== null ? str((pkg.repository as Record<string, unknown>).url) : str(pkg.repository);
  return {
    ecosystem: 'npm',
    path,
    name,
    version,
    license: npmLicenseText(pkg),
    licenseFile: null,
    description: str(pkg.description),
    homepage: str(pkg.homepage) ?? (repository && /^https?:\/\//.test(repository) ? repository : null),
    binaries,
    // npm init's placeholder fails on purpose; it is no test suite.
    hasTests: test !== null && !test.includes('Error: no test specified'),
  };
}

/**
 * npm's `license` as one string: the SPDX string form, the legacy `{type}` object, or the
 * legacy `licenses: [{type}]` array (alternatives, so joined with OR).
 */
export function npmLicenseText(pkg: Record<string, unknown>): string | null {
  const typeOf = (v: unknown): string | null =>
    typeof v === 'string' ? str(v) : typeof v === 'object' && v !== null ? str((v as Record<string, unknown>).type) : null;
  const single = typeOf(pkg.license);
  if (single !== null) return single;
  if (Array.isArray(pkg.licenses)) {
    const all = pkg.licenses.map(typeOf).filter((v): v is string => v !== null);
    if (all.length === 1) return all[0] as string;
    if (all.length > 1) return all.map((l) => `(${l})`).join(' OR ');
  }
  return null;
}
