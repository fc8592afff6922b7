import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import type { TomlTable } from 'smol-toml';
import { InputError, StowageError } from '../../core/errors.js';
import { readTextInputFile } from '../../core/input-files.js';
import { isTomlTable } from '../../core/toml-values.js';
import { cargoHome } from './workspace-root.js';
import { CargoSourceError, CRATES_IO_SPARSE_INDEX, parseCargoSourceId, type CargoSourceId } from './source.js';


/** A `[source.NAME]` table of `.cargo/config.toml`. */
export interface CargoSourceConfig {
  name: string;
  replaceWith?: string;
  registry?: string;
  localRegistry?: string;
  directory?: string;
  git?: string;
}

/**
 * The parts of a project's Cargo configuration that decide where crates are fetched from:
 * source replacement (`[source.*]`) and alternative registries (`[registries.*]`).
 */
export interface CargoConfig {
  /** The file read, or null when the project has none. */
  path: string | null;
  sources: Map<string, CargoSourceConfig>;
  /** `[registries.NAME] index = URL`. */
  registries: Map<string, string>;
  /** The whole file as parsed (empty without one): a vendored config keeps its other settings. */
  settings: TomlTable;
  /** `paths = [...]`: directories whose crates Cargo builds in place of locked crates of the same names. */
  pathOverrides: CargoPathOverride[];
  /** `[patch.REGISTRY] NAME = {...}`, applied as the root manifest's `[patch]` is (the configuration's winning). */
  patches: CargoConfigPatch[];
}

/** One entry of `paths = [...]`, with the file that sets it. */
export interface CargoPathOverride {
  file: string;
  /** As written: relative to the directory holding the file's `.cargo` directory (CARGO_HOME's parent for its own). */
  path: string;
}

/** One `[patch.REGISTRY] NAME = {...}` of a configuration file. */
export interface CargoConfigPatch {
  file: string;
  registry: string;
  name: string;
  spec: TomlTable;
}

/** Where the crates of one lockfile source are fetched from. */
export interface RegistryLocation {
  /** The sparse index base URL, ending in `/`, without `sparse+`. */
  indexUrl: string;
  /** How the user knows this source: `crates-io`, a `[source]` / `[registries]` name, or the URL. */
  name: string;
}

const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

function optionalString(file: string, where: string, table: TomlTable, key: string): string | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InputError(file, `${where}.${key} must be a string`);
  return value;
}

/** The configuration file Cargo reads in `dir/.cargo`: the legacy `config` when both exist. */
export function configFileIn(dir: string): string | null {
  return configFileAt(join(dir, '.cargo'));
}

/** The configuration file in a directory of Cargo's (`.cargo`, CARGO_HOME): the legacy `config` when both exist. */
function configFileAt(dir: string): string | null {
  const legacy = join(dir, 'config');
  const current = join(dir, 'config.toml');
  return existsSync(legacy) ? legacy : existsSync(current) ? current : null;
}

export function emptyConfig(): CargoConfig {
  return { path: null, sources: new Map(), registries: new Map(), settings: {}, pathOverrides: [], patches: [] };
}

/**
 * The project's `.cargo/config.toml`, or the legacy `.cargo/config` (which Cargo prefers when
 * both exist). Configuration from parent directories and CARGO_HOME is not read: a vendored
 * archive must not depend on the machine it was made on (see readCargoFetchConfig for where
 * crates are downloaded from).
 */
export function readCargoConfig(projectDir: string, reading: ConfigReading = {}): CargoConfig {
  const path = configFileIn(projectDir);
  if (path === null) return emptyConfig();
  const files = loadConfigFile(path, reading);
  const own = files[files.length - 1] as CargoConfig;
  if (files.length === 1) return own;
  const merged = emptyConfig();
  for (const config of files) mergeConfig(merged, config);
  // The settings a vendored configuration keeps are the file's own.
  return { ...merged, path, settings: own.settings };
}

/** Told each configuration file read, with its bytes (the fleet keeps them with a revision: they decide what is audited). */
export type ConfigRecorder = (path: string, bytes: Buffer) => void;

/** How configuration files are read: `readable` refuses a file (an include outside an upload), `record` is told each one read. */
export interface ConfigReading {
  readable?: (file: string) => boolean;
  record?: ConfigRecorder;
}

