import type { DependencyGraph } from '../core/graph.js';
import { shortList } from '../core/short-list.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { looksLikeObjectFile } from './binary/object-file.js';
import { readRustBinary } from './binary/rust-binary.js';

/**
 * The Rust binaries among the files of a package or an image, each read as an application of
 * its own: a binary records what it was built from (`.dep-v0`, or the crates its embedded
 * source paths name), and two binaries of one package may be built from different crates.
 */

/**
 * Whether the bytes (a file's first four at least) are an executable format readRustBinary
 * reads (ELF, PE, Mach-O and universal binaries, WebAssembly): the files kept from a package's
 * payload or a tree. A `.wasm` a package ships (a plugin, a web application's module), a
 * Windows or macOS build in an image or a tree, records its crates as a Linux executable does.
 */
export function isShippedBinary(data: Buffer): boolean {
  return looksLikeObjectFile(data);
}

/**
 * Go's build information, which the Go toolchain writes into every executable it links (Go's
 * debug/buildinfo finds the module list by it): a Go program's dependencies are Go modules.
 */
const GO_BUILD_INFO = Buffer.from('\xff Go buildinf:', 'latin1');

/**
 * One graph per Rust binary among `files`, named `ARTIFACT:PATH`. Other files give none, and
 * so does an executable whose embedded paths name no crate: a C library or program, or nothing
 * Rust left a trace of (a `.dep-v0` section is read whatever else the binary holds; an emptied
 * one keeps the binary, partial, with the reason). Go executables carry dependencies of their
 * own, which stowage does not audit: a warning names them, so the audit never passes as if
 * they had been checked.
 */
export function rustBinaryGraphs(files: readonly ArchiveFile[], artifact: string): { graphs: DependencyGraph[]; warnings: string[] } {
  const graphs: DependencyGraph[] = [];
  const go: string[] = [];
  for (const file of files) {
    if (!isShippedBinary(file.data)) continue;
    const graph = readRustBinary(file.data, `${artifact}:${file.path}`);
    if (graph && (graph.inventory !== 'embedded paths' || graph.packages.length > 0 || graph.partialReason !== undefined)) graphs.push(graph);
    if (file.data.includes(GO_BUILD_INFO)) go.push(file.path);
  }
  const warnings =
    go.length === 0 ? [] : [`${artifact}: ${go.length} Go ${go.length === 1 ? 'executable' : 'executables'} not audited (stowage audits crates and npm packages, not Go modules): ${shortList(go)}`];
  return { graphs, warnings };
}
