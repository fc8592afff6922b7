import { basename, dirname, posix, relative as relativePath, resolve as resolvePath, sep } from 'node:path';
import { InputError } from '../../core/errors.js';
import type { LockfileInput } from '../../core/ecosystem.js';
import { flagsFromReachability, type DependencyGraph, type Edge, type EdgeKind } from '../../core/graph.js';
import { duplicateJsonKey, lineAndColumn, parseJsonText, positionOfKey } from '../../core/json-text.js';
import type { Package, PackageSource } from '../../core/package.js';
import { isRecord, pushEdge, readManifestObject } from './lockfile-reading.js';
import { defaultNpmRegistrySource, isDefaultNpmRegistry, npmSourceFromResolved, registryNameProblem } from './registry-source.js';
import { noteStaleLockfile } from './stale-lockfile.js';

/*
 * bun.lock, bun's text lockfile (bun 1.1.39 and later; the default since bun 1.2), lockfileVersion
 * 0 to 3 (2 and 3 only check more when bun reads them). JSON with trailing commas (and comments, which bun's reader accepts).
 *
 * `workspaces` maps each workspace's directory ("" the root) to its name and dependencies.
 * `packages` maps a path in the installed node_modules tree (`a`, `a/b` for b nested under a,
 * `@s/a/@s/b`, a workspace's own `ws/b`) to what is installed there, by its resolution:
 *   npm        ["name@version", registry ("" the default), INFO, integrity]
 *   workspace  ["name@workspace:path"]
 *   folder     ["name@file:path", INFO]     symlink ["name@link:path", INFO]
 *   tarball    ["name@URL-or-path", INFO, integrity?]
 *   git        ["name@git+URL", INFO, tag, integrity?]   github ["name@github:user/repo", INFO, tag, integrity?]
 *   root       ["name@root:", { bin }]
 * INFO holds the package's dependencies by group. A dependency resolves as bun resolves it (and
 * as node finds it): the entry at `<path>/<name>`, else one directory up, up to `<name>` at the
 * top; a workspace's from `<workspace name>/<name>`, then `<name>`. bun refuses a lockfile in
 * which a required dependency resolves to nothing, or a path appears twice: so does this reader.
 * Packages: one per (name, version, source), the same package installed at several paths merged.
 * Roots: every workspace, id `workspace:<dir>` (`workspace:.` the root).
 */

type Json = Record<string, unknown>;

/** A plain record without a prototype, for keys read from untrusted JSON (`__proto__` included). */
function dictionary(entries: Json = {}): Json {
  return Object.assign(Object.create(null) as Json, entries);
}

/** bun's dependency groups, in the order it reads them (the first group naming a dependency wins). */
const GROUPS: readonly [string, EdgeKind][] = [
  ['dependencies', 'normal'],
  ['devDependencies', 'dev'],
  ['optionalDependencies', 'optional'],
  ['peerDependencies', 'peer'],
];

