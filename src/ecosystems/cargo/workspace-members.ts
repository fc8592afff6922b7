import { dirname, resolve } from 'node:path';
import { parse, type TomlTable } from 'smol-toml';
import { memberManifests, segmentRegExp } from '../../core/directory-glob.js';
import { isTomlTable, tomlStrings } from '../../core/toml-values.js';

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
  try {
    return parse(text);
  } catch {
    return null;
  }
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
  const pattern = glob
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .map((segment) => (segment === '**' ? null : segmentRegExp(segment)));
  return (path) => {
    const parts = path.split('/').filter((s) => s !== '' && s !== '.');
    const match = (i: number, j: number): boolean => {
      if (i === pattern.length) return j === parts.length;
      const head = pattern[i];
      if (head === null) return match(i + 1, j) || (j < parts.length && match(i, j + 1));
      return j < parts.length && (head as RegExp).test(parts[j] as string) && match(i + 1, j + 1);
    };
    return match(0, 0);
  };
}

/** memberGlobMatcher, for one test. */
export function matchesMemberGlob(glob: string, path: string): boolean {
  return memberGlobMatcher(glob)(path);
}

