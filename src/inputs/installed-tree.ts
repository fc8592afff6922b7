import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import { readWholeFile } from '../core/input-files.js';
import type { ArchiveFile, TreeLink } from '../core/untrusted-tar.js';
import { LOCKFILE_FORMATS } from '../ecosystems/formats.js';
import { isAsarArchive, readAsar } from './asar.js';
import { nodeModulesGraphs } from './node-modules.js';
import { isShippedFile, nestedPackageKind, rustBinaryGraphs, SHIPPED_FILE_HEAD_BYTES } from './packaged-binaries.js';
import { SHIPPED_LIMITS } from './shipped-limits.js';

/**
 * An installed tree (a root file system, an installed node_modules, an image's layers applied)
 * as applications: every Rust binary, and every outermost node_modules, one application each.
 */

/**
 * What a tree reader keeps of a file: an executable (ELF, PE, Mach-O, WebAssembly: a possible
 * Rust binary), a package.json, a yarn Plug'n'Play runtime (to refuse it), a package it carries
 * (to name it), or an Electron application's asar archive (read as the directory Electron loads
 * it as).
 */
export function isTreeInventoryFile(path: string, data: Buffer): boolean {
  return path === 'package.json' || path.endsWith('/package.json') || isPnpRuntime(path) || isShippedFile(data) || isAsarArchive(path, data);
}

/**
 * yarn's Plug'n'Play runtime (`.pnp.cjs`, yarn 2's and yarn 1 --pnp's `.pnp.js`): node loads a
 * project's packages through it from the zip archives of `.yarn/cache`, with no node_modules.
 * One inside a node_modules was published in a package, and loads nothing.
 */
function isPnpRuntime(path: string): boolean {
  return /(?:^|\/)\.pnp\.c?js$/.test(path) && !/(?:^|\/)node_modules\//.test(path);
}

/**
 * The applications of a tree's kept files (isTreeInventoryFile), named `ARTIFACT:PATH` (none when
 * it holds none), and what is not audited. `rooted`: the tree is a whole root file system (an
 * image's, what a package installs), where an absolute link leads from the tree's own root.
 */
export function treeApplications(files: readonly ArchiveFile[], artifact: string, links: readonly TreeLink[], rooted = false): { graphs: DependencyGraph[]; warnings: string[] } {
  return applicationsOf(files.filter((f) => isManifestPath(f.path)), files, artifact, links, rooted);
}

const isManifestPath = (path: string): boolean => path === 'package.json' || path.endsWith('/package.json') || isPnpRuntime(path);

/** treeApplications of the manifests (package.json files, PnP runtimes) and, apart, the other kept files: read one at a time when they come from an iterator. */
function applicationsOf(manifests: readonly ArchiveFile[], others: Iterable<ArchiveFile>, artifact: string, links: readonly TreeLink[], rooted: boolean, at = ''): { graphs: DependencyGraph[]; warnings: string[] } {
  // What the project's node loads through it is in zip archives stowage does not read: never passed over as if the tree held no packages there.
  const pnp = manifests.find((f) => isPnpRuntime(f.path));
  if (pnp !== undefined) {
    throw new InputError(
      `${artifact}:${pnp.path}`,
      "a yarn Plug'n'Play install: node loads its packages through it from .yarn/cache zip archives, which stowage does not read, so it cannot audit them; audit the yarn.lock they were installed from",
    );
  }
  const packageJsons = new Map(manifests.filter((f) => !isPnpRuntime(f.path)).map((f) => [f.path, f.data]));
  const allLinks = [...links];
  // An asar archive is a directory to Electron: its package.json files and links join the tree's, its executables are read as the tree's.
  function* expanded(): Generator<ArchiveFile> {
    for (const file of others) {
      if (!isAsarArchive(file.path, file.data)) {
        yield file;
        continue;
      }
      const inside = readAsar(file.data, `${artifact}:${file.path}`);
      allLinks.push(...inside.links.map((link) => ({ path: `${file.path}/${link.path}`, target: link.target })));
      for (const entry of inside.files) {
        const path = `${file.path}/${entry.path}`;
        if (isManifestPath(path)) packageJsons.set(path, entry.data);
        else yield { ...entry, path };
      }
    }
  }
  const binaries = rustBinaryGraphs(expanded(), artifact);
  return { graphs: [...binaries.graphs, ...nodeModulesGraphs(packageJsons, artifact, allLinks, rooted, at)], warnings: binaries.warnings };
}

