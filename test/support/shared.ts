import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditReport, jsonReportOf } from './audit-report.js';
import { checkFleetOutput } from './fleet-report.js';

/** The project root (dist/test/support -> root). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** ../shared beside the project: real data, read in place, never copied into the repo. */
export const SHARED = resolve(PROJECT_ROOT, '..', 'shared');
export const CARGO_CORPUS = join(SHARED, 'corpus', 'cargo');
export const NPM_CORPUS = join(SHARED, 'corpus', 'npm');
export const GHSA_NPM = join(SHARED, 'advisories', 'ghsa-npm');
export const ADVISORY_DB_BUNDLE = join(SHARED, 'advisory-db', 'rustsec-advisory-db.bundle');

export function corpusFiles(dir: string, suffix: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * A checkout of the shared RustSec bundle at `ref` (`origin/main`, `origin/osv` or a commit),
 * made once per machine and bundle version and reused by every test file.
 */
export function advisoryDbCheckout(ref: 'origin/main' | 'origin/osv' | string = 'origin/main'): string {
  const stamp = statSync(ADVISORY_DB_BUNDLE).mtimeMs.toFixed(0);
  const safeRef = ref.replace(/[^A-Za-z0-9]/g, '_');
  const dir = join(tmpdir(), `stowage-test-advisory-db-${stamp}-${safeRef}`);
  if (existsSync(join(dir, '.stowage-ready'))) return dir;
  const work = `${dir}.${process.pid}.tmp`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(dirname(work), { recursive: true });
  execFileSync('git', ['clone', '--quiet', '--no-checkout', ADVISORY_DB_BUNDLE, work], { stdio: 'ignore' });
  execFileSync('git', ['-C', work, 'checkout', '--quiet', '--detach', ref], { stdio: 'ignore' });
  execFileSync('touch', [join(work, '.stowage-ready')]);
  try {
    renameSync(work, dir);
  } catch {
    // Another test process won the race; its checkout is as good as ours.
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}

/**
 * The environment the CLI runs in: the test's own, no colour, its own cache directory, and its own
 * data directory (a fleet command without --store never writes the store of the user running the tests).
 */
function cliEnv(options: { cacheDir: string; env?: NodeJS.ProcessEnv }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NO_COLOR: '1',
    FORCE_COLOR: undefined,
    STOWAGE_CACHE_DIR: options.cacheDir,
    XDG_DATA_HOME: join(options.cacheDir, 'data'),
    STOWAGE_FLEET_STORE: undefined,
    ...options.env,
  };
}

/** Runs the built CLI as a user would, with its own cache directory. */
export function runCli(
  args: string[],
  options: { cacheDir: string; cwd?: string; env?: NodeJS.ProcessEnv; input?: string } ,
): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'stowage.cjs'), ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: cliEnv(options),
    encoding: 'utf8',
    input: options.input ?? '',
    maxBuffer: 256 * 1024 * 1024,
  });
  return checkedRun(args, options.cwd, { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr });
}

/**
 * Every JSON audit report and fleet output a test makes is checked against the published schema,
 * whatever the test itself asserts: a report (exit 0 or 1) that does not match it fails the test.
 */
function checkedRun<R extends { status: number; stdout: string }>(args: string[], cwd: string | undefined, run: R): R {
  if (run.status === 0 || run.status === 1) {
    const report = jsonReportOf(args, cwd ?? PROJECT_ROOT, run.stdout);
    if (report !== null) auditReport(report);
    checkFleetOutput(args, run.stdout);
  }
  return run;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `stowage-${prefix}-`));
}

/** Writes `files` (relative path -> text) under a new temporary directory; returns it. */
export function tempTree(prefix: string, files: Record<string, string>): string {
  const root = tempDir(prefix);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/**
 * runCli, without blocking this process: needed when the test itself serves what the CLI
 * fetches (a local registry on 127.0.0.1 answering from this same event loop).
 */
export function runCliAsync(
  args: string[],
  options: { cacheDir: string; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'stowage.cjs'), ...args], {
      cwd: options.cwd ?? PROJECT_ROOT,
      env: cliEnv(options),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolvePromise(
          checkedRun(args, options.cwd, { status: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
        );
      } catch (invalid) {
        reject(invalid as Error);
      }
    });
  });
}

/** The sha256 of some bytes (or text), as hex. */
export function sha256Of(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The sha256 of a file's bytes, as hex: what a reproducibility check compares. */
export function sha256OfFile(file: string): string {
  return sha256Of(readFileSync(file));
}

/** Vendored files (a VendorResult's), written under `dir` as extracting the archive would. */
export function writeFiles(dir: string, files: ReadonlyArray<{ path: string; data: Buffer; mode: number }>): void {
  for (const file of files) {
    const target = join(dir, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.data, { mode: file.mode });
  }
}

/** A refusal: exit 2, nothing on standard output, and one line on standard error, returned. */
export function refusal(run: { status: number | null; stdout: string; stderr: string }): string {
  assert.equal(run.status, 2, run.stdout + run.stderr);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  return lines[0] as string;
}
