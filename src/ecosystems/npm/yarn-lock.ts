import { dirname, relative, sep } from 'node:path';
import { InputError } from '../../core/errors.js';
import type { LockfileInput } from '../../core/ecosystem.js';
import { flagsFromReachability, type DependencyGraph, type Edge, type EdgeKind } from '../../core/graph.js';
import type { Package, PackageSource } from '../../core/package.js';
import { blockKeyLines, isRecord, lineOfKey, parseYamlText, pushEdge, readManifestObject } from './lockfile-reading.js';
import { yarnV1SyntaxProblem } from './yarn-v1-syntax.js';
import { defaultNpmRegistrySource, npmSourceFromResolved, parseNpmSpecifier, readResolved, registryNameProblem, registryTarballIdentity } from './registry-source.js';
import { noteStaleLockfile } from './stale-lockfile.js';
import * as semver from '../../core/semver.js';
import { shortList } from '../../core/short-list.js';

/*
 * yarn.lock, both generations:
 * - v1 (`# yarn lockfile v1`): yarn's own indentation syntax. Read by the small parser below:
 *   @yarnpkg/parsers' parseSyml reads it through a PEG grammar at ~3 MB/s (100 ms for a
 *   336 KB lockfile), ten times slower than the berry path; this reader does one pass.
 * - berry (`__metadata.version` 4..10): a YAML subset, read with parseSyml (js-yaml 4,
 *   failsafe schema: every scalar is a string).
 *
 * One package per resolved entry: v1 entries with the same name, version and source are
 * merged (yarn sometimes writes the same resolution under two blocks); berry entries are
 * keyed by their `resolution` locator. Edges follow each dependency descriptor to the entry
 * whose key list holds it.
 */

const BERRY_METADATA_VERSIONS = { min: 4, max: 10 };


