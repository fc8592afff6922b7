import { deflateSync, inflateSync } from 'node:zlib';
import { InputError, errorMessage } from '../../core/errors.js';
import { outgoingEdges, reachableFrom, type DependencyGraph, type Edge, type EdgeKind } from '../../core/graph.js';
import type { Package, PackageSource } from '../../core/package.js';
import { CRATES_IO_GIT_INDEX } from '../../ecosystems/cargo/source.js';
import { parseCargoVersion } from '../../ecosystems/cargo/version.js';
import { crateNameProblem } from '../../ecosystems/package-names.js';

/**
 * cargo-auditable's `.dep-v0` section: zlib-compressed JSON
 * `{"format"?: N, "packages": [{name, version, source, kind?, dependencies?, root?}]}`, as
 * its PARSING.md and cargo-auditable.schema.json describe it. `source` is "crates.io", "git",
 * "local", "registry" or another string; `kind` "build" or "runtime" (absent: runtime);
 * `dependencies` are indices into `packages`; `root` marks the binary's own crate. Read and
 * written here, from that description: the format is small and no npm library reads it.
 */

/** The section's name in ELF and PE files. */
export const DEP_V0_SECTION = '.dep-v0';

/**
 * Inflated JSON larger than this is refused, never allocated: cargo-auditable's own guidance
 * (8 MiB holds any real dependency list), and the bound a zlib bomb runs into.
 */
export const MAX_DEP_V0_JSON_BYTES = 8 * 1024 * 1024;

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function sourceOf(raw: string, root: boolean): PackageSource {
  if (root) return { kind: 'workspace', url: null, isDefaultRegistry: false };
  switch (raw) {
    case 'crates.io':
      return { kind: 'registry', url: CRATES_IO_GIT_INDEX, isDefaultRegistry: true };
    case 'git':
      return { kind: 'git', url: null, isDefaultRegistry: false };
    case 'local':
      return { kind: 'path', url: null, isDefaultRegistry: false };
    case 'registry':
      // An alternative registry, unnamed: its crates are not crates.io's, so not matched.
      return { kind: 'registry', url: null, isDefaultRegistry: false };
    default:
      return { kind: 'other', url: raw, isDefaultRegistry: false };
  }
}

/** zlib-inflated with the output capped: a bomb fails as soon as it passes the cap. */
function inflateCapped(compressed: Uint8Array, label: string): Buffer {
  try {
    return inflateSync(compressed, { maxOutputLength: MAX_DEP_V0_JSON_BYTES });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new InputError(label, `${DEP_V0_SECTION} section inflates past ${MAX_DEP_V0_JSON_BYTES} bytes: refused (a zlib bomb, or not cargo-auditable data)`);
    }
    throw new InputError(label, `${DEP_V0_SECTION} section does not inflate as zlib data: ${errorMessage(err)}`);
  }
}

/**
 * The dependency graph a `.dep-v0` section holds. Ids are `name@version`, with the package's
 * index added when two entries share both. Cycles are kept as edges: every graph walk here
 * marks what it has seen.
 */
