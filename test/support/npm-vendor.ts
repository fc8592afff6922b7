import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findLockfiles, readDependencyGraph } from '../../src/inputs/lockfiles.js';
import { vendorNpm } from '../../src/vendoring/npm.js';
import { ContentCache } from '../../src/vendoring/content-cache.js';
import { Downloader } from '../../src/vendoring/download.js';
import type { VendorResult } from '../../src/vendoring/vendor-tree.js';
import { PROJECT_ROOT } from './shared.js';

/* What the npm-family vendoring tests share: the fixture app, the environment, the registry check. */

export const NPM_APP = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-app');
/** What the fixture app prints when every dependency is installed. */
export const NPM_APP_OUTPUT = 'ms=172800000 semver=true is-number=true chalk=plain debug=true';
/** Nothing listens on the discard port: a request there fails at once. */
export const DEAD = 'http://127.0.0.1:9/';

/** The environment without npm's and yarn's own settings (`npm test` exports npm_config_*) and proxies. */
export function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm|yarn)_/i.test(key) || /^(https?|all|no)_proxy$/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Why the end-to-end tests cannot run here, or null when they can. */
export async function whyNoRegistry(): Promise<string | null> {
  if (spawnSync('npm', ['--version'], { encoding: 'utf8' }).status !== 0) return 'npm is not installed';
  try {
    const response = await fetch('https://registry.npmjs.org/ms', { method: 'HEAD', signal: AbortSignal.timeout(15_000) });
    return response.ok ? null : `the npm registry answered HTTP ${response.status}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return `the npm registry is unreachable (${cause})`;
  }
}

/** Vendors the application in `dir` (its lockfile found as `stowage vendor` finds it). */
export async function vendorDir(dir: string, cacheDir: string): Promise<{ result: VendorResult; warnings: string[] }> {
  const [location] = findLockfiles(dir);
  assert.ok(location);
  const graph = await readDependencyGraph(location);
  const warnings: string[] = [];
  const downloader = new Downloader({ cache: new ContentCache(cacheDir), attempts: 2, backoffMs: 50 });
  const result = await vendorNpm(graph, { projectDir: dir, downloader, warn: (m) => warnings.push(m), env: {} });
  return { result, warnings };
}

/** The vendored files, written under `dir` as extracting the archive would. */
export function writeFiles(dir: string, result: VendorResult): void {
  for (const file of result.files) {
    const target = join(dir, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.data, { mode: file.mode });
  }
}
