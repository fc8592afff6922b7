import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { expandDirectoryGlob, globSegments, globSegmentsMatch, memberManifests, type Entered } from '../../core/directory-glob.js';
import { isRecord, parseYamlText } from './lockfile-reading.js';
import { ancestors } from '../../core/ancestors.js';
import { npmrcTopLevelSetting } from './registry.js';
import { InputError } from '../../core/errors.js';

/**
 * The package.json of each workspace member a root package.json lists, as yarn v1 and npm find
 * them: `workspaces` is a list of globs, or `{ packages: [...] }` (yarn's form, with
 * `nohoist`); a glob starting with `!` excludes what it names. A yarn v1 lockfile does not
 * record the members, only what they depend on: without their manifests, what only a member
 * needs at run time would look dev-only or unreachable.
 *
 * Members that exist nowhere (a lockfile audited without its source tree) are not found. A
 * root manifest that is not JSON yields nothing here: the lockfile parser reports it.
 */

export function npmWorkspaceManifestPaths(rootManifest: string, text: string, negation: Negation = 'any'): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  return membersOf(rootManifest, workspaceGlobs(doc), npmEnters, negation);
}

/**
 * The package.json of each member pnpm-workspace.yaml lists (`packages:` globs, `!` excluding),
 * as pnpm finds its workspace projects; the lockfile's importers are these directories.
 */
export function pnpmWorkspaceManifestPaths(workspaceFile: string, text: string): string[] {
  return membersOf(workspaceFile, pnpmWorkspaceGlobs(parseYamlText(workspaceFile, text)), pnpmEnters, 'any');
}

function pnpmWorkspaceGlobs(doc: unknown): string[] {
  const list = isRecord(doc) ? doc.packages : undefined;
  return Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string' && p !== '') : [];
}

/**
 * The directories a workspace glob's wildcards step into. npm (glob, ignoring `**\/node_modules/**`),
 * yarn 1 (glob, ignoring node_modules below the pattern) and yarn berry (globby, ignoring
 * node_modules, .git and .yarn) match no hidden name and nothing under node_modules; pnpm
 * (fast-glob, ignoring node_modules and bower_components) skips bower_components too. None of
 * them skips Cargo's `target`: npm 11 installs a member at target/a from the root's lockfile.
 */
const npmEnters: Entered = (name) => !name.startsWith('.') && name !== 'node_modules';
const pnpmEnters: Entered = (name) => npmEnters(name) && name !== 'bower_components';

/**
 * How a manager reads `!` in `workspaces`. 'npm': @npmcli/map-workspaces counts the leading `!`
 * (an odd number negates), strips a leading `./` or `/`, and drops a negation that a later
 * pattern matches (`["packages/*", "!packages/a", "packages/a"]` keeps packages/a: npm 11 installs
 * it as a member). 'ignored': yarn 1's install globs each pattern alone, so a `!` pattern excludes
 * nothing (yarn 1.22 installs packages/a under `["packages/*", "!packages/a"]`). 'any': every `!`
 * pattern excludes what it names (micromatch, in yarn 1's search for a member's root; fast-glob, in pnpm's).
 */
export type Negation = 'npm' | 'ignored' | 'any';

function splitNegations(patterns: readonly string[], negation: Negation, owner: string): { included: string[]; excluded: string[] } {
  const braces = new BraceBudget(owner);
  // Read as literal names, `packages/+(a|b)` named no member where npm installs two: refused.
  const extended = patterns.find((p) => EXTGLOB.test(p.replace(/^!+/, '')));
  if (extended !== undefined) {
    throw new InputError(owner, `its workspace glob ${JSON.stringify(extended)} is an extended glob, which the package manager expands and stowage does not read: write it with *, ?, [...], ** or {a,b}`);
  }
  if (negation !== 'npm') {
    const included = braces.expand(patterns.filter((p) => !p.startsWith('!')));
    return { included, excluded: negation === 'ignored' ? [] : braces.expand(patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1))) };
  }
  const included: string[] = [];
  let excluded: string[] = [];
  for (const written of patterns) {
    const bangs = /^!*/.exec(written)?.[0].length ?? 0;
    const pattern = written.slice(bangs).replace(/^\.?\/+/, '');
    if (bangs % 2 === 1) {
      const unescaped = npmNegated(pattern);
      if (unescaped !== null) excluded.push(unescaped);
    } else {
      // minimatch(pattern, negated): the pattern's own text read as a path, no wildcard matching a
      // dot name, an empty segment none (`packages/*/` and `packages//*` drop `!packages/*`: npm 11 installs them).
      const path = pattern.split('/').filter((s) => s !== '');
      excluded = excluded.filter((n) => !braces.expand([n]).some((e) => globSegmentsMatch(globSegments(e), path, (name) => !name.startsWith('.'))));
      included.push(pattern);
    }
  }
  return { included: braces.expand(included), excluded: braces.expand(excluded) };
}

