import { InputError } from '../core/errors.js';
import { flagsFromReachability, type DependencyGraph, type Edge, type UnidentifiedComponent } from '../core/graph.js';
import type { Ecosystem, Package, PackageSource } from '../core/package.js';
import { shortList } from '../core/short-list.js';

/**
 * What an SBOM reader (CycloneDX, SPDX) found, turned into dependency graphs the same way for
 * both: one graph per ecosystem, the application and each application inside a shipped
 * artifact as roots, what could not be identified listed (or refused), a partial inventory
 * marked.
 */

/** The application a document describes, by its element id. */
export interface SbomApplication {
  id: string;
  name: string;
  version: string;
  /** As the document states it for the application, when it does. */
  license?: string;
  /**
   * The application is itself a package its purl identifies (an SBOM of a published crate or
   * npm package): in its ecosystem's graph it is that package, audited as a root is when a
   * binary's root crate came from crates.io; `name` and `version` are then the purl's.
   */
  registry?: { ecosystem: Ecosystem; source: PackageSource };
}

export interface SbomContents {
  application: SbomApplication | null;
  /** Applications inside a shipped artifact (a package's binaries), by element id. */
  parts: ReadonlyMap<string, { name: string; version: string }>;
  packages: Package[];
  edges: Edge[];
  unidentified: UnidentifiedComponent[];
  /** Element ids that edges name and no element has (quoted), read only when allowed. */
  dangling: string[];
  /** What the format calls an element's id, for messages: `bom-refs`, `SPDX ids`. */
  idWord: string;
  /** The document says its inventory is incomplete. */
  partial: boolean;
  /**
   * Packages say nothing of how they are used, edges do (SPDX's DEV_DEPENDENCY_OF,
   * OPTIONAL_DEPENDENCY_OF): a package the roots reach only through such edges is flagged so,
   * as a lockfile without per-package flags is read.
   */
  flagsFromEdges?: boolean;
}

/** How many unidentified components or dangling refs a message names before it counts the rest. */
const LISTED = 5;

/** Data in a one-line message: quoted, with control characters escaped. */
export const quoted = (text: string): string => JSON.stringify(text);

export function listed(items: string[]): string {
  return shortList(items, LISTED);
}

/** A reason quotes data (a decoded purl version, the component's name): its control characters are escaped too. */
export const describeUnidentified = (u: UnidentifiedComponent): string =>
  `${quoted(u.ref)}${u.name && u.name !== u.ref ? ` (${quoted(u.name)})` : ''}: ${quoted(u.reason).slice(1, -1)}`;

export const ALLOW_UNIDENTIFIED_FLAG = '--allow-unidentified';

/** Fail closed on what cannot be identified, unless the user allowed it. */
export function refuseUnidentified(path: string, unidentified: UnidentifiedComponent[], allowUnidentified: boolean): void {
  if (unidentified.length === 0 || allowUnidentified) return;
  throw new InputError(
    path,
    `${unidentified.length} ${unidentified.length === 1 ? 'component names a package' : 'components name packages'} stowage cannot identify, so cannot audit: ` +
      `${listed(unidentified.map(describeUnidentified))}; pass ${ALLOW_UNIDENTIFIED_FLAG} to audit the rest and report these as not audited`,
  );
}

const WORKSPACE = { kind: 'workspace', url: null, isDefaultRegistry: false } as const;

/**
 * The package an application without a purl is, when all it depends on is one package of its
 * own name and version: stowage's SBOM of a binary `cargo auditable install` built from
 * crates.io says so (the application holds the crate, so that the crate is audited). Read as
 * that package being the root, as auditing the binary reads it: not `hex@0.4.3 → hex@0.4.3`.
 */
function installedPackage(application: SbomApplication, edges: readonly Edge[], byId: ReadonlyMap<string, Package>): Package | null {
  if (application.registry !== undefined) return null;
  const own = edges.filter((e) => e.from === application.id);
  const only = own.length === 1 ? byId.get((own[0] as Edge).to) : undefined;
  return only !== undefined && only.name === application.name && only.version === application.version ? only : null;
}

/**
 * One package per (ecosystem, name, version, source), as a lockfile lists it: an SBOM may list
 * the same package as several components (one per place it is used, under different bom-refs or
 * SPDX ids). Each is merged into the first, its edges with it, so a finding is reported once
 * with the paths through every one of them. Untouched when nothing repeats.
 */