const MAX_FILES = 5_000_000;

/**
 * A directory without lockfiles, walked without following symbolic links (a link is never a
 * way out of the tree, nor a second copy of what the tree holds); a link where node loads a
 * package makes its node_modules partial (nodeModulesGraphs). Only regular files are read: the
 * first bytes of each, and the whole of an executable or a package.json. Executables are read
 * whole one at a time, after the walk, each let go once read: a root file system holds gigabytes
 * of them (this machine's /usr, 2.9 GB), which were all held at once.
 */
export function readInstalledTree(dir: string): { graphs: DependencyGraph[]; warnings: string[] } {
  const manifests: ArchiveFile[] = [];
  const nested: ArchiveFile[] = [];
  const executables: Pick<ArchiveFile, 'path' | 'mode'>[] = [];
  const links: TreeLink[] = [];
  const head = Buffer.alloc(SHIPPED_FILE_HEAD_BYTES);
  let seen = 0;
  const walk = (relative: string): void => {
    const full = relative === '' ? dir : join(dir, relative);
    let names: string[];
    try {
      names = readdirSync(full).sort();
    } catch (err) {
      throw new InputError(full, `cannot read the directory: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    for (const name of names) {
      const path = relative === '' ? name : `${relative}/${name}`;
      const st = lstatSync(join(dir, path));
      if (++seen > MAX_FILES) throw new InputError(dir, `more than ${MAX_FILES} files: not read`);
      if (st.isDirectory()) walk(path);
      // Recorded, not followed: a link where node loads a package makes its application partial.
      if (st.isSymbolicLink()) links.push({ path, target: readlinkSync(join(dir, path)) });
      if (!st.isFile()) continue;
      const mode = (st.mode & 0o111) !== 0 ? 0o755 : 0o644;
      if (isManifestPath(path)) {
        // Held whole, as a package's or a layer's kept files are: capped alike.
        manifests.push({ path, mode, data: readWholeFile(join(dir, path), SHIPPED_LIMITS.maxKeptFileBytes, 'a package.json') });
        continue;
      }
      if (st.size < 4) continue;
      const first = head.subarray(0, readHead(join(dir, path), head));
      if (!isShippedFile(first) && !isAsarArchive(path, first)) continue;
      // A package it carries is only named: its first bytes say what it is.
      if (nestedPackageKind(first) !== null) nested.push({ path, mode, data: Buffer.from(first) });
      else executables.push({ path, mode });
    }
  };
  walk('');
  // The packages it carries (their first bytes), then each executable, read whole as it comes.
  function* others(): Generator<ArchiveFile> {
    yield* nested;
    for (const { path, mode } of executables) yield { path, mode, data: readWholeFile(join(dir, path), SHIPPED_LIMITS.maxKeptFileBytes, path.endsWith('.asar') ? 'an asar archive' : 'an executable') };
  }
  // Where the tree is on this machine: its node loads packages from Debian's /usr/share/nodejs too.
  const read = applicationsOf(manifests, others(), dir, links, false, resolve(dir));
  if (read.graphs.length === 0) {
    throw new InputError(dir, `no lockfile found (looked for ${LOCKFILE_FORMATS.map((f) => f.fileName).join(', ')}), and no Rust binary or node_modules installed in it`);
  }
  return read;
}

function readHead(path: string, into: Buffer): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    // An unreadable file might be a binary: the audit would not be complete without it.
    throw new InputError(path, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return readSync(fd, into, 0, into.length, 0);
  } finally {
    closeSync(fd);
  }
}
