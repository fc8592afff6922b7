import { dirname, relative, resolve, sep } from 'node:path';
import { parse, TomlDate, TomlError } from 'smol-toml';
import type { TomlTable, TomlValue } from 'smol-toml';
import type { CargoBuildOverrides, LockfileInput } from '../../core/ecosystem.js';
import { InputError } from '../../core/errors.js';
import { flagsFromReachability, locatePackagesLater, type DependencyGraph, type Edge, type EdgeKind } from '../../core/graph.js';
import type { Package, PackageSource, SourceLocation } from '../../core/package.js';
import { CargoSourceError, declaredGitIdentity, isCratesIoRegistryIndex, looseGitIdentity, parseCargoSource, parseCargoSourceId } from './source.js';
import { crateNameProblem } from './crate-name.js';
import { crateKey, declaredSpec, dependencyTables, type DeclaredKind } from './manifest-dependencies.js';
import { cargoRequirementMatches, checkCargoVersion } from './version.js';
import { memberGlobMatcher, parseManifestToml, pathPackageManifests } from './workspace-members.js';
import { readCargoWrittenLockfile } from './lockfile-toml.js';
import { holdsUnsafeInteger, isTomlTable, tomlStrings } from '../../core/toml-values.js';
import { shortList } from '../../core/short-list.js';

/**
 * Cargo.lock, every format Cargo has written:
 * - v1: no `version` key; dependency strings always `name version (source)` (no source for
 *   path packages); checksums in `[metadata]` as `"checksum NAME VERSION (SOURCE)" = sha256`;
 *   the oldest files keep the root package in a `[root]` table instead of `[[package]]`.
 * - v2: no `version` key; `checksum` inline; dependency strings shortened to `name` or
 *   `name version` unless a source is needed to tell two packages apart.
 * - v3 (`version = 3`): as v2; git `branch=master` is now written out.
 * - v4 (`version = 4`): as v3; query parameters of source URLs are percent-encoded.
 *
 * Cargo.lock does not say why a package is depended on. With the root manifest (and the
 * members' manifests found beside it) a workspace member's edges get the kind its manifest
 * declares: `dev` for a crate it names only in `[dev-dependencies]`, `build` only in
 * `[build-dependencies]`; every other edge is `normal`.
 */
export function parseCargoLock(input: LockfileInput): DependencyGraph {
  const doc = readCargoWrittenLockfile(input.text) ?? parseToml(input.path, input.text);
  const declaredVersion = readLockVersion(input, doc);
  const entries = readEntries(input, doc);
  const overrides = input.cargoBuildOverrides?.() ?? { paths: [], patches: [] };
  const written = input.manifest ? parseToml(input.manifest.path, input.manifest.text, parseManifestToml) : null;
  // Cargo applies the configuration's [patch] with the root manifest's, the configuration's winning.
  const manifest = written !== null && overrides.patches.length > 0 ? withConfigPatches(written, input.manifest?.path ?? input.path, overrides.patches) : written;
  const members = manifest ? (input.members ?? []).map(readMember) : [];
  const lookup = new PackageLookup(entries, manifest ? localPackageNames(manifest, members) : new Set());
  const ids = lookup.assignIds(input);
  const warnings: string[] = [];
  const kinds = manifest ? memberDependencyKinds(manifest, members, warnings) : null;

  let shortened = false;
  let devEdges = false;
  const edges: Edge[] = [];
  const resolved = new Map<string, number>();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as LockEntry;
    // A workspace member's edges have the kinds its manifest declares; all others are normal.
    const declared = kinds === null || entry.source !== null ? undefined : lookup.memberKinds(entry, kinds);
    for (const dep of entry.dependencies) {
      // v2+ writes most dependencies as a bare, unique name: one Map lookup settles those.
      let target = lookup.uniqueName(dep);
      if (target !== undefined) shortened = true;
      else target = resolved.get(dep);
      if (target === undefined) {
        const found = lookup.resolve(dep);
        if (typeof found === 'string') {
          throw new InputError(input.path, `${entry.label}: dependency "${dep}" ${found}`, entry.position(input.text, `"${dep}"`));
        }
        target = found.index;
        shortened ||= found.shortened;
        resolved.set(dep, target);
      }
      const kind = declared?.get((entries[target] as LockEntry).name) ?? 'normal';
      devEdges ||= kind === 'dev';
      edges.push({ from: ids[i] as string, to: ids[target] as string, kind });
    }
    if (entry.replace !== null) {
      // `[replace]`: Cargo builds the replacement wherever the replaced package is depended on
      // (the replaced entry lists no dependencies; the replacement lists its own). An edge to it
      // keeps what it brings in as reachable, and of the same kinds, as the package it replaces.
      const found = lookup.resolve(entry.replace);
      if (typeof found === 'string') {
        // Cargo cannot apply it: `--locked` refuses the lockfile, a plain build resolves anew.
        throw new InputError(input.path, `${entry.label}: \`replace\` ${JSON.stringify(entry.replace)} ${found}`, entry.position(input.text, 'replace'));
      }
      edges.push({ from: ids[i] as string, to: ids[found.index] as string, kind: 'normal' });
    }
  }

  if (manifest !== null && input.manifest) {
    // The path packages of the manifest with the configuration's [patch] applied (its paths made
    // relative to the manifest's directory): a configuration's patch copy is checked against the
    // lockfile as the manifest's is, and one the configuration overrides is not built.
    const root = { path: input.manifest.path, doc: manifest };
    const pathPackages = input.readPathPackage ? pathPackageManifests(root, members, input.readPathPackage).map(readMember) : [];
    warnings.push(...unlockedDeclarations(input.path, root, members, pathPackages, entries, ids, edges));
  }
  const writtenRoot = input.manifest && written !== null ? { path: input.manifest.path, doc: written } : null;
  warnings.push(...unlockedPatches(input.path, patchDeclarations(writtenRoot, overrides.patches), writtenRoot, entries, readUnusedPatches(input, doc)));

  const metadata = doc.metadata;
  if (metadata !== undefined) applyMetadataChecksums(input, metadata, entries, lookup);

  const layout = manifest ? readWorkspaceLayout(manifest, members) : null;
  const packages: Package[] = new Array<Package>(entries.length);
  const roots: string[] = [];
  // Nearly every package names the same source string: parse each distinct one once, and let
  // the packages from one source share its (read-only) PackageSource.
  const sources = new Map<string, PackageSource>();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as LockEntry;
    const id = ids[i] as string;
    let source: PackageSource;
    if (entry.source !== null) {
      let parsed = sources.get(entry.source);
      if (parsed === undefined) {
        parsed = parseCargoSource(entry.source);
        const replaced = parsed.kind === 'registry' && !parsed.isDefaultRegistry ? (input.cargoCratesIoReplacement?.(entry.source) ?? null) : null;
        if (replaced !== null) {
          parsed = { ...parsed, isDefaultRegistry: true };
          warnings.push(
            `${input.path}: source ${JSON.stringify(entry.source)} is replaced with crates.io by ${replaced.file} ([source] ${replaced.chain}): Cargo builds crates.io's crates for it, and they are audited as crates.io's`,
          );
        } else if (parsed.isDefaultRegistry && !parseCargoSourceId(entry.source).isCratesIo) {
          warnings.push(
            `${input.path}: source ${JSON.stringify(entry.source)} is another registry to Cargo, but it fetches from crates.io's index: its crates are audited as crates.io's`,
          );
        }
        sources.set(entry.source, parsed);
      }
      source = parsed;
    } else {
      source = layout ? layout.classify(entry.name) : workspaceSource();
      if (source.kind === 'workspace') roots.push(id);
    }
    packages[i] = {
      id,
      ecosystem: 'cargo',
      name: entry.name,
      version: entry.version,
      source,
      checksum: entry.checksum,
    };
  }

  // Crates only dev-dependencies bring in are marked dev (`--omit dev`, RPM bundling); without
  // a dev edge none is, and the walk is skipped.
  if (devEdges) flagsFromReachability(packages, edges, roots);
  if (manifest !== null) declareMemberLicenses(packages, roots, manifest, members);
  const graph: DependencyGraph = {
    ecosystem: 'cargo',
    path: input.path,
    format: `Cargo.lock v${declaredVersion ?? inferUnversionedFormat(input.text, entries, shortened)}`,
    packages,
    edges,
    roots,
    ...(warnings.length > 0 ? { warnings } : {}),
    ...pathOverrideInventory(overrides.paths),
  };
  return locatePackagesLater(graph, () => locateEntries(input.text, entries, packages));
}

