/**
 * The fleet's reading commands on the reference fleet (bench/fleet-generator.ts: 10,000
 * applications by default, BENCH_FLEET_APPS to change it), each application with two revisions:
 * the fleet is added at RustSec's 2024-12-28 revision, snapshot `s1` recorded, every application
 * added again with another variant of its lockfile (a new revision each) at the head of the
 * shared bundle, snapshot `s2` recorded. Then each command is timed once (wall, CPU, peak RSS,
 * bytes written): `fleet status` (text, JSON, summary), `snapshot`, `diff --snapshots s1 s2`
 * (text, JSON), `affected ID`, `affected NAME`, `show`, `history`, `diff APP REV REV`, `export`
 * (vex, cyclonedx, spdx) and `triage --all`. Issue 9: answers in about a second where the answer
 * is small, memory well under 1 GiB everywhere, none per-application statements.
 * SQLite, and PostgreSQL when reachable (STOWAGE_TEST_POSTGRES).
 * Results: the `reads` key of bench/results/fleet.json. Run with `node dist/bench/fleet-reads.js`.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateFleet, type GeneratedFleet } from './fleet-generator.js';
import { machineNow, timedCommand, type TimedRun } from './timed-command.js';
import { postgresStore } from './fleet.js';
import { ROOT, SHARED, writeResults } from './results-file.js';

const STOWAGE = join(ROOT, 'bin', 'stowage.cjs');
const BUNDLE = join(SHARED, 'advisory-db', 'rustsec-advisory-db.bundle');
const GHSA = join(SHARED, 'advisories', 'ghsa-npm');
const APPS = Number(process.env.BENCH_FLEET_APPS ?? 10_000);
/** The shared bundle's main branch at the end of 2024-12-28 (as bench/fleet-sync.ts). */
const OLD = '3c6d3186ab06737d1defd2b5ae556d0ecd161603';
const RSS_LIMIT_MB = 1024;

type Run = TimedRun;

const timed = (cmd: string[], env: NodeJS.ProcessEnv, out: string): Run => timedCommand(cmd, env, { file: out });

/**
 * The same applications, each with another variant of its base lockfile: application `stem-vN`
 * gets what the generator writes for `stem-v(N+1)` (generated with one more variant per base).
 */
function nextRevisions(fleet: GeneratedFleet, dir: string): string {
  const more = generateFleet(join(dir, 'generated'), APPS + fleet.bases);
  const out = join(dir, 'apps');
  mkdirSync(out, { recursive: true });
  const lockfiles = fleet.lockfiles.map((lock) => {
    const m = /^(.*)-v(\d+)(\.Cargo\.lock|\.package-lock\.json)$/.exec(basename(lock));
    if (m === null) throw new Error(`${lock}: not a generated lockfile name`);
    const [, stem, n, suffix] = m as unknown as [string, string, string, string];
    const manifest = suffix === '.Cargo.lock' ? '.Cargo.toml' : '.package.json';
    const from = (s: string): string => join(more.dir, `${stem}-v${Number(n) + 1}${s}`);
    copyFileSync(from(suffix), join(out, basename(lock)));
    copyFileSync(from(manifest), join(out, `${stem}-v${n}${manifest}`));
    return join(out, basename(lock));
  });
  rmSync(more.dir, { recursive: true, force: true });
  const list = join(out, 'apps.txt');
  writeFileSync(list, lockfiles.join('\n') + '\n');
  return list;
}

