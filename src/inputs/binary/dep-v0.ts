import { deflateSync, inflateSync } from 'node:zlib';
import { InputError, errorMessage } from '../../core/errors.js';
import { duplicateJsonKey } from '../../core/json-text.js';
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

/**
 * A crate's source as the section names it. The root is the binary's own crate: `local` when
 * built from a workspace, but `crates.io` (or `git`, `registry`) when installed with
 * `cargo auditable install NAME`, and then it is that registry's crate like any other.
 */
function sourceOf(raw: string, root: boolean): PackageSource {
  switch (raw) {
    case 'crates.io':
      return { kind: 'registry', url: CRATES_IO_GIT_INDEX, isDefaultRegistry: true };
    case 'git':
      return { kind: 'git', url: null, isDefaultRegistry: false };
    case 'local':
      return root ? { kind: 'workspace', url: null, isDefaultRegistry: false } : { kind: 'path', url: null, isDefaultRegistry: false };
    case 'registry':
    case 'sparse':
      // Another registry, unnamed (cargo-auditable writes the kind of a source id: `registry+URL`,
      // `sparse+URL`): matched by name and version, as a lockfile's other registries are.
      return { kind: 'registry', url: null, isDefaultRegistry: false };
    default:
      return { kind: 'other', url: raw, isDefaultRegistry: false };
  }
}

/**
 * zlib-inflated with the output capped: a bomb fails as soon as it passes the cap. The stream
 * must be all the section holds (zero padding aside): bytes after it would be a second stream,
 * which zlib readers (this one, cargo-auditable's) silently leave unread.
 */
function inflateCapped(compressed: Uint8Array, label: string): Buffer {
  let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // `info: true` returns the engine too, to tell how much of the input the stream used.
    inflated = inflateSync(compressed, { maxOutputLength: MAX_DEP_V0_JSON_BYTES, info: true }) as unknown as typeof inflated;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new InputError(label, `${DEP_V0_SECTION} section inflates past ${MAX_DEP_V0_JSON_BYTES} bytes: refused (a zlib bomb, or not cargo-auditable data)`);
    }
    throw new InputError(label, `${DEP_V0_SECTION} section does not inflate as zlib data: ${errorMessage(err)}`);
  }
  const used = inflated.engine.bytesWritten;
  for (let i = used; i < compressed.byteLength; i++) {
    if (compressed[i] !== 0) {
      throw new InputError(label, `${DEP_V0_SECTION} section holds ${compressed.byteLength - used} bytes after its zlib stream (another stream?): refused, as they would go unread`);
    }
  }
  return inflated.buffer;
}

/** One package of a section, validated; `root` already decided (marked, or depended on by none). */
interface DepV0Entry {
  name: string;
  version: string;
  source: string;
  build: boolean;
  dependencies: number[];
  root: boolean;
}

/** One section's packages and format. */
function readDepV0Entries(compressed: Uint8Array, label: string): { format: number; entries: DepV0Entry[] } {
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
  // serde_json (cargo-auditable's readers, cargo audit's) refuses a field given twice; JSON.parse
  // would keep the last, so a second "packages" could hide the list those readers see.
  const duplicate = duplicateJsonKey(text);
  if (duplicate) return bad(`key ${JSON.stringify(duplicate.key)} given twice (character ${duplicate.offset + 1}), which serde_json refuses`);
  if (!isRecord(doc) || !Array.isArray(doc.packages)) return bad('no "packages" array');
  const entries: unknown[] = doc.packages;
  const format = doc.format === undefined ? 0 : doc.format;
  if (typeof format !== 'number' || !Number.isSafeInteger(format) || format < 0) return bad('"format" is not a non-negative integer');

  const parsed: DepV0Entry[] = entries.map((raw, i) => {
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
  // Old writers record no root: then the roots are the packages nothing depends on.
  if (!parsed.some((e) => e.root)) {
    const depended = new Set(parsed.flatMap((e) => e.dependencies));
    parsed.forEach((e, i) => {
      e.root = !depended.has(i);
    });
  }
  return { format, entries: parsed };
}

/**
 * The packages of several sections as one list: a universal binary carries one section per
 * architecture, and each may hold crates the others do not (target-specific dependencies).
 * A package (name, version, source, root) that several sections list is one package, built
 * if only some say build, with the dependencies of all; duplicates inside one section stay apart.
 */
function mergeSections(sections: readonly DepV0Entry[][]): DepV0Entry[] {
  const merged: DepV0Entry[] = [];
  const byKey = new Map<string, { index: number; section: number }>();
  const dependencies: Set<number>[] = [];
  sections.forEach((entries, s) => {
    const at = entries.map((e) => {
      const key = JSON.stringify([e.name, e.version, e.source, e.root]);
      const known = byKey.get(key);
      if (known !== undefined && known.section !== s) {
        const into = merged[known.index] as DepV0Entry;
        into.build &&= e.build;
        return known.index;
      }
      if (known === undefined) byKey.set(key, { index: merged.length, section: s });
      merged.push({ ...e, dependencies: [] });
      dependencies.push(new Set());
      return merged.length - 1;
    });
    entries.forEach((e, i) => {
      for (const d of e.dependencies) (dependencies[at[i] as number] as Set<number>).add(at[d] as number);
    });
  });
  merged.forEach((e, i) => {
    e.dependencies = [...(dependencies[i] as Set<number>)];
  });
  return merged;
}

/**
 * The dependency graph a `.dep-v0` section holds. Ids are `name@version`, with the package's
 * index added when two entries share both. Cycles are kept as edges: every graph walk here
 * marks what it has seen.
 */
export function readDepV0(compressed: Uint8Array, label: string, objectDescription: string): DependencyGraph {
  return readDepV0Sections([compressed], label, objectDescription);
}

/** The graph of every `.dep-v0` section of one file (a universal binary has one per architecture), as one graph. */
export function readDepV0Sections(sections: readonly Uint8Array[], label: string, objectDescription: string): DependencyGraph {
  const read = sections.map((section) => readDepV0Entries(section, label));
  const parsed = read.length === 1 ? (read[0] as { entries: DepV0Entry[] }).entries : mergeSections(read.map((r) => r.entries));
  const formats = [...new Set(read.map((r) => r.format))].sort((a, b) => a - b);

  const seen = new Map<string, number>();
  for (const e of parsed) seen.set(`${e.name}@${e.version}`, (seen.get(`${e.name}@${e.version}`) ?? 0) + 1);
  const ids = parsed.map((e, i) => ((seen.get(`${e.name}@${e.version}`) ?? 0) > 1 ? `${e.name}@${e.version} #${i}` : `${e.name}@${e.version}`));
  const packages: Package[] = parsed.map((e, i) => ({
    id: ids[i] as string,
    ecosystem: 'cargo',
    name: e.name,
    version: e.version,
    source: sourceOf(e.source, e.root),
    checksum: null,
  }));
  const edges: Edge[] = [];
  parsed.forEach((e, i) => {
    for (const d of e.dependencies) {
      // A build-kind package is only needed to build: the edge into it is a build edge.
      const kind = (parsed[d] as DepV0Entry).build && !e.build ? 'build' : 'normal';
      edges.push({ from: ids[i] as string, to: ids[d] as string, kind });
    }
  });
  return {
    ecosystem: 'cargo',
    path: label,
    format: `${objectDescription}, cargo-auditable format ${formats.join('/')}${sections.length > 1 ? ` (${sections.length} sections)` : ''}`,
    packages,
    edges,
    roots: ids.filter((_, i) => (parsed[i] as DepV0Entry).root),
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
