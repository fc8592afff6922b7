/**
 * `stowage fleet sync` on the reference fleet (bench/fleet-generator.ts: 10,000 applications by
 * default, BENCH_FLEET_APPS to change it) after RustSec moves from its 2024-12-28 revision to the
 * head of the shared bundle (799 commits: 503 advisories added, 75 changed, 1 withdrawn), and
 * `stowage fleet affected ID` over the same fleet, on SQLite and PostgreSQL (skipped when not
 * reachable). Targets (issue 9): sync at most 5 s with peak RSS under 1 GiB; affected under 1 s.
 * Not timed: the add of the fleet and the first sync (which records the advisory state), and the
 * advisory index of the new revision (built once, as any `stowage audit` after the move does;
 * its time is recorded beside). The add is timed beside bench/baselines/parse-fleet.ts run right
 * after it, as bench/fleet.ts does, so one run at 10,000 gives every figure of issue 9.
 * Results: the `sync` key of bench/results/fleet.json.
 * Run alone with `node dist/bench/fleet-sync.js`, or from bench/run.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateFleet } from './fleet-generator.js';
import { machineNow, timedCommand, type TimedRun } from './timed-command.js';
import { postgresStore } from './fleet.js';
import { ROOT, SHARED, writeResults } from './results-file.js';

const STOWAGE = join(ROOT, 'bin', 'stowage.cjs');
const BASELINE = join(ROOT, 'dist', 'bench', 'baselines', 'parse-fleet.js');
const BUNDLE = join(SHARED, 'advisory-db', 'rustsec-advisory-db.bundle');
const GHSA = join(SHARED, 'advisories', 'ghsa-npm');
const APPS = Number(process.env.BENCH_FLEET_APPS ?? 10_000);
/** The shared bundle's main branch at the end of 2024-12-28 (as test/support/rustsec-history.ts). */
const OLD = '3c6d3186ab06737d1defd2b5ae556d0ecd161603';
const SYNC_LIMIT_MS = 5000;
const SYNC_RSS_LIMIT_MB = 1024;
const AFFECTED_LIMIT_MS = 1000;
/** An advisory added after 2024-12-28 and present in many applications (idna's, RUSTSEC-2024-0421, is older). */
const AFFECTED_ID = 'CVE-2024-12224';

type Run = TimedRun;

const timed = (cmd: string[], env: NodeJS.ProcessEnv): Run => timedCommand(cmd, env);

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

export async function benchFleetSync(): Promise<{ withinLimit: boolean } & Record<string, unknown>> {
  const work = mkdtempSync(join(tmpdir(), 'stowage-bench-fleet-sync-'));
  try {
    const env = { ...process.env, STOWAGE_CACHE_DIR: join(work, 'cache'), NO_COLOR: '1' };
    const node = process.execPath;
    const generated = generateFleet(join(work, 'apps'), APPS);
    const db = join(work, 'advisory-db');
    execFileSync('git', ['clone', '--quiet', '--no-checkout', BUNDLE, db]);
    const checkout = (rev: string): void => {
      execFileSync('git', ['-C', db, 'checkout', '--quiet', '--detach', rev]);
    };
    const fleet = (store: string, ...args: string[]): Run => timed([node, STOWAGE, 'fleet', ...args, '--store', store], env);
    // Builds the advisory index of the checkout as it is, outside the timed runs.
    const warmIndex = (): number => timed([node, STOWAGE, 'audit', generated.lockfiles[0] as string, '--db', db, '--no-fetch', '--format', 'json'], env).ms;

    const measure = (store: string): Record<string, unknown> => {
      checkout(OLD);
      fleet(store, 'init', '--db', db, '--db', GHSA, '--no-fetch');
      const add = fleet(store, 'add', '--from-file', generated.list, '--no-fetch');
      // One node process merely reading and parsing the same lockfiles, right after the add: the ratio bench/fleet.ts reports.
      const baseline = timed([node, BASELINE, generated.list], env);
      const first = fleet(store, 'sync', '--no-fetch', '--format', 'json');
      checkout('origin/main');
      const indexMs = warmIndex();
      const sync = fleet(store, 'sync', '--no-fetch', '--format', 'json');
      const body = JSON.parse(sync.stdout) as { summary: Record<string, unknown>; changes: unknown[] };
      const affected = [1, 2, 3].map(() => fleet(store, 'affected', AFFECTED_ID, '--format', 'json'));
      const affectedApps = (JSON.parse(affected[0]?.stdout ?? '{}') as { apps?: unknown[] }).apps?.length ?? 0;
      return {
        addMs: add.ms,
        addCpuMs: add.cpuMs,
        addPeakRssMb: add.peakRssMb,
        baseline: { ms: baseline.ms, cpuMs: baseline.cpuMs },
        addRatio: Math.round((add.ms / baseline.ms) * 100) / 100,
        firstSyncMs: first.ms,
        newIndexMs: indexMs,
        sync: { ms: sync.ms, cpuMs: sync.cpuMs, peakRssMb: sync.peakRssMb, summary: body.summary },
        affected: { id: AFFECTED_ID, medianMs: median(affected.map((r) => r.ms)), runs: affected.map((r) => r.ms), cpuMs: affected.map((r) => r.cpuMs), applications: affectedApps },
        withinLimit:
          sync.ms <= SYNC_LIMIT_MS && (sync.peakRssMb ?? 0) < SYNC_RSS_LIMIT_MB && median(affected.map((r) => r.ms)) < AFFECTED_LIMIT_MS,
      };
    };

    const sqlite = measure(join(work, 'fleet.sqlite'));
    const pgDb = await postgresStore();
    let postgres: Record<string, unknown>;
    if (pgDb === null) postgres = { skipped: 'PostgreSQL not reachable (STOWAGE_TEST_POSTGRES)' };
    else {
      try {
        postgres = measure(pgDb.url);
      } finally {
        await pgDb.drop();
      }
    }
    const result = {
      fleet: { applications: APPS, bases: generated.bases, how: 'bench/fleet-generator.ts', where: 'OS temp directory (removed)' },
      move: { database: 'the shared RustSec bundle, a git checkout moved', from: OLD, to: 'origin/main (head of the bundle)' },
      limits: { syncMs: SYNC_LIMIT_MS, syncPeakRssMb: SYNC_RSS_LIMIT_MB, affectedMs: AFFECTED_LIMIT_MS },
      sqlite,
      postgres,
      withinLimit: sqlite.withinLimit === true && (postgres.withinLimit ?? true) === true,
    };
    const line = (name: string, r: Record<string, unknown>): string => {
      if (!('sync' in r)) return `${name} skipped`;
      const s = r.sync as Run;
      const a = r.affected as { medianMs: number };
      return `${name}: sync ${s.ms} ms, peak ${s.peakRssMb} MB; affected ${a.medianMs} ms`;
    };
    console.log(`fleet sync of ${APPS} applications after RustSec 2024-12-28 -> head: ${line('SQLite', sqlite)}; ${line('PostgreSQL', postgres)}`);
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = join(ROOT, 'bench', 'results', 'fleet.json');
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  const machine = machineNow();
  const sync = { date: new Date().toISOString(), machine, ...(await benchFleetSync()) };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeResults(file, { ...previous, sync });
  if (!sync.withinLimit) process.exitCode = 1;
}
