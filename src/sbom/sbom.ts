import { createHash } from 'node:crypto';
import { StowageError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { DependencyGraph, EdgeKind, InventorySource } from '../core/graph.js';
import type { Ecosystem, Package } from '../core/package.js';
import { digestFromCargoChecksum, digestsFromSri, type Digest } from '../core/digest.js';
import { gitLocation, purlOf } from '../core/purl.js';
import { jsonForTerminal } from '../core/terminal-text.js';
import { withoutUserInfo } from '../core/credentials.js';
import type { VexAnalysis } from './cyclonedx-vex.js';
import type { ShippedKind } from '../inputs/shipped-artifact.js';

/**
 * What an SBOM says, decided once for both formats (CycloneDX, SPDX): which components there
 * are, how they are named and referenced, their hashes, licences and locations, and the
 * dependency edges between them. The renderers in cyclonedx.ts and spdx.ts only lay it out.
 */

export interface SbomApplication {
  name: string;
  /** Null when what is described does not say (an installed tree, a binary without `.dep-v0`). */
  version: string | null;
  /** The application's own SPDX licence expression; null when unknown. */
  license: string | null;
  ecosystem: Ecosystem;
  /** What shipped, when the SBOM describes a package, an image, a tree or a binary rather than a source tree. */
  shipped?: ShippedKind;
}

/**
 * An application inside a shipped artifact (a binary of a package, a node_modules root of an
 * image): a component of its own, holding the packages of its graph.
 */
export interface SbomPart {
  ref: string;
  name: string;
  version: string | null;
  /** Where it is inside the artifact (`usr/bin/rg`). */
  path: string;
  inventory: InventorySource;
}

export interface SbomInput {
  application: SbomApplication;
  graphs: DependencyGraph[];
  /** Package id -> SPDX expression (null: unknown). Ids are looked up as the graphs spell them. */
  licenses: Map<string, string | null>;
  /**
   * Reproducibility: timestamps come from here (SOURCE_DATE_EPOCH, in seconds); serial numbers
   * and document namespaces are derived from content hashes, never random.
   */
  sourceDateEpoch: number;
  /** Findings to state in a CycloneDX VEX (`vulnerabilities[]`). */
  vulnerabilities?: Finding[];
  /** Analyses stated for some of those findings (fleet triage), in place of the derived ones. */
  analyses?: ReadonlyMap<Finding, VexAnalysis>;
  /**
   * The path of the shipped artifact the graphs were read from: a graph named by it is the
   * artifact's own record (a `.deb`'s X-Cargo-Built-Using, an RPM's provides, a lone binary),
   * whose root is the application; every other graph (`PATH:INNER`) is a part of it.
   */
  artifactPath?: string;
}

/** One package of the SBOM: every locked package with the same identity (purl) is one component. */
export interface SbomComponent {
  /** CycloneDX bom-ref: the purl, or `ECOSYSTEM:SOURCEKIND:ID` for a package without one. */
  ref: string;
  purl: string | null;
  ecosystem: Ecosystem;
  name: string;
  version: string;
  /** The lockfile package ids this component stands for (npm aliases of one package are one component). */
  packageIds: string[];
  /** Strongest first. */
  digests: Digest[];
  license: string | null;
  /** Where the package's archive is downloaded from, when that is known without asking a registry. */
  downloadUrl: string | null;
  /** The git location (`git+URL@COMMIT`) of a git package. */
  vcsUrl: string | null;
  /** Reached only through development / optional dependencies, by every package it stands for. */
  devOnly: boolean;
  optionalOnly: boolean;
  /** What named it, when not a lockfile (a binary's `.dep-v0`, a package's X-Cargo-Built-Using...): sorted. */
  inventories: InventorySource[];
  /** A Cargo path crate a `[patch]` builds in place of the crate of its name (PackageSource.patchesCrate). */
  patchesCrate?: true;
}

export interface SbomEdge {
  from: string;
  to: string;
  /** Every kind of lockfile edge between the two, sorted. */
  kinds: EdgeKind[];
}

export interface SbomModel {
  /** `inventories`: where the packages the application holds directly were learnt from, when not a lockfile. */
  application: SbomApplication & { ref: string; inventories: InventorySource[] };
  /** The applications inside a shipped artifact, sorted by ref. */
  parts: SbomPart[];
  /**
   * Refs (the application, parts) whose dependencies are known to be incomplete: a partial
   * inventory (a binary read from its embedded source paths) and what holds it. Sorted.
   */
  incomplete: string[];
  /** Sorted by ref. */
  components: SbomComponent[];
  /** Sorted by from, then to; no self edges. Edges out of any graph root start at the application. */
  edges: SbomEdge[];
  /** ISO 8601 UTC, seconds precision, from sourceDateEpoch. */
  timestamp: string;
  /** Finding → the ref of its component. */
  findingRefs: Map<Finding, string>;
}

/** Where a registry's archives are, per ecosystem: only the public registry's layout is certain. */
const PUBLIC_DOWNLOAD_URL: Record<Ecosystem, (name: string, version: string) => string> = {
  cargo: (name, version) => `https://crates.io/api/v1/crates/${name}/${version}/download`,
  npm: (name, version) => `https://registry.npmjs.org/${name}/-/${name.slice(name.indexOf('/') + 1)}-${version}.tgz`,
};

/** The application's ref; no package ref can take this form (purls start with `pkg:`). */
function applicationRef(app: SbomApplication): string {
  return app.version === null ? `application:${app.name}` : `application:${app.name}@${app.version}`;
}

/** What a package (not an image or a tree) installs is built from its source: of the package's version. */
const BUILT_BY_THE_PACKAGE: ReadonlySet<ShippedKind> = new Set(['Debian package', 'RPM', 'source RPM']);

/**
 * A graph inside a shipped artifact as a part: named by its one root (a binary's root crate,
 * an installed node_modules' own package.json), else by the file it was read from. A binary
 * that records no version of its own (no `.dep-v0`) has the version of the package that
 * installs it: a reader of the SBOM would otherwise see a version-less application (`rg@`).
 */
function partOf(graph: DependencyGraph, artifactPath: string, app: SbomApplication): SbomPart {
  const inner = graph.path.startsWith(artifactPath) ? graph.path.slice(artifactPath.length).replace(/^:/, '') : graph.path;
  const root = graph.roots.length === 1 ? graph.packages.find((p) => p.id === graph.roots[0]) : undefined;
  const packageVersion = app.shipped !== undefined && BUILT_BY_THE_PACKAGE.has(app.shipped) ? app.version : null;
  return {
    // Named by the path inside the artifact, not where the artifact lies: the same artifact gives the same document.
    // A namespace of its own: `/opt/myapp` holding the binary `myapp` would otherwise share the
    // application's ref (`application:myapp`), and its crates be listed as the tree's own.
    ref: `part:${inner}`,
    name: root?.name || inner.slice(inner.lastIndexOf('/') + 1) || inner,
    version: root?.version || packageVersion || null,
    path: inner,
    inventory: graph.inventory ?? 'lockfile',
  };
}

export function sbomModel(input: SbomInput): SbomModel {
  const timestamp = timestampOf(input.sourceDateEpoch);
  const app = { ...input.application, ref: applicationRef(input.application), inventories: [] as InventorySource[] };
  const byRef = new Map<string, { packages: Package[]; inventories: Set<InventorySource> }>();
  const edgeKinds = new Map<string, Map<string, Set<EdgeKind>>>();
  /** Per graph (ids are unique only within one), package id -> ref. */
  const refsByGraph = new Map<string, Map<string, string>>();
  const parts = new Map<string, SbomPart>();
  const incomplete = new Set<string>();
  const appInventories = new Set<InventorySource>();
  const addEdge = (from: string, to: string, kind: EdgeKind): void => {
    if (from === to) return;
    let targets = edgeKinds.get(from);
    if (!targets) edgeKinds.set(from, (targets = new Map()));
    let kinds = targets.get(to);
    if (!kinds) targets.set(to, (kinds = new Set()));
    kinds.add(kind);
  };

  for (const graph of input.graphs) {
    const isPart = input.artifactPath !== undefined && graph.path !== input.artifactPath;
    let owner = app.ref;
    if (isPart) {
      const part = partOf(graph, input.artifactPath as string, input.application);
      if (parts.has(part.ref)) throw new StowageError(`two applications inside the artifact are both named ${part.path}`, graph.path);
      parts.set(part.ref, part);
      owner = part.ref;
      addEdge(app.ref, owner, 'normal');
    } else if (graph.inventory !== undefined) {
      appInventories.add(graph.inventory);
    }
    if (graph.partial === true) {
      incomplete.add(owner);
      incomplete.add(app.ref);
    }
    const roots = new Set(graph.roots);
    const refs = new Map<string, string>();
    refsByGraph.set(graph.path, refs);
    for (const pkg of graph.packages) {
      // A root is the application itself, unless it is a registry's or git's package (a binary
      // `cargo auditable install` built from crates.io): then it is also a component the
      // application holds, so that whoever reads the SBOM audits it.
      const installed = roots.has(pkg.id) && pkg.source.kind !== 'workspace';
      if (roots.has(pkg.id) && !installed) {
        refs.set(pkg.id, owner);
        continue;
      }
      const ref = componentRef(pkg);
      refs.set(pkg.id, ref);
      let entry = byRef.get(ref);
      if (!entry) byRef.set(ref, (entry = { packages: [], inventories: new Set() }));
      entry.packages.push(pkg);
      if (graph.inventory !== undefined) entry.inventories.add(graph.inventory);
      // No root (a binary's embedded paths): what it names is all the owner is known to hold, edges unknown.
      if (roots.size === 0 || installed) addEdge(owner, ref, 'normal');
    }
    for (const edge of graph.edges) {
      const from = refs.get(edge.from);
      const to = refs.get(edge.to);
      if (from === undefined || to === undefined) {
        throw new StowageError(`dependency ${edge.from} -> ${edge.to} names a package that is not in the lockfile`, graph.path);
      }
      addEdge(from, to, edge.kind);
    }
  }
  app.inventories = [...appInventories].sort(compare);

  const components = [...byRef]
    .sort(([a], [b]) => compare(a, b))
    .map(([ref, { packages, inventories }]) => component(ref, packages, input.licenses, [...inventories].sort(compare)));
  const edges: SbomEdge[] = [];
  for (const from of [...edgeKinds.keys()].sort(compare)) {
    const targets = edgeKinds.get(from) ?? new Map<string, Set<EdgeKind>>();
    for (const to of [...targets.keys()].sort(compare)) {
      edges.push({ from, to, kinds: [...(targets.get(to) ?? [])].sort(compare) });
    }
  }

  const findingRefs = new Map<Finding, string>();
  for (const finding of input.vulnerabilities ?? []) {
    const ref = refsByGraph.get(finding.target)?.get(finding.package.id) ?? componentRef(finding.package);
    if (!byRef.has(ref)) {
      throw new StowageError(
        `finding ${finding.advisory.id} is about ${finding.package.name}@${finding.package.version}, which is not a component of this SBOM`,
        finding.target,
      );
    }
    findingRefs.set(finding, ref);
  }
  return {
    application: app,
    parts: [...parts.values()].sort((a, b) => compare(a.ref, b.ref)),
    incomplete: [...incomplete].sort(compare),
    components,
    edges,
    timestamp,
    findingRefs,
  };
}

function componentRef(pkg: Package): string {
  return purlOf(pkg) ?? `${pkg.ecosystem}:${pkg.source.kind}:${pkg.id}`;
}

function component(ref: string, packages: Package[], licenses: Map<string, string | null>, inventories: InventorySource[]): SbomComponent {
  // Sorted by id so that which package's data wins does not depend on lockfile order.
  const sorted = [...packages].sort((a, b) => compare(a.id, b.id));
  const first = sorted[0] as Package;
  const digests = sorted.map(digestsOf).find((d) => d.length > 0) ?? [];
  const license = sorted.map((p) => licenses.get(p.id) ?? null).find((l) => l !== null) ?? null;
  return {
    ref,
    purl: ref.startsWith('pkg:') ? ref : null,
    ecosystem: first.ecosystem,
    name: first.name,
    version: first.version,
    packageIds: [...new Set(sorted.map((p) => p.id))],
    digests,
    license,
    downloadUrl: downloadUrlOf(first),
    vcsUrl: gitLocation(first.source),
    devOnly: sorted.every((p) => p.flags?.dev === true),
    optionalOnly: sorted.every((p) => p.flags?.optional === true),
    inventories,
    ...(sorted.some((p) => p.source.kind === 'path' && p.source.patchesCrate === true) ? { patchesCrate: true as const } : {}),
  };
}

/**
 * A lockfile checksum as digests: Cargo's sha256 hex, npm's SRI (`sha512-…`, several
 * space-separated in old lockfiles). yarn berry's checksum hashes yarn's own zip, not the
 * package archive, and matches neither form, so it is not claimed as the package's hash.
 */
function digestsOf(pkg: Package): Digest[] {
  if (pkg.checksum === null) return [];
  const hex = digestFromCargoChecksum(pkg.checksum);
  return hex ? [hex] : digestsFromSri(pkg.checksum);
}

function downloadUrlOf(pkg: Package): string | null {
  switch (pkg.source.kind) {
    case 'registry':
      return pkg.source.isDefaultRegistry ? PUBLIC_DOWNLOAD_URL[pkg.ecosystem](pkg.name, pkg.version) : null;
    case 'git':
      return gitLocation(pkg.source);
    case 'other':
      return pkg.source.url && /^https?:\/\//i.test(pkg.source.url) ? withoutUserInfo(pkg.source.url) : null;
    default:
      return null;
  }
}

/** SOURCE_DATE_EPOCH as ISO 8601 UTC without fractional seconds (the form SPDX requires). */
export function timestampOf(sourceDateEpoch: number): string {
  // 253402300799 is 9999-12-31T23:59:59Z: past it the year no longer has four digits.
  if (!Number.isInteger(sourceDateEpoch) || sourceDateEpoch < 0 || sourceDateEpoch > 253402300799) {
    throw new StowageError(`SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, found ${sourceDateEpoch}`);
  }
  return new Date(sourceDateEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A UUID derived from content: the first 128 bits of its SHA-256 with the RFC 9562 version 8
 * ("custom") and variant bits set. The same document always gets the same UUID; any change to
 * it gives another.
 */
export function contentUuid(content: string): string {
  const bytes = createHash('sha256').update(content).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The JSON text of an SBOM as stowage writes it: two-space indentation and a final newline. */
export function sbomJson(document: object): string {
  return jsonForTerminal(`${JSON.stringify(document, null, 2)}\n`);
}

/** Code-unit order: the same on every machine and locale. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