export function parseBunLock(input: LockfileInput): DependencyGraph {
  const { path, text } = input;
  if (text.includes('\0')) throw new InputError(path, 'not a bun.lock: the file is binary (bun.lockb is bun\'s binary lockfile, not this one)');
  const json = jsonOfJsonc(text);
  const duplicate = duplicateJsonKey(json);
  if (duplicate !== null) {
    throw new InputError(path, `key ${JSON.stringify(duplicate.key)} appears twice in one object (bun refuses the lockfile)`, lineAndColumn(text, duplicate.offset));
  }
  const doc = parseJsonText(path, json);
  if (!isRecord(doc)) throw new InputError(path, 'not a bun.lock: expected a JSON object');
  const at = (key: string): { line: number; column: number } | undefined => positionOfKey(text, key);
  const version = doc.lockfileVersion;
  if (version !== 0 && version !== 1 && version !== 2 && version !== 3) {
    throw new InputError(path, version === undefined ? 'not a bun.lock: no `lockfileVersion`' : `unsupported bun.lock lockfileVersion ${JSON.stringify(version)} (supported: 0 to 3)`, at('lockfileVersion'));
  }
  const workspaces = doc.workspaces ?? {};
  if (!isRecord(workspaces)) throw new InputError(path, '`workspaces` must be an object', at('workspaces'));
  const entries = doc.packages ?? {};
  if (!isRecord(entries)) throw new InputError(path, '`packages` must be an object', at('packages'));
  const format = `bun.lock v${version}`;
  const manifest = input.manifest ? readManifestObject(input.manifest.path, input.manifest.text) : null;

  const packages: Package[] = [];
  const byId = new Map<string, Package>();
  const roots: string[] = [];
  // Each workspace: its root id, dependencies and the name its node_modules paths start with.
  const members: { id: string; dir: string; name: string; deps: Json }[] = [];
  const workspaceIdByDir = new Map<string, string>();
  for (const [dir, value] of Object.entries(workspaces)) {
    if (!isRecord(value)) throw new InputError(path, `workspace ${JSON.stringify(dir)} must be an object`, at(dir));
    const id = `workspace:${dir === '' ? '.' : dir}`;
    const name = typeof value.name === 'string' && value.name !== '' ? value.name : dir === '' ? (stringField(manifest, 'name') ?? basename(dirname(resolvePath(path)))) : dir;
    const declared = typeof value.version === 'string' && value.version !== '' ? value.version : dir === '' ? stringField(manifest, 'version') : undefined;
    const pkg: Package = { id, ecosystem: 'npm', name, version: declared ?? '0.0.0', source: { kind: 'workspace', url: dir === '' ? '.' : dir, isDefaultRegistry: false }, checksum: null };
    packages.push(pkg);
    byId.set(id, pkg);
    roots.push(id);
    workspaceIdByDir.set(dir, id);
    members.push({ id, dir, name: dir === '' ? '' : name, deps: value });
  }
  if (!workspaceIdByDir.has('')) throw new InputError(path, 'not a bun.lock: `workspaces` has no root ("") entry', at('workspaces'));

  // Every node_modules path: the package installed there, and its dependencies.
  const atPath = new Map<string, { id: string; deps: Json | null; names: string[] }>();
  for (const [key, value] of Object.entries(entries)) {
    const fail = (what: string): never => {
      throw new InputError(path, `package ${JSON.stringify(key)}: ${what}`, at(key));
    };
    if (!Array.isArray(value) || value.length === 0 || typeof value[0] !== 'string') fail('expected an array starting with "name@resolution"');
    const row = value as unknown[];
    const { name, resolution } = splitResolution(row[0] as string) ?? fail(`${JSON.stringify(row[0])} is not "name@resolution"`);
    const info = (index: number): Json => {
      const found = row[index];
      if (!isRecord(found)) return fail(`expected an object of dependencies at index ${index}`);
      return found;
    };
    const text = (index: number): string | null => (typeof row[index] === 'string' ? (row[index] as string) : null);
    if (resolution.startsWith('workspace:')) {
      const dir = resolution.slice('workspace:'.length);
      const id = workspaceIdByDir.get(dir) ?? fail(`names workspace ${JSON.stringify(dir)}, which \`workspaces\` does not list`);
      atPath.set(key, { id, deps: null, names: [] });
      continue;
    }
    if (resolution === 'root:' || resolution.startsWith('root:')) {
      atPath.set(key, { id: workspaceIdByDir.get('') as string, deps: null, names: [] });
      continue;
    }
    let pkg: Package;
    let deps: Json;
    if (/^[0-9]/.test(resolution) && !resolution.includes('/')) {
      // npm: a version; the registry "" is the default one (or a scope's, configured in bunfig).
      const registry = text(1) ?? fail('expected the registry (a string) at index 1');
      deps = info(2);
      const integrity = text(3) ?? fail('expected the integrity (a string) at index 3');
      const source = registrySource(registry);
      const unnamed = registryNameProblem(name);
      if (unnamed !== null) fail(unnamed);
      pkg = { id: source.isDefaultRegistry ? `${name}@${resolution}` : `${name}@${resolution} (${source.url ?? registry})`, ecosystem: 'npm', name, version: resolution, source, checksum: integrity === '' ? null : integrity };
    } else if (resolution.startsWith('file:') || resolution.startsWith('link:')) {
      deps = info(1);
      const target = resolution.slice(5);
      const source: PackageSource = /\.(?:tgz|tar\.gz|tar)$/i.test(target)
        ? { kind: 'other', url: `file:${target}`, isDefaultRegistry: false }
        : { kind: 'path', url: target, isDefaultRegistry: false };
      pkg = { id: `${name}@${resolution}`, ecosystem: 'npm', name, version: resolution, source, checksum: source.kind === 'other' ? (text(2) ?? null) : null };
    } else if (resolution.startsWith('git+') || resolution.startsWith('github:') || resolution.startsWith('git:')) {
      deps = info(1);
      const tag = text(2) ?? fail('expected the git tag (a string) at index 2');
      const hash = resolution.indexOf('#');
      const source: PackageSource = { kind: 'git', url: hash < 0 ? resolution : resolution.slice(0, hash), rev: hash < 0 ? tag : resolution.slice(hash + 1), isDefaultRegistry: false };
      // bun.lock records no version for a git package: audited as unversioned (the audit says so).
      pkg = { id: `${name}@${resolution}`, ecosystem: 'npm', name, version: resolution, source, checksum: text(3) };
    } else {
      // A tarball, by URL or by a path in the project; bun records no version for it either.
      deps = info(1);
      const url = /^https?:\/\//i.test(resolution) ? resolution : `file:${resolution}`;
      pkg = { id: `${name}@${resolution}`, ecosystem: 'npm', name, version: resolution, source: { kind: 'other', url, isDefaultRegistry: false }, checksum: text(2) };
    }
    const names = packageNames(key);
    const installedAs = names[names.length - 1];
    if (installedAs !== undefined && installedAs !== name) pkg.alias = installedAs;
    const known = byId.get(pkg.id);
    if (known === undefined) {
      byId.set(pkg.id, pkg);
      packages.push(pkg);
    }
    atPath.set(key, { id: pkg.id, deps, names });
  }

  const edges: Edge[] = [];
  const seen = new Set<string>();
  // `prefixes`: the node_modules paths a dependency is looked for under, nearest first ('' the top).
  const link = (from: string, deps: Json, prefixes: readonly string[], where: () => string, key: string): void => {
    const optionalPeers = Array.isArray(deps.optionalPeers) ? new Set(deps.optionalPeers.filter((p): p is string => typeof p === 'string')) : null;
    const named = new Set<string>();
    for (const [group, kind] of GROUPS) {
      const listed = deps[group];
      if (listed === undefined) continue;
      if (!isRecord(listed)) throw new InputError(path, `${where()}: \`${group}\` must be an object`, at(key));
      for (const dep of Object.keys(listed)) {
        if (named.has(dep)) continue;
        named.add(dep);
        const optional = kind === 'optional' || (kind === 'peer' && optionalPeers?.has(dep) === true);
        let target: { id: string } | undefined;
        for (const prefix of prefixes) if ((target = atPath.get(prefix === '' ? dep : `${prefix}/${dep}`)) !== undefined) break;
        if (target === undefined) {
          if (optional) continue;
          throw new InputError(path, `${where()}: its ${kind === 'normal' ? '' : `${kind} `}dependency ${dep} resolves to no entry of \`packages\` (bun refuses the lockfile)`, at(key));
        }
        pushEdge(edges, seen, from, target.id, optional ? 'optional' : kind);
      }
    }
  };
  for (const member of members) {
    link(member.id, member.deps, member.name === '' ? [''] : [member.name, ''], () => `workspace ${member.name === '' ? 'root' : member.name}`, member.dir);
  }
  for (const [key, { id, deps, names }] of atPath) {
    if (deps === null) continue;
    const prefixes: string[] = [];
    for (let n = names.length; n >= 0; n--) prefixes.push(names.slice(0, n).join('/'));
    link(id, deps, prefixes, () => `package ${JSON.stringify(key)}`, key);
  }
  flagsFromReachability(packages, edges, roots);
  const graph: DependencyGraph = { ecosystem: 'npm', path, format, packages, edges, roots };
  // package.json changed after bun wrote the lockfile: `bun install --frozen-lockfile` refuses
  // it and a plain `bun install` resolves the difference anew, so what is locked is audited as is.
  if (input.manifest && manifest !== null) {
    const unlocked = [...unlockedSpecifiers(manifest, workspaces[''] as Json), ...changedOverrides(manifest, doc.overrides), ...changedCatalogs(manifest, doc)];
    const staleManifests = unlocked.length > 0 ? [input.manifest.path] : [];
    // Each member's package.json against its workspace entry, as bun compares them ("fixture-mkdirp
    // changed from 0.5.2 to 0.5.1 in packages/m"); a member the lockfile lacks asks for all it names.
    const lockDir = dirname(resolvePath(path));
    for (const member of input.members ?? []) {
      const dir = posix.normalize(relativePath(lockDir, dirname(resolvePath(member.path))).split(sep).join('/'));
      const asked = unlockedSpecifiers(readManifestObject(member.path, member.text), isRecord(workspaces[dir]) ? workspaces[dir] : {});
      if (asked.length === 0) continue;
      unlocked.push(...asked);
      staleManifests.push(member.path);
    }
    noteStaleLockfile(graph, staleManifests, unlocked);
  }
  return graph;
}

