import { basename, dirname, isAbsolute, relative } from 'node:path';
import type { DependencyGraph } from '../../core/graph.js';
import { shortList } from '../../core/short-list.js';

/**
 * A lockfile older than its manifests: `unlocked` names (`name@specifier`) what the manifests at
 * `manifestPaths` ask for that the lockfile does not lock as asked. The package manager's frozen
 * install (npm ci, pnpm's CI default) refuses such a lockfile and a plain install resolves those
 * anew, so what is locked is audited as it is, with a warning, and the graph is stale (not
 * vendored). The package-lock and pnpm-lock readers say it alike. The warning says which of
 * those files moved since locking (pnpm-workspace.yaml, a member's package.json), not always
 * package.json.
 */
export function noteStaleLockfile(graph: DependencyGraph, manifestPaths: readonly string[], unlocked: readonly string[]): void {
  if (unlocked.length === 0) return;
  const listed = shortList(unlocked);
  const changed = [...new Set(manifestPaths.map((path) => besideLockfile(graph.path, path)))];
  (graph.warnings ??= []).push(
    `${manifestPaths.join(', ')}: ${listed} not locked as asked in ${graph.path}: the lockfile is older than ${changed.join(', ')}; the audit covers what it locks`,
  );
  graph.stale = `${listed} from ${changed.join(', ')} not locked`;
}

/** A manifest's path from the lockfile's directory (`packages/b/package.json`); its file name when it lies elsewhere. */
function besideLockfile(lockfile: string, manifest: string): string {
  // A setting from the environment (`the environment (npm_config_lockfile)`) is not a file.
  if (manifest.startsWith('the environment (')) return manifest;
  const path = relative(dirname(lockfile), manifest);
  return path === '' || path.startsWith('..') || isAbsolute(path) ? basename(manifest) : path;
}
