import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { InputError } from './errors.js';

/*
 * Workspace member globs (Cargo's `[workspace] members`, npm's and yarn's `workspaces`, pnpm's
 * `packages`): `*`, `?` and `[...]` within a segment, `**` across any number of them. Read
 * by hand because each package manager's walk skips directories of its own (Cargo's hidden ones,
 * `node_modules` and `target`; npm's hidden ones and `node_modules` only), which a general glob
 * library does not know to skip.
 */

/**
 * At most this many member manifests are read (a hostile or runaway glob holds every one's text
 * in memory). Past it the workspace is refused: left unread, a member's dependencies would go
 * unchecked and its dev-dependencies unknown, silently.
 */
const MAX_MEMBERS = 2000;

/** Which directory names a wildcard (`*`, `**`) may step into. */
export type Entered = (name: string) => boolean;

/** Cargo's walk: no hidden directory, `target` or `node_modules`. */
const cargoEnters: Entered = (name) => !name.startsWith('.') && name !== 'target' && name !== 'node_modules';

/**
 * The `manifestName` file of each member directory the `patterns` name under `root`, sorted:
 * the root itself and directories `isExcluded` says to skip are left out. `owner`, the file
 * holding the patterns, is refused (InputError) when they name more than MAX_MEMBERS.
 */
export function memberManifests(
  root: string,
  patterns: readonly string[],
  manifestName: string,
  isExcluded: (dir: string) => boolean,
  owner: string,
  enters: Entered = cargoEnters,
): string[] {
  const found = new Set<string>();
  for (const pattern of patterns) {
    for (const dir of expandDirectoryGlob(root, pattern, enters)) {
      if (dir === root || isExcluded(dir)) continue;
      const manifest = join(dir, manifestName);
      if (!isFile(manifest)) continue;
      found.add(manifest);
      if (found.size > MAX_MEMBERS) {
        throw new InputError(owner, `its workspace member globs name more than ${MAX_MEMBERS.toLocaleString('en-US')} members (${JSON.stringify(pattern)} reaches ${relative(root, manifest)}): stowage reads at most that many, and does not audit a workspace it has not read whole`);
      }
    }
  }
  return [...found].sort();
}

function isFile(path: string): boolean {
  try {
    // Most member globs name directories that are not there (a lockfile audited without its
    // tree): a missing file answers undefined, without the cost of an error thrown and caught.
    return statSync(path, { throwIfNoEntry: false })?.isFile() === true;
  } catch {
    return false;
  }
}

/**
 * The directories under `base` that `pattern` names (`/` or `\` separated). Walked as states
 * (directory, segment) each visited once, with consecutive `**` read as one (as the glob crate
 * Cargo uses reads them): `**` repeated twenty times over eight nested members was a walk of
 * millions of paths, and spreading them overflowed the stack, where cargo lists the members at once.
 */
export function expandDirectoryGlob(base: string, pattern: string, enters: Entered): string[] {
  const segments = globSegments(pattern);
  const found = new Set<string>();
  const seen = new Set<string>();
  const listed = new Map<string, Subdirectory[]>();
  const below = (dir: string): Subdirectory[] => {
    let dirs = listed.get(dir);
    if (dirs === undefined) listed.set(dir, (dirs = subdirectories(dir, enters)));
    return dirs;
  };
  const todo: [dir: string, at: number][] = [[base, 0]];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    const [dir, at] = next;
    const key = `${at}\0${dir}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const head = segments[at];
    if (head === undefined) found.add(dir);
    else if (head === null) {
      // Zero directories, or one more and `**` again.
      todo.push([dir, at + 1]);
      // A symbolic link is one more directory, never walked through by `**` (one to a directory
      // above would be a walk without end): as npm's glob, its contents match the segments after.
      for (const sub of below(dir)) todo.push([sub.path, sub.linked ? at + 1 : at]);
    } else if (typeof head === 'string') {
      // Only into a directory that is there (as the glob crate and npm's glob step): a pattern of
      // 200,000 literal names ("a/a/…") built a path of each length, 4 GB before running out of memory.
      const sub = join(dir, head);
      if (isDirectory(sub)) todo.push([sub, at + 1]);
    }
    else for (const sub of below(dir)) if (head.test(sub.path.slice(dir.length + 1))) todo.push([sub.path, at + 1]);
  }
  return [...found];
}

/** A glob's segments: a name, a segment's wildcard pattern, or null for `**`. */
export type GlobSegment = string | RegExp | null;

/** `pattern` split into segments (`/` or `\`), empty and `.` ones dropped, consecutive `**` read as one. */
export function globSegments(pattern: string): GlobSegment[] {
  const out: GlobSegment[] = [];
  for (const segment of pattern.replace(/\\/g, '/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '**') {
      if (out.length === 0 || out[out.length - 1] !== null) out.push(null);
    } else out.push(/[*?[]/.test(segment) ? segmentRegExp(segment) : segment);
  }
  return out;
}

/**
 * Whether a path's segments `parts` are named by glob `segments` (globSegments), `**` spanning
 * any number of them; `mayEnter` says which names a wildcard (`*`, `**`) may match (npm's walk
 * enters no hidden directory). Each (segment, part) pair is tried once: a pattern of many `**`
 * costs their count times the path's length, not the ways to share the path among them.
 */
export function globSegmentsMatch(segments: readonly GlobSegment[], parts: readonly string[], mayEnter: Entered = () => true): boolean {
  const width = parts.length + 1;
  const failed = new Uint8Array((segments.length + 1) * width);
  const match = (i: number, j: number): boolean => {
    if (i === segments.length) return j === parts.length;
    if (failed[i * width + j] === 1) return false;
    const head = segments[i] as GlobSegment;
    const part = parts[j];
    let ok: boolean;
    if (head === null) ok = match(i + 1, j) || (part !== undefined && mayEnter(part) && match(i, j + 1));
    else if (part === undefined) ok = false;
    else if (typeof head === 'string') ok = head === part && match(i + 1, j + 1);
    else ok = mayEnter(part) && head.test(part) && match(i + 1, j + 1);
    if (!ok) failed[i * width + j] = 1;
    return ok;
  };
  return match(0, 0);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}

/** A directory's entry that is a directory, or a symbolic link to one (`linked`). */
interface Subdirectory {
  path: string;
  linked: boolean;
}

/**
 * The directories in `dir` a wildcard may name, symbolic links to directories among them: cargo
 * 1.95 (the glob crate) makes `crates/lib`, a link to `../vendor/lib`, a member for
 * `members = ["crates/*"]`, as npm's glob does a workspace for `packages/*`.
 */
function subdirectories(dir: string, enters: Entered): Subdirectory[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => enters(e.name))
      .filter((e) => e.isDirectory() || (e.isSymbolicLink() && isDirectory(join(dir, e.name))))
      .map((e) => ({ path: join(dir, e.name), linked: !e.isDirectory() }));
  } catch {
    return [];
  }
}

/** One glob segment as a regular expression over a directory name. */
export function segmentRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close === -1) out += '\\[';
      else {
        out += `[${glob.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