/** What the root package.json asks for (`name@specifier`) that the lockfile's root workspace does not record as asked. */
function unlockedSpecifiers(manifest: Json, root: Json): string[] {
  const unlocked: string[] = [];
  for (const [group] of GROUPS) {
    const asked = manifest[group];
    if (!isRecord(asked)) continue;
    const locked = isRecord(root[group]) ? root[group] : {};
    for (const [name, spec] of Object.entries(asked)) {
      if (typeof spec === 'string' && locked[name] !== spec) unlocked.push(`${name}@${spec}`);
    }
  }
  return unlocked;
}

/**
 * The root package.json's `overrides` and `resolutions` the lockfile's `overrides` do not
 * record, by top-level key: bun 1.4.5 install --frozen-lockfile refuses the lockfile ("overrides
 * in package.json changed since bun.lock was saved") and a plain install resolves anew with them
 * (fixture-args locked at 0.0.8 below fixture-mkdirp, `"overrides": {"fixture-args": "1.2.6"}`
 * added: 1.2.6 installed). Compared in the form bun writes them: a `$name` value is the root's
 * specifier of that dependency, a `name@range` key holds its value under `"."`, a resolution's
 * path (`a/b`, `a/**` + `/b`, `**` + `/b`) is nested by its names without `**`, and with any
 * `overrides` the `resolutions` are not read at all (bun 1.4.5 records only the former).
 */