function readConfigText(path: string, record: ConfigRecorder | undefined): string {
  const { text, bytes } = readTextInputFile(path, MAX_CONFIG_BYTES);
  record?.(path, bytes);
  return text;
}

/**
 * A configuration file and the files it includes (`include = ["a.toml", { path = "b.toml",
 * optional = true }]`, relative to the including file; cargo 1.95 reads them without any
 * flag), in the order Cargo merges them: each included file (and its own includes) before the
 * file that includes it, whose keys win. A missing file that is not optional, a loop, or a file
 * `readable` refuses (outside an upload) fails, as Cargo fails on the first two.
 */
function loadConfigFile(file: string, reading: ConfigReading, including: readonly string[] = []): CargoConfig[] {
  if (including.includes(file)) throw new InputError(including[including.length - 1] ?? file, `\`include\` loops back to ${file}`);
  if (reading.readable !== undefined && !reading.readable(file)) throw new InputError(including[including.length - 1] ?? file, `includes ${file}, outside the application's directory`);
  const config = parseCargoConfig(file, readConfigText(file, reading.record));
  const loaded: CargoConfig[] = [];
  for (const { path, optional } of readIncludes(file, config.settings)) {
    const target = resolve(dirname(file), path);
    if (!existsSync(target)) {
      if (optional) continue;
      throw new InputError(file, `includes ${path}, which does not exist (${target})`);
    }
    loaded.push(...loadConfigFile(target, reading, [...including, file]));
  }
  loaded.push(config);
  return loaded;
}

/** `include`: a string, or an array of strings and `{ path, optional }` tables, as Cargo reads it. */
function readIncludes(file: string, doc: TomlTable): { path: string; optional: boolean }[] {
  const include = doc.include;
  if (include === undefined) return [];
  const entries = typeof include === 'string' ? [include] : include;
  if (!Array.isArray(entries)) throw new InputError(file, '`include` must be a list of strings or tables');
  return entries.map((entry) => {
    if (typeof entry === 'string') return { path: entry, optional: false };
    if (isTomlTable(entry) && typeof entry.path === 'string' && (entry.optional === undefined || typeof entry.optional === 'boolean')) {
      return { path: entry.path, optional: entry.optional === true };
    }
    throw new InputError(file, '`include` entries must be strings or tables with a `path` string (and an `optional` boolean)');
  });
}

/** Merges `config` into `merged` as Cargo merges a nearer file over a farther one. */
function mergeConfig(merged: CargoConfig, config: CargoConfig): void {
  for (const [name, source] of config.sources) merged.sources.set(name, { ...merged.sources.get(name), ...source });
  for (const [name, index] of config.registries) merged.registries.set(name, index);
  // Cargo joins the arrays of every file, and merges [patch] tables key by key, the nearer winning.
  merged.pathOverrides.push(...config.pathOverrides);
  for (const patch of config.patches) {
    const same = merged.patches.findIndex((p) => p.registry === patch.registry && p.name === patch.name);
    if (same === -1) merged.patches.push(patch);
    else merged.patches[same] = patch;
  }
  merged.path = config.path;
}

/**
 * Where crates are downloaded from, as Cargo finds it: `[source]` and `[registries]` from the
 * project's configuration, then each parent directory's, then `$CARGO_HOME/config.toml`
 * (`~/.cargo`), a nearer file's key winning, as Cargo merges them. A build machine's mirror
 * usually lives in CARGO_HOME; the archive does not depend on it (each download is checked
 * against the lockfile, and the archive's own configuration is the project's alone).
 */
export function readCargoFetchConfig(projectDir: string, record?: ConfigRecorder): CargoConfig {
  const files: string[] = [];
  const cargoHomeDir = cargoHome();
  for (let dir = resolve(projectDir); ; dir = dirname(dir)) {
    const file = configFileIn(dir);
    if (file !== null) files.push(file);
    if (dirname(dir) === dir) break;
  }
  const home = cargoHomeDir === null ? null : configFileAt(cargoHomeDir);
  if (home !== null && !files.includes(home)) files.push(home);
  const merged = emptyConfig();
  // The farthest first, so that each nearer file's keys replace its.
  for (const file of files.reverse()) {
    for (const config of loadConfigFile(file, { record })) mergeConfig(merged, config);
    // The file `cargo build` names for what it read: the including one, not its includes.
    merged.path = file;
  }
  return merged;
}

