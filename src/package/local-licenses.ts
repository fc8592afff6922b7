import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { outgoingEdges, reachableFrom, type DependencyGraph, type EdgeKind } from '../core/graph.js';
import type { Ecosystem } from '../core/package.js';
import { isTomlTable } from '../core/toml-values.js';
import { parseManifestQuietly, pathPackageManifests, readWorkspaceManifests } from '../ecosystems/cargo/workspace-members.js';
import { npmWorkspaceManifestPaths, pnpmWorkspaceManifestPaths } from '../ecosystems/npm/workspace-members.js';
import { combineLicenses, normalizeLicense } from '../sbom/licenses.js';
import { licenseRefFor } from '../vendoring/vendored-licenses.js';

/**
 * The licences of the application's own local packages: Cargo workspace members and path
 * dependencies (a third-party crate copied into the tree, `path = "third_party/foo"`), npm, pnpm,
 * yarn and bun workspace members. The build compiles them into what the RPM installs, so one
 * under another licence than the application's makes the package's `License:` that licence too.
 * They are not in the vendor archive (their sources are the application's), so their own
 * manifests in the project say it. One that states no licence is the application's own code,
 * under the application's licence.
 */

export interface LocalLicense {
  ecosystem: Ecosystem;
  name: string;
  version: string;
  /** Its licence as an SPDX expression (normalised; a `license-file` alone: a LicenseRef). */
  license: string;
}

/** What a local package's manifest states: `license`, else `license-file`; null for neither. */
interface Stated {
  license: string | null;
  licenseFile: boolean;
}

const BUILD_TIME: ReadonlySet<EdgeKind> = new Set(['dev', 'build']);

const readText = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/** Cargo: every crate the project's manifests describe (root, members, path packages), by name. */
function cargoStated(projectDir: string): Map<string, Stated> {
  const out = new Map<string, Stated>();
  const rootPath = join(projectDir, 'Cargo.toml');
  const manifests = readWorkspaceManifests(rootPath);
  if (manifests === null) return out;
  const { root, members } = manifests;
  const inherited = isTomlTable(root.workspace) && isTomlTable(root.workspace.package) ? root.workspace.package : null;
  const add = (doc: unknown): void => {
    if (!isTomlTable(doc) || !isTomlTable(doc.package) || typeof doc.package.name !== 'string' || out.has(doc.package.name)) return;
    const field = (key: 'license' | 'license-file'): string | null => {
      const value = (doc.package as Record<string, unknown>)[key];
      if (typeof value === 'string') return value;
      // `license.workspace = true`: the root's [workspace.package] value.
      if (isTomlTable(value) && value.workspace === true && typeof inherited?.[key] === 'string') return inherited[key];
      return null;
    };
    out.set(doc.package.name, { license: field('license'), licenseFile: field('license-file') !== null });
  };
  add(root);
  for (const member of members) add(member.doc);
  for (const found of pathPackageManifests({ path: rootPath, doc: root }, members, readText)) add(parseManifestQuietly(found.text));
  return out;
}

/**
 * Cargo: what the manifest of the path crate at `path` (relative to `baseDir`, the root
 * manifest's directory) states, when that crate is `name`; undefined when it cannot be read.
 * A `[patch]` copy is read where cargo builds it from: the crate of its name the project's
 * manifests describe may be another copy (a `.cargo/config.toml` patch wins over the manifest's).
 */
function cargoStatedAt(baseDir: string, path: string, name: string): Stated | undefined {
  const text = readText(join(baseDir, path, 'Cargo.toml'));
  const doc = text === null ? null : parseManifestQuietly(text);
  if (doc === null || !isTomlTable(doc.package) || doc.package.name !== name) return undefined;
  const { license, 'license-file': licenseFile } = doc.package;
  // `license.workspace = true` is its own workspace's, which the project does not describe.
  return { license: typeof license === 'string' ? license : null, licenseFile: typeof licenseFile === 'string' };
}