/**
 * A negated pattern as npm matches it, or null where stowage takes it to exclude nothing (so more
 * is taken as a member, and a member's own lockfile is refused rather than audited). minimatch (the
 * glob ignore list, minimatch.match) reads a backslash as an escape of the next character, where
 * npm turns an included pattern's backslashes into slashes (getGlobPattern): `!packages\\b`
 * excludes nothing (npm 11.19 installs packages/b as a member, `npm ci` there installing from the
 * root's lockfile) and was read as excluding packages/b, whose own lockfile was then audited.
 * Nor does npm's ignore list match through an empty, `.` or `..` segment (`!packages/a/.`,
 * `!packages//a`, `!packages/x/../a` leave packages/a a member), which globSegments and
 * path.join read away. An escaped wildcard or slash is not said by these globs: null too.
 */
function npmNegated(pattern: string): string | null {
  if (pattern.replace(/\/+$/, '').split('/').some((s) => s === '' || s === '.' || s === '..')) return null;
  if (!pattern.includes('\\')) return pattern;
  return /\\(?![\w .,-])/.test(pattern) ? null : pattern.replace(/\\(.)/g, '$1');
}

/** An extended glob (`+(a|b)`, `@(a)`, `!(a)`, `*(a)`, `?(a)`): npm's, yarn's and pnpm's globs read them, stowage does not. */
const EXTGLOB = /[@!?*+]\(/;

/** At most this many patterns are made from one list's braces (`{a,b}{c,d}…` doubles with each pair). */
const MAX_BRACE_EXPANSIONS = 10_000;
/** …and from at most this many `{…}` groups (each read by a call of its own). */
const MAX_BRACE_GROUPS = 1_000;

/**
 * Brace expansion as every one of these managers' glob libraries does it before matching (npm's
 * and yarn 1's minimatch, yarn berry's and pnpm's micromatch): `packages/{a,b}` is `packages/a`
 * and `packages/b` (yarn 1.22.22 installs both as members), `{1..3}` and `{a..c}` are sequences,
 * a brace holding neither a comma nor a sequence is its own text. Cargo's glob crate knows no
 * braces: directory-glob.ts does not expand them. Read as literal names, a member the manager
 * installs went unread: its dependencies unchecked against the lockfile. Past
 * MAX_BRACE_EXPANSIONS patterns, `owner` (the file holding them) is refused.
 */
class BraceBudget {
  private made = 0;
  private groups = 0;

  constructor(private readonly owner: string) {}

  expand(patterns: readonly string[]): string[] {
    return patterns.flatMap((p) => this.one(p));
  }

  private one(pattern: string): string[] {
    let depth = 0;
    let open = -1;
    let close = -1;
    for (let i = 0; i < pattern.length && close === -1; i++) {
      if (pattern[i] === '{') {
        if (depth++ === 0) open = i;
      } else if (pattern[i] === '}' && depth > 0 && --depth === 0) close = i;
    }
    if (close === -1) return [pattern];
    // Counted before its parts are read: a text of nested or repeated braces is refused before it is deep.
    if (++this.groups > MAX_BRACE_GROUPS) this.refuse();
    const pre = pattern.slice(0, open);
    const body = pattern.slice(open + 1, close);
    const posts = this.one(pattern.slice(close + 1));
    const parts = topLevelCommas(body);
    const alternatives = parts.length > 1 ? parts.flatMap((p) => this.one(p)) : (this.sequence(body) ?? this.one(body).map((b) => `{${b}}`));
    this.spend(alternatives.length * posts.length);
    return alternatives.flatMap((a) => posts.map((post) => pre + a + post));
  }

  /** `{1..3}`, `{01..10}`, `{a..e}`, with an optional `..step`; null for any other text. */
  private sequence(body: string): string[] | null {
    const m = /^(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?$/.exec(body);
    if (m === null) return null;
    const [, from = '', to = '', by] = m;
    const numeric = /\d/.test(from) && /\d/.test(to);
    if (!numeric && (/\d/.test(from) || /\d/.test(to))) return null;
    const start = numeric ? Number(from) : from.charCodeAt(0);
    const end = numeric ? Number(to) : to.charCodeAt(0);
    const step = Math.max(1, Math.abs(by === undefined ? 1 : Number(by)));
    const count = Math.floor(Math.abs(end - start) / step) + 1;
    this.spend(count);
    const width = numeric && [from, to].some((t) => /^-?0\d/.test(t)) ? Math.max(from.length, to.length) : 0;
    const out: string[] = [];
    for (let k = 0, v = start; k < count; k++, v += end >= start ? step : -step) {
      out.push(numeric ? (v < 0 ? `-${String(-v).padStart(width - 1, '0')}` : String(v).padStart(width, '0')) : String.fromCharCode(v));
    }
    return out;
  }

  private spend(count: number): void {
    this.made += count;
    if (this.made > MAX_BRACE_EXPANSIONS) this.refuse();
  }

  private refuse(): never {
    throw new InputError(this.owner, `its workspace globs' braces make more than ${MAX_BRACE_EXPANSIONS.toLocaleString('en-US')} patterns or hold more than ${MAX_BRACE_GROUPS.toLocaleString('en-US')} braces: stowage does not audit a workspace it has not read whole`);
  }
}

/** A brace's body split at its commas outside nested braces. */
function topLevelCommas(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '{') depth++;
    else if (c === '}' && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      parts.push(body.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(body.slice(from));
  return parts;
}

/** The members `patterns` name beside `owner`, the file holding them. */
function membersOf(owner: string, patterns: readonly string[], enters: Entered, negation: Negation): string[] {
  if (patterns.length === 0) return [];
  const root = resolve(dirname(owner));
  const { included, excluded } = splitNegations(patterns, negation, owner);
  const skipped = new Set(excluded.flatMap((p) => expandDirectoryGlob(root, p, enters)));
  return memberManifests(root, included, 'package.json', (dir) => skipped.has(dir), owner, enters);
}

function workspaceGlobs(doc: unknown): string[] {
  if (typeof doc !== 'object' || doc === null) return [];
  const workspaces = (doc as { workspaces?: unknown }).workspaces;
  const list = Array.isArray(workspaces) ? workspaces : (workspaces as { packages?: unknown } | undefined)?.packages;
  return Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string' && p !== '') : [];
}

/**
 * The workspace root whose lockfile the package manager installs the project in `projectDir`
 * with, when that is a directory above it; null when it reads the lockfile beside the project.
 * Run in a workspace member, npm 11 (@npmcli/config's loadLocalPrefix) looks at each directory
 * above for a package.json whose `workspaces` name the member, and installs from that root's
 * lockfile (checked: `npm ci` in the member installs what the root's package-lock.json locks);
 * yarn 1 (findWorkspaceRoot) does the same but stops at the first package.json with
 * `workspaces`, the project's own included, whether or not it names the member.
 */
export function enclosingWorkspaceRoot(projectDir: string, manager: 'npm' | 'yarn', confineTo?: string): string | null {
  const dir = realpathSync(projectDir);
  if (manager === 'yarn' && workspaceGlobs(readJsonQuietly(join(dir, 'package.json'))).length > 0) return null;
  for (const current of ancestors(dir, confineTo)) {
    const manifest = join(current, 'package.json');
    if (!existsSync(manifest)) continue;
    const patterns = workspaceGlobs(readJsonQuietly(manifest));
    if (patterns.length === 0) continue;
    if (namesMember(manifest, patterns, relative(current, dir).split(sep), npmEnters, manager === 'npm' ? 'npm' : 'any')) return current;
    if (manager === 'yarn') return null;
  }
  return null;
}

/**
 * The pnpm workspace whose pnpm-lock.yaml pnpm installs the project in `projectDir` with, when
 * that is a directory above it; null when it reads the lockfile beside the project. pnpm 9 takes
 * the nearest pnpm-workspace.yaml at or above the project (findWorkspaceDir) and keeps one
 * lockfile there for every project it lists (checked with pnpm 9.15.9: `pnpm install` in a member
 * rewrites the root's lockfile and leaves the member's alone). Only a member the workspace lists
 * is taken, and not where an .npmrc sets shared-workspace-lockfile=false (one lockfile per project).
 */
export function enclosingPnpmWorkspace(projectDir: string, confineTo?: string): string | null {
  const dir = realpathSync(projectDir);
  for (const current of [dir, ...ancestors(dir, confineTo)]) {
    const workspaceFile = join(current, 'pnpm-workspace.yaml');
    if (existsSync(workspaceFile)) {
      if (current === dir) return null;
      let doc: unknown;
      try {
        doc = parseYamlText(workspaceFile, readFileSync(workspaceFile, 'utf8'));
      } catch {
        return null;
      }
      if (!namesMember(workspaceFile, pnpmWorkspaceGlobs(doc), relative(current, dir).split(sep), pnpmEnters, 'any')) return null;
      return [dir, current].some((d) => setsLockfilePerProject(join(d, '.npmrc'))) ? null : current;
    }
  }
  return null;
}

/**
 * The yarn berry project whose yarn.lock yarn 2+ installs the project in `projectDir` with, when
 * that is a directory above it. berry's project is the nearest directory at or above with a
 * yarn.lock (Configuration.findProjectCwd), and the package directory must be one of its
 * workspaces, nested ones included (a workspace's own `workspaces` name more), or yarn refuses
 * to install there (checked with yarn 4.9.2: `yarn install --immutable` in
 * packages/a/sub/x, a workspace of packages/a, installs from the root's yarn.lock; under a yarn.lock
 * whose project does not list it, "doesn't seem to be part of the project"). Null when
 * `projectDir` holds a yarn.lock, or the nearest one above is not berry's or does not list it.
 */
export function enclosingBerryProject(projectDir: string, confineTo?: string): string | null {
  const dir = realpathSync(projectDir);
  if (existsSync(join(dir, 'yarn.lock'))) return null;
  for (const current of ancestors(dir, confineTo)) {
    const lockfile = join(current, 'yarn.lock');
    if (!existsSync(lockfile)) continue;
    let text: string;
    try {
      text = readFileSync(lockfile, 'utf8');
    } catch {
      return null;
    }
    return isBerryLockfile(text) && isNestedWorkspace(current, dir) ? current : null;
  }
  return null;
}

/** Whether a yarn.lock is yarn berry's (its `__metadata` entry), not yarn 1's. */
export function isBerryLockfile(text: string): boolean {
  return /^__metadata:/m.test(text);
}

/** Whether `dir` is a workspace of the one at `root`, or of a workspace of it (yarn berry's nested workspaces). */
function isNestedWorkspace(root: string, dir: string): boolean {
  const manifest = join(root, 'package.json');
  const patterns = workspaceGlobs(readJsonQuietly(manifest));
  if (patterns.length === 0) return false;
  const segments = relative(root, dir).split(sep);
  if (namesMember(manifest, patterns, segments, npmEnters, 'any')) return true;
  for (let depth = 1; depth < segments.length; depth++) {
    const between = segments.slice(0, depth);
    if (namesMember(manifest, patterns, between, npmEnters, 'any') && isNestedWorkspace(join(root, ...between), dir)) return true;
  }
  return false;
}

/** Whether an .npmrc turns pnpm's shared workspace lockfile off. */
function setsLockfilePerProject(npmrc: string): boolean {
  let text: string;
  try {
    text = readFileSync(npmrc, 'utf8');
  } catch {
    return false;
  }
  return npmrcTopLevelSetting(text, 'shared-workspace-lockfile') === 'false';
}

/** A package.json's JSON, or null when it cannot be read as JSON (npm then moves on). */
function readJsonQuietly(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

/**
 * Whether the `workspaces` of a root package.json (or of a lockfile's copy of it, `doc`) name the
 * directory `location` (relative to the root, `/`-separated), as npm reads the patterns; `owner`
 * is named in an error about them. Matched on the path alone, for a member not on disk.
 */
export function npmWorkspacesName(owner: string, doc: unknown, location: string): boolean {
  const patterns = workspaceGlobs(doc);
  return patterns.length > 0 && namesMember(owner, patterns, location.split('/'), npmEnters, 'npm');
}

/** Whether the globs name the member at `segments` below the root (`!` excluding), as membersOf would find it. */
function namesMember(owner: string, patterns: readonly string[], segments: readonly string[], enters: Entered, negation: Negation): boolean {
  // expandDirectoryGlob's matching, on a path: a wildcard enters only what the manager's walk does.
  const matches = (pattern: string): boolean => globSegmentsMatch(globSegments(pattern), segments, enters);
  const { included, excluded } = splitNegations(patterns, negation, owner);
  return included.some(matches) && !excluded.some(matches);
}
