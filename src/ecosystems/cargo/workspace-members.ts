import { dirname, resolve } from 'node:path';
import { parse, type TomlTable } from 'smol-toml';
import { memberManifests, segmentRegExp } from '../../core/directory-glob.js';
import { holdsUnsafeInteger, isTomlTable, tomlStrings } from '../../core/toml-values.js';

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
  // As Cargo: an excluded path excludes everything under it (trailing slashes do not matter).
  const excluded = tomlStrings(workspace.exclude).map((p) => resolve(root, p));
  const isExcluded = (dir: string): boolean => excluded.some((ex) => dir === ex || dir.startsWith(`${ex}/`));
  return memberManifests(root, tomlStrings(workspace.members), 'Cargo.toml', isExcluded);
}

/**
 * A test of whether a workspace-relative path (`crates/a`) is named by a member glob, read as
 * Cargo reads one: `*`, `?` and `[...]` within a segment, `**` across any number of segments.
 */
export function memberGlobMatcher(glob: string): (path: string) => boolean {
  // Most members are named literally (`server/daemon`): a segment without `*`, `?` or `[` is
  // compared as a string, with no expression compiled for it.
  const pattern = glob
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .map((segment) => (segment === '**' ? null : /[*?[]/.test(segment) ? segmentRegExp(segment) : segment));
  return (path) => {
    const parts = path.split('/').filter((s) => s !== '' && s !== '.');
    const match = (i: number, j: number): boolean => {
      if (i === pattern.length) return j === parts.length;
      const head = pattern[i];
      if (head === null) return match(i + 1, j) || (j < parts.length && match(i, j + 1));
      if (j >= parts.length) return false;
      const part = parts[j] as string;
      return (typeof head === 'string' ? head === part : (head as RegExp).test(part)) && match(i + 1, j + 1);
    };
    return match(0, 0);
  };
}

/** memberGlobMatcher, for one test. */
export function matchesMemberGlob(glob: string, path: string): boolean {
  return memberGlobMatcher(glob)(path);
}

