import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { writeOverInputAtomically } from '../core/atomic-write.js';
import { StowageError } from '../core/errors.js';
import type { LockfileChange } from '../core/ecosystem.js';
import type { FixPlan } from '../core/fix.js';
import type { DependencyGraph } from '../core/graph.js';
import type { HttpOptions } from '../core/http.js';
import { runTool, type ToolLimits } from '../core/run-tool.js';
import { loadFixEcosystem } from '../ecosystems/formats.js';

/**
 * Makes the planned changes with the package manager itself, then says what changed in the
 * lockfile. The files the package manager may rewrite are kept aside first: a failed change
 * puts them back, so a lockfile is never left half-updated.
 */

export interface LockfileDiff {
  lockfile: string;
  /** A unified diff of the lockfile, as `diff -u` writes it; empty when nothing changed. */
  diff: string;
}

/**
 * `path` against its earlier content `before`, as `diff -u` writes it, labelled a/PATH and
 * b/PATH with PATH relative to `root` (default: the file's own directory, so its name alone):
 * a patch `git apply` (or `patch -p1`) takes in the root, sub/Cargo.lock where it lies.
 */
export async function unifiedDiff(path: string, before: Buffer, root: string = dirname(path)): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'stowage-fix-'));
  try {
    const old = join(work, 'before');
    writeFileSync(old, before);
    const name = relative(root, path).split(sep).join('/');
    if (name === '' || name === '..' || name.startsWith('../') || isAbsolute(name)) throw new StowageError(`not under ${root}`, path);
    // diff runs in the scratch directory: a relative path would be looked up there.
    const run = await runTool('diff', ['-u', '--label', `a/${name}`, '--label', `b/${name}`, old, resolve(path)], { cwd: work });
    // 0: the same, 1: they differ; anything else is diff's trouble, never "unchanged".
    if (run.status !== 0 && run.status !== 1) throw new StowageError(`cannot diff the lockfile: ${run.stderr.trim().split('\n')[0] ?? `diff exited ${run.status}`}`, path);
    return run.stdout.toString('utf8');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Applies the changes of `plans` to the lockfile of `graph`; `files` are what the package
 * manager may rewrite (the lockfile, its manifest). Returns the lockfile's diff, its paths
 * relative to `root` (default: the lockfile's directory).
 */
export async function applyFixPlans(
  graph: DependencyGraph,
  plans: readonly FixPlan[],
  options: { allowOverrides: boolean; files: readonly string[]; root?: string; http?: HttpOptions; env?: NodeJS.ProcessEnv; limits?: ToolLimits; untrusted?: boolean },
): Promise<LockfileDiff> {
  const changes: LockfileChange[] = plans.flatMap((p) => (p.change ? [{ pkg: p.package, to: p.change.to, direct: p.change.direct }] : []));
  if (changes.length === 0) return { lockfile: graph.path, diff: '' };
  const eco = await loadFixEcosystem(graph.ecosystem, graph.path, options.http, options.env);
  // Every workspace member's manifest is put back too: npm install -w MEMBER writes the member's package.json.
  const roots = new Set(graph.roots);
  const members = graph.packages.filter((p) => roots.has(p.id)).map((p) => join(dirname(graph.path), eco.manifestOf(p)));
  const kept = new Map([...new Set([...options.files, ...members])].filter((f) => existsSync(f)).map((f) => [f, readFileSync(f)]));
  try {
    await eco.apply(changes, {
      allowOverrides: options.allowOverrides,
      ...(options.env ? { env: options.env } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.untrusted ? { untrusted: true } : {}),
    });
  } catch (err) {
    // The files as they were (read as this run's input: only a restore may write over them).
    for (const [file, bytes] of kept) writeOverInputAtomically(file, bytes);
    throw err;
  }
  const before = kept.get(graph.path);
  return { lockfile: graph.path, diff: before === undefined ? '' : await unifiedDiff(graph.path, before, options.root) };
}
