/**
 * The fleet server under load: `stowage fleet serve` (a child process, as deployed) over the
 * reference fleet (bench/fleet-generator.ts: 10,000 applications by default, BENCH_SERVER_APPS
 * to change it), and autocannon on loopback with 50 connections, bounded in requests and in
 * time, against GET /api/v1/apps?limit=100 (a page of 100 applications in the summary form),
 * GET /api/v1/advisories/{id}/affected (the advisory with the most affected applications, first
 * page) and, beside them, the same page of applications in the full form (?view=full, every
 * finding; BENCH_SERVER_FULL=0 skips it). The server's CPU time per request is reported with the
 * latencies: on a loaded machine the latencies measure the load as much as the server. Reported: requests per second and latency p50/p95/p99 from every response's own time.
 * SQLite, and PostgreSQL beside it when reachable at STOWAGE_TEST_POSTGRES (BENCH_SERVER_POSTGRES=0
 * skips it). Results: bench/results/server.json. Run alone with `node dist/bench/server.js`.
 *
 * Building the fleet is most of a run (`fleet add` of 10,000 applications takes tens of minutes):
 * BENCH_SERVER_REUSE=DIR keeps the generated applications, the SQLite store and the PostgreSQL
 * database (named for DIR's fleet size) after a run and measures them again on the next run,
 * skipping `fleet add` (fleetAddMs is then null and `reused` true).
 *
 * Before/after, side by side in one run: BENCH_SERVER_COMPARE=DIR (a built checkout of an
 * earlier commit) serves the same store with DIR's stowage first, then this one's; each store's
 * result is then `{ before, after }`. BENCH_SERVER_RESULTS=NAME.json writes
 * bench/results/NAME.json instead of server.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { openFleetStore } from '../src/fleet/store/open-store.js';
import { generateFleet } from './fleet-generator.js';
import { postgresStore } from './fleet.js';
import { ROOT, SHARED, writeResults } from './results-file.js';

const STOWAGE = join(ROOT, 'bin', 'stowage.cjs');
const BUNDLE = join(SHARED, 'advisory-db', 'rustsec-advisory-db.bundle');
const GHSA = join(SHARED, 'advisories', 'ghsa-npm');
const APPS = Number(process.env.BENCH_SERVER_APPS ?? 10_000);
const CONNECTIONS = Number(process.env.BENCH_SERVER_CONNECTIONS ?? 50);
/** Each endpoint: at most this many requests, and at most this many seconds. */
const REQUESTS = Number(process.env.BENCH_SERVER_REQUESTS ?? 2000);
const SECONDS = 30;
const TARGET_P95_MS = 50;

interface Load {
  path: string;
  /** Size of one answer. */
  bytes: number;
  requests: number;
  non2xx: number;
  errors: number;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** The server process's CPU time (user + system) over the load, per request: what a loaded machine's latencies hide. */
  serverCpuMsPerRequest: number | null;
}

/** User + system CPU milliseconds a process has used so far (Linux /proc), or null. */
function cpuMsOf(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // utime and stime: fields 14 and 15 of stat, 12 and 13 after the command's closing parenthesis; in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return Math.round((sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number) * 10) / 10;
}

async function load(url: string, path: string, token: string, server: ChildProcess): Promise<Load> {
  const times: number[] = [];
  const cpuBefore = cpuMsOf(server.pid);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      // Bounded both ways (maxOverallRequests, not amount, which would override the duration); a slow answer is measured, not dropped.
      { url: `${url}${path}`, connections: CONNECTIONS, maxOverallRequests: REQUESTS, duration: SECONDS, timeout: SECONDS, headers: { authorization: `Bearer ${token}` } },
      (err, done) => (err ? reject(err) : resolve(done)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => times.push(responseTime));
  });
  const cpuAfter = cpuMsOf(server.pid);
  times.sort((a, b) => a - b);
  const seconds = Math.round((result.duration ?? 0) * 100) / 100;
  return {
    path,
    bytes: result.requests.total > 0 ? Math.round(result.throughput.total / result.requests.total) : 0,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    seconds,
    requestsPerSecond: seconds > 0 ? Math.round(result.requests.total / seconds) : 0,
    latencyMs: { p50: percentile(times, 50), p95: percentile(times, 95), p99: percentile(times, 99), max: percentile(times, 100) },
    serverCpuMsPerRequest:
      cpuBefore === null || cpuAfter === null || result.requests.total === 0 ? null : Math.round(((cpuAfter - cpuBefore) / result.requests.total) * 100) / 100,
  };
}