/** Each package at its table header: the n-th `[[package]]` header is the n-th entry smol-toml returns. */
function locateEntries(text: string, entries: readonly LockEntry[], packages: Package[]): void {
  const headers: Record<string, SourceLocation[]> = {
    '[[package]]': tableHeaderLocations(text, /^[ \t]*\[\[[ \t]*package[ \t]*\]\]/gm),
    '[root]': tableHeaderLocations(text, /^[ \t]*\[[ \t]*root[ \t]*\]/gm),
  };
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as LockEntry;
    const location = headers[entry.header]?.[entry.ordinal];
    if (location !== undefined) (packages[i] as Package).location = location;
  }
}

function workspaceSource(): PackageSource {
  return { kind: 'workspace', url: null, isDefaultRegistry: false };
}

/** One `[[package]]` (or the v1 `[root]`) entry, validated. */
class LockEntry {
  constructor(
    readonly name: string,
    readonly version: string,
    readonly source: string | null,
    /** The source as Cargo compares it (two spellings of one source have one key); null without a source. */
    readonly sourceKey: string | null,
    public checksum: string | null,
    /** v2+ writes checksums on the package; v1 only in [metadata]. */
    readonly inlineChecksum: boolean,
    readonly dependencies: string[],
    /** The table's header, `[root]` or `[[package]]`, and which of those it is (0-based). */
    readonly header: string,
    readonly ordinal: number,
    /** A `[replace]` of the root manifest applies to it: its replacement, as a dependency string (`replace = "..."`); else null. */
    readonly replace: string | null,
  ) {}

  get label(): string {
    return this.source === null
      ? `package ${this.name} ${this.version}`
      : `package ${this.name} ${this.version} (${this.source})`;
  }

  /** Where the entry starts, or where `needle` first occurs after that start. */
  position(text: string, needle?: string): { line: number } | undefined {
    return headerPosition(text, this.header, this.ordinal, needle);
  }
}

function parseToml(path: string, text: string, parseText = parseTomlText): TomlTable {
  try {
    return parseText(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = (err.message.split('\n', 1)[0] ?? '').replace(/^Invalid TOML document: /, '');
      throw new InputError(path, `invalid TOML: ${reason}`, { line: err.line, column: err.column });
    }
    // smol-toml throws plain errors only on its own limits (nesting depth); still bad input.
    throw new InputError(path, `invalid TOML: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Integers as BigInt so that `version = 3.0` (a float) is not mistaken for `version = 3`. */
function parseTomlText(text: string): TomlTable {
  return parse(text, { integersAsBigInt: true });
}

/**
 * A workspace member's manifest, parsed once for all that read it: its TOML, or the one-line
 * error that says why not. `plain`: the TOML when smol-toml's default reading (integers as
 * numbers, which refuses one past their safe range) would read it too.
 */
interface MemberManifest {
  path: string;
  doc: TomlTable | null;
  plain: TomlTable | null;
  error: InputError | null;
}

function readMember(member: { path: string; text: string }): MemberManifest {
  try {
    const doc = parseToml(member.path, member.text);
    return { path: member.path, doc, plain: holdsUnsafeInteger(doc) ? null : doc, error: null };
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return { path: member.path, doc: null, plain: null, error: err };
  }
}

/** The declared format version, or null when the file predates the `version` key (v1/v2). */
function readLockVersion(input: LockfileInput, doc: TomlTable): 3 | 4 | null {
  const version = doc.version;
  if (version === undefined) return null;
  if (typeof version !== 'bigint') {
    throw new InputError(input.path, `\`version\` must be an integer, found ${describe(version)}`, keyPosition(input.text, 'version'));
  }
  if (version === 3n || version === 4n) return Number(version) as 3 | 4;
  const why =
    version > 4n
      ? 'stowage reads versions 1 to 4; a newer Cargo wrote this file'
      : 'no Cargo writes it (v1 and v2 files have no `version` key; v3 and v4 say 3 or 4)';
  throw new InputError(input.path, `unsupported Cargo.lock version ${version}: ${why}`, keyPosition(input.text, 'version'));
}

function readEntries(input: LockfileInput, doc: TomlTable): LockEntry[] {
  const entries: LockEntry[] = [];
  const sourceKeys: SourceKeys = new Map();
  const root = doc.root;
  if (root !== undefined) {
    if (!isTomlTable(root)) {
      throw new InputError(input.path, `\`root\` must be a table, found ${describe(root)}`, keyPosition(input.text, 'root'));
    }
    entries.push(readEntry(input, root, '[root]', 0, sourceKeys));
  }
  const list = doc.package;
  if (list !== undefined) {
    if (!Array.isArray(list)) {
      throw new InputError(
        input.path,
        `\`package\` must be an array of tables ([[package]]), found ${describe(list)}`,
        keyPosition(input.text, 'package'),
      );
    }
    for (let i = 0; i < list.length; i++) {
      const table = list[i] as TomlValue;
      if (!isTomlTable(table)) {
        throw new InputError(input.path, `\`package\` must be an array of tables ([[package]]); item ${i + 1} is ${describe(table)}`);
      }
      entries.push(readEntry(input, table, '[[package]]', i, sourceKeys));
    }
  }
  if (entries.length === 0) {
    throw new InputError(input.path, 'no [[package]] entries: not a Cargo.lock, or an empty one');
  }
  return entries;
}

/** Source string -> its key, or why Cargo refuses it: most entries share a handful of sources. */
type SourceKeys = Map<string, { key: string } | { problem: string }>;

