import { dirname, join } from 'node:path';
import type { TomlTable } from 'smol-toml';
import { parse } from 'smol-toml';
import { outgoingEdges, reachableFrom, type DependencyGraph, type Edge, type EdgeKind } from '../core/graph.js';
import type { Package } from '../core/package.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { crateKey, declaredSpec, dependencyTables, type DeclaredKind } from '../ecosystems/cargo/manifest-dependencies.js';
import { readWorkspaceManifests } from '../ecosystems/cargo/workspace-members.js';
import { isTomlTable } from '../core/toml-values.js';
import { platformHoldsOnLinux } from '../ecosystems/cargo/target-cfg.js';
import type { VendoredPackage } from '../inputs/vendor-layout.js';
import { ownValue } from '../core/own-value.js';

/**
 * What the build scripts of a Cargo application's vendored crates need from the build root
 * beyond cargo, rust (whose C compiler the `cc` crate uses) and the spec's own tools: the
 * system libraries `-sys` crates link, found with pkg-config, and the tools some build scripts
 * run. Without them `rpmbuild` fails in a clean build root (mock, koji, OBS) although the
 * source RPM holds every crate: openssl-sys's build script stops when pkg-config finds no
 * OpenSSL, bindgen's when it finds no libclang, prost-build's when there is no protoc.
 *
 * Three sources, all read from what is vendored and locked (never from what a crate's build
 * script would do, which only running it can tell):
 * - `[package.metadata.system-deps]` of a crate's Cargo.toml, the machine-readable declaration
 *   of the system-deps build helper (the gtk-rs and GStreamer bindings, dav1d, aom, ...): each
 *   entry a pkg-config module and its minimum version; entries behind a feature (`feature`,
 *   `optional`) are left out, as the lockfile does not say which features are on;
 * - KNOWN: crates whose build script needs the system's library or a tool by default, with no
 *   fallback to sources of their own, unless the crate that carries those sources is locked too
 *   (openssl-src, pq-src, protobuf-src). Crates that fall back to their bundled C sources when
 *   pkg-config finds nothing (libz-sys, libgit2-sys, curl-sys, zstd-sys, ...) need nothing...
 * - SOURCES: ...unless the vendored copy does not carry those sources. Distributions strip
 *   them from the crates they ship (Debian's libgit2-sys has no `libgit2/`, its libz-sys no
 *   `src/zlib/`), and a registry or mirror built from those serves them: then the build script
 *   finds the system's library with pkg-config or stops, and compiles no copy of its own.
 *
 * pkg-config modules become `pkgconfig(NAME)` and tools their path (`/usr/bin/protoc`): both
 * spellings resolve the same way on Fedora and openSUSE. A crate's own metadata is untrusted:
 * a module name or version that is not plain text is refused by the caller (specValueProblems),
 * never written into the spec.
 */

export interface SystemRequirement {
  /** The BuildRequires capability: `pkgconfig(openssl)`, `pkgconfig(gtk+-3.0) >= 3.18`, `/usr/bin/protoc`. */
  capability: string;
  /** The crates that need it, `name version`, sorted. */
  neededBy: string[];
}

interface Known {
  requires: readonly string[];
  /** The locked crate that makes the build use sources of its own instead (`vendored` features): then nothing. */
  unlessLocked?: string;
}

/**
 * Each entry was read off the crate's build script: a pkg-config probe (or a tool it runs)
 * with no fallback of its own. libsqlite3-sys's `bundled` feature builds its own SQLite, which
 * the lockfile cannot show: the requirement then costs only an installed -devel package.
 */