export function parseYarnLock(input: LockfileInput): DependencyGraph {
  const manifest = input.manifest ? readManifest(input.manifest.path, input.manifest.text) : null;
  if (input.text.includes('\0')) throw new InputError(input.path, 'not a yarn.lock: the file is binary');
  // yarn writes its header even for a project without dependencies; an empty file locks
  // nothing, and yarn (without --frozen-lockfile) installs whatever the registry has today.
  if (input.text.trim() === '') {
    throw new InputError(input.path, 'the file is empty (yarn writes at least its "# yarn lockfile v1" header, even for a project without dependencies)');
  }
  if (/^(#.*\r?\n)*#\s*yarn lockfile v1\s*\r?\n/.test(input.text)) return parseV1(input, manifest);
  // Nothing but comments: a project without dependencies (yarn 1 installs from it).
  if (!/^\s*[^\s#]/m.test(input.text)) return parseV1(input, manifest);
  return parseBerry(input, manifest);
}

// ---------------------------------------------------------------------------------------------
// Shared: manifest, names, sources, flags

interface Manifest {
  path: string;
  name: string | null;
  version: string | null;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies: Record<string, string>;
  // Overrides (`resolutions`): keys `name`, `**/name` or `parent/name`, values ranges.
  resolutions: Record<string, string>;
}

function readManifest(path: string, text: string): Manifest {
  const value = readManifestObject(path, text);
  const deps = (field: string): Record<string, string> => {
    const section = value[field];
    if (section === undefined || section === null) return {};
    if (!isRecord(section) || !Object.values(section).every((v) => typeof v === 'string')) {
      throw new InputError(path, `"${field}" must map package names to version strings`);
    }
    return section as Record<string, string>;
  };
  return {
    path,
    name: typeof value.name === 'string' ? value.name : null,
    version: typeof value.version === 'string' ? value.version : null,
    dependencies: deps('dependencies'),
    devDependencies: deps('devDependencies'),
    optionalDependencies: deps('optionalDependencies'),
    resolutions: deps('resolutions'),
  };
}

/** `@scope/name@range` / `name@range` → [name, range]; null when there is no `@` after the name. */
function splitDescriptor(descriptor: string): [string, string] | null {
  const at = descriptor.indexOf('@', 1);
  if (at <= 0) return null;
  return [descriptor.slice(0, at), descriptor.slice(at + 1)];
}

/**
 * A v1 entry key: `name@range`, or, in lockfiles of yarn before 1.0, a bare `name` (a range
 * yarn recorded as written nowhere else; yarn 1 still reads such files).
 */
function splitV1Key(key: string): [string, string] | null {
  const parts = splitDescriptor(key);
  if (parts !== null) return parts;
  return /^(@[^/@\s]+\/)?[^/@\s]+$/.test(key) ? [key, ''] : null;
}

/**
 * A v1 entry's source, as yarn 1 fetches it. A `resolved` without a scheme is a path, and yarn 1
 * reads it as a tarball on disk whatever the key's range (it writes `./x.tgz#<sha1>` for a
 * dependency on `./x.tgz`; 1.22.22 installs lodash 4.17.4 from `resolved "./lodash-4.17.4.tgz"`
 * under `lodash@^4.17.0`): a local tarball, read as a `file:` one is. Without `resolved`, a
 * `file:` key is fetched from what it names (a tarball, else a directory), a `link:` key is a
 * directory.
 */
function v1Source(range: string, resolved: string | null): PackageSource {
  if (resolved === null) {
    if (range.startsWith('file:')) return npmSourceFromResolved(range);
    if (range.startsWith('link:')) return { kind: 'path', url: range.slice('link:'.length), isDefaultRegistry: false };
    return npmSourceFromResolved(undefined);
  }
  if (!hasProtocol(resolved)) return { kind: 'other', url: `file:${resolved}`, isDefaultRegistry: false };
  return npmSourceFromResolved(resolved);
}

/** berry's git references: `https://host/x.git#commit=<sha>`, `git+ssh://...#commit=<sha>`. */
function gitSource(reference: string): PackageSource | null {
  const m = /^(git\+[^#]+|git:\/\/[^#]+|[^#]+\.git)#(?:.*?commit=)?([0-9a-f]{7,40})\b/.exec(reference);
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  return { kind: 'git', url: m[1].replace(/^git\+/, ''), rev: m[2], isDefaultRegistry: false };
}

/** Without a manifest the roots are the packages nothing depends on. */
function unreferenced(packages: Package[], edges: Edge[]): string[] {
  const targets = new Set(edges.map((e) => e.to));
  return packages.filter((p) => !targets.has(p.id)).map((p) => p.id);
}

// ---------------------------------------------------------------------------------------------
// v1

/** One `key[, key...]:` block or `key value` line of a v1 file. */
interface V1Node {
  keys: string[];
  line: number;
  value: string | V1Node[];
}

/**
 * Reads yarn's v1 syntax into nested blocks: indentation by two spaces, JSON-quoted strings.
 * A key given twice in one block is the last one given, as in yarn's parser (each key is an
 * object property, assigned in file order): an entry with two `version` or `resolved` lines is
 * installed from its last ones.
 */
function readV1(path: string, text: string): V1Node[] {
  // What yarn 1 cannot read it installs without: refused before stowage's laxer reading.
  const unread = yarnV1SyntaxProblem(text);
  if (unread !== null) {
    throw new InputError(
      path,
      `${unread.reason}: it then installs without this lockfile's entries, resolving them afresh from the registry (even with --frozen-lockfile)`,
      { line: unread.line, column: unread.column },
    );
  }
  const top: V1Node[] = [];
  const stack: { indent: number; children: V1Node[] }[] = [{ indent: 0, children: top }];
  // A `key:` line opens a block whose indentation its first child sets.
  let open: { parentIndent: number; children: V1Node[] } | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').replace(/\r$/, '');
    const body = raw.trimStart();
    if (body === '' || body.startsWith('#')) continue;
    const lineNo = i + 1;
    const indent = raw.length - body.length;
    const fail = (message: string, column = indent + 1): never => {
      throw new InputError(path, message, { line: lineNo, column });
    };
    if (raw.slice(0, indent).includes('\t')) fail('tabs are not allowed in indentation', 1);
    if (open && indent > open.parentIndent) stack.push({ indent, children: open.children });
    open = null;
    while (stack.length > 1 && indent < (stack[stack.length - 1] as { indent: number }).indent) stack.pop();
    const frame = stack[stack.length - 1] as { indent: number; children: V1Node[] };
    if (indent !== frame.indent) fail('unexpected indentation');
    const target = frame.children;

    // Keys: JSON strings or bare words, separated by `, `.
    const keys: string[] = [];
    let pos = indent;
    for (;;) {
      if (raw[pos] === '"') {
        const end = closingQuote(raw, pos);
        if (end < 0) fail('unterminated string', pos + 1);
        keys.push(jsonString(raw.slice(pos, end + 1), () => fail('bad string escape', pos + 1)));
        pos = end + 1;
      } else {
        const m = /^[^\s,:"]+/.exec(raw.slice(pos));
        if (!m) fail('expected a key', pos + 1);
        keys.push((m as RegExpExecArray)[0]);
        pos += (m as RegExpExecArray)[0].length;
      }
      if (raw.startsWith(', ', pos)) {
        pos += 2;
        continue;
      }
      break;
    }
    const rest = raw.slice(pos);
    if (rest === ':' || /^:\s*$/.test(rest)) {
      const children: V1Node[] = [];
      assign(target, { keys, line: lineNo, value: children });
      open = { parentIndent: indent, children };
      continue;
    }
    if (keys.length !== 1 || !rest.startsWith(' ')) fail('expected `key value` or `key:`', pos + 1);
    const valueText = rest.trim();
    let value = valueText;
    if (valueText.startsWith('"')) {
      if (closingQuote(valueText, 0) !== valueText.length - 1) fail('unterminated string', pos + 2);
      value = jsonString(valueText, () => fail('bad string escape', pos + 2));
    }
    assign(target, { keys, line: lineNo, value });
  }
  return top;
}

/** Each block's nodes by key, for `assign`. */
const nodesByKey = new WeakMap<V1Node[], Map<string, V1Node>>();

/** Adds `node` to `block` as yarn assigns its keys: a key an earlier node has is taken from it (and a node left without keys, dropped). */
function assign(block: V1Node[], node: V1Node): void {
  let byKey = nodesByKey.get(block);
  if (byKey === undefined) nodesByKey.set(block, (byKey = new Map()));
  for (const key of node.keys) {
    const earlier = byKey.get(key);
    byKey.set(key, node);
    if (earlier === undefined || earlier === node) continue;
    earlier.keys = earlier.keys.filter((k) => k !== key);
    if (earlier.keys.length === 0) block.splice(block.indexOf(earlier), 1);
  }
  block.push(node);
}

function closingQuote(s: string, open: number): number {
  for (let i = open + 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

function jsonString(quoted: string, onError: () => never): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return onError();
  }
}

/** One v1 entry as yarn fetches it: what the vendoring of a yarn.lock needs. */
export interface YarnV1Resolution {
  /** The entry's descriptors (`name@range`), as written. */
  keys: string[];
  line: number;
  /** The package's name (an alias's target) and version. */
  name: string;
  version: string;
  resolved: string | null;
  integrity: string | null;
}

/** A v1 entry read and checked: the resolution, the name its key gives, and its fields. */
interface V1Entry extends YarnV1Resolution {
  /** The name in the first key (an alias's own name) and that key's range. */
  keyName: string;
  range: string;
  /** Whether the key is `alias@npm:real@range`. */
  aliased: boolean;
  fields: V1Node[];
}

function readV1Entry(path: string, block: V1Node): V1Entry {
  const fail = (message: string, line = block.line): never => {
    throw new InputError(path, message, { line });
  };
  if (typeof block.value === 'string') return fail(`expected a package entry, found \`${block.keys[0]} ${block.value}\``);
  const fields = block.value;
  const str = (name: string): string | null => {
    const f = fields.find((x) => x.keys[0] === name);
    if (f === undefined) return null;
    if (typeof f.value !== 'string') return fail(`\`${name}\` must be a string`, f.line);
    return f.value;
  };
  const first = splitV1Key(block.keys[0] ?? '');
  if (!first) return fail(`\`${block.keys[0]}\` is not a name@range descriptor`);
  const [keyName, range] = first;
  // `alias@npm:real@range`: the package is `real`, its dependents call it `alias`.
  const aliased = range.startsWith('npm:') ? splitDescriptor(range.slice(4)) : null;
  const version = str('version');
  if (version === null) return fail(`entry ${block.keys.join(', ')} has no version`);
  const name = aliased ? aliased[0] : keyName;
  const resolved = str('resolved');
  if (resolved === null && isRegistryRange(range)) {
    // yarn 1 takes a registry package from its entry only with a `resolved` (PackageRequest's
    // getLocked): without one it resolves the range against the registry at install time, even
    // with --frozen-lockfile, so the version written here is not what is installed.
    return fail(
      `entry ${block.keys.join(', ')} has no \`resolved\`: yarn 1 does not install it from the lockfile, it resolves ${JSON.stringify(range)} against the registry at install time, so version ${version} is not what it installs`,
    );
  }
  return {
    keys: block.keys,
    line: block.line,
    name,
    version,
    resolved: v1Resolved(resolved, name, version, (message) => fail(`entry ${block.keys.join(', ')}: ${message}`, block.line)),
    integrity: str('integrity'),
    keyName,
    range,
    aliased: aliased !== null,
    fields,
  };
}

/** A v1 key's range that yarn 1's npm resolver handles: a semver range, a dist-tag, an `npm:` alias (not a path, URL or git reference). */
function isRegistryRange(range: string): boolean {
  const type = parseNpmSpecifier(range).type;
  return type === 'range' || type === 'alias';
}

/**
 * `resolved` as yarn fetches it (a URL's scheme in any letter case, as the URL parser reads
 * it). yarn installs the tarball it names without comparing it with the entry: a registry
 * tarball of another package or version than the entry's is refused, or the audit would check
 * one package while yarn installs another.
 */
function v1Resolved(resolved: string | null, name: string, version: string, fail: (message: string) => never): string | null {
  if (resolved === null) return null;
  const read = readResolved(resolved);
  if ('problem' in read) return fail(`\`resolved\` ${JSON.stringify(resolved)} ${read.problem}`);
  const fromRegistry = npmSourceFromResolved(read.value).kind === 'registry';
  const unnamed = fromRegistry ? registryNameProblem(name) : null;
  if (unnamed !== null) return fail(unnamed);
  const tarball = fromRegistry ? registryTarballIdentity(read.value) : null;
  if (tarball !== null && tarball.name !== name) return fail(`\`resolved\` is a tarball of ${tarball.name}, not of ${name}; yarn installs the tarball`);
  if (tarball !== null && tarball.version !== version) {
    return fail(
      tarball.version === null
        ? `\`resolved\` is not a tarball of ${name}@${version}`
        : `\`version\` is ${version} but \`resolved\` is the tarball of ${name}@${tarball.version}; yarn installs the tarball`,
    );
  }
  return read.value;
}

/** Every entry of a yarn v1 lockfile with where yarn fetches it from. */
export function readYarnV1Resolutions(path: string, text: string): YarnV1Resolution[] {
  return readV1(path, text).map((block) => readV1Entry(path, block));
}

function parseV1(input: LockfileInput, manifest: Manifest | null): DependencyGraph {
  const { path } = input;
  // A .yarnrc's `--no-lockfile true`: yarn 1 then installs without this file, even with
  // --frozen-lockfile, so nothing audited here is what it installs.
  const off = input.lockfileOff;
  if (off !== undefined) {
    throw new InputError(
      off.file,
      `sets \`${off.setting}\`: yarn 1 then neither reads nor writes ${path}, even with --frozen-lockfile, and installs every dependency as the registry resolves it today`,
      off.line === undefined ? undefined : { line: off.line },
    );
  }
  const blocks = readV1(path, input.text);
  const packages: Package[] = [];
  const idByDescriptor = new Map<string, string>();
  const pending: { from: string; deps: V1Node; kind: EdgeKind }[] = [];
  const byIdentity = new Map<string, Package>();
  const takenIds = new Set<string>();

  for (const block of blocks) {
    const fail = (message: string): never => {
      throw new InputError(path, message, { line: block.line });
    };
    const { keyName, range, aliased, name, version, resolved, integrity, fields } = readV1Entry(path, block);
    const field = (fieldName: string): V1Node | undefined => fields.find((f) => f.keys[0] === fieldName);
    const source = v1Source(range, resolved);
    const identity = `${name}@${version}\0${source.kind}\0${source.url ?? ''}\0${source.rev ?? ''}`;
    let pkg = byIdentity.get(identity);
    if (!pkg) {
      let id = `${name}@${version}`;
      if (takenIds.has(id)) id = `${id} (${source.kind}:${source.rev ?? source.url ?? ''})`;
      takenIds.add(id);
      pkg = { id, ecosystem: 'npm', name, version, source, checksum: integrity, location: { line: block.line, column: 1 } };
      if (aliased) pkg.alias = keyName;
      byIdentity.set(identity, pkg);
      packages.push(pkg);
    } else if (!pkg.checksum && integrity) {
      pkg.checksum = integrity;
    }
    for (const key of block.keys) {
      const parts = splitV1Key(key);
      if (!parts || parts[0] !== keyName) fail(`key \`${key}\` names another package than \`${keyName}\``);
      idByDescriptor.set(key, pkg.id);
    }
    for (const [section, kind] of [['dependencies', 'normal'], ['optionalDependencies', 'optional']] as const) {
      const deps = field(section);
      if (!deps) continue;
      if (typeof deps.value === 'string') throw new InputError(path, `\`${section}\` must be a block`, { line: deps.line });
      pending.push({ from: pkg.id, deps, kind });
    }
  }

  const edges: Edge[] = [];
  const seen = new Set<string>();
  for (const { from, deps, kind } of pending) {
    for (const dep of deps.value as V1Node[]) {
      const range = typeof dep.value === 'string' ? dep.value : null;
      if (range === null) throw new InputError(path, `dependency \`${dep.keys[0]}\` must have a range`, { line: dep.line });
      const descriptor = `${dep.keys[0]}@${range}`;
      // Only the entry of this very descriptor: yarn 1 looks a package's dependency up as
      // `name@range` alone, and resolves one it does not find anew, even with --frozen-lockfile
      // (checked with yarn 1.22.22: mkdirp 0.5.1's `minimist "0.0.8"` beside an entry keyed by the
      // bare `minimist` at 1.2.8 installs the registry's minimist 0.0.8).
      const to = idByDescriptor.get(descriptor);
      if (!to) throw new InputError(path, `dependency ${descriptor} has no entry in the lockfile`, { line: dep.line });
      pushEdge(edges, seen, from, to, kind);
    }
  }

  let roots: string[];
  const warnings: string[] = [];
  const unlocked: string[] = [];
  const memberUnlocked: string[] = [];
  if (manifest) {
    // The root and each workspace member are roots; a member is found by its name, as yarn
    // links it, since the lockfile does not hold it.
    const projects = [manifest, ...(input.members ?? []).map((m) => readManifest(m.path, m.text))];
    // A member stands for a dependency on its name only when its version satisfies the range
    // (yarn 1's WorkspaceLayout.getManifestByPattern); else yarn 1 fetches the registry's package
    // of that name (checked with yarn 1.22.22: member minimist 2.0.0, packages/b asking for
    // minimist 0.0.8 and the lockfile locking none, `yarn install --frozen-lockfile` installs the
    // registry's minimist 0.0.8 into packages/b).
    const projectIds = new Map<string, { id: string; version: string | null }>();
    const memberFor = (depName: string, range: string): string | undefined => {
      const member = projectIds.get(depName);
      if (member === undefined || member.version === null) return undefined;
      return semver.satisfies(member.version, range, { loose: true }) ? member.id : undefined;
    };
    const rootDir = dirname(manifest.path);
    roots = [];
    for (const [i, project] of projects.entries()) {
      const dir = i === 0 ? '.' : relative(rootDir, dirname(project.path)).split(sep).join('/');
      const name = project.name ?? (i === 0 ? '.' : dir);
      const pkg: Package = {
        id: `${name}@${project.version ?? '0.0.0'}`,
        ecosystem: 'npm',
        name,
        version: project.version ?? '0.0.0',
        source: { kind: 'workspace', url: dir, isDefaultRegistry: false },
        checksum: null,
      };
      if (takenIds.has(pkg.id)) pkg.id = `${pkg.id} (workspace${i === 0 ? '' : ` ${dir}`})`;
      takenIds.add(pkg.id);
      packages.splice(i, 0, pkg);
      roots.push(pkg.id);
      if (project.name !== null) projectIds.set(project.name, { id: pkg.id, version: project.version });
    }
    for (const [i, project] of projects.entries()) {
      const from = roots[i] as string;
      const sections = [
        [project.dependencies, 'normal'],
        [project.optionalDependencies, 'optional'],
        [project.devDependencies, 'dev'],
      ] as const;
      for (const [deps, kind] of sections) {
        for (const [depName, range] of Object.entries(deps)) {
          // A dependency listed in both sections is installed as the stronger one.
          if (kind !== 'normal' && Object.hasOwn(project.dependencies, depName)) continue;
          // The root's dependencies are looked up by the bare name first, whatever their range
          // (yarn 1's install: an entry keyed `minimist` wins over `minimist@^1.2.0`, checked
          // with 1.22.22); a member's, as a package's, by `name@range` alone.
          const to = (i === 0 ? idByDescriptor.get(depName) : undefined) ?? idByDescriptor.get(`${depName}@${range}`) ?? memberFor(depName, range);
          // Older yarn 1 releases keep `link:` dependencies out of the lockfile.
          if (!to && range.startsWith('link:')) continue;
          if (to) pushEdge(edges, seen, from, to, kind);
          else if (i === 0) unlocked.push(`${depName}@${range}`);
          else memberUnlocked.push(`${relative(rootDir, project.path).split(sep).join('/')} asks for ${depName}@${range}`);
        }
      }
    }
    flagsFromReachability(packages, edges, roots);
    // yarn 1's frozen-lockfile check covers the root's dependencies only: a workspace member's
    // dependency the lockfile does not lock (a member added or changed after locking) is
    // resolved from the registry and installed, and the lockfile left as it was (checked with
    // yarn 1.22.22: packages/b added with lodash 4.17.4, `yarn install --frozen-lockfile`
    // installs lodash 4.17.4). The audit would pass what it never saw: refused, as resolutions are.
    if (memberUnlocked.length > 0) {
      throw new InputError(path, `${shortList(memberUnlocked)}, which the lockfile does not lock: yarn 1 installs a workspace member's dependencies even with --frozen-lockfile, resolved anew; run yarn install to lock them, then audit`);
    }
  } else {
    roots = unreferenced(packages, edges);
  }
  if (manifest) refuseUnlockedResolutions(path, manifest, packages, edges, roots);
  const graph: DependencyGraph = { ecosystem: 'npm', path, format: 'yarn.lock v1', packages, edges, roots, ...(warnings.length > 0 ? { warnings } : {}) };
  // package.json was changed after the lockfile was written: what is locked is still what a
  // frozen install would refuse and a plain one would change, so it is audited as is.
  if (manifest) noteStaleLockfile(graph, [manifest.path], unlocked);
  return graph;
}

/**
 * yarn 1 applies package.json's `resolutions` whatever yarn.lock locks: with a resolution the
 * lockfile does not record, `yarn install --frozen-lockfile` installs the resolution's version,
 * fetched from the registry, and leaves the lockfile as it is (checked with yarn 1.22.22:
 * minimist locked at 1.2.8, `"resolutions": {"minimist": "0.0.8"}` added, 0.0.8 installed). The
 * audit would check the locked version while another is installed: refused, naming both.
 * A key is a path of dependency names ending in the one it resolves (`name`, which yarn reads
 * as `**` + `/name`, `parent/name`, `**` + `/parent/name`, `parent/**` + `/name`), matched as a
 * glob against the names from the root's dependency down to the package (yarn 1.22.22:
 * `"mkdirp/minimist": "1.2.6"` installs 1.2.6 below a direct mkdirp only). A workspace
 * member's dependencies sit below the member's name and yarn's workspace aggregator, whose name
 * only a `*` or `**` matches. Only resolutions to a version or range are checked.
 */
function refuseUnlockedResolutions(path: string, manifest: Manifest, packages: readonly Package[], edges: readonly Edge[], roots: readonly string[]): void {
  const byId = new Map(packages.map((p) => [p.id, p]));
  const next = new Map<string, string[]>();
  for (const edge of edges) {
    const list = next.get(edge.from);
    if (list === undefined) next.set(edge.from, [edge.to]);
    else list.push(edge.to);
  }
  for (const [pattern, value] of Object.entries(manifest.resolutions)) {
    const segments = packagePath(pattern);
    const name = segments.at(-1) as string;
    if (!segments.every((segment) => /^(@[^/@]+\/)?[^/@]+$/.test(segment)) || semver.validRange(value, { loose: true }) === null) continue;
    const glob = segments.length === 1 ? ['**', name] : segments;
    const locked = new Set<string>();
    for (const pkg of resolvedBy(glob, roots, next, byId)) {
      if (pkg.name === name && pkg.source.kind === 'registry' && semver.valid(pkg.version, { loose: true }) !== null && !semver.satisfies(pkg.version, value, { loose: true })) locked.add(pkg.version);
    }
    if (locked.size === 0) continue;
    const asked = segments.length === 1 || pattern === `**/${name}` ? '' : ` below ${JSON.stringify(segments.slice(0, -1).join('/'))}`;
    throw new InputError(
      manifest.path,
      `"resolutions" asks for ${name}@${value}${asked}, which yarn 1 installs (from the registry, even with --frozen-lockfile) in place of the ${shortList([...locked])} ${path} locks; run yarn install to lock what is installed`,
    );
  }
}

/** A resolution key's names: `a/b`, `**` + `/a/b`, with `@scope/name` one name. */
function packagePath(pattern: string): string[] {
  const parts = pattern.split('/');
  const segments: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    segments.push(part.startsWith('@') && i + 1 < parts.length ? `${part}/${parts[++i] as string}` : part);
  }
  return segments;
}

/**
 * The packages a path glob reaches: walked from the roots along `next` (the root manifest's
 * dependencies are the path's first names; a member's come after its aggregator's and its own
 * name), with the positions of the glob each path can be at, so each package is visited once per
 * set of positions however many paths lead to it.
 */
function resolvedBy(glob: readonly string[], roots: readonly string[], next: ReadonlyMap<string, readonly string[]>, byId: ReadonlyMap<string, Package>): Package[] {
  // `*` is any run of characters within a name; everything else is itself.
  const matchers = glob.map((segment) => (segment === '**' ? null : new RegExp('^' + segment.split('*').map((part) => part.replace(/[.+?^$|{}()[\]\\]/g, '\\$&')).join('.*') + '$')));
  const close = (positions: Set<number>): Set<number> => {
    for (const p of [...positions].sort((a, b) => a - b)) for (let q = p; q < glob.length && matchers[q] === null; q++) positions.add(q + 1);
    return positions;
  };
  const step = (positions: ReadonlySet<number>, name: string): Set<number> => {
    const out = new Set<number>();
    for (const p of positions) {
      const matcher = matchers[p];
      if (matcher === null) out.add(p);
      else if (matcher !== undefined && matcher.test(name)) out.add(p + 1);
    }
    return close(out);
  };
  const reached: Package[] = [];
  const seen = new Set<string>();
  const pending: [string, Set<number>][] = [];
  const push = (id: string, positions: Set<number>): void => {
    const key = `${id}\0${[...positions].sort((a, b) => a - b).join(',')}`;
    if (positions.size === 0 || seen.has(key)) return;
    seen.add(key);
    pending.push([id, positions]);
  };
  roots.forEach((root, i) => {
    const pkg = byId.get(root);
    // The aggregator's name is yarn's own (a random one): only a wildcard matches it.
    push(root, i === 0 || pkg === undefined ? close(new Set([0])) : step(step(close(new Set([0])), '\0'), pkg.name));
  });
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [id, positions] = item;
    for (const to of next.get(id) ?? []) {
      const pkg = byId.get(to);
      if (pkg === undefined) continue;
      const after = step(positions, pkg.alias ?? pkg.name);
      if (after.has(glob.length)) reached.push(pkg);
      push(to, after);
    }
  }
  return reached;
}

// ---------------------------------------------------------------------------------------------
// berry

interface BerryEntry {
  keys: string[];
  resolution: string;
  version: string;
  checksum: string | null;
  dependencies: Record<string, string>;
  dependenciesMeta: Record<string, unknown>;
}

function parseBerry(input: LockfileInput, manifest: Manifest | null): DependencyGraph {
  const { path, text } = input;
  const doc = parseYamlText(path, text);
  if (!isRecord(doc)) throw new InputError(path, 'not a yarn.lock: expected a mapping of entries');
  const metadata = doc.__metadata;
  if (!isRecord(metadata)) {
    throw new InputError(path, 'not a yarn.lock: neither a `# yarn lockfile v1` header nor a `__metadata` section');
  }
  const metaVersion = Number(metadata.version);
  if (!Number.isInteger(metaVersion) || metaVersion < BERRY_METADATA_VERSIONS.min || metaVersion > BERRY_METADATA_VERSIONS.max) {
    throw new InputError(
      path,
      `unsupported yarn lockfile metadata version ${JSON.stringify(metadata.version)} (supported: ${BERRY_METADATA_VERSIONS.min}..${BERRY_METADATA_VERSIONS.max})`,
    );
  }
  const cacheKey = typeof metadata.cacheKey === 'string' ? metadata.cacheKey : null;

  const entries: BerryEntry[] = [];
  for (const [key, value] of Object.entries(doc)) {
    if (key === '__metadata') continue;
    const fail = (message: string): never => {
      const at = lineOfKey(text, key, '');
      throw new InputError(path, `entry "${key}": ${message}`, at ? { line: at } : undefined);
    };
    if (!isRecord(value)) fail('must be a mapping');
    const entry = value as Record<string, unknown>;
    const stringField = (name: string, required: boolean): string | null => {
      const v = entry[name];
      if (v === undefined && !required) return null;
      if (typeof v !== 'string') return fail(`\`${name}\` must be a string`);
      return v as string;
    };
    const mapField = (name: string): Record<string, unknown> => {
      const v = entry[name];
      if (v === undefined) return {};
      if (!isRecord(v)) return fail(`\`${name}\` must be a mapping`);
      return v as Record<string, unknown>;
    };
    const dependencies = mapField('dependencies');
    for (const [dep, range] of Object.entries(dependencies)) {
      if (typeof range !== 'string') fail(`dependency \`${dep}\` must have a string range`);
    }
    entries.push({
      keys: key.split(/\s*,\s*/),
      resolution: stringField('resolution', true) as string,
      version: stringField('version', true) as string,
      checksum: stringField('checksum', false),
      dependencies: dependencies as Record<string, string>,
      dependenciesMeta: mapField('dependenciesMeta'),
    });
  }

  // One package per resolution locator.
  const packages: Package[] = [];
  // Where each entry starts: its key line, as berry writes it (`"a@npm:^1, a@npm:^1.2":`).
  const entryLines = blockKeyLines(text, '');
  const byResolution = new Map<string, Package>();
  const entryOf = new Map<Package, BerryEntry>();
  const byDescriptor = new Map<string, Package>();
  // Descriptors bound to their parent (`file:../x::locator=app%40workspace%3A.`) are written
  // unbound in the dependent's list: find them by the unbound descriptor.
  const byUnbound = new Map<string, { pkg: Package; locator: string }[]>();
  // yarn's builtin compat patches (`resolve@patch:resolve@npm%3A^1#~builtin<compat/resolve>`)
  // replace a plain descriptor with a patched one: a dependent's `resolve: ^1` gets the patch.
  const patchOf = new Map<string, Package>();
  const roots: string[] = [];
  for (const entry of entries) {
    const locator = splitDescriptor(entry.resolution);
    if (!locator) throw new InputError(path, `resolution "${entry.resolution}" is not a name@reference locator`);
    const [name, reference] = locator;
    let pkg = byResolution.get(entry.resolution);
    if (!pkg) {
      const fail = (message: string): never => {
        const at = lineOfKey(text, entry.keys.join(', '), '');
        throw new InputError(path, `entry ${entry.keys.join(', ')}: ${message}`, at ? { line: at } : undefined);
      };
      const source = reference.startsWith('npm:') ? berryNpmSource(name, reference, entry.version, fail) : berryPatchSource(name, reference, entry.version, fail);
      // A patch of another registry package (`safe@patch:minimist@npm%3A1.2.5#…`) installs that
      // package's code under this name: it is that package, as an alias is.
      const patched = reference.startsWith('patch:') ? patchedRegistryPackage(reference, fail) : null;
      pkg = {
        id: berryId(name, reference, entry.version),
        ecosystem: 'npm',
        name: patched?.name ?? name,
        version: entry.version,
        source,
        checksum: entry.checksum === null ? null : withCacheKey(entry.checksum, cacheKey),
      };
      if (patched !== null && patched.name !== name) pkg.alias = name;
      const line = entryLines.get(entry.keys.join(', '));
      if (line !== undefined) pkg.location = { line, column: 1 };
      byResolution.set(entry.resolution, pkg);
      entryOf.set(pkg, entry);
      packages.push(pkg);
      if (reference.startsWith('workspace:')) roots.push(pkg.id);
    }
    for (const key of entry.keys) {
      byDescriptor.set(key, pkg);
      const binding = key.indexOf('::');
      if (binding > 0) {
        const params = new URLSearchParams(key.slice(binding + 2));
        const unbound = key.slice(0, binding);
        let list = byUnbound.get(unbound);
        if (!list) byUnbound.set(unbound, (list = []));
        list.push({ pkg, locator: params.get('locator') ?? '' });
      }
      const parts = splitDescriptor(key);
      if (parts && parts[1].startsWith('patch:') && parts[1].includes('builtin<')) {
        const inner = decodeURIComponent(parts[1].slice('patch:'.length).split('#')[0] ?? '');
        patchOf.set(inner, pkg);
        const innerParts = splitDescriptor(inner);
        if (innerParts && !hasProtocol(innerParts[1])) patchOf.set(`${innerParts[0]}@npm:${innerParts[1]}`, pkg);
      }
    }
  }
  ensureUniqueIds(packages);
  const byName = new Map<string, Package[]>();
  for (const pkg of packages) {
    const list = byName.get(pkg.name);
    if (list) list.push(pkg);
    else byName.set(pkg.name, [pkg]);
  }

  const resolve = (from: Package, name: string, range: string): Package | undefined => {
    const candidates = [`${name}@${range}`];
    if (!hasProtocol(range)) candidates.push(`${name}@npm:${range}`);
    for (const descriptor of candidates) {
      const patched = patchOf.get(descriptor);
      if (patched && patched !== from) return patched;
    }
    for (const descriptor of candidates) {
      const found = byDescriptor.get(descriptor);
      if (found) return found;
    }
    const bound = byUnbound.get(`${name}@${range}`);
    if (bound) {
      const fromLocator = entryOf.get(from)?.resolution;
      return (bound.find((b) => b.locator === fromLocator) ?? bound[0])?.pkg;
    }
    // The manifest's `resolutions` replaced the descriptor: the lockfile only holds the
    // override's. Without the manifest, a name locked once can only be that one package.
    for (const [pattern, override] of Object.entries(manifest?.resolutions ?? {})) {
      if (!resolutionApplies(pattern, name, range)) continue;
      const found = byDescriptor.get(`${name}@${override}`) ?? byDescriptor.get(`${name}@npm:${override}`);
      if (found) return found;
    }
    const sameName = byName.get(name);
    return sameName?.length === 1 ? sameName[0] : undefined;
  };

  // The lockfile merges a workspace's devDependencies into `dependencies`; only the
  // workspace's manifest tells them apart: the root's, and each member's the root's
  // `workspaces` globs find (`yarn workspaces focus --production` leaves a member's
  // devDependencies out as it does the root's).
  const workspaceKinds = new Map<string, Map<string, EdgeKind>>();
  if (manifest !== null) {
    const rootDir = dirname(manifest.path);
    const projects = [manifest, ...(input.members ?? []).map((m) => readManifest(m.path, m.text))];
    for (const [i, project] of projects.entries()) {
      const dir = i === 0 ? '.' : relative(rootDir, dirname(project.path)).split(sep).join('/');
      const kinds = new Map<string, EdgeKind>();
      for (const name of Object.keys(project.devDependencies)) kinds.set(name, 'dev');
      for (const name of Object.keys(project.dependencies)) kinds.delete(name);
      for (const name of Object.keys(project.optionalDependencies)) kinds.set(name, 'optional');
      if (!workspaceKinds.has(dir)) workspaceKinds.set(dir, kinds);
    }
  }
  const edges: Edge[] = [];
  const seen = new Set<string>();
  for (const pkg of packages) {
    const entry = entryOf.get(pkg) as BerryEntry;
    const declared = pkg.source.kind === 'workspace' && pkg.source.url !== null ? workspaceKinds.get(pkg.source.url) : undefined;
    for (const [depName, range] of Object.entries(entry.dependencies)) {
      const target = resolve(pkg, depName, range);
      if (!target) {
        const at = lineOfKey(text, entry.keys.join(', '), '');
        throw new InputError(path, `dependency ${depName}@${range} of ${pkg.id} has no entry in the lockfile`, at ? { line: at } : undefined);
      }
      const meta = entry.dependenciesMeta[depName];
      const kind: EdgeKind = declared?.get(depName) ?? (isRecord(meta) && meta.optional === 'true' ? 'optional' : 'normal');
      pushEdge(edges, seen, pkg.id, target.id, kind);
    }
    // A patched package is built from its base package: keep the base in the graph's paths.
    if (pkg.source.kind === 'other' && pkg.source.url?.startsWith('patch:')) {
      const inner = decodeURIComponent(pkg.source.url.slice('patch:'.length).split('#')[0] ?? '');
      const base = byResolution.get(inner);
      if (base) pushEdge(edges, seen, pkg.id, base.id, 'normal');
    }
  }

  const finalRoots = roots.length > 0 ? roots : unreferenced(packages, edges);
  flagsFromReachability(packages, edges, finalRoots);
  const graph: DependencyGraph = {
    ecosystem: 'npm',
    path,
    format: `yarn.lock berry (metadata ${metaVersion})`,
    packages,
    edges,
    roots: finalRoots,
  };
  if (manifest !== null) {
    const projects = [manifest, ...(input.members ?? []).map((m) => readManifest(m.path, m.text))];
    const rootDir = dirname(manifest.path);
    const unlocked: string[] = [];
    const stale: string[] = [];
    for (const [i, project] of projects.entries()) {
      const dir = i === 0 ? '.' : relative(rootDir, dirname(project.path)).split(sep).join('/');
      const workspace = packages.find((p) => p.source.kind === 'workspace' && p.source.url === dir);
      const entry = workspace === undefined ? undefined : entryOf.get(workspace);
      if (entry === undefined) {
        // A member the root's workspaces globs find that the lockfile does not hold (added after
        // locking): yarn install --immutable refuses (YN0028, checked with yarn 4.9.2), a plain
        // install locks it and what it needs.
        if (i > 0) {
          unlocked.push(`workspace ${dir} (not in the lockfile)`);
          stale.push(project.path);
        }
        continue;
      }
      const missing = berryUnlocked(project, entry.dependencies);
      if (missing.length === 0) continue;
      unlocked.push(...missing);
      stale.push(project.path);
    }
    for (const extended of unlockedPackageExtensions(input.yarnrcs ?? [], packages, byDescriptor)) {
      unlocked.push(...extended.unlocked);
      stale.push(extended.file);
    }
    noteStaleLockfile(graph, stale, unlocked);
  }
  return graph;
}

/**
 * The registry dependencies a project's package.json asks for that its workspace entry does not
 * lock as asked, as `name@range`: yarn 4 writes each one there as `npm:<range>` (yarn 2 and 3
 * as the range), devDependencies and optionalDependencies too. `yarn install --immutable` refuses such a lockfile (YN0028,
 * checked with yarn 4.9.2: fsevents changed from 2.3.2 to 2.3.3 in package.json) and a plain
 * install resolves anew. Only plain ranges, tags and `npm:` ranges are compared; other
 * protocols are written in forms of yarn's own.
 */
function berryUnlocked(project: Manifest, locked: Record<string, string>): string[] {
  const unlocked: string[] = [];
  for (const section of [project.devDependencies, project.optionalDependencies, project.dependencies]) {
    for (const [name, range] of Object.entries(section)) {
      if (section !== project.dependencies && Object.hasOwn(project.dependencies, name)) continue;
      const written = range.startsWith('npm:') ? range : hasProtocol(range) || /[/:]/.test(range) ? null : `npm:${range}`;
      if (written !== null && locked[name] !== written && locked[name] !== range) unlocked.push(`${name}@${range}`);
    }
  }
  return unlocked;
}

/**
 * The dependencies the .yarnrc.yml files' `packageExtensions` add to a locked package that the
 * lockfile does not lock, as `name@range (packageExtensions of DESCRIPTOR)`, by the file that adds them: yarn berry writes no
 * extended edge into the lockfile, only the entry of what it resolved (`lodash@npm:4.17.4`).
 * An extension added or changed after locking makes `yarn install --immutable` refuse (YN0028)
 * and a plain install resolve it anew (checked with yarn 4.9.2: `"ms@*": {dependencies: {lodash:
 * 4.17.4}}` added, the audit passed on the old lockfile). Only plain and `npm:` ranges are
 * compared; peer dependencies an extension adds install nothing of their own.
 */
function unlockedPackageExtensions(
  yarnrcs: readonly { path: string; text: string }[],
  packages: readonly Package[],
  byDescriptor: ReadonlyMap<string, Package>,
): { unlocked: string[]; file: string }[] {
  // yarn merges the files' packageExtensions, the nearer file's entry winning a descriptor given twice.
  const extensions = new Map<string, { extension: unknown; file: string }>();
  for (const yarnrc of yarnrcs) {
    const doc = parseYamlText(yarnrc.path, yarnrc.text);
    const declared = isRecord(doc) && isRecord(doc.packageExtensions) ? doc.packageExtensions : {};
    for (const [descriptor, extension] of Object.entries(declared)) if (!extensions.has(descriptor)) extensions.set(descriptor, { extension, file: yarnrc.path });
  }
  const byFile = new Map<string, string[]>();
  for (const [descriptor, { extension, file }] of extensions) {
    const unlocked = byFile.get(file) ?? [];
    byFile.set(file, unlocked);
    if (!isRecord(extension) || !isRecord(extension.dependencies)) continue;
    const [name, range] = splitDescriptor(descriptor) ?? [descriptor, '*'];
    const wanted = range.startsWith('npm:') ? range.slice(4) : range;
    const applies = packages.some(
      (p) => p.name === name && p.source.kind !== 'workspace' && (semver.validRange(wanted, { loose: true }) === null || semver.satisfies(p.version, wanted, { loose: true, includePrerelease: true })),
    );
    if (!applies) continue;
    for (const [dep, depRange] of Object.entries(extension.dependencies)) {
      if (typeof depRange !== 'string') continue;
      const written = depRange.startsWith('npm:') ? depRange : hasProtocol(depRange) || /[/:]/.test(depRange) ? null : `npm:${depRange}`;
      if (written !== null && !byDescriptor.has(`${dep}@${written}`) && !byDescriptor.has(`${dep}@${depRange}`)) unlocked.push(`${dep}@${depRange} (packageExtensions of ${descriptor})`);
    }
  }
  return [...byFile].filter(([, unlocked]) => unlocked.length > 0).map(([file, unlocked]) => ({ unlocked, file }));
}

/** True when a berry range names its protocol (`npm:`, `workspace:`, `patch:`, `https:` ...). */
function hasProtocol(range: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(range);
}

function berryId(name: string, reference: string, version: string): string {
  if (reference.startsWith('npm:')) return `${name}@${version}`;
  return `${name}@${reference}`;
}

function ensureUniqueIds(packages: Package[]): void {
  const seen = new Set<string>();
  for (const pkg of packages) {
    let id = pkg.id;
    for (let n = 2; seen.has(id); n++) id = `${pkg.id} (${n})`;
    pkg.id = id;
    seen.add(id);
  }
}

/** A berry locator's reference (after `name@`) → where the package comes from. */
function berrySource(reference: string): PackageSource {
  const protocol = /^([a-z][a-z0-9+.-]*):/i.exec(reference)?.[1] ?? '';
  switch (protocol) {
    case 'npm':
      // berry records no tarball URL: the package comes from the configured npm registry.
      return defaultNpmRegistrySource();
    case 'workspace':
      return { kind: 'workspace', url: reference.slice('workspace:'.length), isDefaultRegistry: false };
    case 'link':
    case 'portal':
      return { kind: 'path', url: reference.slice(protocol.length + 1).split('::')[0] ?? '', isDefaultRegistry: false };
    case 'file': {
      const target = reference.slice('file:'.length).split(/#|::/)[0] ?? '';
      return /\.(tgz|tar\.gz|tar)$/.test(target)
        ? { kind: 'other', url: reference, isDefaultRegistry: false }
        : { kind: 'path', url: target, isDefaultRegistry: false };
    }
    default: {
      const git = gitSource(reference);
      if (git) return git;
      // patch:, exec:, http(s) tarballs: the reference verbatim says what was fetched.
      return { kind: 'other', url: reference, isDefaultRegistry: false };
    }
  }
}

/**
 * Whether a `resolutions` key overrides the dependency `name@range`: `name`, `name@range` (yarn
 * berry's descriptor form, `debug@2.6.9`, written with or without the `npm:` the lockfile
 * adds), either after a parent (`parent/name`, or yarn 1's glob `**` before `/name`). `@scope/name` is a scoped name,
 * not `name` under a parent `@scope`.
 */
function resolutionApplies(pattern: string, name: string, range: string): boolean {
  const bare = range.startsWith('npm:') ? range.slice('npm:'.length) : range;
  for (const target of [name, `${name}@${range}`, `${name}@${bare}`, `${name}@npm:${bare}`]) {
    if (pattern === target) return true;
    if (!pattern.endsWith(`/${target}`)) continue;
    const parent = pattern.slice(0, pattern.length - target.length - 1);
    if (!/^@[^/@]+$/.test(parent)) return true;
  }
  return false;
}

/**
 * An `npm:` resolution as yarn fetches it: the registry's tarball of the version the reference
 * names (`npm:4.17.4`), whatever the entry's `version` says, or the `__archiveUrl` yarn writes
 * after `::` for a tarball the registry serves elsewhere. A `version` other than the
 * reference's, or an archive of another package or version, is refused: the audit would check
 * one package while yarn installs another.
 */
function berryNpmSource(name: string, reference: string, version: string, fail: (message: string) => never): PackageSource {
  const unnamed = registryNameProblem(name);
  if (unnamed !== null) fail(unnamed);
  const params = reference.indexOf('::');
  const installed = reference.slice('npm:'.length, params < 0 ? undefined : params);
  if (installed !== version) fail(`\`version\` is ${version} but the resolution is ${name}@${installed}; yarn installs the resolution`);
  const archive = params < 0 ? null : new URLSearchParams(reference.slice(params + 2)).get('__archiveUrl');
  if (archive === null) return defaultNpmRegistrySource();
  const { url, registry } = berryTarball(name, version, archive, { field: '`__archiveUrl`', fetched: 'the archive' }, fail);
  return registry ?? { kind: 'other', url, isDefaultRegistry: false };
}

/**
 * A tarball URL yarn fetches for `name@version` (`named`: how a message names it and what yarn
 * fetches), as yarn reads it: the URL, and its registry when it is a registry's tarball. A
 * registry tarball of another package or version is refused: yarn installs the tarball, never
 * comparing it with the entry.
 */
function berryTarball(
  name: string,
  version: string,
  written: string,
  named: { field: string; fetched: string },
  fail: (message: string) => never,
): { url: string; registry: PackageSource | null } {
  const read = readResolved(written);
  if ('problem' in read) return fail(`${named.field} ${JSON.stringify(written)} ${read.problem}`);
  const source = npmSourceFromResolved(read.value);
  const tarball = source.kind === 'registry' ? registryTarballIdentity(read.value) : null;
  if (tarball !== null && (tarball.name !== name || tarball.version !== version)) {
    fail(
      tarball.version === null
        ? `${named.field} is not a tarball of ${name}@${version}`
        : `${named.field} is the tarball of ${tarball.name}@${tarball.version}, not of ${name}@${version}; yarn installs ${named.fetched}`,
    );
  }
  return { url: read.value, registry: tarball !== null ? source : null };
}

/**
 * Any other locator's source; a `patch:` of a registry package is that package's tarball with
 * the patch applied, so its version is the one the patched locator names (`patch:lodash@npm%3A4.17.4#…`):
 * yarn 4.9 writes that one, and an install that may write the lockfile installs it whatever
 * `version` says (without the base entry, the audit would check nothing else). Another is refused.
 * So is a URL resolution that is a registry's tarball of another package or version (yarn 4.9.2
 * --immutable installs lodash 4.17.4 from `lodash@https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz`
 * under `version: 4.17.21`).
 */
function berryPatchSource(name: string, reference: string, version: string, fail: (message: string) => never): PackageSource {
  if (/^https?:\/\//i.test(reference) && gitSource(reference) === null) berryTarball(name, version, reference, { field: 'the resolution', fetched: 'the tarball' }, fail);
  if (reference.startsWith('patch:')) {
    const base = patchedRegistryPackage(reference, fail);
    if (base !== null && base.version !== version) fail(`\`version\` is ${version} but the resolution patches ${base.name}@${base.version}; yarn installs that version, patched`);
  }
  return berrySource(reference);
}

/**
 * The registry package a `patch:` reference patches, through patches of patches (yarn writes
 * `patch:a@patch%3Aa@npm%253A1.0.0%23…#…` for a patch applied to a patched package): null when
 * the innermost locator is neither an `npm:` one nor a registry tarball's URL. yarn fetches that package whatever name the
 * patched locator has and whichever entries the lockfile holds.
 */
function patchedRegistryPackage(reference: string, fail: (message: string) => never): { name: string; version: string } | null {
  let inner = reference;
  for (let depth = 0; inner.startsWith('patch:'); depth++) {
    if (depth > 32) return fail(`the patched locator in ${JSON.stringify(reference)} nests patches too deeply`);
    let decoded: string;
    try {
      decoded = decodeURIComponent(inner.slice('patch:'.length).split('#')[0] ?? '');
    } catch {
      return fail(`the patched locator in ${JSON.stringify(reference)} is not percent-encoded`);
    }
    const base = splitDescriptor(decoded);
    if (base === null) return null;
    if (base[1].startsWith('npm:')) return { name: base[0], version: base[1].slice('npm:'.length).split('::')[0] ?? '' };
    // A patch of a registry tarball by URL is that tarball's package, as the unpatched URL is.
    if (/^https?:\/\//i.test(base[1])) {
      const tarball = registryTarballIdentity(base[1].split('::')[0] ?? '');
      return tarball?.version ? { name: tarball.name, version: tarball.version } : null;
    }
    inner = base[1];
  }
  return null;
}

/**
 * berry's checksum is a hash of yarn's own zip archive, not of the npm tarball: it is no SRI
 * string and cannot verify a download. It is kept as `<cacheKey>/<hex>` (as yarn ≥4 writes it)
 * so that no consumer mistakes it for one.
 */
function withCacheKey(checksum: string, cacheKey: string | null): string {
  if (checksum.includes('/') || cacheKey === null) return checksum;
  return `${cacheKey}/${checksum}`;
}