function readEntry(input: LockfileInput, table: TomlTable, header: string, ordinal: number, sourceKeys: SourceKeys): LockEntry {
  // Hot path: one call per package. Messages are built only when something is wrong.
  const name = table.name;
  if (typeof name !== 'string' || name === '') {
    entryError(input, header, ordinal, undefined, name === undefined ? 'missing `name`' : `\`name\` must be a non-empty string, found ${describe(name)}`);
  }
  // Cargo reads any name here, but no manifest can depend on one it refuses, so it never builds
  // such an entry (`--locked` fails); stowage would audit a package that is not what is built.
  const nameProblem = crateNameProblem(name);
  if (nameProblem !== null) {
    entryError(input, header, ordinal, undefined, `\`name\` ${JSON.stringify(name)} is not a package name Cargo accepts: ${nameProblem}`);
  }
  const version = table.version;
  if (typeof version !== 'string' || version === '') {
    entryError(input, header, ordinal, name, version === undefined ? 'missing `version`' : `\`version\` must be a non-empty string, found ${describe(version)}`);
  }
  try {
    checkCargoVersion(version);
  } catch (err) {
    // Cargo refuses the whole lockfile ("failed to parse lock file") on a version that is not SemVer.
    const reason = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    entryError(input, header, ordinal, name, `\`version\` ${JSON.stringify(version)} is not a SemVer version, as Cargo requires: ${reason}`);
  }
  const source = table.source;
  let sourceKey: string | null = null;
  if (source !== undefined) {
    if (typeof source !== 'string' || source === '') {
      entryError(input, header, ordinal, name, `\`source\` must be a non-empty string, found ${describe(source)}`);
    }
    let known = sourceKeys.get(source);
    if (known === undefined) {
      try {
        known = { key: parseCargoSourceId(source).key };
      } catch (err) {
        if (!(err instanceof CargoSourceError)) throw err;
        known = { problem: err.message };
      }
      sourceKeys.set(source, known);
    }
    // Cargo refuses the whole lockfile on a source it cannot parse.
    if ('problem' in known) entryError(input, header, ordinal, name, `\`source\` ${JSON.stringify(source)} ${known.problem}`);
    sourceKey = known.key;
  }
  const checksum = table.checksum;
  // Only the shape is checked here, to keep this loop cheap: whoever uses a checksum (the
  // vendor step) compares it with the digest it computes, which catches any other damage.
  if (checksum !== undefined && (typeof checksum !== 'string' || checksum.length !== 64)) {
    entryError(input, header, ordinal, name, `\`checksum\` must be a sha256 hex digest, found ${describeValue(checksum)}`);
  }
  const replace = table.replace;
  // Cargo refuses the lockfile on a `replace` that is not a package id string.
  if (replace !== undefined && (typeof replace !== 'string' || replace === '')) {
    entryError(input, header, ordinal, name, `\`replace\` must be a package id string (\`name version (source)\`), found ${describeValue(replace)}`);
  }
  const deps = table.dependencies;
  if (deps !== undefined) {
    if (!Array.isArray(deps)) {
      entryError(input, header, ordinal, name, `\`dependencies\` must be an array of strings, found ${describe(deps)}`);
    }
    for (let i = 0; i < deps.length; i++) {
      if (typeof deps[i] !== 'string') {
        entryError(input, header, ordinal, name, `\`dependencies\` must be an array of strings; found ${describe(deps[i])}`);
      }
    }
  }
  return new LockEntry(
    name as string,
    version as string,
    (source as string | undefined) ?? null,
    sourceKey,
    (checksum as string | undefined) ?? null,
    checksum !== undefined,
    (deps as string[] | undefined) ?? NO_DEPENDENCIES,
    header,
    ordinal,
    (replace as string | undefined) ?? null,
  );
}

function entryError(input: LockfileInput, header: string, ordinal: number, name: TomlValue | undefined, what: string): never {
  let where = header === '[root]' ? '[root]' : `[[package]] entry ${ordinal + 1}`;
  if (typeof name === 'string') where += ` (${name})`;
  throw new InputError(input.path, `${where}: ${what}`, headerPosition(input.text, header, ordinal));
}

