import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse, type TomlTable } from 'smol-toml';
import { isTomlTable, tomlStrings } from '../../core/toml-values.js';

/**
 * The Cargo.toml of each workspace member the root manifest lists (`[workspace] members`,
 * globs included, minus `exclude`), found on disk beside the lockfile. Cargo.lock does not
 * say which dependencies are dev-dependencies; the members' manifests do.
 *
 * Members that exist nowhere (a lockfile audited without its source tree) are simply not
 * found. A root manifest that is not TOML yields nothing here: the lockfile parser reports it.
 */

/** Beyond this many member manifests the rest are not read (a hostile or runaway glob). */
const MAX_MEMBERS = 2000;

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
  const found = new Set<string>();
  for (const pattern of tomlStrings(workspace.members)) {
    for (const dir of expand(root, pattern.replace(/\\/g, '/').split('/').filter((s) => s !== '' && s !== '.'))) {
      if (found.size >= MAX_MEMBERS) break;
      if (dir === root || isExcluded(dir)) continue;
      const manifest = join(dir, 'Cargo.toml');
      if (isFile(manifest)) found.add(manifest);
    }
  }
  return [...found].sort();
}

/** The directories a member glob names: `*`, `?` and `[...]` within a segment, `**` across them. */
function expand(base: string, segments: string[]): string[] {
  if (segments.length === 0) return [base];
  const [head, ...rest] = segments as [string, ...string[]];
  if (head === '**') {
    // Zero directories, or one more and `**` again.
    const out = expand(base, rest);
    for (const dir of subdirectories(base)) out.push(...expand(dir, segments));
    return out;
  }
  if (!/[*?[]/.test(head)) return expand(join(base, head), rest);
  const matcher = segmentRegExp(head);
  return subdirectories(base)
    .filter((dir) => matcher.test(dir.slice(base.length + 1)))
    .flatMap((dir) => expand(dir, rest));
}

function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'target' && e.name !== 'node_modules')
      .map((e) => join(dir, e.name));
  } catch {
    return [];
  }
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

function segmentRegExp(glob: string): RegExp {
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

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

