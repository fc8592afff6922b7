import { dirname, resolve } from 'node:path';
import { expandDirectoryGlob, memberManifests } from '../../core/directory-glob.js';
import { isRecord, parseYamlText } from './lockfile-reading.js';

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

export function npmWorkspaceManifestPaths(rootManifest: string, text: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  return membersOf(dirname(rootManifest), workspaceGlobs(doc));
}

/**
 * The package.json of each member pnpm-workspace.yaml lists (`packages:` globs, `!` excluding),
 * as pnpm finds its workspace projects; the lockfile's importers are these directories.
 */
export function pnpmWorkspaceManifestPaths(workspaceFile: string, text: string): string[] {
  const doc = parseYamlText(workspaceFile, text);
  const list = isRecord(doc) ? doc.packages : undefined;
  const patterns = Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string' && p !== '') : [];
  return membersOf(dirname(workspaceFile), patterns);
}

function membersOf(rootDir: string, patterns: readonly string[]): string[] {
  if (patterns.length === 0) return [];
  const root = resolve(rootDir);
  const excluded = new Set(patterns.filter((p) => p.startsWith('!')).flatMap((p) => expandDirectoryGlob(root, p.slice(1))));
  const included = patterns.filter((p) => !p.startsWith('!'));
  return memberManifests(root, included, 'package.json', (dir) => excluded.has(dir));
}

function workspaceGlobs(doc: unknown): string[] {
  if (typeof doc !== 'object' || doc === null) return [];
  const workspaces = (doc as { workspaces?: unknown }).workspaces;
  const list = Array.isArray(workspaces) ? workspaces : (workspaces as { packages?: unknown } | undefined)?.packages;
  return Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string' && p !== '') : [];
}