export function parseCargoConfig(path: string, text: string): CargoConfig {
  let doc: TomlTable;
  try {
    doc = parse(text);
  } catch (err) {
    if (err instanceof TomlError) throw new InputError(path, err.message.split('\n')[0] ?? 'invalid TOML', { line: err.line, column: err.column });
    throw err;
  }
  const sources = new Map<string, CargoSourceConfig>();
  const sourceTable = doc.source;
  if (sourceTable !== undefined) {
    if (!isTomlTable(sourceTable)) throw new InputError(path, '[source] must be a table');
    for (const [name, body] of Object.entries(sourceTable)) {
      if (!isTomlTable(body)) throw new InputError(path, `source.${name} must be a table`);
      const where = `source.${name}`;
      const source: CargoSourceConfig = { name };
      const fields = {
        replaceWith: optionalString(path, where, body, 'replace-with'),
        registry: optionalString(path, where, body, 'registry'),
        localRegistry: optionalString(path, where, body, 'local-registry'),
        directory: optionalString(path, where, body, 'directory'),
        git: optionalString(path, where, body, 'git'),
      };
      for (const [key, value] of Object.entries(fields)) if (value !== undefined) Object.assign(source, { [key]: value });
      sources.set(name, source);
    }
  }
  const registries = new Map<string, string>();
  const registriesTable = doc.registries;
  if (registriesTable !== undefined) {
    if (!isTomlTable(registriesTable)) throw new InputError(path, '[registries] must be a table');
    for (const [name, body] of Object.entries(registriesTable)) {
      if (!isTomlTable(body)) throw new InputError(path, `registries.${name} must be a table`);
      const index = optionalString(path, `registries.${name}`, body, 'index');
      if (index !== undefined) registries.set(name, index);
    }
  }
  return { path, sources, registries, settings: doc, pathOverrides: readPathOverrides(path, doc), patches: readPatches(path, doc) };
}

/** `paths`: an array of strings, as Cargo requires of it. */
function readPathOverrides(file: string, doc: TomlTable): CargoPathOverride[] {
  const paths = doc.paths;
  if (paths === undefined) return [];
  if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) throw new InputError(file, '`paths` must be an array of strings');
  return paths.map((path) => ({ file, path }));
}

/** `[patch.REGISTRY]` tables: each crate's patch a dependency (`path`, `git`, `version`, ... or a version string). */
function readPatches(file: string, doc: TomlTable): CargoConfigPatch[] {
  const patch = doc.patch;
  if (patch === undefined) return [];
  if (!isTomlTable(patch)) throw new InputError(file, '[patch] must be a table');
  const patches: CargoConfigPatch[] = [];
  for (const [registry, table] of Object.entries(patch)) {
    if (!isTomlTable(table)) throw new InputError(file, `patch.${registry} must be a table`);
    for (const [name, spec] of Object.entries(table)) {
      // A bare string is a version requirement, as in a manifest's dependency tables.
      if (typeof spec === 'string') patches.push({ file, registry, name, spec: { version: spec } });
      else if (isTomlTable(spec)) patches.push({ file, registry, name, spec });
      else throw new InputError(file, `patch.${registry}.${name} must be a version string or a table`);
    }
  }
  return patches;
}

/**
 * A registry URL as `.cargo/config.toml` spells it (`[source.*] registry`, `[registries.*] index`:
 * a bare git index URL, or `sparse+URL`) as the source id Cargo makes of it
 * (`SourceId::for_source_replacement_registry`), so that it is compared the way Cargo compares.
 */