export async function benchFleetReads(): Promise<{ withinLimit: boolean } & Record<string, unknown>> {
  const work = mkdtempSync(join(tmpdir(), 'stowage-bench-fleet-reads-'));
  try {
    const env = { ...process.env, STOWAGE_CACHE_DIR: join(work, 'cache'), NO_COLOR: '1' };
    const generated = generateFleet(join(work, 'apps'), APPS);
    const second = nextRevisions(generated, join(work, 'apps2'));
    const db = join(work, 'advisory-db');
    execFileSync('git', ['clone', '--quiet', '--no-checkout', BUNDLE, db]);
    const checkout = (rev: string): void => {
      execFileSync('git', ['-C', db, 'checkout', '--quiet', '--detach', rev]);
    };
    const output = join(work, 'out');
    const fleet = (store: string, ...args: string[]): Run => timed([process.execPath, STOWAGE, 'fleet', ...args, '--store', store], env, output);
    // An application of several revisions, and the package most of the Rust applications lock.
    const app = basename(generated.lockfiles.find((l) => l.endsWith('.Cargo.lock')) as string).replace(/\.Cargo\.lock$/, '');

    const measure = (store: string): Record<string, unknown> => {
      checkout(OLD);
      fleet(store, 'init', '--db', db, '--db', GHSA, '--no-fetch');
      fleet(store, 'add', '--from-file', generated.list, '--no-fetch');
      fleet(store, 'snapshot', 's1');
      checkout('origin/main');
      fleet(store, 'add', '--from-file', second, '--no-fetch');
      fleet(store, 'snapshot', 's2');
      fleet(store, 'history', app, '--format', 'json');
      const revisions = (JSON.parse(readFileSync(output, 'utf8')) as { history: { revision: { id: string } }[] }).history.map((h) => h.revision.id);
      const commands: [string, string[]][] = [
        ['status', ['status']],
        ['status json', ['status', '--format', 'json']],
        ['status --summary', ['status', '--summary']],
        ['snapshot', ['snapshot', 's3']],
        ['diff --snapshots', ['diff', '--snapshots', 's1', 's2']],
        ['diff --snapshots json', ['diff', '--snapshots', 's1', 's2', '--format', 'json']],
        ['affected CVE-2024-12224', ['affected', 'CVE-2024-12224', '--format', 'json']],
        ['affected serde', ['affected', 'serde', '--format', 'json']],
        ['show', ['show', app, '--format', 'json']],
        ['history', ['history', app]],
        ['diff APP REV REV', ['diff', app, revisions[0] as string, revisions.at(-1) as string, '--format', 'json']],
        ['export vex', ['export', app, '--format', 'vex']],
        ['export cyclonedx', ['export', app, '--format', 'cyclonedx']],
        ['export spdx', ['export', app, '--format', 'spdx']],
        ['triage --all', ['triage', '--all', 'RUSTSEC-2024-0421', '--state', 'in_triage', '--reason', 'bench']],
      ];
      const runs: Record<string, Run> = {};
      for (const [name, args] of commands) runs[name] = fleet(store, ...args);
      return { app, runs, withinLimit: Object.values(runs).every((r) => (r.peakRssMb ?? 0) < RSS_LIMIT_MB) };
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
    for (const [name, r] of [['SQLite', sqlite], ['PostgreSQL', postgres]] as const) {
      if (!('runs' in r)) continue;
      for (const [command, run] of Object.entries(r.runs as Record<string, Run>)) console.log(`${name} ${command}: ${run.ms} ms, ${run.cpuMs} ms CPU, peak ${run.peakRssMb} MB, ${run.bytes} bytes`);
    }
    return {
      fleet: { applications: APPS, revisionsEach: 2, bases: generated.bases, how: 'bench/fleet-generator.ts, then each application with its next variant', where: 'OS temp directory (removed)' },
      limits: { peakRssMb: RSS_LIMIT_MB },
      sqlite,
      postgres,
      withinLimit: sqlite.withinLimit === true && (postgres.withinLimit ?? true) === true,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = join(ROOT, 'bench', 'results', 'fleet.json');
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  const machine = machineNow();
  const reads = { date: new Date().toISOString(), machine, ...(await benchFleetReads()) };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeResults(file, { ...previous, reads });
  if (!reads.withinLimit) process.exitCode = 1;
}