/** A sha256 digest in hex, either case (Cargo writes lower case); for the small v1 [metadata]. */
function isSha256Hex(value: TomlValue): boolean {
  if (typeof value !== 'string' || value.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = value.charCodeAt(i);
    // 0-9, A-F, a-f
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

const NO_DEPENDENCIES: string[] = [];

/** A dependency string resolved, and whether it was in v2's shortened form. */
interface Resolution {
  index: number;
  shortened: boolean;
}

/**
 * Resolves dependency strings (`name`, `name version`, `name version (source)`) the way Cargo
 * does: the name must be unique when no version is given, a version must be unique among
 * that name's sources when no source is given — except that a package without a source (a
 * path package, which Cargo never writes a source for) wins when it is the only one.
 */
class PackageLookup {
  /** name -> indexes of the entries with that name, in lockfile order. */
  private readonly byName = new Map<string, number[]>();

  constructor(
    private readonly entries: LockEntry[],
    /** Names the manifests give path packages (members, path dependencies): see `resolve`. */
    private readonly localNames: ReadonlySet<string>,
  ) {
    for (let i = 0; i < entries.length; i++) {
      const name = (entries[i] as LockEntry).name;
      const list = this.byName.get(name);
      if (list) list.push(i);
      else this.byName.set(name, [i]);
    }
  }

  /**
   * Ids, by entry index; refuses a lockfile that lists one package (name, version, source)
   * twice, as Cargo does.
   *
   * Ids are `name@version`. When the same name and version come from several sources (a crate
   * patched from git next to its crates.io release, say), the crates.io one keeps the plain id
   * and each other one gets its source appended as Cargo's dependency strings write it,
   * `name@version (SOURCE)` (`(path)` for the one without a source): ids stay unique, do not
   * depend on lockfile order, and the id that advisories match does not move when a patch is
   * added. Not `+SOURCE`: `+` already starts semver build metadata (`wasi@0.11.0+wasi-...`).
   */
  assignIds(input: LockfileInput): string[] {
    const ids = new Array<string>(this.entries.length);
    for (const list of this.byName.values()) {
      if (list.length === 1) {
        const entry = this.entries[list[0] as number] as LockEntry;
        ids[list[0] as number] = `${entry.name}@${entry.version}`;
        continue;
      }
      const byVersion = new Map<string, number[]>();
      for (const i of list) {
        const version = (this.entries[i] as LockEntry).version;
        const same = byVersion.get(version);
        if (same) same.push(i);
        else byVersion.set(version, [i]);
      }
      for (const same of byVersion.values()) {
        // By Cargo's comparison: two spellings of one source are one package to Cargo, which
        // merges them and keeps one of their checksums; stowage refuses rather than guess.
        const sources = new Set<string | null>();
        for (const i of same) {
          const entry = this.entries[i] as LockEntry;
          if (sources.has(entry.sourceKey)) {
            throw new InputError(input.path, `${entry.label} is listed twice`, entry.position(input.text));
          }
          sources.add(entry.sourceKey);
          let id = `${entry.name}@${entry.version}`;
          if (same.length > 1) {
            if (entry.source === null) id += ' (path)';
            else if (!parseCargoSource(entry.source).isDefaultRegistry) id += ` (${entry.source})`;
          }
          ids[i] = id;
        }
      }
    }
    return ids;
  }

  /**
   * The dependency kinds a member's manifest declares, for the source-less `entry` that is that
   * member: the only source-less entry of its name, at the version the manifest states (when it
   * states one). A path package outside the workspace may have a member's name at another
   * version (Cargo builds both: a member `c` 0.1.0 and `../c` 0.2.0); its edges are not the
   * member's, and stay normal, or a normal dependency of it would pass for a dev one.
   */
  memberKinds(entry: LockEntry, kinds: ReadonlyMap<string, MemberKinds>): ReadonlyMap<string, EdgeKind> | undefined {
    const member = kinds.get(entry.name);
    if (member === undefined || (member.version !== null && member.version !== entry.version)) return undefined;
    let sourceLess = 0;
    for (const i of this.byName.get(entry.name) ?? []) if ((this.entries[i] as LockEntry).source === null) sourceLess++;
    return sourceLess === 1 ? member.kinds : undefined;
  }

  /** The entry index when `spec` is exactly the name of the only package so named. */
  uniqueName(spec: string): number | undefined {
    const list = this.byName.get(spec);
    return list !== undefined && list.length === 1 ? list[0] : undefined;
  }

  /** The resolved entry, or why the string does not resolve (a phrase completing "dependency X ..."). */
  resolve(spec: string): Resolution | string {
    const firstSpace = spec.indexOf(' ');
    const name = firstSpace === -1 ? spec : spec.slice(0, firstSpace);
    let version: string | null = null;
    let source: string | null = null;
    if (firstSpace !== -1) {
      const secondSpace = spec.indexOf(' ', firstSpace + 1);
      version = secondSpace === -1 ? spec.slice(firstSpace + 1) : spec.slice(firstSpace + 1, secondSpace);
      if (secondSpace !== -1) {
        const rest = spec.slice(secondSpace + 1);
        if (rest.length < 3 || !rest.startsWith('(') || !rest.endsWith(')')) {
          return 'is malformed: expected `name`, `name version` or `name version (source)`';
        }
        source = rest.slice(1, -1);
      }
    }
    if (name === '' || version === '') return 'is malformed: expected `name`, `name version` or `name version (source)`';
    // Compared as Cargo compares sources; one Cargo cannot read fails the lockfile, as in Cargo.
    let sourceKey: string | null = null;
    if (source !== null) {
      try {
        sourceKey = parseCargoSourceId(source).key;
      } catch (err) {
        if (!(err instanceof CargoSourceError)) throw err;
        return `is malformed: its source ${JSON.stringify(source)} ${err.message}`;
      }
    }

    const candidates = this.byName.get(name);
    if (!candidates) return 'names no package in the lockfile';

    let sameVersion: number[];
    if (version === null) {
      const first = (this.entries[candidates[0] as number] as LockEntry).version;
      for (const i of candidates) {
        if ((this.entries[i] as LockEntry).version !== first) {
          return `is ambiguous: the lockfile has ${name} at versions ${this.versionsOf(candidates)}`;
        }
      }
      sameVersion = candidates;
    } else {
      sameVersion = candidates.filter((i) => (this.entries[i] as LockEntry).version === version);
      if (sameVersion.length === 0) return `names no package in the lockfile (it has ${name} ${this.versionsOf(candidates)})`;
    }

    if (source !== null && sourceKey !== null) {
      const found = this.bySource(sameVersion, sourceKey);
      return found === -1 ? `names no package in the lockfile (no ${name} ${version} from ${source})` : { index: found, shortened: false };
    }
    // No source: the unique source-less package if there is one, else the only package.
    const pathPackages = sameVersion.filter((i) => (this.entries[i] as LockEntry).source === null);
    if (pathPackages.length === 1) {
      const path = this.entries[pathPackages[0] as number] as LockEntry;
      // Cargo keeps a source-less entry only when the workspace has a path package of that
      // name, and drops it otherwise: then the string names the entry with a source. Beside
      // one, taking the source-less entry on trust would move this edge off a crates.io crate.
      if (sameVersion.length > 1 && !this.localNames.has(name)) {
        const other = sameVersion.map((i) => (this.entries[i] as LockEntry).source).filter((s) => s !== null);
        return `is ambiguous: ${name} ${path.version} is listed without a source and from ${other.join(', ')}; Cargo takes the one without a source only when the workspace has a path package ${name}, and nothing here says it has`;
      }
      return { index: pathPackages[0] as number, shortened: version === null };
    }
    if (pathPackages.length === 0 && sameVersion.length === 1) return { index: sameVersion[0] as number, shortened: true };
    return `is ambiguous: ${name} ${version ?? (this.entries[sameVersion[0] as number] as LockEntry).version} comes from several sources`;
  }

  private bySource(indexes: number[], wanted: string): number {
    for (const i of indexes) {
      if ((this.entries[i] as LockEntry).sourceKey === wanted) return i;
    }
    const loose = looseGitIdentity(wanted);
    if (loose === null) return -1;
    for (const i of indexes) {
      const own = (this.entries[i] as LockEntry).sourceKey;
      if (own !== null && looseGitIdentity(own) === loose) return i;
    }
    return -1;
  }

  private versionsOf(indexes: number[]): string {
    return [...new Set(indexes.map((i) => (this.entries[i] as LockEntry).version))].join(', ');
  }
}

const CHECKSUM_KEY_PREFIX = 'checksum ';

/**
 * v1 kept checksums in `[metadata]`. A key naming a package that is not in the file is
 * ignored, as Cargo does, and one Cargo cannot parse is refused, as Cargo does; `<none>` means the registry gave no checksum.
 */
function applyMetadataChecksums(input: LockfileInput, metadata: TomlValue, entries: LockEntry[], lookup: PackageLookup): void {
  if (!isTomlTable(metadata)) {
    throw new InputError(input.path, `\`metadata\` must be a table, found ${describe(metadata)}`, keyPosition(input.text, 'metadata'));
  }
  for (const key of Object.keys(metadata)) {
    if (!key.startsWith(CHECKSUM_KEY_PREFIX)) continue;
    const value = metadata[key] as TomlValue;
    if (typeof value !== 'string' || (value !== '<none>' && !isSha256Hex(value))) {
      throw new InputError(input.path, `[metadata] "${key}" must be a sha256 hex digest or "<none>", found ${describeValue(value)}`);
    }
    const found = lookup.resolve(key.slice(CHECKSUM_KEY_PREFIX.length));
    if (typeof found === 'string') {
      // Cargo refuses a key it cannot parse ("invalid encoding of checksum in lockfile").
      if (found.startsWith('is malformed')) throw new InputError(input.path, `[metadata] ${JSON.stringify(key)} ${found}`, keyPosition(input.text, 'metadata'));
      continue;
    }
    const entry = entries[found.index] as LockEntry;
    // An inline checksum (v2) wins over a stale [metadata] one left by a bad merge.
    if (entry.checksum === null && value !== '<none>') entry.checksum = value;
  }
}

/**
 * A file without `version` is v2 when anything in it uses v2's encoding (an inline checksum,
 * a shortened dependency string), and v1 otherwise — Cargo's own reading. Like Cargo, a
 * single package with no trailing blank line is v2: the v1 writer always left one.
 */
function inferUnversionedFormat(text: string, entries: LockEntry[], shortened: boolean): 1 | 2 {
  if (shortened || entries.some((entry) => entry.inlineChecksum)) return 2;
  if (entries.length === 1 && text.endsWith('\n') && !text.endsWith('\n\n')) return 2;
  return 1;
}

// ---------------------------------------------------------------------------------------------
// Workspace layout from the manifest beside the lockfile.

/**
 * Which source-less packages are the application's own (workspace members: the roots) and
 * which are path dependencies from outside it.
 *
 * The lockfile names packages, the manifest names member directories, and the two do not
 * map onto each other (kanidm's `server/daemon` is the crate `daemon`, `tools/cli` is
 * `kanidm_tools`). Cargo makes every path dependency inside the workspace directory a member
 * automatically, and every source-less package in the corpus (kanidm, ripgrep 2017–2026) is a
 * member. So a source-less package is a member — a root — unless the manifest itself declares
 * its path (in `[dependencies]`-like tables or `[workspace.dependencies]`) and that path leaves
 * the workspace directory or lies under `workspace.exclude`, or declares it only in `[patch]`
 * (which never makes a member: `cargo metadata` lists a crate patched from `patched/smallvec`
 * as a package, not a workspace member), in each case without matching a `workspace.members`
 * glob: then it is a `path` package and not a root.
 *
 * Every member is a root, also one that another member depends on (kanidm_proto): Cargo
 * builds, tests and ships each member, so each is a starting point of dependency paths.
 * Without a manifest every source-less package is a root, as cargo-audit treats them.
 */
interface WorkspaceLayout {
  classify(name: string): PackageSource;
}

const WINDOWS_DRIVE = /^[A-Za-z]:\//;

/** Strongest first: a crate declared under several kinds gets the strongest. */
const KIND_STRENGTH: Record<DeclaredKind, number> = { normal: 3, build: 2, dev: 1 };


function readWorkspaceLayout(doc: TomlTable, memberManifests: readonly MemberManifest[]): WorkspaceLayout {
  const hasWorkspace = isTomlTable(doc.workspace);
  const workspace = isTomlTable(doc.workspace) ? doc.workspace : {};
  const memberGlobs = tomlStrings(workspace.members);
  let members: ((path: string) => boolean)[] | null = null; // compiled on first use: most packages never need it
  let memberPaths: string[] | null = null; // the member globs normalised, with them
  const excluded = tomlStrings(workspace.exclude).map(normalizePath);

  /** crate name -> the path the root manifest gives it, as written. */
  const declared = new Map<string, string>();
  const collect = (table: TomlValue | undefined): void => {
    if (!isTomlTable(table)) return;
    for (const key of Object.keys(table)) {
      const spec = table[key];
      if (!isTomlTable(spec) || typeof spec.path !== 'string') continue;
      declared.set(typeof spec.package === 'string' ? spec.package : key, spec.path);
    }
  };
  for (const { table } of dependencyTables(doc)) collect(table);
  // Cargo makes a path dependency inside the workspace a member, never a `[patch]` or `[replace]`
  // path (not a dependency of any member): that crate is a path package.
  const dependencies = new Set(declared.keys());
  collect(workspace.dependencies);
  // A `[workspace.dependencies]` path is a dependency only of the manifests that inherit it
  // (`NAME = { workspace = true }`). cargo 1.95 makes no member of one nobody inherits: with
  // `hex = { path = "vendor/hex" }` there and in `[patch.crates-io]`, and app depending on
  // crates.io's `hex = "0.4"`, it builds the patch copy and lists app alone as a member.
  const inherited = isTomlTable(workspace.dependencies) ? workspace.dependencies : {};
  for (const manifest of [doc, ...memberManifests.map((m) => m.doc)]) {
    if (manifest === null) continue;
    for (const { table } of dependencyTables(manifest)) {
      for (const [key, spec] of Object.entries(table)) {
        const base = inherited[key];
        if (isTomlTable(spec) && spec.workspace === true && isTomlTable(base) && typeof base.path === 'string') dependencies.add(typeof base.package === 'string' ? base.package : key);
      }
    }
  }
  // The crates a [patch] path builds in place of a registry or git crate of their name: a copy
  // or fork of that crate, matched against advisories as a git crate is. (A [replace] keeps the
  // replaced registry entry in the lockfile, same name and version, which is matched already.)
  const patching = new Set<string>();
  const collectPatches = (table: TomlValue | undefined): void => {
    collect(table);
    if (!isTomlTable(table)) return;
    for (const [key, spec] of Object.entries(table)) if (isTomlTable(spec) && typeof spec.path === 'string') patching.add(typeof spec.package === 'string' ? spec.package : key);
  };
  if (isTomlTable(doc.patch)) for (const registry of Object.values(doc.patch)) collectPatches(registry);
  collect(replacementsByName(doc));

  const classify = (name: string): PackageSource => {
    const written = declared.get(name);
    if (written === undefined) return workspaceSource();
    const path = normalizePath(written);
    memberPaths ??= memberGlobs.map(normalizePath);
    members ??= memberPaths.map(memberGlobMatcher);
    // As cargo's is_excluded: `exclude` takes out what a member glob names, not a member written
    // as that path (or a directory above it, the root's `.` too). cargo 1.95 lists no member
    // crates/hex for `members = ["crates/*"]`, `exclude = ["crates/hex"]`, and builds it as the
    // [patch] copy; it lists crates/hex for `members = [".", "crates/*"]`, and for
    // `members = ["crates"]` when the root's path dependency names it.
    const explicit = (): boolean => (memberPaths as string[]).some((member) => member === '' || path === member || path.startsWith(`${member}/`));
    const isExcluded = excluded.some((dir) => path === dir || path.startsWith(`${dir}/`)) && !explicit();
    if (members.some((matches) => matches(path)) && !isExcluded) return workspaceSource();
    const pathPackage: PackageSource = { kind: 'path', url: written, isDefaultRegistry: false, ...(patching.has(name) ? { patchesCrate: true as const } : {}) };
    // A package without a [workspace] table is a workspace of itself alone: cargo makes none of
    // its path dependencies members (`cargo metadata` lists only the package), so a [patch] path
    // copy that is also a path dependency is no member. Its other path dependencies are still
    // taken for members (roots), as before.
    if (!dependencies.has(name) || (!hasWorkspace && patching.has(name))) return pathPackage;
    const outside = path === '..' || path.startsWith('../') || path.startsWith('/') || WINDOWS_DRIVE.test(path);
    return outside || isExcluded ? pathPackage : workspaceSource();
  };
  return { classify };
}

/**
 * Each workspace member's `package.license` as its manifest writes it (`license.workspace = true`:
 * the root's `[workspace.package] license`), on the root package of that name. A member whose
 * manifest cannot be read, or names only a `license-file`, states none here.
 */
function declareMemberLicenses(packages: Package[], roots: readonly string[], root: TomlTable, members: readonly MemberManifest[]): void {
  const inherited = isTomlTable(root.workspace) && isTomlTable(root.workspace.package) ? root.workspace.package.license : undefined;
  const byName = new Map<string, string>();
  const add = (doc: TomlTable): void => {
    if (!isTomlTable(doc.package) || typeof doc.package.name !== 'string') return;
    const license = doc.package.license;
    const stated = typeof license === 'string' ? license : isTomlTable(license) && license.workspace === true && typeof inherited === 'string' ? inherited : null;
    if (stated !== null && stated.trim() !== '' && !byName.has(doc.package.name)) byName.set(doc.package.name, stated);
  };
  add(root);
  // One not read adds nothing: its warning comes from the edge kinds.
  for (const member of members) if (member.plain !== null) add(member.plain);
  if (byName.size === 0) return;
  const isRoot = new Set(roots);
  for (const pkg of packages) {
    const license = isRoot.has(pkg.id) ? byName.get(pkg.name) : undefined;
    if (license !== undefined) pkg.license = license;
  }
}

/**
 * The names of the path packages the manifests know: the root's and each member's own package,
 * and every dependency (any table, `[workspace.dependencies]`, `[patch.*]`) given a `path`.
 * Cargo keeps a source-less lockfile entry only for such a package. A member manifest stowage
 * cannot read adds nothing (its warning comes from the edge kinds).
 */
function localPackageNames(root: TomlTable, members: readonly MemberManifest[]): Set<string> {
  const names = new Set<string>();
  const collect = (table: TomlValue | undefined): void => {
    if (!isTomlTable(table)) return;
    for (const [key, spec] of Object.entries(table)) {
      if (isTomlTable(spec) && typeof spec.path === 'string') names.add(typeof spec.package === 'string' ? spec.package : key);
    }
  };
  const add = (doc: TomlTable): void => {
    if (isTomlTable(doc.package) && typeof doc.package.name === 'string') names.add(doc.package.name);
    for (const { table } of dependencyTables(doc)) collect(table);
    if (isTomlTable(doc.workspace)) collect(doc.workspace.dependencies);
    if (isTomlTable(doc.patch)) for (const registry of Object.values(doc.patch)) collect(registry);
  };
  add(root);
  // Cargo's path packages include the root manifest's `[replace]` paths (`build_path_deps`).
  collect(replacementsByName(root));
  // One not read is left out: see above.
  for (const member of members) if (member.plain !== null) add(member.plain);
  return names;
}

/** A member's manifest: the version it states (null when it states none here), and dependency crate name -> the kind it declares. */
interface MemberKinds {
  version: string | null;
  kinds: Map<string, EdgeKind>;
}

/**
 * member crate name -> its MemberKinds, from the root manifest (when it is a package) and the
 * members' manifests. Renames (`package = "..."`) and `workspace = true` entries resolve to the
 * crate's real name, as Cargo.lock names it.
 */
function memberDependencyKinds(
  root: TomlTable,
  members: readonly MemberManifest[],
  warnings: string[],
): Map<string, MemberKinds> {
  const workspace = isTomlTable(root.workspace) ? root.workspace : {};
  const inherited = isTomlTable(workspace.dependencies) ? workspace.dependencies : {};
  const workspaceVersion = isTomlTable(workspace.package) ? workspace.package.version : undefined;
  const out = new Map<string, MemberKinds>();
  /** Crate names two manifests claim: neither is trusted, their edges stay normal. */
  const ambiguous = new Set<string>();
  const add = (doc: TomlTable, path: string): void => {
    const pkg = doc.package;
    if (!isTomlTable(pkg) || typeof pkg.name !== 'string') return;
    if (ambiguous.has(pkg.name)) return;
    if (out.has(pkg.name)) {
      out.delete(pkg.name);
      ambiguous.add(pkg.name);
      warnings.push(`${path}: a second manifest for package ${pkg.name}; the dependencies of ${pkg.name} are taken as normal ones`);
      return;
    }
    const kinds = new Map<string, DeclaredKind>();
    for (const { table, kind } of dependencyTables(doc)) {
      for (const key of Object.keys(table)) {
        const spec = declaredSpec(key, table[key], inherited);
        const name = isTomlTable(spec) && typeof spec.package === 'string' ? spec.package : key;
        const known = kinds.get(name);
        if (known === undefined || KIND_STRENGTH[kind] > KIND_STRENGTH[known]) kinds.set(name, kind);
      }
    }
    const version = isTomlTable(pkg.version) && pkg.version.workspace === true ? workspaceVersion : pkg.version;
    out.set(pkg.name, { version: typeof version === 'string' ? version : null, kinds });
  };
  add(root, 'Cargo.toml');
  for (const member of members) {
    // A member's manifest only refines edge kinds: one stowage cannot read leaves that
    // member's edges normal (the safe side) and is named in a warning, not a failed audit.
    if (member.error !== null) warnings.push(`${member.error.line}; its dependencies are taken as normal ones`);
    else add(member.doc as TomlTable, member.path);
  }
  return out;
}

/**
 * What the manifests declare that the lockfile does not lock as declared, one warning per
 * manifest. Cargo.lock holds every dependency of every member (optional ones, every target's,
 * dev and build ones), so a registry or git dependency a member's entry does not list, a
 * crates.io dependency locked only from another source, or one locked outside its version
 * requirement is a lockfile older than its manifest. `cargo build --locked` refuses it; a plain
 * `cargo build` resolves that dependency anew and rewrites the lockfile, building a crate this
 * audit did not see (a Cargo.lock whose `hex` says `source = "registry+https://example.org/index"`
 * hides crates.io's `hex` from it). So is a path package (a member, a path dependency, a
 * `[patch]` copy) locked at a version no manifest states: a plain `cargo build` builds the
 * version its manifest states, and a `[patch]` copy is matched by the locked one. Path
 * dependencies are the workspace's own, not checked against advisories here.
 * A `[patch]` or `[replace]` of the crate in the root manifest moves it legitimately; one in a
 * `.cargo/config.toml` stowage does not read, so these are warnings, as for yarn v1.
 */
function unlockedDeclarations(
  lockPath: string,
  root: { path: string; doc: TomlTable },
  members: readonly MemberManifest[],
  pathPackages: readonly MemberManifest[],
  entries: readonly LockEntry[],
  ids: readonly string[],
  edges: readonly Edge[],
): string[] {
  const workspace = isTomlTable(root.doc.workspace) ? root.doc.workspace : {};
  const inherited = isTomlTable(workspace.dependencies) ? workspace.dependencies : {};
  // Crates a [patch] or [replace] of the root manifest may move to another source or version.
  const moved = new Set<string>();
  if (isTomlTable(root.doc.patch)) {
    for (const table of Object.values(root.doc.patch)) if (isTomlTable(table)) for (const [key, spec] of Object.entries(table)) moved.add(crateKey(isTomlTable(spec) && typeof spec.package === 'string' ? spec.package : key));
  }
  if (isTomlTable(root.doc.replace)) for (const key of Object.keys(root.doc.replace)) moved.add(crateKey(replacedPackage(key).name));
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  const dependenciesOf = new Map<number, number[]>();
  for (const edge of edges) {
    const from = indexOf.get(edge.from) as number;
    const list = dependenciesOf.get(from);
    if (list) list.push(indexOf.get(edge.to) as number);
    else dependenciesOf.set(from, [indexOf.get(edge.to) as number]);
  }

  const warnings: string[] = [];
  const workspaceVersion = isTomlTable(workspace.package) ? workspace.package.version : undefined;
  /** The version a manifest gives its package (`version.workspace = true`: the root's), when it is one Cargo reads; else null. */
  const statedVersion = (pkg: TomlTable): string | null => {
    const version = isTomlTable(pkg.version) && pkg.version.workspace === true ? workspaceVersion : pkg.version;
    if (typeof version !== 'string') return null;
    try {
      checkCargoVersion(version);
      return version;
    } catch {
      return null; // Cargo refuses the manifest itself.
    }
  };
  /** Path package name -> every version a manifest read here states for it. */
  const statedVersions = new Map<string, Set<string>>();
  for (const doc of [root.doc, ...members.map((m) => m.plain), ...pathPackages.map((p) => p.plain)]) {
    const pkg = doc?.package;
    if (!isTomlTable(pkg) || typeof pkg.name !== 'string') continue;
    const version = statedVersion(pkg);
    if (version === null) continue;
    const set = statedVersions.get(pkg.name);
    if (set) set.add(version);
    else statedVersions.set(pkg.name, new Set([version]));
  }
  /** A path package outside the members: Cargo resolves its dev-dependencies only for members, and it may be an unused [patch]. */
  const check = (path: string, doc: TomlTable, member = true): void => {
    const pkg = doc.package;
    if (!isTomlTable(pkg) || typeof pkg.name !== 'string') return;
    // The entry of its version when the manifest states one: a path package may share a member's name.
    const stated = statedVersion(pkg);
    let own = stated === null ? -1 : entries.findIndex((e) => e.source === null && e.name === pkg.name && e.version === stated);
    if (own === -1) {
      own = entries.findIndex((e) => e.source === null && e.name === pkg.name);
      // Locked at a version no manifest states: this package at an older one. cargo 1.95 builds a
      // [patch] copy of hex now saying 0.4.3 from a Cargo.lock that says 0.4.2 (--locked refuses),
      // and the audit matched 0.4.2 against hex's advisories.
      const known = statedVersions.get(pkg.name);
      const lockedAt = entries.filter((e) => e.source === null && e.name === pkg.name).map((e) => e.version);
      if (stated !== null && lockedAt.length > 0 && lockedAt.every((v) => known?.has(v) !== true)) {
        warnings.push(
          `${path}: package ${pkg.name} is ${stated}, which ${lockPath} locks at ${shortList(lockedAt)}: the lockfile is older than its manifest; cargo build without --locked builds ${pkg.name} ${stated} and resolves it anew (--locked refuses), and the audit covers only what the lockfile locks`,
        );
      }
    }
    if (own === -1) {
      if (!member) return;
      warnings.push(`${path}: package ${pkg.name} is not in ${lockPath}: the lockfile is older than its manifest; cargo build without --locked resolves its dependencies anew, and the audit covers only what the lockfile locks`);
      return;
    }
    const locked = (dependenciesOf.get(own) ?? []).map((i) => entries[i] as LockEntry);
    const problems = new Set<string>();
    const declared = (key: string, written: TomlValue | undefined): void => {
      const spec = declaredSpec(key, written, inherited);
      const table = isTomlTable(spec) ? spec : null;
      if (table !== null && typeof table.path === 'string') return;
      const name = table !== null && typeof table.package === 'string' ? table.package : key;
      if (name === pkg.name) return;
      const found = locked.filter((e) => crateKey(e.name) === crateKey(name));
      if (found.length === 0) {
        problems.add(`${name} (not locked)`);
        return;
      }
      if (moved.has(crateKey(name))) return;
      if (table !== null && typeof table.git === 'string') {
        // Locked from another repository or reference (crates.io's release, say): cargo build
        // fetches the declared one and resolves its dependencies anew.
        const identity = declaredGitIdentity({ ...table, git: table.git });
        if (identity !== null && !found.some((e) => e.sourceKey !== null && looseGitIdentity(e.sourceKey) === identity)) {
          problems.add(`${name} (from git ${[table.git, ...['branch', 'tag', 'rev'].filter((k) => typeof table[k] === 'string').map((k) => `${k} ${String(table[k])}`)].join(' ')}, locked from ${found.map((e) => e.source ?? 'a path').join(', ')})`);
        }
        return;
      }
      if (table !== null && !declaresCratesIo(table)) {
        // Another registry's crate locked only from crates.io, a path or git: cargo build fetches
        // it from that registry and rewrites the lockfile (cargo 1.95; --locked refuses).
        const registry = typeof table.registry === 'string' ? table.registry : typeof table['registry-index'] === 'string' ? table['registry-index'] : null;
        const fromRegistry = (e: LockEntry): boolean => e.source !== null && /^(registry|sparse)\+/.test(e.source) && !parseCargoSourceId(e.source).isCratesIo;
        if (registry !== null && !found.some(fromRegistry)) problems.add(`${name} (from registry ${registry}, locked from ${found.map((e) => e.source ?? 'a path').join(', ')})`);
        return;
      }
      const cratesIo = found.filter((e) => e.source !== null && parseCargoSource(e.source).isDefaultRegistry);
      if (cratesIo.length === 0) {
        problems.add(`${name} (from crates.io, locked from ${found.map((e) => e.source ?? 'a path').join(', ')})`);
        return;
      }
      const requirement = typeof spec === 'string' ? spec : table?.version;
      if (typeof requirement !== 'string') return;
      try {
        if (!cratesIo.some((e) => cargoRequirementMatches(requirement, e.version))) {
          problems.add(`${name} ${cratesIo.map((e) => e.version).join(', ')} (outside the requirement ${JSON.stringify(requirement)})`);
        }
      } catch {
        // A requirement Cargo cannot read fails the build itself; nothing to compare.
      }
    };
    for (const { table, kind } of dependencyTables(doc)) if (member || kind !== 'dev') for (const [key, spec] of Object.entries(table)) declared(key, spec);
    if (problems.size === 0) return;
    const shown = shortList([...problems]);
    warnings.push(
      `${path}: ${pkg.name} declares ${shown}, which ${lockPath} does not lock as declared: the lockfile is older than the manifest; cargo build without --locked resolves them anew (--locked refuses), and the audit covers only what the lockfile locks`,
    );
  };
  check(root.path, root.doc);
  for (const member of members) if (member.plain !== null) check(member.path, member.plain);
  for (const pathPackage of pathPackages) if (pathPackage.plain !== null) check(pathPackage.path, pathPackage.plain, false);
  return [...new Set(warnings)];
}

/**
 * The crate names of `[[patch.unused]]`: the root manifest's patches that Cargo resolved and
 * found no use for. Cargo refuses the lockfile when the table is not of this shape.
 */
function readUnusedPatches(input: LockfileInput, doc: TomlTable): Set<string> {
  const names = new Set<string>();
  const patch = doc.patch;
  if (patch === undefined) return names;
  const bad = (what: string): never => {
    throw new InputError(input.path, what, keyPosition(input.text, 'patch'));
  };
  if (!isTomlTable(patch)) bad(`\`patch\` must be a table, found ${describe(patch)}`);
  const unused = (patch as TomlTable).unused;
  if (unused === undefined) return names;
  if (!Array.isArray(unused)) bad(`\`patch.unused\` must be an array of tables ([[patch.unused]]), found ${describe(unused)}`);
  for (const [i, item] of (unused as TomlValue[]).entries()) {
    if (!isTomlTable(item) || typeof item.name !== 'string' || typeof item.version !== 'string') {
      bad(`[[patch.unused]] entry ${i + 1} must have a \`name\` and a \`version\` string`);
    }
    names.add(crateKey((item as TomlTable).name as string));
  }
  return names;
}

/** One `[patch.REGISTRY] NAME` and the file that declares it (the root manifest or a Cargo configuration). */
interface PatchDeclaration {
  file: string;
  registry: string;
  key: string;
  spec: TomlValue;
}

/** The root manifest's `[patch]` crates the configuration does not patch, then the configuration's. */
function patchDeclarations(root: { path: string; doc: TomlTable } | null, configured: CargoBuildOverrides['patches']): PatchDeclaration[] {
  const declarations: PatchDeclaration[] = [];
  const overridden = new Set(configured.map((p) => `${p.registry}\0${p.name}`));
  if (root !== null && isTomlTable(root.doc.patch)) {
    for (const [registry, table] of Object.entries(root.doc.patch)) {
      if (!isTomlTable(table)) continue;
      for (const [key, spec] of Object.entries(table)) if (!overridden.has(`${registry}\0${key}`)) declarations.push({ file: root.path, registry, key, spec });
    }
  }
  for (const p of configured) declarations.push({ file: p.file, registry: p.registry, key: p.name, spec: p.spec });
  return declarations;
}

/**
 * The root manifest with the configuration's `[patch]` crates in its `[patch]` (replacing its own
 * of the same registry and name). A configuration's `path` is relative to the directory above
 * the file's `.cargo` (cargo's `Definition::root`), not to the manifest: it is rewritten relative
 * to the manifest's directory, where the manifest's own paths are read. cargo 1.95 builds
 * `hex = { path = "crates/hex" }` of a parent directory's `.cargo/config.toml` from that
 * directory's `crates/hex`, outside a workspace whose `members = ["crates/*"]`: read from the
 * workspace root, it was taken for a member, the project's own, and not matched.
 */
function withConfigPatches(manifest: TomlTable, manifestPath: string, configured: CargoBuildOverrides['patches']): TomlTable {
  const patch: TomlTable = {};
  if (isTomlTable(manifest.patch)) for (const [registry, table] of Object.entries(manifest.patch)) patch[registry] = isTomlTable(table) ? { ...table } : table;
  const rootDir = dirname(resolve(manifestPath));
  for (const p of configured) {
    const table = patch[p.registry];
    const spec = typeof p.spec.path === 'string' ? { ...p.spec, path: relative(rootDir, resolve(dirname(dirname(resolve(p.file))), p.spec.path)).split(sep).join('/') || '.' } : p.spec;
    patch[p.registry] = { ...(isTomlTable(table) ? table : {}), [p.name]: spec };
  }
  return { ...manifest, patch };
}

/**
 * `paths = [...]` in the Cargo configuration: Cargo loads every package under each directory and
 * builds it in place of the locked crate of its name (from any registry or git), resolving that
 * package's own dependencies anew without writing them to Cargo.lock, even under `--locked`
 * (cargo 1.95 builds a `paths` fork of `hex` that depends on `itoa` with a lockfile that locks no
 * `itoa`). What is built is not what the lockfile says: a partial inventory.
 */
function pathOverrideInventory(paths: CargoBuildOverrides['paths']): Pick<DependencyGraph, 'partial' | 'partialReason'> {
  if (paths.length === 0) return {};
  const files = [...new Set(paths.map((p) => p.file))];
  return {
    partial: true,
    partialReason:
      `${shortList(files)} ${files.length === 1 ? 'sets' : 'set'} \`paths\` (${shortList(paths.map((p) => JSON.stringify(p.path)))}): cargo builds the packages there in place of the locked crates of the same names, ` +
      'with dependencies Cargo.lock does not record (use [patch], which the lockfile records)',
  };
}

/**
 * The `[patch]` path and git crates (the root manifest's, and a Cargo configuration's) the
 * lockfile holds neither as a package from that kind of source (a git one from that repository
 * and reference) nor under `[[patch.unused]]`
 * (Cargo records every patch one way or the other), and the root manifest's `[replace]` entries
 * whose package the lockfile locks without naming the replacement (`replace = "..."`; an unused
 * `[replace]` leaves no trace): the lockfile predates them. `cargo build --locked` refuses it; a
 * plain `cargo build` applies them and builds the replacement's dependencies, which this lockfile
 * does not list (a crates.io `hex` patched or replaced with a path fork that depends on `fnv`,
 * cargo 1.95; the same patch in `.cargo/config.toml`).
 */
function unlockedPatches(lockPath: string, patches: readonly PatchDeclaration[], root: { path: string; doc: TomlTable } | null, entries: readonly LockEntry[], unused: ReadonlySet<string>): string[] {
  const missing = new Map<string, string[]>();
  const note = (file: string, what: string): void => {
    const list = missing.get(file);
    if (list) list.push(what);
    else missing.set(file, [what]);
  };
  for (const { file, registry, key, spec } of patches) {
    if (!isTomlTable(spec)) continue;
    const kind = typeof spec.path === 'string' ? 'path' : typeof spec.git === 'string' ? 'git' : null;
    if (kind === null) continue;
    const name = typeof spec.package === 'string' ? spec.package : key;
    if (unused.has(crateKey(name))) continue;
    // A git patch is applied when the crate is locked from that repository and reference: one
    // from another (the patch moved to another fork or rev) is the patch as it was, and cargo
    // 1.95 builds the one the manifest names now (--locked refuses).
    const identity = kind === 'git' ? declaredGitIdentity({ ...spec, git: spec.git as string }) : null;
    const fromPatch = (e: LockEntry): boolean =>
      kind === 'path' ? e.source === null : e.source?.startsWith('git+') === true && (identity === null || (e.sourceKey !== null && looseGitIdentity(e.sourceKey) === identity));
    const locked = entries.some((e) => crateKey(e.name) === crateKey(name) && fromPatch(e));
    if (!locked) note(file, `[patch.${registry}] ${name} (${kind} ${JSON.stringify(kind === 'path' ? spec.path : spec.git)})`);
  }
  for (const key of Object.keys(root !== null && isTomlTable(root.doc.replace) ? root.doc.replace : {})) {
    const { name, version } = replacedPackage(key);
    const same = entries.filter((e) => e.name === name && e.source !== null && (version === null || e.version === version));
    if (same.length > 0 && !same.some((e) => e.replace !== null)) note(root?.path ?? '', `[replace] ${JSON.stringify(key)} (${name} ${same[0]?.version ?? ''} locked without it)`);
  }
  return [...missing].map(
    ([file, list]) =>
      `${file}: declares ${shortList(list)}, which ${lockPath} does not record as applied or unused: the lockfile is older than ${file === root?.path ? 'the manifest' : 'this Cargo configuration'}; cargo build without --locked applies them and resolves their dependencies anew (--locked refuses), and the audit covers only what the lockfile locks`,
  );
}

/**
 * Whether a dependency table without `git` or `path` takes the crate from crates.io, as Cargo
 * reads it: no registry named, `registry = "crates-io"` (Cargo's own name for crates.io), or a
 * `registry-index` that fetches crates.io's index.
 */
function declaresCratesIo(table: TomlTable): boolean {
  const registry = table.registry;
  const index = table['registry-index'];
  if (registry !== undefined) return registry === 'crates-io' && index === undefined;
  if (index !== undefined) return typeof index === 'string' && isCratesIoRegistryIndex(index);
  return true;
}

/** `./a/b/`, `a\b`, `a/./b` -> `a/b`; `a/../../c` -> `../c`. Relative to the workspace root. */
function normalizePath(path: string): string {
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const segment of path.replace(/\\/g, '/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else out.push(segment);
  }
  const joined = out.join('/');
  return absolute ? `/${joined}` : joined;
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/** The root manifest's `[replace]` table keyed by the name of the package each entry replaces. */
function replacementsByName(doc: TomlTable): TomlTable {
  const byName: TomlTable = {};
  if (isTomlTable(doc.replace)) for (const [key, spec] of Object.entries(doc.replace)) byName[replacedPackage(key).name] = spec;
  return byName;
}

/**
 * The package a `[replace]` key names, a package id spec as Cargo parses it (`PackageIdSpec`):
 * `name`, `name:version`, `name@version`, or a URL with `#name`, `#name:version`, `#name@version`
 * or `#version` (then the name is the URL's last path segment).
 */
function replacedPackage(key: string): { name: string; version: string | null } {
  const hash = key.indexOf('#');
  const isUrl = key.includes('://');
  let spec = key;
  if (isUrl) {
    if (hash === -1) return { name: lastPathSegment(key), version: null };
    spec = key.slice(hash + 1);
    if (!/[:@]/.test(spec) && !/^[\p{L}_]/u.test(spec)) return { name: lastPathSegment(key.slice(0, hash)), version: spec };
  }
  const at = spec.search(/[:@]/);
  return at === -1 ? { name: spec, version: null } : { name: spec.slice(0, at), version: spec.slice(at + 1) };
}

function lastPathSegment(url: string): string {
  const path = url.replace(/[?#].*$/, '').replace(/\/+$/, '');
  return path.slice(path.lastIndexOf('/') + 1);
}

function describe(value: TomlValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'bigint') return 'an integer';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a float' : `a float (${value})`;
  if (typeof value === 'boolean') return 'a boolean';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof TomlDate) return 'a date';
  return 'a table';
}

/** Like describe, but quotes short strings so the user sees the bad value. */
function describeValue(value: TomlValue | undefined): string {
  if (typeof value === 'string') return value.length <= 80 ? JSON.stringify(value) : 'a string';
  return describe(value);
}

/**
 * Line of the `ordinal`-th table header (`[[package]]`, `[root]`), or of `needle` after it;
 * computed only for errors.
 */
function headerPosition(text: string, header: string, ordinal: number, needle?: string): { line: number } | undefined {
  let seen = 0;
  let line = 0;
  let start = 0;
  while (start <= text.length) {
    line++;
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (text.slice(start, end).replace(/\s+/g, '') === header) {
      if (seen === ordinal) {
        const at = needle === undefined ? -1 : text.indexOf(needle, end);
        return at === -1 ? { line } : { line: line + countNewlines(text, end, at) };
      }
      seen++;
    }
    start = end + 1;
  }
  return undefined;
}

/**
 * Where each table header the pattern finds starts, in file order: the n-th `[[package]]`
 * header is the n-th entry smol-toml returns.
 */
function tableHeaderLocations(text: string, header: RegExp): SourceLocation[] {
  const found: SourceLocation[] = [];
  let line = 1;
  let counted = 0;
  for (const match of text.matchAll(header)) {
    line += countNewlines(text, counted, match.index);
    counted = match.index;
    const indent = /^[ \t]*/.exec(match[0])?.[0].length ?? 0;
    found.push({ line, column: indent + 1 });
  }
  return found;
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** Line of a top-level `key = ...`, `[key]` or `[[key]]`; computed only for errors. */
function keyPosition(text: string, key: string): { line: number } | undefined {
  let line = 0;
  let start = 0;
  let topLevel = true;
  while (start <= text.length) {
    line++;
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const content = text.slice(start, end).trim();
    if (content === `[${key}]` || content === `[[${key}]]`) return { line };
    if (content.startsWith('[')) topLevel = false;
    else if (topLevel && content.startsWith(key) && content.slice(key.length).trimStart().startsWith('=')) return { line };
    start = end + 1;
  }
  return undefined;
}
