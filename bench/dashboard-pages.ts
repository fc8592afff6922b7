/**
 * The dashboard's pages on the reference fleet (10,000 applications, bench/fleet-generator.ts):
 * each page answered in-process by the dashboard's routes (query, triage, rendering; no
 * network), on SQLite and PostgreSQL, timed over repeated requests. The fleet page must stay
 * fast because it is sorted, filtered and paginated in the database.
 *
 *   node dist/bench/dashboard-pages.js          (BENCH_DASHBOARD_APPS=10000 by default)
 *   BENCH_DASHBOARD_STORE=STORE node dist/bench/dashboard-pages.js
 *       times an existing store of the same generated fleet instead of building one (e.g. the
 *       SQLite store `BENCH_SERVER_REUSE` keeps: DIR/10000/fleet.sqlite); that store alone.
 *
 * Writes bench/results/dashboard-pages.json. Run by hand (not part of bench/run.ts yet).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openFleetStore } from '../src/fleet/store/open-store.js';
import { dashboardRoutes } from '../src/server/dashboard/routes.js';
import { postgresStore } from './fleet.js';
import { generateFleet } from './fleet-generator.js';
import { ROOT, SHARED, writeResults } from './results-file.js';
import { roundMs, summarize, type Timing } from './timing.js';

const STOWAGE = join(ROOT, 'bin', 'stowage.cjs');
const BUNDLE = join(SHARED, 'advisory-db', 'rustsec-advisory-db.bundle');
const GHSA = join(SHARED, 'advisories', 'ghsa-npm');
const APPS = Number(process.env.BENCH_DASHBOARD_APPS ?? 10_000);
const RUNS = 15;

/** The addresses timed: what a person opens most, and the costliest queries of the fleet page. */
const PAGES = [
  ['fleet, first page (with the charts)', '/'],
  ['fleet, sorted by most severe findings', '/?sort=findings'],
  ['fleet, page 100 by name', '/?page=100'],
  ['fleet, 200 a page', '/?per=200&page=3'],
  ['fleet, critical findings only', '/?level=critical'],
  ['fleet, search by package', '/?q=serde'],
  ['fleet, search by advisory id', '/?q=RUSTSEC-2024-0421'],
  ['fleet, search by name part', '/?q=jellyfin-web-2023'],
  ['application', '/apps/kanidm-2023-08-01-v0'],
  ['advisory (first 100 affected)', '/advisories/RUSTSEC-2024-0421'],
] as const;

async function timePages(store: string): Promise<Record<string, Timing & { p95Ms: number; bytes: number }>> {
  const opened = await openFleetStore(store);
  try {
    const routes = dashboardRoutes({ store: opened, publicRead: true, now: () => new Date() });
    const out: Record<string, Timing & { p95Ms: number; bytes: number }> = {};
    for (const [label, path] of PAGES) {
      const samples: number[] = [];
      let bytes = 0;
      for (let i = 0; i < RUNS + 1; i++) {
        const start = process.hrtime.bigint();
        const res = await routes.request(path);
        const body = await res.text();
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 300)}`);
        if (i > 0) samples.push(Number(process.hrtime.bigint() - start) / 1e6); // the first warms the caches
        bytes = body.length;
      }
      const sorted = [...samples].sort((a, b) => a - b);
      out[`${label} (${path})`] = { ...summarize(samples), p95Ms: roundMs(sorted[Math.ceil(0.95 * sorted.length) - 1] as number), bytes };
    }
    return out;
  } finally {
    await opened.close();
  }
}

export async function benchDashboardPages(): Promise<Record<string, unknown>> {
  const existing = process.env.BENCH_DASHBOARD_STORE;
  if (existing !== undefined && existing !== '') {
    const loadBefore = loadavg().map((l) => Math.round(l * 100) / 100);
    const kind = /^postgres(ql)?:/.test(existing) ? 'postgres' : 'sqlite';
    return { apps: APPS, runsPerPage: RUNS, store: `an existing ${kind} store of the generated fleet`, loadBefore, [kind]: await timePages(existing), loadAfter: loadavg().map((l) => Math.round(l * 100) / 100) };
  }
  const work = mkdtempSync(join(tmpdir(), 'stowage-bench-dashboard-'));
  const env = { ...process.env, STOWAGE_CACHE_DIR: join(work, 'cache'), NO_COLOR: '1' };
  const fill = (store: string): void => {
    for (const args of [['init', '--db', BUNDLE, '--db', GHSA], ['add', '--from-file', generated.list]]) {
      const r = spawnSync(process.execPath, [STOWAGE, 'fleet', ...args, '--store', store], { env, encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 });
      if (r.status !== 0 && r.status !== 1) throw new Error(`fleet ${args[0]}: ${r.stderr.slice(-2000)}`);
    }
  };
  const generated = generateFleet(join(work, 'apps'), APPS);
  try {
    const sqlite = join(work, 'fleet.sqlite');
    fill(sqlite);
    const results: Record<string, unknown> = { apps: APPS, runsPerPage: RUNS, loadBefore: loadavg().map((l) => Math.round(l * 100) / 100), sqlite: await timePages(sqlite) };
    const pg = await postgresStore();
    if (pg !== null) {
      try {
        fill(pg.url);
        results.postgres = await timePages(pg.url);
      } finally {
        await pg.drop();
      }
    } else {
      results.postgres = 'not measured: PostgreSQL not reachable';
    }
    results.loadAfter = loadavg().map((l) => Math.round(l * 100) / 100);
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = { date: new Date().toISOString(), machine: { cpus: cpus().length }, ...(await benchDashboardPages()) };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeResults(join(ROOT, 'bench', 'results', 'dashboard-pages.json'), results);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}