function changedOverrides(manifest: Json, locked: unknown): string[] {
  // Objects without a prototype: keys come from the package.json, and `__proto__` must stay a key.
  const own = dictionary();
  for (const group of ['peerDependencies', 'optionalDependencies', 'devDependencies', 'dependencies']) if (isRecord(manifest[group])) Object.assign(own, manifest[group]);
  const valueOf = (value: string): unknown => (value.startsWith('$') && typeof own[value.slice(1)] === 'string' ? own[value.slice(1)] : value);
  const asked = dictionary();
  const useOverrides = isRecord(manifest.overrides) && Object.keys(manifest.overrides).length > 0;
  if (!useOverrides && isRecord(manifest.resolutions)) {
    for (const [key, value] of Object.entries(manifest.resolutions)) {
      if (typeof value !== 'string') continue;
      const names = packageNames(key).filter((name) => name !== '**');
      const last = names.pop();
      if (last === undefined) continue;
      let at = asked;
      for (const name of names) {
        const next = at[name];
        at = at[name] = isRecord(next) && Object.hasOwn(at, name) ? next : typeof next === 'string' ? dictionary({ '.': next }) : dictionary();
      }
      at[last] = valueOf(value);
    }
  }
  const overrides = (declared: Json): Json => {
    const out = dictionary();
    for (const [key, value] of Object.entries(declared)) {
      const keyed = key !== '.' && key.indexOf('@', 1) > 0;
      if (typeof value === 'string') out[key] = keyed ? { '.': valueOf(value) } : valueOf(value);
      else if (isRecord(value)) out[key] = overrides(value);
    }
    return out;
  };
  if (useOverrides) Object.assign(asked, overrides(manifest.overrides as Json));
  const recorded = isRecord(locked) ? locked : {};
  const changed: string[] = [];
  for (const key of new Set([...Object.keys(asked), ...Object.keys(recorded)])) {
    if (sameJson(asked[key], recorded[key])) continue;
    const value = asked[key];
    changed.push(value === undefined ? `${key} (an override, removed)` : typeof value === 'string' ? `${key}@${value} (an override)` : `${key} (an override)`);
  }
  return changed;
}