function configRegistry(where: string, raw: string): CargoSourceId {
  try {
    return parseCargoSourceId(raw.startsWith('sparse+') ? raw : `registry+${raw}`);
  } catch (err) {
    if (err instanceof CargoSourceError) throw new StowageError(`registry URL ${JSON.stringify(raw)} ${err.message}`, where);
    throw err;
  }
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** The `[source.NAME]` whose `registry` is this source (Cargo's comparison), which `replace-with` then applies to. */
function sourceDefining(config: CargoConfig, where: string, source: CargoSourceId): CargoSourceConfig | undefined {
  return [...config.sources.values()].find((s) => s.registry !== undefined && configRegistry(where, s.registry).key === source.key);
}

/**
 * The `[source]` replacement that makes Cargo fetch the crates of a lockfile registry source
 * other than crates.io from crates.io (`[source.NAME] registry = URL` naming that source, and a
 * `replace-with` chain reaching `crates-io`), as
 * `NAME -> ... -> crates-io`; null when there is none. Cargo.lock keeps the replaced source's
 * URL, but the crates built are crates.io's (cargo 1.95 builds `hex` of a registry `foo`
 * replaced with crates-io from crates.io).
 */
export function cratesIoReplacement(config: CargoConfig, source: string): string | null {
  let original: CargoSourceId;
  try {
    original = parseCargoSourceId(source);
  } catch {
    return null;
  }
  if (original.isCratesIo || (original.kind !== 'registry' && original.kind !== 'sparse')) return null;
  const where = config.path ?? '.cargo/config.toml';
  const named = sourceDefining(config, where, original);
  if (named === undefined) return null;
  // Cargo refuses a [source] defining crates.io's index under another name: only `crates-io` is crates.io.
  const chain = [named.name];
  for (let next = named.replaceWith; next !== undefined && !chain.includes(next); next = config.sources.get(next)?.replaceWith) {
    chain.push(next);
    if (next === 'crates-io') return chain.join(' -> ');
  }
  return null;
}

/**
 * The sparse index to fetch the crates of a lockfile registry source from (`source` as
 * Cargo.lock spells it: `registry+URL` or `sparse+URL`), after the project's source
 * replacement. crates.io is read through its sparse index; any other git index must be
 * replaced by a sparse mirror, and local-registry / directory replacements are refused.
 */
export function registryLocation(config: CargoConfig, source: string): RegistryLocation {
  const where = config.path ?? '.cargo/config.toml';
  let original: CargoSourceId;
  try {
    original = parseCargoSourceId(source);
  } catch (err) {
    if (err instanceof CargoSourceError) throw new StowageError(`source ${JSON.stringify(source)} ${err.message}`);
    throw err;
  }
  let name: string;
  if (original.isCratesIo) {
    name = 'crates-io';
  } else {
    const named =
      sourceDefining(config, where, original)?.name ??
      [...config.registries.entries()].find(([, index]) => configRegistry(where, index).key === original.key)?.[0];
    name = named ?? source;
  }

  // Follow `replace-with` to the source that is actually fetched from.
  let current: CargoSourceId = original;
  let currentName = name;
  const seen = new Set<string>([name]);
  for (let replacement = config.sources.get(name)?.replaceWith; replacement !== undefined; ) {
    if (seen.has(replacement)) throw new StowageError(`source replacement of \`${name}\` loops through \`${replacement}\``, where);
    seen.add(replacement);
    const target = config.sources.get(replacement);
    if (!target) throw new StowageError(`source \`${currentName}\` is replaced with \`${replacement}\`, which [source] does not define`, where);
    if (target.localRegistry !== undefined || target.directory !== undefined) {
      const kind = target.localRegistry !== undefined ? 'local-registry' : 'directory';
      throw new StowageError(
        `source \`${name}\` is replaced with the ${kind} source \`${replacement}\`: stowage vendors from registries, not from local copies`,
        where,
      );
    }
    if (target.git !== undefined) {
      throw new StowageError(`source \`${name}\` is replaced with the git source \`${replacement}\`, which stowage does not support`, where);
    }
    if (target.registry === undefined) {
      throw new StowageError(`source \`${replacement}\` (replacing \`${name}\`) names no registry, local-registry or directory`, where);
    }
    current = configRegistry(where, target.registry);
    currentName = replacement;
    replacement = target.replaceWith;
  }

  if (current.kind === 'sparse') return { indexUrl: withSlash(current.url.slice('sparse+'.length)), name: currentName };
  // crates.io's git index, however spelled, is read through crates.io's sparse index: the same crates.
  if (current.servesCratesIo) return { indexUrl: CRATES_IO_SPARSE_INDEX, name: currentName };
  const how = name === source ? `[source.NAME] registry = "${current.url}" and replace-with = "MIRROR"` : `[source.${name}] replace-with = "MIRROR"`;
  throw new StowageError(
    `registry \`${currentName}\` (${current.url}) is a git index: stowage reads sparse indexes only; ` +
      `replace it with a sparse mirror in .cargo/config.toml (${how})`,
    config.path ?? undefined,
  );
}