function mergeRepeatedPackages(packages: Package[], edges: Edge[]): { packages: Package[]; edges: Edge[] } {
  const first = new Map<string, number>();
  const renamed = new Map<string, string>();
  const kept: Package[] = [];
  for (const p of packages) {
    const s = p.source;
    const key = `${p.ecosystem}\0${p.name}\0${p.version}\0${s.kind}\0${s.url ?? ''}\0${s.rev ?? ''}\0${String(s.isDefaultRegistry)}`;
    const known = first.get(key);
    if (known === undefined) {
      first.set(key, kept.length);
      kept.push(p);
      continue;
    }
    const into = kept[known] as Package;
    renamed.set(p.id, into.id);
    // Development-only (CycloneDX scope `excluded`) when every component listing it says so, as
    // the SBOM writer marks it: one listing that ships it keeps it in an audit under --omit dev.
    if (into.flags?.dev === true && p.flags?.dev !== true) kept[known] = withoutDevFlag(into);
  }
  if (renamed.size === 0) return { packages, edges };
  const seen = new Set<string>();
  const merged: Edge[] = [];
  for (const e of edges) {
    const from = renamed.get(e.from) ?? e.from;
    const to = renamed.get(e.to) ?? e.to;
    const key = `${from}\0${to}\0${e.kind}`;
    if (from === to || seen.has(key)) continue;
    seen.add(key);
    merged.push(from === e.from && to === e.to ? e : { from, to, kind: e.kind });
  }
  return { packages: kept, edges: merged };
}

function withoutDevFlag(pkg: Package): Package {
  const { flags, ...rest } = pkg;
  const others = { ...flags };
  delete others.dev;
  return Object.keys(others).length > 0 ? { ...rest, flags: others } : rest;
}

export function sbomGraphs(path: string, format: string, found: SbomContents, options: { allowUnidentified: boolean }): DependencyGraph[] {
  const { application, parts, unidentified, dangling, partial } = found;
  const { packages, edges: foundEdges } = mergeRepeatedPackages(found.packages, found.edges);
  const byId = new Map(packages.map((p) => [p.id, p]));
  const ecosystems = [...new Set([...(application?.registry ? [application.registry.ecosystem] : []), ...packages.map((p) => p.ecosystem)])];
  const installed = application === null ? null : installedPackage(application, foundEdges, byId);
  // The application that is one package (see installedPackage) is that package: its edge goes.
  const edges = installed === null ? foundEdges : foundEdges.filter((e) => e.from !== application?.id);
  if (ecosystems.length === 0) {
    const why = unidentified.length > 0 ? `; not audited: ${listed(unidentified.map(describeUnidentified))}` : '';
    throw new InputError(path, `the SBOM names no Cargo or npm package (no pkg:cargo or pkg:npm purl)${why}`);
  }
  return ecosystems.map((ecosystem, i): DependencyGraph => {
    const graph: DependencyGraph = { ecosystem, path, format, packages: [], edges: [], roots: [] };
    if (installed?.ecosystem === ecosystem) graph.roots.push(installed.id);
    else if (application) {
      graph.packages.push({
        id: application.id,
        ecosystem,
        name: application.name,
        version: application.version,
        source: application.registry?.ecosystem === ecosystem ? application.registry.source : WORKSPACE,
        checksum: null,
        ...(application.license !== undefined ? { license: application.license } : {}),
      });
      graph.roots.push(application.id);
    }
    // One at a time: spread as arguments, an SBOM's hundred thousand components overflow the stack.
    for (const p of packages) if (p.ecosystem === ecosystem) graph.packages.push(p);
    for (const e of edges) if (byId.get(e.to)?.ecosystem === ecosystem) graph.edges.push(e);
    // Each application inside the artifact that holds packages of this ecosystem: a root of its own.
    for (const [id, part] of parts) {
      if (!graph.edges.some((e) => e.from === id)) continue;
      graph.packages.push({ id, ecosystem, name: part.name, version: part.version, source: WORKSPACE, checksum: null });
      graph.roots.push(id);
    }
    if (found.flagsFromEdges === true) flagsFromReachability(graph.packages, graph.edges, graph.roots);
    if (partial) graph.partial = true;
    // Listed once per file, with its first graph: they belong to no ecosystem stowage knows.
    if (i === 0 && options.allowUnidentified) {
      graph.unidentified = unidentified;
      if (unidentified.length > 0) {
        graph.warnings = [`${unidentified.length} ${unidentified.length === 1 ? 'component' : 'components'} not audited, not identified as packages: ${listed(unidentified.map(describeUnidentified))}`];
      }
    }
    if (i === 0 && dangling.length > 0) {
      (graph.warnings ??= []).push(`${dangling.length} dependencies name ${found.idWord} no component has, not read: ${listed(dangling)}`);
    }
    return graph;
  });
}
