import type { DependencyGraph } from '../core/graph.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { readRustBinary } from './binary/rust-binary.js';

/**
 * The Rust binaries among the files of a package or an image, each read as an application of
 * its own: a binary records what it was built from (`.dep-v0`, or the crates its embedded
 * source paths name), and two binaries of one package may be built from different crates.
 */

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d]);

/**
 * Whether the bytes (a file's first four at least) are an ELF file or a WebAssembly module: the
 * binaries kept from a package's payload or a tree. A `.wasm` a package ships (a plugin, a web
 * application's module) records its crates in a `.dep-v0` custom section as an executable does.
 */
export function isShippedBinary(data: Buffer): boolean {
  if (data.length < 4) return false;
  const magic = data.subarray(0, 4);
  return magic.equals(ELF_MAGIC) || magic.equals(WASM_MAGIC);
}

/**
 * One graph per Rust binary among `files`, named `ARTIFACT:PATH`. Other files give none, and
 * so does an ELF file or WebAssembly module whose embedded paths name no crate: a C library or program, or nothing
 * Rust left a trace of (a `.dep-v0` section is read whatever else the binary holds).
 */
export function rustBinaryGraphs(files: readonly ArchiveFile[], artifact: string): DependencyGraph[] {
  const graphs: DependencyGraph[] = [];
  for (const file of files) {
    if (!isShippedBinary(file.data)) continue;
    const graph = readRustBinary(file.data, `${artifact}:${file.path}`);
    if (graph && (graph.inventory !== 'embedded paths' || graph.packages.length > 0)) graphs.push(graph);
  }
  return graphs;
}