const KNOWN: Readonly<Record<string, Known>> = {
  'openssl-sys': { requires: ['pkgconfig(openssl)'], unlessLocked: 'openssl-src' },
  // OpenSSL's own sources: its Configure (perl) and make run; Fedora's perl-interpreter lacks these modules.
  'openssl-src': { requires: ['/usr/bin/make', 'perl(FindBin)', 'perl(IPC::Cmd)', 'perl(File::Compare)', 'perl(File::Copy)', 'perl(lib)'] },
  'pq-sys': { requires: ['pkgconfig(libpq)'], unlessLocked: 'pq-src' },
  'libsqlite3-sys': { requires: ['pkgconfig(sqlite3)'] },
  'libdbus-sys': { requires: ['pkgconfig(dbus-1)'] },
  'alsa-sys': { requires: ['pkgconfig(alsa)'] },
  'libudev-sys': { requires: ['pkgconfig(libudev)'] },
  'pcsc-sys': { requires: ['pkgconfig(libpcsclite)'] },
  'xkbcommon-sys': { requires: ['pkgconfig(xkbcommon)'] },
  'pcap-sys': { requires: ['pkgconfig(libpcap)'] },
  'tesseract-sys': { requires: ['pkgconfig(tesseract)'] },
  'leptonica-sys': { requires: ['pkgconfig(lept)'] },
  // bindgen loads libclang at build time (clang-sys); clang-devel holds the unversioned libclang.so on both.
  bindgen: { requires: ['clang-devel'] },
  cmake: { requires: ['/usr/bin/cmake'] },
  'prost-build': { requires: ['/usr/bin/protoc'], unlessLocked: 'protobuf-src' },
};

/**
 * Crates whose build script uses the system's library (pkg-config) only when the crate does not
 * carry the library's sources: where their crates.io releases carry them (a git submodule
 * packaged with the crate), under the crate's directory, and the pkg-config module probed
 * otherwise. Debian's releases of libgit2-sys 0.14.1 and libz-sys 1.1.8 carry none.
 */
