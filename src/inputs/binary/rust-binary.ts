import type { DependencyGraph } from '../../core/graph.js';
import { DEP_V0_SECTION, readDepV0Sections } from './dep-v0.js';
import { cratesFromEmbeddedPaths } from './embedded-paths.js';
import { readObjectFile, type ObjectFile, type ObjectSection } from './object-file.js';
import { isUpxPacked, UPX_PACKED_REASON } from './upx.js';

/**
 * A Rust executable's dependency graph: from cargo-auditable's `.dep-v0` section when it has
 * one (complete: crates, sources, edges, root), else from its embedded source paths (crates
 * and versions only, marked partial). A universal binary is one executable per architecture:
 * its graph is complete only when every slice has a section, and then it unites them all (the
 * architectures may depend on different crates). Null when the bytes are no executable format
 * read here. An executable packed with UPX (upx.ts) is partial, nothing read, with the reason.
 * Throws InputError (one line naming `label`) for a file that claims a format and breaks it, a
 * section that does not inflate, inflates past its cap, or is not the expected JSON.
 */
export function readRustBinary(bytes: Uint8Array, label: string): DependencyGraph | null {
  const object = readObjectFile(bytes, label);
  return object ? rustBinaryOf(object, bytes, label) : null;
}

/** readRustBinary's graph of an executable already parsed (`object`, of `bytes`): for a caller that reads the file's sections for more than this. */
export function rustBinaryOf(object: ObjectFile, bytes: Uint8Array, label: string): DependencyGraph {
  const named = object.sections.filter(isDepV0Section);
  const sections = named.filter((section) => section.data.byteLength > 0);
  const covered = new Set(sections.map((section) => section.slice));
  if (sections.length > 0 && covered.size === object.slices) {
    // Identical sections (the same build in every slice, say) are read once.
    const distinct: Uint8Array[] = [];
    for (const { data } of sections) if (!distinct.some((seen) => Buffer.compare(seen, data) === 0)) distinct.push(data);
    return readDepV0Sections(distinct, label, object.description);
  }
  // Packed, its sections and strings are compressed: no path can be read, and none is looked for.
  const packed = isUpxPacked(object, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const packages = packed ? [] : cratesFromEmbeddedPaths(bytes);
  const missing = [...Array(object.slices).keys()].filter((slice) => !covered.has(slice));
  return {
    ecosystem: 'cargo',
    path: label,
    format: packed ? `${object.description}, packed with UPX` : object.description,
    packages,
    edges: [],
    roots: [],
    inventory: 'embedded paths',
    partial: true,
    // cargo-auditable always writes zlib data: an empty section was emptied, and says this is a
    // Rust binary however few paths it embeds (so a package's reader keeps it, see rustBinaryGraphs).
    // A packed executable is kept likewise: it may be a Rust binary, and nothing of it can be read.
    ...(packed
      ? { partialReason: UPX_PACKED_REASON }
      : named.length > sections.length
        ? { partialReason: `its ${DEP_V0_SECTION} section is empty, so what it was built from cannot be read` }
        : object.sectionTableStripped === true
          ? { partialReason: SECTION_TABLE_STRIPPED_REASON }
          : {}),
    ...(sections.length > 0
      ? { warnings: [`${label}: architecture ${missing.join(', ')} of this universal binary has no ${DEP_V0_SECTION} section: its crates are read from embedded paths, for every architecture`] }
      : {}),
  };
}

/**
 * Why an ELF file without a section header table is partial: its `.dep-v0` bytes may still be in
 * the file (sstrip keeps what lies before the table), but nothing says where. Kept as partial, not
 * passed over as a C program: a package or image holding one must not pass as fully read.
 */
export const SECTION_TABLE_STRIPPED_REASON = `it has no section headers (sstrip removes them; the program runs without), so a ${DEP_V0_SECTION} section in it cannot be found`;

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