/** npm-world: every workspace member's package.json (package.json `workspaces`, pnpm-workspace.yaml), by name. */
function npmStated(projectDir: string): Map<string, Stated> {
  const out = new Map<string, Stated>();
  const rootPath = join(projectDir, 'package.json');
  const rootText = readText(rootPath);
  const manifests = rootText === null ? [] : npmWorkspaceManifestPaths(rootPath, rootText);
  const pnpmPath = join(projectDir, 'pnpm-workspace.yaml');
  const pnpmText = existsSync(pnpmPath) ? readText(pnpmPath) : null;
  if (pnpmText !== null) manifests.push(...pnpmWorkspaceManifestPaths(pnpmPath, pnpmText));
  for (const path of manifests) {
    const text = readText(path);
    let doc: unknown;
    try {
      doc = text === null ? null : JSON.parse(text);
    } catch {
      continue;
    }
    if (typeof doc !== 'object' || doc === null) continue;
    const { name, license } = doc as { name?: unknown; license?: unknown };
    if (typeof name !== 'string' || out.has(name)) continue;
    out.set(name, { license: typeof license === 'string' ? license : null, licenseFile: false });
  }
  return out;
}

/**
 * The licence of each local package the build compiles into the application (reached from the
 * roots through edges other than development and build-time ones), but the application itself
 * (its licence is decided with its own manifest); `problems` names those whose stated licence is
 * not SPDX. `overrides` (`--license NAME=EXPR`) wins, as for bundled libraries.
 */
export function localPackageLicenses(
  projectDir: string,
  application: { name: string },
  graphs: readonly DependencyGraph[],
  override: (name: string, version: string) => string | undefined,
): { licenses: LocalLicense[]; problems: string[] } {
  const licenses = new Map<string, LocalLicense>();
  const problems: string[] = [];
  const stated = new Map<Ecosystem, Map<string, Stated>>();
  for (const graph of graphs) {
    let byName = stated.get(graph.ecosystem);
    if (byName === undefined) stated.set(graph.ecosystem, (byName = graph.ecosystem === 'cargo' ? cargoStated(projectDir) : npmStated(projectDir)));
    const built = reachableFrom(outgoingEdges(graph.edges), graph.roots, BUILD_TIME);
    for (const pkg of graph.packages) {
      if (pkg.source.kind !== 'workspace' && pkg.source.kind !== 'path') continue;
      if (!built.has(pkg.id) || pkg.flags?.dev === true || pkg.name === application.name) continue;
      const key = `${pkg.ecosystem}\0${pkg.name}\0${pkg.version}`;
      if (licenses.has(key)) continue;
      const given = override(pkg.name, pkg.version);
      const at = pkg.ecosystem === 'cargo' && pkg.source.kind === 'path' && pkg.source.url !== null ? cargoStatedAt(dirname(graph.path), pkg.source.url, pkg.name) : undefined;
      // A [patch] copy's licence is its own manifest's or none (refused until --license gives it).
      const own = at ?? (pkg.source.patchesCrate === true ? undefined : byName.get(pkg.name));
      const declared = own?.license ?? null;
      const license = given ?? (declared !== null ? normalizeLicense(declared, pkg.ecosystem) : own?.licenseFile === true ? licenseRefFor(pkg.name) : null);
      if (license !== null) licenses.set(key, { ecosystem: pkg.ecosystem, name: pkg.name, version: pkg.version, license });
      else if (declared !== null && declared.trim() !== '') problems.push(`${pkg.name} ${pkg.version} (a local package of the application: "${declared}" is not SPDX)`);
    }
  }
  return { licenses: [...licenses.values()], problems };
}

/**
 * The application's licence as its SBOM states it. An SBOM folds a lockfile's workspace members
 * (its roots) into the application, so a member's own licence (a library crate under MIT in an
 * Apache-2.0 application's workspace) is the application's too: left out, it was in no
 * component of the SBOM, though the build compiles the member in and the RPM's `License:` says
 * it. Path packages outside the workspace are components of their own, with their own licence.
 * Null (unknown) stays null.
 */
export function applicationSbomLicense(applicationLicense: string | null, local: readonly LocalLicense[], graphs: readonly DependencyGraph[]): string | null {
  if (applicationLicense === null) return null;
  const keyOf = (p: { ecosystem: Ecosystem; name: string; version: string }): string => `${p.ecosystem}\0${p.name}\0${p.version}`;
  const roots = new Set(graphs.flatMap((g) => g.packages.filter((p) => g.roots.includes(p.id) && p.source.kind === 'workspace').map(keyOf)));
  const folded = local.filter((l) => roots.has(keyOf(l))).map((l) => l.license);
  return folded.length === 0 ? applicationLicense : combineLicenses([applicationLicense, ...folded]);
}