function cli(args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(process.execPath, [STOWAGE, ...args], { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`stowage ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/** The advisory with the most affected applications among the first page of the fleet. */
async function busiestAdvisory(store: string): Promise<string> {
  const fleet = await openFleetStore(store);
  try {
    const page = await fleet.appsPage({}, { limit: 500, offset: 0 });
    const counts = new Map<string, number>();
    for (const findings of (await fleet.findingsOfRevisions(page.items.map((i) => i.revision.id))).values()) {
      for (const id of new Set(findings.map((f) => f.advisory.id))) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const best = [...counts].sort((a, b) => b[1] - a[1])[0];
    if (best === undefined) throw new Error('no finding in the reference fleet');
    return best[0];
  } finally {
    await fleet.close();
  }
}

async function serve(stowage: string, store: string, env: NodeJS.ProcessEnv): Promise<{ url: string; child: ChildProcess }> {
  // BENCH_SERVER_CPU_PROF=DIR: the server writes a V8 CPU profile there when it stops (node --cpu-prof).
  const profile = process.env.BENCH_SERVER_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_SERVER_CPU_PROF] : [];
  const child = spawn(process.execPath, [...profile, stowage, 'fleet', 'serve', '--store', store, '--listen', '127.0.0.1:0', '--no-fetch'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (found) resolve(found[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`fleet serve exited ${code}: ${out}`)));
  });
  return { url, child };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Builds the fleet in `store` (fleet init + add), unless `built` (a marker file) says a previous run did; the add's milliseconds, or null when reused. */
function buildStore(store: string, list: string, env: NodeJS.ProcessEnv, built: string | null): number | null {
  if (built !== null && existsSync(built)) return null;
  cli(['fleet', 'init', '--store', store, '--db', BUNDLE, '--db', GHSA], env);
  const start = Date.now();
  cli(['fleet', 'add', '--from-file', list, '--store', store, '--no-fetch'], env);
  const addMs = Date.now() - start;
  if (built !== null) writeFileSync(built, `${addMs}\n`);
  return addMs;
}

/** The loads against one server (the stowage CLI at `stowage`) over the built store. */
async function measure(stowage: string, kind: string, store: string, token: string, advisory: string, env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const { url, child } = await serve(stowage, store, env);
  try {
    // Warm-up: the first requests open the store's caches.
    await fetch(`${url}/api/v1/apps?limit=100`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
    const apps = await load(url, '/api/v1/apps?limit=100', token, child);
    const affected = await load(url, `/api/v1/advisories/${advisory}/affected`, token, child);
    // Side by side, the same page in the full form (every finding of every application), which was the default before the summary.
    const appsFull = process.env.BENCH_SERVER_FULL === '0' ? null : await load(url, '/api/v1/apps?limit=100&view=full', token, child);
    console.log(
      `fleet server (${kind}, ${APPS} apps): /apps?limit=100 ${apps.requestsPerSecond} req/s p50 ${apps.latencyMs.p50} p95 ${apps.latencyMs.p95} p99 ${apps.latencyMs.p99} ms; ` +
        `/advisories/${advisory}/affected ${affected.requestsPerSecond} req/s p50 ${affected.latencyMs.p50} p95 ${affected.latencyMs.p95} p99 ${affected.latencyMs.p99} ms; ` +
        `server CPU per request ${apps.serverCpuMsPerRequest} / ${affected.serverCpuMsPerRequest} ms`,
    );
    if (appsFull !== null) console.log(`  full form: ${appsFull.requestsPerSecond} req/s p50 ${appsFull.latencyMs.p50} p95 ${appsFull.latencyMs.p95} ms, ${appsFull.bytes} bytes, server CPU per request ${appsFull.serverCpuMsPerRequest} ms`);
    return { apps, affected, appsFull, withinTarget: apps.latencyMs.p95 < TARGET_P95_MS };
  } finally {
    await stop(child);
  }
}

async function benchStore(kind: string, store: string, list: string, env: NodeJS.ProcessEnv, built: string | null): Promise<Record<string, unknown>> {
  const addMs = buildStore(store, list, env, built);
  const token = cli(['fleet', 'token', 'create', `bench-${process.pid}-${kind}`, '--read-only', '--store', store], env).trim();
  const advisory = await busiestAdvisory(store);
  const compare = process.env.BENCH_SERVER_COMPARE;
  if (compare === undefined || compare === '') return { fleetAddMs: addMs, reused: addMs === null, advisory, ...(await measure(STOWAGE, kind, store, token, advisory, env)) };
  const before = await measure(join(compare, 'bin', 'stowage.cjs'), `${kind}, before`, store, token, advisory, env);
  const after = await measure(STOWAGE, `${kind}, after`, store, token, advisory, env);
  return { fleetAddMs: addMs, reused: addMs === null, advisory, before, after };
}

/** The generated fleet: made once into `work/apps` (when reused, its list and bases are read back). */
function fleetIn(work: string, reuse: boolean): { list: string; bases: number } {
  const saved = join(work, 'fleet.json');
  if (reuse && existsSync(saved)) return JSON.parse(readFileSync(saved, 'utf8')) as { list: string; bases: number };
  const generated = generateFleet(join(work, 'apps'), APPS);
  if (reuse) writeFileSync(saved, JSON.stringify({ list: generated.list, bases: generated.bases }));
  return generated;
}

export async function benchServer(): Promise<Record<string, unknown>> {
  const reuseDir = process.env.BENCH_SERVER_REUSE;
  const reuse = reuseDir !== undefined && reuseDir !== '';
  const work = reuse ? join(reuseDir, String(APPS)) : mkdtempSync(join(tmpdir(), 'stowage-bench-server-'));
  mkdirSync(work, { recursive: true });
  try {
    const env = { ...process.env, STOWAGE_CACHE_DIR: join(work, 'cache'), NO_COLOR: '1' };
    const generated = fleetIn(work, reuse);
    const results: Record<string, unknown> = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), loadAverage1m: loadavg()[0] },
      fleet: { applications: APPS, bases: generated.bases, how: 'bench/fleet-generator.ts' },
      load: { tool: 'autocannon', connections: CONNECTIONS, maxRequests: REQUESTS, maxSeconds: SECONDS, over: 'loopback', token: 'read-only Bearer' },
      targetP95Ms: TARGET_P95_MS,
      ...(process.env.BENCH_SERVER_COMPARE ? { compared: { before: process.env.BENCH_SERVER_BEFORE_COMMIT ?? 'BENCH_SERVER_COMPARE', after: 'this checkout' } } : {}),
    };
    if (process.env.BENCH_SERVER_SQLITE === '0') results.sqlite = { skipped: 'BENCH_SERVER_SQLITE=0' };
    else results.sqlite = await benchStore('SQLite', join(work, 'fleet.sqlite'), generated.list, env, reuse ? join(work, 'sqlite.built') : null);
    const pg = process.env.BENCH_SERVER_POSTGRES === '0' ? null : await postgresStore(reuse ? `stowage_bench_server_${APPS}` : undefined);
    if (pg === null) results.postgres = { skipped: 'PostgreSQL not reachable, or BENCH_SERVER_POSTGRES=0' };
    else {
      try {
        results.postgres = await benchStore('PostgreSQL', pg.url, generated.list, env, reuse ? join(work, 'postgres.built') : null);
      } finally {
        if (!reuse) await pg.drop();
      }
    }
    return results;
  } finally {
    if (!reuse) rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await benchServer();
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const name = process.env.BENCH_SERVER_RESULTS ?? 'server.json';
  if (!/^[\w.-]+\.json$/.test(name)) throw new Error(`BENCH_SERVER_RESULTS=${name}: expected a file name NAME.json`);
  writeResults(join(ROOT, 'bench', 'results', name), results);
}