export function readDepV0(compressed: Uint8Array, label: string, objectDescription: string): DependencyGraph {
  const bad = (what: string): never => {
    throw new InputError(label, `${DEP_V0_SECTION} section is not cargo-auditable's JSON: ${what}`);
  };
  const inflated = inflateCapped(compressed, label);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(inflated);
  } catch {
    return bad('not UTF-8');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return bad(errorMessage(err).split('\n')[0] ?? 'invalid JSON');
  }
  if (!isRecord(doc) || !Array.isArray(doc.packages)) return bad('no "packages" array');
  const entries: unknown[] = doc.packages;
  const format = doc.format === undefined ? 0 : doc.format;
  if (typeof format !== 'number' || !Number.isSafeInteger(format) || format < 0) return bad('"format" is not a non-negative integer');

  interface Entry { name: string; version: string; source: string; build: boolean; dependencies: number[]; root: boolean }
  const parsed: Entry[] = entries.map((raw, i) => {
    const at = `packages[${i}]`;
    if (!isRecord(raw)) return bad(`${at} is not an object`);
    const { name, version, source, kind, dependencies, root } = raw;
    if (typeof name !== 'string') return bad(`${at}.name is not a string`);
    const nameProblem = crateNameProblem(name);
    if (nameProblem) return bad(`${at}.name ${JSON.stringify(name)} ${nameProblem}`);
    if (typeof version !== 'string') return bad(`${at}.version is not a string`);
    try {
      parseCargoVersion(version);
    } catch (err) {
      return bad(`${at}.version ${JSON.stringify(version)}: ${errorMessage(err)}`);
    }
    if (typeof source !== 'string' || source === '') return bad(`${at}.source is not a non-empty string`);
    if (kind !== undefined && kind !== 'build' && kind !== 'runtime') return bad(`${at}.kind is neither "build" nor "runtime"`);
    if (root !== undefined && typeof root !== 'boolean') return bad(`${at}.root is not a boolean`);
    const deps = dependencies ?? [];
    if (!Array.isArray(deps)) return bad(`${at}.dependencies is not an array`);
    for (const d of deps) {
      if (!Number.isSafeInteger(d) || (d as number) < 0 || (d as number) >= entries.length) return bad(`${at}.dependencies names ${JSON.stringify(d)}, not the index of a package`);
    }
    return { name, version, source, build: kind === 'build', dependencies: deps as number[], root: root === true };
  });

  const seen = new Map<string, number>();
  for (const e of parsed) seen.set(`${e.name}@${e.version}`, (seen.get(`${e.name}@${e.version}`) ?? 0) + 1);
  const ids = parsed.map((e, i) => ((seen.get(`${e.name}@${e.version}`) ?? 0) > 1 ? `${e.name}@${e.version} #${i}` : `${e.name}@${e.version}`));
  // Old writers record no root: then the roots are the packages nothing depends on.
  const depended = new Set(parsed.flatMap((e) => e.dependencies));
  const marked = parsed.some((e) => e.root);
  const isRoot = (e: Entry, i: number): boolean => (marked ? e.root : !depended.has(i));
  const packages: Package[] = parsed.map((e, i) => ({
    id: ids[i] as string,
    ecosystem: 'cargo',
    name: e.name,
    version: e.version,
    source: sourceOf(e.source, isRoot(e, i)),
    checksum: null,
  }));
  const edges: Edge[] = [];
  parsed.forEach((e, i) => {
    for (const d of e.dependencies) {
      // A build-kind package is only needed to build: the edge into it is a build edge.
      const kind = (parsed[d] as Entry).build && !e.build ? 'build' : 'normal';
      edges.push({ from: ids[i] as string, to: ids[d] as string, kind });
    }
  });
  return {
    ecosystem: 'cargo',
    path: label,
    format: `${objectDescription}, cargo-auditable format ${format}`,
    packages,
    edges,
    roots: ids.filter((_, i) => isRoot(parsed[i] as Entry, i)),
    inventory: 'dep-v0',
  };
}

/** One crate as a `.dep-v0` section lists it; `dependencies` index into the same list. */
export interface DepV0Package {
  name: string;
  version: string;
  /** "crates.io", "git", "local", "registry", or another source named as is. */
  source: string;
  kind: 'build' | 'runtime';
  dependencies: number[];
  root: boolean;
}

/**
 * The section's bytes for these packages, as cargo-auditable writes them: default values
 * (runtime, no dependencies, not root) left out, zlib at the highest level.
 */
export function encodeDepV0(packages: readonly DepV0Package[]): Buffer {
  const json = {
    packages: packages.map((p) => ({
      name: p.name,
      version: p.version,
      source: p.source,
      ...(p.kind === 'build' ? { kind: 'build' } : {}),
      ...(p.dependencies.length > 0 ? { dependencies: [...p.dependencies].sort((a, b) => a - b) } : {}),
      ...(p.root ? { root: true } : {}),
    })),
  };
  return deflateSync(Buffer.from(JSON.stringify(json), 'utf8'), { level: 9 });
}

const DEV: ReadonlySet<EdgeKind> = new Set(['dev']);
const DEV_AND_BUILD: ReadonlySet<EdgeKind> = new Set(['dev', 'build']);

function depV0Source(source: PackageSource): string {
  switch (source.kind) {
    case 'registry':
      return source.isDefaultRegistry ? 'crates.io' : 'registry';
    case 'git':
      return 'git';
    case 'path':
    case 'workspace':
      return 'local';
    default:
      return source.url ?? 'other';
  }
}

/**
 * What a binary of this Cargo graph was built from, as cargo-auditable records it: the roots
 * (marked root) and every crate they reach except through dev-dependencies; a crate reached
 * only through build-dependencies is kind build. Sorted by name then version, as
 * cargo-auditable sorts them, so the same graph gives the same bytes.
 */
export function depV0Packages(graph: DependencyGraph): DepV0Package[] {
  const outgoing = outgoingEdges(graph.edges);
  const built = reachableFrom(outgoing, graph.roots, DEV);
  const runtime = reachableFrom(outgoing, graph.roots, DEV_AND_BUILD);
  const roots = new Set(graph.roots);
  const kept = graph.packages
    .filter((p) => built.has(p.id))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : a.id < b.id ? -1 : 1));
  const index = new Map(kept.map((p, i) => [p.id, i]));
  return kept.map((p) => ({
    name: p.name,
    version: p.version,
    source: depV0Source(p.source),
    kind: runtime.has(p.id) ? 'runtime' : 'build',
    dependencies: [...new Set((outgoing.get(p.id) ?? []).filter((e) => e.kind !== 'dev').map((e) => index.get(e.to)).filter((i): i is number => i !== undefined))],
    root: roots.has(p.id),
  }));
}
