import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/*
 * Workspace member globs (Cargo's `[workspace] members`, npm's and yarn's `workspaces`, pnpm's
 * `packages`): `*`, `?` and `[...]` within a segment, `**` across any number of them. Read
 * by hand because each package manager walks the tree without following hidden directories,
 * `node_modules` or `target`, which a general glob library does not know to skip.
 */

/** Beyond this many member manifests the rest are not read (a hostile or runaway glob). */
const MAX_MEMBERS = 2000;

/**
 * The `manifestName` file of each member directory the `patterns` name under `root`, sorted:
 * the root itself and directories `isExcluded` says to skip are left out.
 */
export function memberManifests(
  root: string,
  patterns: readonly string[],
  manifestName: string,
  isExcluded: (dir: string) => boolean,
): string[] {
  const found = new Set<string>();
  for (const pattern of patterns) {
    for (const dir of expandDirectoryGlob(root, pattern)) {
      if (found.size >= MAX_MEMBERS) break;
      if (dir === root || isExcluded(dir)) continue;
      const manifest = join(dir, manifestName);
      if (isFile(manifest)) found.add(manifest);
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

/** The directories under `base` that `pattern` names (`/` or `\` separated). */
export function expandDirectoryGlob(base: string, pattern: string): string[] {
  return expand(base, pattern.replace(/\\/g, '/').split('/').filter((s) => s !== '' && s !== '.'));
}

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