/**
 * The root package.json's catalogs (`workspaces.catalog` and `workspaces.catalogs`, or the same
 * at the top level) that bun.lock's `catalog` and `catalogs` do not record as they are, by
 * entry: bun 1.4.5 records them whole, install --frozen-lockfile refuses a lockfile whose
 * catalogs differ ("the catalog in package.json changed since bun.lock was saved") and a plain
 * install resolves the entry anew.
 */
function changedCatalogs(manifest: Json, doc: Json): string[] {
  const declared = isRecord(manifest.workspaces) ? manifest.workspaces : {};
  const catalogOf = (value: unknown): Json => (isRecord(value) ? value : {});
  const changed: string[] = [];
  const compare = (asked: Json, recorded: Json, label: string): void => {
    for (const name of new Set([...Object.keys(asked), ...Object.keys(recorded)])) {
      if (sameJson(asked[name], recorded[name])) continue;
      const spec = asked[name];
      changed.push(typeof spec === 'string' ? `${name}@${spec} (${label})` : `${name} (gone from ${label})`);
    }
  };
  compare(catalogOf(declared.catalog ?? manifest.catalog), catalogOf(doc.catalog), 'the catalog');
  const asked = catalogOf(declared.catalogs ?? manifest.catalogs);
  const recorded = catalogOf(doc.catalogs);
  for (const name of new Set([...Object.keys(asked), ...Object.keys(recorded)])) compare(catalogOf(asked[name]), catalogOf(recorded[name]), `catalog ${name}`);
  return changed;
}

/** Whether two JSON values are equal, whatever the order of their objects' keys. */
function sameJson(a: unknown, b: unknown): boolean {
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key], b[key]));
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  return a === b;
}

/** `name@resolution` (a scoped name's own `@` is not the separator); null without one. */
function splitResolution(value: string): { name: string; resolution: string } | null {
  const at = value.indexOf('@', 1);
  if (at <= 0) return null;
  return { name: value.slice(0, at), resolution: value.slice(at + 1) };
}

/** The package names a node_modules path goes through (`@s/a/b` → `@s/a`, `b`). */
function packageNames(key: string): string[] {
  const parts = key.split('/');
  const names: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (part.startsWith('@') && i + 1 < parts.length) names.push(`${part}/${parts[++i] as string}`);
    else names.push(part);
  }
  return names;
}

function registrySource(registry: string): PackageSource {
  if (registry === '') return defaultNpmRegistrySource();
  const source = npmSourceFromResolved(registry);
  if (source.kind === 'registry') return source;
  return { kind: 'registry', url: registry, isDefaultRegistry: isDefaultNpmRegistry(registry) };
}

function stringField(doc: Json | null, key: string): string | undefined {
  const value = doc?.[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * bun.lock's JSONC as JSON: comments and trailing commas outside strings become spaces, so
 * every offset (and line and column in a message) is the file's own.
 */
function jsonOfJsonc(text: string): string {
  // Ranges [from, to) to blank, in order; the text is rebuilt from the slices between them.
  const ranges: number[] = [];
  let lastComma = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \\ */) i++;
      lastComma = -1;
    } else if (c === 0x2f /* / */ && (text[i + 1] === '/' || text[i + 1] === '*')) {
      const end = text[i + 1] === '/' ? text.indexOf('\n', i) : text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : text[i + 1] === '/' ? end : end + 2;
      ranges.push(i, stop);
      i = stop - 1;
    } else if (c === 0x2c /* , */) lastComma = i;
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      if (lastComma >= 0) ranges.push(lastComma, lastComma + 1);
      lastComma = -1;
    } else if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) lastComma = -1;
  }
  if (ranges.length === 0) return text;
  // A trailing comma is found after the comments that follow it: put the ranges in order.
  const pairs: [number, number][] = [];
  for (let k = 0; k < ranges.length; k += 2) pairs.push([ranges[k] as number, ranges[k + 1] as number]);
  pairs.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [from, to] of pairs) {
    out += text.slice(at, from) + text.slice(from, to).replace(/[^\n]/g, ' ');
    at = to;
  }
  return out + text.slice(at);
}