const SOURCES: Readonly<Record<string, { sources: RegExp; module: string }>> = {
  'libgit2-sys': { sources: /^libgit2\/src\//, module: 'libgit2' },
  'libz-sys': { sources: /^src\/zlib(-ng)?\//, module: 'zlib' },
  'curl-sys': { sources: /^curl\/lib\//, module: 'libcurl' },
  'zstd-sys': { sources: /^zstd\/lib\//, module: 'libzstd' },
  'bzip2-sys': { sources: /^bzip2-[^/]+\/bzlib\.c$/, module: 'bzip2' },
  'libnghttp2-sys': { sources: /^nghttp2\/lib\//, module: 'libnghttp2' },
  'libssh2-sys': { sources: /^libssh2\/src\//, module: 'libssh2' },
  'lzma-sys': { sources: /^xz-[^/]+\/src\//, module: 'liblzma' },
  onig_sys: { sources: /^oniguruma\/src\//, module: 'oniguruma' },
};

/**
 * The vendored crates (`name@version`) of SOURCES whose directory holds none of the C sources
 * they would build: their build links the system's library, and carries none of its own.
 */
export function cratesWithoutCSources(files: readonly ArchiveFile[], packages: readonly VendoredPackage[]): Set<string> {
  const candidates = packages.filter((p) => p.ecosystem === 'cargo' && ownValue(SOURCES, p.name) !== undefined);
  if (candidates.length === 0) return new Set();
  const paths = files.map((f) => f.path);
  const without = new Set<string>();
  for (const pkg of candidates) {
    const { sources } = ownValue(SOURCES, pkg.name) as { sources: RegExp };
    const prefix = `${pkg.path}/`;
    if (!paths.some((path) => path.startsWith(prefix) && sources.test(path.slice(prefix.length)))) without.add(`${pkg.name}@${pkg.version}`);
  }
  return without;
}

/** A pkg-config module name or version as a BuildRequires may hold it: plain text, nothing RPM reads as syntax. */
const MODULE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const VERSION = /^[0-9][A-Za-z0-9.]*$/;


/**
 * The pkg-config modules a crate's `[package.metadata.system-deps]` declares unconditionally,
 * as [module, minimum version or null]; those whose name or version is not plain text are
 * returned in `unsafe` (the caller refuses them).
 */
export function systemDepsModules(manifest: TomlTable): { modules: [string, string | null][]; unsafe: string[] } {
  const pkg = manifest.package;
  const metadata = isTomlTable(pkg) ? pkg.metadata : undefined;
  const declared = isTomlTable(metadata) ? metadata['system-deps'] : undefined;
  const modules: [string, string | null][] = [];
  const unsafe: string[] = [];
  if (!isTomlTable(declared)) return { modules, unsafe };
  for (const [key, value] of Object.entries(declared)) {
    let name = key;
    let version: string | null = null;
    if (typeof value === 'string') version = value;
    else if (isTomlTable(value)) {
      // Behind a cargo feature, or a cfg(...) table of entries for some targets: not known to be built.
      if (value.optional === true || value.feature !== undefined || key.startsWith('cfg(')) continue;
      if (value.name !== undefined) name = typeof value.name === 'string' ? value.name : '';
      if (typeof value.version === 'string') version = value.version;
    } else continue;
    if (!MODULE.test(name) || (version !== null && version !== '' && !VERSION.test(version))) {
      unsafe.push(JSON.stringify(name) + (version === null ? '' : ` ${JSON.stringify(version)}`));
      continue;
    }
    modules.push([name, version === '' ? null : version]);
  }
  return { modules, unsafe };
}

/**
 * The build requirements of the vendored crates whose key is in `built` (name@version: what the
 * application's build compiles), read from their Cargo.toml files in `files`. `unsafe` lists
 * the metadata that cannot be written into a spec, per crate.
 */
export function cargoSystemRequires(
  files: readonly ArchiveFile[],
  packages: readonly VendoredPackage[],
  built: ReadonlySet<string>,
): { requirements: SystemRequirement[]; unsafe: string[]; withoutSources: Set<string> } {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const locked = new Set(packages.filter((p) => p.ecosystem === 'cargo' && built.has(`${p.name}@${p.version}`)).map((p) => p.name));
  const needs = new Map<string, Set<string>>();
  const need = (capability: string, crate: string): void => {
    const set = needs.get(capability) ?? new Set<string>();
    set.add(crate);
    needs.set(capability, set);
  };
  const unsafe: string[] = [];
  const seen = new Set<string>();
  const withoutSources = cratesWithoutCSources(files, packages);
  for (const pkg of packages) {
    const key = `${pkg.name}@${pkg.version}`;
    if (pkg.ecosystem !== 'cargo' || !built.has(key) || seen.has(key)) continue;
    seen.add(key);
    const crate = `${pkg.name} ${pkg.version}`;
    const known = ownValue(KNOWN, pkg.name);
    if (known !== undefined) {
      const own = known.unlessLocked !== undefined && locked.has(known.unlessLocked);
      if (!own) for (const capability of known.requires) need(capability, crate);
    }
    const system = ownValue(SOURCES, pkg.name);
    if (system !== undefined && withoutSources.has(key)) need(`pkgconfig(${system.module})`, crate);
    const manifest = byPath.get(`${pkg.path}/Cargo.toml`);
    if (manifest === undefined) continue;
    let doc: TomlTable;
    try {
      doc = parse(manifest.data.toString('utf8'));
    } catch {
      // The licence reader has refused it already; nothing to add here.
      continue;
    }
    const declared = systemDepsModules(doc);
    for (const text of declared.unsafe) unsafe.push(`${crate}: package.metadata.system-deps ${text}`);
    for (const [module, version] of declared.modules) need(version === null ? `pkgconfig(${module})` : `pkgconfig(${module}) >= ${version}`, crate);
  }
  const requirements = [...needs]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([capability, crates]) => ({ capability, neededBy: [...crates].sort() }));
  return { requirements, unsafe, withoutSources };
}

/** A C library compiled from the sources a crate carries, for the spec's `Provides: bundled(NAME) = VERSION`. */
export interface BundledCLibrary {
  name: string;
  version: string;
  /** The crate that carries it, `name version`. */
  crate: string;
}

/**
 * Crates that carry a C library's sources and build them into the application, and where their
 * version names that library's: the build metadata after `+` (openssl-src 300.3.1+3.3.1 is
 * OpenSSL 3.3.1, zstd-sys 2.0.9+zstd.1.5.5 is zstd 1.5.5). A security tracker looks for
 * `bundled(openssl)`, never for a crate. libgit2-sys, curl-sys and libnghttp2-sys build their
 * copy when the build root has no such library, as the spec's build root does not (it declares
 * none); zstd-sys unless asked to look for the system's. Crates whose version does not name
 * the library's are not listed: no version is better than a wrong one.
 */
const CARRIES: Readonly<Record<string, { library: string; prefix: string }>> = {
  'openssl-src': { library: 'openssl', prefix: '' },
  'zstd-sys': { library: 'zstd', prefix: 'zstd.' },
  'libgit2-sys': { library: 'libgit2', prefix: '' },
  'curl-sys': { library: 'curl', prefix: 'curl-' },
  'bzip2-sys': { library: 'bzip2', prefix: '' },
  'libnghttp2-sys': { library: 'nghttp2', prefix: '' },
  'tikv-jemalloc-sys': { library: 'jemalloc', prefix: '' },
  'jemalloc-sys': { library: 'jemalloc', prefix: '' },
};

/**
 * The C library versions named by the crates in `crates` (name and version, as locked and
 * bundled), but for those in `withoutSources` (`name@version`: their build links the system's).
 */
export function cargoBundledCLibraries(crates: readonly { name: string; version: string }[], withoutSources: ReadonlySet<string> = new Set()): BundledCLibrary[] {
  const out: BundledCLibrary[] = [];
  for (const { name, version } of crates) {
    if (withoutSources.has(`${name}@${version}`)) continue;
    const carries = ownValue(CARRIES, name);
    const metadata = version.split('+')[1];
    if (carries === undefined || metadata === undefined || !metadata.startsWith(carries.prefix)) continue;
    // jemalloc's "5.3.0-patched": the release it patches.
    const library = /^[0-9][0-9A-Za-z.]*/.exec(metadata.slice(carries.prefix.length))?.[0];
    if (library === undefined) continue;
    out.push({ name: carries.library, version: library, crate: `${name} ${version}` });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}

/**
 * The Cargo graph as a Linux build compiles it, from what the vendored crates' manifests say
 * and a lockfile does not: an edge is `build` when the crate declares the dependency only in
 * `[build-dependencies]` (its build script's), and every edge into a proc-macro crate
 * (`[lib] proc-macro = true`: it runs inside the compiler and is not linked); an edge the crate
 * declares only for other systems (`[target.'cfg(windows)'.dependencies]`: target-cfg.ts) is
 * dropped, with what only such edges reach. Lockfile edges between registry crates all read as
 * normal, so `cc`, `syn`, `serde_derive` and `windows-sys` were declared as compiled into the
 * application. What only build-time edges reach is then built, not bundled (bundledPackages;
 * cargo-auditable's `kind: build` in the `.dep-v0` stowage writes). An edge whose crate has no
 * readable manifest, or that names the dependency in a way not found, stays as it was: a
 * doubt declares more, never less.
 */
export function linuxBuildGraph(
  graph: DependencyGraph,
  files: readonly ArchiveFile[],
  packages: readonly VendoredPackage[],
  application: ReadonlyMap<string, CrateDeclarations> = new Map(),
): DependencyGraph {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const vendoredAt = new Map<string, string | null>();
  for (const p of packages) {
    if (p.ecosystem !== 'cargo') continue;
    const key = `${p.name}@${p.version}`;
    // Two crates of one name and version (a git one and a registry one): which manifest is whose is not known.
    vendoredAt.set(key, vendoredAt.has(key) ? null : p.path);
  }
  const manifests = new Map<string, CrateDeclarations | null>();
  const declarations = (pkg: Package): CrateDeclarations | null => {
    const key = `${pkg.name}@${pkg.version}`;
    let found = manifests.get(key);
    if (found === undefined) {
      const path = vendoredAt.get(key);
      const file = path === undefined || path === null ? undefined : byPath.get(`${path}/Cargo.toml`);
      found = file === undefined ? null : crateDeclarations(file.data);
      manifests.set(key, found);
    }
    return found;
  };
  const byId = new Map(graph.packages.map((p) => [p.id, p]));
  const roots = new Set(graph.roots);
  const edges: Edge[] = [];
  for (const edge of graph.edges) {
    const from = byId.get(edge.from);
    const to = byId.get(edge.to);
    if (from !== undefined && to !== undefined && roots.has(from.id)) {
      edges.push(...applicationEdge(edge, application.get(from.name), crateKey(to.name)));
      continue;
    }
    if (edge.kind !== 'normal' || from === undefined || to === undefined) {
      edges.push(edge);
      continue;
    }
    const declared = declarations(from);
    const name = crateKey(to.name);
    const kinds = declared?.kinds.get(name);
    if (kinds === undefined && declared?.elsewhere.has(name) === true) continue;
    if (declarations(to)?.procMacro === true || (kinds !== undefined && kinds.has('build') && !kinds.has('normal'))) edges.push({ ...edge, kind: 'build' });
    else edges.push(edge);
  }
  // What only the dropped edges reached is not built; what no edge reached before is kept as it was.
  const NONE: ReadonlySet<EdgeKind> = new Set();
  const before = reachableFrom(outgoingEdges(graph.edges), graph.roots, NONE);
  const after = reachableFrom(outgoingEdges(edges), graph.roots, NONE);
  const kept = graph.packages.filter((p) => after.has(p.id) || !before.has(p.id));
  const keptIds = new Set(kept.map((p) => p.id));
  return { ...graph, packages: kept, edges: edges.filter((e) => keptIds.has(e.from) && keptIds.has(e.to)) };
}

const STRONGEST: readonly DeclaredKind[] = ['normal', 'build', 'dev'];

/**
 * An edge from a workspace member, as a Linux build has it: none when the member declares the
 * dependency for other systems only, else the strongest kind it declares it as for Linux (a
 * dev-dependency here that is a normal one on Windows is built for the tests alone). A member
 * whose manifest was not read, or a name not found in it, keeps its edge as the lockfile reader made it.
 */
function applicationEdge(edge: Edge, declared: CrateDeclarations | undefined, name: string): Edge[] {
  const kinds = declared?.kinds.get(name);
  if (kinds === undefined) return declared?.elsewhere.has(name) === true ? [] : [edge];
  const kind = STRONGEST.find((k) => kinds.has(k)) as DeclaredKind;
  return [kind === edge.kind ? edge : { ...edge, kind }];
}

/**
 * What the application's own manifests (the root's and each workspace member's, read from
 * disk beside the lockfile) declare, by package name, `workspace = true` entries completed from
 * the root's `[workspace.dependencies]`. A manifest that cannot be read is left out (its edges
 * stay as they were), and so are two manifests of one name.
 */
export function applicationDeclarations(lockfilePath: string): Map<string, CrateDeclarations> {
  const out = new Map<string, CrateDeclarations>();
  const manifests = readWorkspaceManifests(join(dirname(lockfilePath), 'Cargo.toml'));
  if (manifests === null) return out;
  const { root, members } = manifests;
  const workspace = isTomlTable(root.workspace) ? root.workspace : {};
  const inherited = isTomlTable(workspace.dependencies) ? workspace.dependencies : {};
  const twice = new Set<string>();
  for (const doc of [root, ...members.map((m) => m.doc)]) {
    const pkg = doc?.package;
    if (doc === null || doc === undefined || !isTomlTable(pkg) || typeof pkg.name !== 'string') continue;
    if (out.has(pkg.name) || twice.has(pkg.name)) {
      out.delete(pkg.name);
      twice.add(pkg.name);
      continue;
    }
    out.set(pkg.name, declarationsOf(doc, inherited));
  }
  return out;
}

interface CrateDeclarations {
  /** Each dependency a Linux build may compile (crateKey of its package name), and the kinds it is declared as. */
  kinds: Map<string, Set<DeclaredKind>>;
  /** Dependencies declared for platforms other than Linux (some may be in `kinds` too). */
  elsewhere: Set<string>;
  procMacro: boolean;
}

function crateDeclarations(data: Buffer): CrateDeclarations | null {
  let doc: TomlTable;
  try {
    doc = parse(data.toString('utf8'));
  } catch {
    return null;
  }
  return declarationsOf(doc, {});
}

function declarationsOf(doc: TomlTable, inherited: TomlTable): CrateDeclarations {
  const kinds = new Map<string, Set<DeclaredKind>>();
  const elsewhere = new Set<string>();
  for (const { table, kind, platform } of dependencyTables(doc)) {
    const onLinux = platform === null || platformHoldsOnLinux(platform) !== false;
    for (const key of Object.keys(table)) {
      const spec = declaredSpec(key, table[key], inherited);
      const name = crateKey(isTomlTable(spec) && typeof spec.package === 'string' ? spec.package : key);
      if (!onLinux) {
        elsewhere.add(name);
        continue;
      }
      const set = kinds.get(name) ?? new Set<DeclaredKind>();
      set.add(kind);
      kinds.set(name, set);
    }
  }
  const lib = doc.lib;
  const procMacro = isTomlTable(lib) && (lib['proc-macro'] === true || lib.proc_macro === true);
  return { kinds, elsewhere, procMacro };
}
