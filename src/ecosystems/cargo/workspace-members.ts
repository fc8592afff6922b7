import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parse, type TomlTable } from 'smol-toml';
import { globSegments, globSegmentsMatch, memberManifests } from '../../core/directory-glob.js';
import { InputError } from '../../core/errors.js';
import { holdsUnsafeInteger, isTomlTable, tomlStrings } from '../../core/toml-values.js';
import { dependencyTables } from './manifest-dependencies.js';

/**
 * The Cargo.toml of each workspace member the root manifest lists (`[workspace] members`,
 * globs included, minus `exclude`), found on disk beside the lockfile. Cargo.lock does not
 * say which dependencies are dev-dependencies; the members' manifests do.
 *
 * Members that exist nowhere (a lockfile audited without its source tree) are simply not
 * found. A root manifest that is not TOML yields nothing here: the lockfile parser reports it.
 */

export function memberManifestPaths(rootManifest: string, text: string): string[] {
  return memberManifestPathsOf(rootManifest, parseManifestQuietly(text));
}

/** The root manifest as TOML, or null when it is not (the lockfile parser reports that). */
export function parseManifestQuietly(text: string): TomlTable | null {
  let doc: TomlTable;
  try {
    doc = parseManifestToml(text);
  } catch {
    return null;
  }
  // As smol-toml's default reading, which refuses an integer a number cannot hold.
  return holdsUnsafeInteger(doc) ? null : doc;
}

/** The manifest parsed last, by its text: see parseManifestToml. */
let lastManifest: { text: string; doc: TomlTable } | null = null;

/**
 * A Cargo manifest as TOML, integers as BigInt (`version = 3.0`, a float, is not `3`); throws
 * smol-toml's errors. Reading an application parses its root manifest to find the members, and
 * the lockfile parser wants it right after: the last one parsed is remembered, so it is parsed
 * once. Its readers only read the document, never change it.
 */
export function parseManifestToml(text: string): TomlTable {
  if (lastManifest !== null && lastManifest.text === text) return lastManifest.doc;
  const doc = parse(text, { integersAsBigInt: true });
  lastManifest = { text, doc };
  return doc;
}

/** memberManifestPaths for a root manifest already parsed (null: not TOML, nothing found). */
export function memberManifestPathsOf(rootManifest: string, doc: TomlTable | null): string[] {
  if (doc === null) return [];
  const workspace = doc.workspace;
  if (!isTomlTable(workspace)) return [];
  const root = resolve(dirname(rootManifest));
  // As Cargo: an excluded path excludes everything under it (trailing slashes do not matter),
  // but for a member written as that path or a directory above it (cargo's is_excluded: cargo
  // 1.95 lists crates/util as a member for `members = ["crates/util"]`, `exclude = ["crates/util"]`).
  const under = (dir: string, paths: readonly string[]): boolean => paths.some((p) => dir === p || dir.startsWith(`${p}/`));
  const excluded = tomlStrings(workspace.exclude).map((p) => resolve(root, p));
  const members = tomlStrings(workspace.members);
  const written = members.map((p) => resolve(root, p));
  const isExcluded = (dir: string): boolean => under(dir, excluded) && !under(dir, written);
  return memberManifests(root, members, 'Cargo.toml', isExcluded, rootManifest);
}

/**
 * A test of whether a workspace-relative path (`crates/a`) is named by a member glob, read as
 * Cargo reads one: `*`, `?` and `[...]` within a segment, `**` across any number of segments.
 */
export function memberGlobMatcher(glob: string): (path: string) => boolean {
  const segments = globSegments(glob);
  return (path) => globSegmentsMatch(segments, path.split('/').filter((s) => s !== '' && s !== '.'));
}

/** memberGlobMatcher, for one test. */
export function matchesMemberGlob(glob: string, path: string): boolean {
  return memberGlobMatcher(glob)(path);
}


/**
 * At most this many path packages' manifests are followed from one workspace (each one's text is
 * held). Past it the workspace is refused, as one with too many members is: a path package left
 * unread would have its dependencies go unchecked against the lockfile, silently.
 */
const MAX_PATH_PACKAGES = 2000;

/**
 * The root manifest at `rootPath` and each workspace member's, parsed (a member's `doc` null when
 * it cannot be read or is not TOML); null when the root cannot be. What packaging reads of the
 * application's own crates (their declarations, their licences).
 */
export function readWorkspaceManifests(rootPath: string): { root: TomlTable; members: { path: string; doc: TomlTable | null }[] } | null {
  const read = (path: string): TomlTable | null => {
    try {
      return parseManifestQuietly(readFileSync(path, 'utf8'));
    } catch {
      return null;
    }
  };
  const root = read(rootPath);
  if (root === null) return null;
  return { root, members: memberManifestPathsOf(rootPath, root).map((path) => ({ path, doc: read(path) })) };
}

/**
 * The Cargo.toml of each path package the workspace's manifests name, as `read` finds them:
 * every dependency table's `path` entries (relative to the manifest naming them), the root's
 * `[workspace.dependencies]`, `[patch.*]` and `[replace]` paths, and the path dependencies of
 * those packages in turn. Cargo resolves their dependencies into the same Cargo.lock, so a
 * lockfile older than one of them is resolved anew by `cargo build` as for a member. The root's
 * and members' own manifests (already parsed) are left out.
 */
export function pathPackageManifests(
  root: { path: string; doc: TomlTable },
  members: readonly { path: string; doc: TomlTable | null }[],
  read: (path: string) => string | null,
): { path: string; text: string }[] {
  const known = new Set([resolve(root.path), ...members.map((m) => resolve(m.path))]);
  const found: { path: string; text: string }[] = [];
  const queue: string[] = [];
  const collect = (dir: string, table: unknown): void => {
    if (!isTomlTable(table)) return;
    for (const spec of Object.values(table)) {
      if (!isTomlTable(spec) || typeof spec.path !== 'string') continue;
      const manifest = resolve(dir, spec.path, 'Cargo.toml');
      if (known.has(manifest)) continue;
      known.add(manifest);
      queue.push(manifest);
    }
  };
  const walk = (path: string, doc: TomlTable | null): void => {
    if (doc === null) return;
    const dir = dirname(resolve(path));
    for (const { table } of dependencyTables(doc)) collect(dir, table);
  };
  walk(root.path, root.doc);
  const rootDir = dirname(resolve(root.path));
  if (isTomlTable(root.doc.workspace)) collect(rootDir, root.doc.workspace.dependencies);
  if (isTomlTable(root.doc.patch)) for (const registry of Object.values(root.doc.patch)) collect(rootDir, registry);
  collect(rootDir, root.doc.replace);
  for (const member of members) walk(member.path, member.doc);
  for (let next = 0; next < queue.length; next++) {
    const manifest = queue[next] as string;
    const text = read(manifest);
    if (text === null) continue;
    if (found.length === MAX_PATH_PACKAGES) {
      throw new InputError(
        root.path,
        `its manifests name more than ${MAX_PATH_PACKAGES.toLocaleString('en-US')} path packages (one is ${relative(dirname(resolve(root.path)), manifest)}): stowage reads at most that many, and does not audit a workspace it has not read whole`,
      );
    }
    found.push({ path: manifest, text });
    if (text.includes('path')) {
      try {
        walk(manifest, parse(text, { integersAsBigInt: true }));
      } catch {
        // Not TOML: cargo fails on it, and nothing of it is checked here.
      }
    }
  }
  return found;
}
