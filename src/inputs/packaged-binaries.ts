import type { DependencyGraph } from '../core/graph.js';
import { shortList } from '../core/short-list.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { NOT_AUDITED_BECAUSE, unreadExecutableOf, type UnreadExecutable } from './binary/unread-executables.js';
import { looksLikeObjectFile, readObjectFile } from './binary/object-file.js';
import { rustBinaryOf } from './binary/rust-binary.js';

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
 * A package stowage reads on its own, told by its first bytes: a Debian package (an `ar`
 * archive whose first member is `debian-binary`) or an RPM (its lead's magic). Inside a package,
 * an image or a tree it is not opened (what it would install is not installed there), but it
 * is named in a warning: an audit of an image that carries a vulnerable `.deb` must not read as
 * if it had looked inside it.
 */
export function nestedPackageKind(head: Buffer): 'Debian package' | 'RPM' | null {
  if (head.length >= 21 && head.toString('latin1', 0, 21) === '!<arch>\ndebian-binary') return 'Debian package';
  if (head.length >= 4 && head.readUInt32BE(0) === 0xedabeedb) return 'RPM';
  return null;
}

/** How many of a file's first bytes isShippedFile needs. */
export const SHIPPED_FILE_HEAD_BYTES = 21;

/** What the readers of packages, images and trees keep of their files: a possible Rust binary (isShippedBinary), or a package it carries (nestedPackageKind), to name it. */
export function isShippedFile(head: Buffer): boolean {
  return isShippedBinary(head) || nestedPackageKind(head) !== null;
}

/**
 * One graph per Rust binary among `files`, named `ARTIFACT:PATH`. Other files give none, and
 * so does an executable whose embedded paths name no crate: a C library or program, or nothing
 * Rust left a trace of (a `.dep-v0` section is read whatever else the binary holds; an emptied
 * one keeps the binary, partial, with the reason). Go executables carry dependencies of their
 * own, which stowage does not audit, and so do the executables of a JavaScript runtime carrying
 * an application with its npm packages (a Node.js single executable application, `bun build
 * --compile`, `deno compile`) and AppImages (unread-executables.ts): a warning names them, so the
 * audit never passes as if they had been checked.
 */
export function rustBinaryGraphs(files: Iterable<ArchiveFile>, artifact: string): { graphs: DependencyGraph[]; warnings: string[] } {
  const graphs: DependencyGraph[] = [];
  const unread = new Map<UnreadExecutable, string[]>();
  const nested: string[] = [];
  for (const file of files) {
    const kind = nestedPackageKind(file.data);
    if (kind !== null) nested.push(`${file.path} (${kind})`);
    if (!isShippedBinary(file.data)) continue;
    // Parsed once (a file whose headers lie is refused here): read for its crates, then for what else it carries.
    const object = readObjectFile(file.data, `${artifact}:${file.path}`);
    const graph = object && rustBinaryOf(object, file.data, `${artifact}:${file.path}`);
    if (graph && (graph.inventory !== 'embedded paths' || graph.packages.length > 0 || graph.partialReason !== undefined)) graphs.push(graph);
    const carried = unreadExecutableOf(file.data, object);
    if (carried !== null) {
      const paths = unread.get(carried);
      if (paths) paths.push(file.path);
      else unread.set(carried, [file.path]);
    }
  }
  const warnings: string[] = [];
  for (const kind of Object.keys(NOT_AUDITED_BECAUSE) as UnreadExecutable[]) {
    const paths = unread.get(kind);
    if (paths) warnings.push(`${artifact}: ${paths.length} ${kind}${paths.length === 1 ? '' : 's'} not audited (${NOT_AUDITED_BECAUSE[kind]}): ${shortList(paths)}`);
  }
  if (nested.length > 0) {
    warnings.push(`${artifact}: ${nested.length} ${nested.length === 1 ? 'package' : 'packages'} inside it not opened, not audited (audit ${nested.length === 1 ? 'it' : 'each'} on its own): ${shortList(nested)}`);
  }
  return { graphs, warnings };
}
