import type { DependencyGraph } from '../../core/graph.js';
import { DEP_V0_SECTION, readDepV0 } from './dep-v0.js';
import { cratesFromEmbeddedPaths } from './embedded-paths.js';
import { readObjectFile, type ObjectSection } from './object-file.js';

/**
 * A Rust executable's dependency graph: from cargo-auditable's `.dep-v0` section when it has
 * one (complete: crates, sources, edges, root), else from its embedded source paths (crates
 * and versions only, marked partial). Null when the bytes are no executable format read here.
 * Throws InputError (one line naming `label`) for a file that claims a format and breaks it,
 * a section that does not inflate, inflates past its cap, or is not the expected JSON.
 */
export function readRustBinary(bytes: Uint8Array, label: string): DependencyGraph | null {
  const object = readObjectFile(bytes, label);
  if (!object) return null;
  const section = object.sections.find(isDepV0Section);
  if (section && section.data.byteLength > 0) return readDepV0(section.data, label, object.description);
  const packages = cratesFromEmbeddedPaths(bytes);
  return {
    ecosystem: 'cargo',
    path: label,
    format: object.description,
    packages,
    edges: [],
    roots: [],
    inventory: 'embedded paths',
    partial: true,
  };
}

/** ELF and PE name it `.dep-v0`; in Mach-O it sits in a segment (`__DATA`), spelt either way. */
function isDepV0Section(section: ObjectSection): boolean {
  const name = section.name.includes(',') ? section.name.slice(section.name.indexOf(',') + 1) : section.name;
  return name === DEP_V0_SECTION || name === '__dep_v0';
}

/**
 * The application a binary's `.dep-v0` graph describes: its one root crate, which names the
 * binary as shipped (an SBOM's application). Null for any other graph: embedded paths name no root.
 */
export function binaryRoot(graph: DependencyGraph): { name: string; version: string } | null {
  if (graph.inventory !== 'dep-v0' || graph.roots.length !== 1) return null;
  const root = graph.packages.find((p) => p.id === graph.roots[0]);
  return root ? { name: root.name, version: root.version } : null;
}
