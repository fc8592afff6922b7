/**
 * `stowage fleet add --from-file` of the reference fleet (bench/fleet-generator.ts: 10,000
 * applications by default, BENCH_FLEET_APPS to change it) into a fresh store, SQLite and
 * PostgreSQL (skipped when not reachable at STOWAGE_TEST_POSTGRES), beside one node process
 * merely reading and parsing the same lockfiles (bench/baselines/parse-fleet.ts). One run each
 * (a run is minutes), the baseline between the two stores so a noisy machine weighs on all.
 * The fleet is written under the OS temp directory and removed. Results: bench/results/fleet.json.
 * Run alone with `node dist/bench/fleet.js`, or from bench/run.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { generateFleet } from './fleet-generator.js';
import { machineNow, timedCommand, type TimedRun } from './timed-command.js';
import { ROOT, SHARED, writeResults } from './results-file.js';

const STOWAGE = join(ROOT, 'bin', 'stowage.cjs');
const BASELINE = join(ROOT, 'dist', 'bench', 'baselines', 'parse-fleet.js');
const BUNDLE = join(SHARED, 'advisory-db', 'rustsec-advisory-db.bundle');
const GHSA = join(SHARED, 'advisories', 'ghsa-npm');
const APPS = Number(process.env.BENCH_FLEET_APPS ?? 10_000);
const POSTGRES = process.env.STOWAGE_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const LIMIT = 2;

type Run = TimedRun;

const timed = (cmd: string[], env: NodeJS.ProcessEnv): Run => timedCommand(cmd, env, 'ignore');

/** A fresh PostgreSQL database for one bench (also fleet-sync.ts), or null when none is reachable. */
/** A fresh database for a bench run, or (`keep`) this named one, created only when missing and kept as it is. */
export async function postgresStore(keep?: string): Promise<{ url: string; drop: () => Promise<void> } | null> {
  const admin = new pg.Client({ connectionString: POSTGRES, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch {
    return null;
  }
  const name = keep ?? `stowage_bench_${process.pid}`;
  if (keep === undefined) await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount !== 0;
  if (!exists) await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function benchFleet(): Promise<{ withinLimit: boolean } & Record<string, unknown>> {
  const work = mkdtempSync(join(tmpdir(), 'stowage-bench-fleet-'));
  try {
    const cache = join(work, 'cache');
    const env = { ...process.env, STOWAGE_CACHE_DIR: cache, NO_COLOR: '1' };
    const generated = generateFleet(join(work, 'apps'), APPS);
    const node = process.execPath;
    const add = (store: string): Run => {
      const init = spawnSync(node, [STOWAGE, 'fleet', 'init', '--store', store, '--db', BUNDLE, '--db', GHSA], { env, stdio: 'ignore' });
      if (init.status !== 0) throw new Error(`fleet init --store ${store} failed`);
      return timed([node, STOWAGE, 'fleet', 'add', '--from-file', generated.list, '--store', store, '--no-fetch'], env);
    };
    // Warm the databases' indexes (and the page cache) before anything is timed.
    timed([node, BASELINE, generated.list], env);
    const sqlite = add(join(work, 'fleet.sqlite'));
    const baseline = timed([node, BASELINE, generated.list], env);
    const pgStore = await postgresStore();
    let postgres: Run | { skipped: string };
    if (pgStore === null) postgres = { skipped: `PostgreSQL not reachable at ${POSTGRES}` };
    else {
      try {
        postgres = add(pgStore.url);
      } finally {
        await pgStore.drop();
      }
    }
    const ratio = (run: Run | { skipped: string }): number | null => ('ms' in run ? Math.round((run.ms / baseline.ms) * 100) / 100 : null);
    const result = {
      fleet: {
        applications: APPS,
        bases: generated.bases,
        how: 'bench/fleet-generator.ts: kanidm Cargo.lock (v2+) and jellyfin-web package-lock.json (v2/v3) of ../shared/corpus, each variant moving a distinct set of packages to versions other corpus lockfiles lock',
        where: 'OS temp directory (removed)',
      },
      baseline: { what: 'node reading + parsing every lockfile (smol-toml, JSON.parse): bench/baselines/parse-fleet.ts', ...baseline },
      sqlite: { ...sqlite, ratio: ratio(sqlite) },
      postgres: 'ms' in postgres ? { ...postgres, ratio: ratio(postgres) } : postgres,
      limit: LIMIT,
      withinLimit: (ratio(sqlite) ?? Infinity) <= LIMIT && ('ms' in postgres ? (ratio(postgres) ?? Infinity) <= LIMIT : true),
    };
    console.log(
      `fleet add of ${APPS} applications: SQLite ${sqlite.ms} ms (${result.sqlite.ratio}x), PostgreSQL ${'ms' in postgres ? `${postgres.ms} ms (${ratio(postgres)}x)` : 'skipped'}; reading + parsing alone ${baseline.ms} ms (limit ${LIMIT}x)`,
    );
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = { date: new Date().toISOString(), machine: machineNow(), ...(await benchFleet()) };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeResults(join(ROOT, 'bench', 'results', 'fleet.json'), results);
  if (!results.withinLimit) process.exitCode = 1;
}
