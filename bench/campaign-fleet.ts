/**
 * A campaign over a fleet of 100 affected applications (BENCH_CAMPAIGN_APPS), `--concurrency 2`.
 * Each application is a small Rust program locked against a local sparse registry at an
 * affected `vulnlib` 1.0.0 (1.0.1 fixed), added to a fresh fleet as a directory (source kept).
 * - `pipeline`: `stowage fleet campaign start ID --concurrency 2` on SQLite, the real pipeline
 *   for each application (plan, cargo update --precise, audit, vendor, sandboxed cargo build and
 *   test, SRPM), start to end, with each step's median from the campaign's own record;
 * - `jobs`: the same campaign's jobs with a builder that does nothing, on each store (SQLite,
 *   and PostgreSQL through pg-boss when it answers): what the queue, the source's
 *   materialisation and the candidate's recording cost per application, beside the pipeline.
 * Results: bench/results/campaign-fleet.json. Run alone with `node dist/bench/campaign-fleet.js`.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { storeGate } from '../src/campaign/app-job.js';
import { startCampaign } from '../src/campaign/campaign.js';
import { runCampaignWorker } from '../src/campaign/campaign-worker.js';
import type { CandidateBuilder } from '../src/campaign/candidate-builder.js';
import { PRIORITY } from '../src/campaign/job-queue.js';
import { openJobQueue } from '../src/campaign/open-queue.js';
import { openFleetStore } from '../src/fleet/store/open-store.js';
import { rustsecAdvisoryDb } from '../test/support/advisory-fixtures.js';
import { application, crate } from '../test/support/campaign-apps.js';
import { freshStore, skipUnless, type StoreKind } from '../test/support/fleet-stores.js';
import { cargoBinary, runCargo } from '../test/support/rust-app.js';
import { SparseRegistry } from '../test/support/sparse-registry.js';
import { ROOT, writeResults } from './results-file.js';
import { median, roundMs } from './timing.js';

const APPS = Number(process.env.BENCH_CAMPAIGN_APPS ?? 100);
const CONCURRENCY = 2;
const ADVISORY = 'RUSTSEC-2099-0200';
const STOWAGE = join(ROOT, 'bin', 'stowage.cjs');

function stowage(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [STOWAGE, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** APPS applications: one locked by cargo, the others copies under their own names. */
async function applications(root: string, indexUrl: string): Promise<string[]> {
  const first = await application(join(root, 'app-000'), indexUrl, join(root, 'cargo-home'), {
    deps: { vulnlib: '1' },
    main: 'fn main() { println!("{}", vulnlib::version()); }\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn fixed() { assert_eq!(vulnlib::version(), "1.0.1"); }\n}\n',
  });
  await runCargo(['update', '-p', 'vulnlib', '--precise', '1.0.0'], { cwd: first, cargoHome: join(root, 'cargo-home') });
  const dirs = [first];
  for (let i = 1; i < APPS; i++) {
    const name = `app-${String(i).padStart(3, '0')}`;
    const dir = join(root, name);
    cpSync(first, dir, { recursive: true });
    for (const file of ['Cargo.toml', 'Cargo.lock']) writeFileSync(join(dir, file), readFileSync(join(dir, file), 'utf8').replace('name = "app-000"', `name = "${name}"`));
    dirs.push(dir);
  }
  return dirs;
}

interface CampaignJson {
  apps: { app: string; state: string; step: string | null; log: string | null; steps: { step: string; startedAt: string; endedAt: string | null }[] }[];
}

async function fleetWithApps(store: string, db: string, dirs: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const init = await stowage(['fleet', 'init', '--store', store, '--db', db], env);
  if (init.status !== 0) throw new Error(`fleet init: ${init.stderr}`);
  const add = await stowage(['fleet', 'add', '--store', store, '--no-fetch', ...dirs], env);
  if (add.status !== 1) throw new Error(`fleet add exited ${add.status}: ${add.stderr}`);
}

/** The campaign's jobs with a builder that changes nothing: the jobs' own cost. */
async function jobsOnly(kind: StoreKind, db: string, dirs: string[], env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const test = await freshStore(kind);
  try {
    await fleetWithApps(test.store, db, dirs, env);
    const fleet = await openFleetStore(test.store);
    try {
      const noop: CandidateBuilder = async (_request, hooks) => {
        for (const step of ['plan', 'apply', 'audit', 'vendor', 'build', 'test', 'package']) {
          await hooks.stepStarted(step);
          await hooks.stepEnded(step, 'done');
        }
        return { state: 'candidate', fix: [], blockedBy: null, failedStep: null, log: null, artifacts: [] };
      };
      const start = process.hrtime.bigint();
      const started = await startCampaign(fleet, { id: ADVISORY, apps: [], publish: true, sandbox: 'none', by: 'bench', now: new Date() });
      const gate = storeGate();
      const queue = await openJobQueue(test.store, fleet, gate);
      try {
        await queue.enqueue(started.campaign.id, started.queued, PRIORITY.userStarted);
        await runCampaignWorker({ store: fleet, gate, queue, builder: noop, concurrency: CONCURRENCY, drain: false, untilCampaignEnds: started.campaign.id });
      } finally {
        await queue.close();
      }
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const apps = await fleet.campaigns.apps(started.campaign.id);
      const candidates = apps.filter((a) => a.state === 'candidate').length;
      if (candidates !== dirs.length) throw new Error(`${kind}: ${candidates} of ${dirs.length} candidates`);
      return { store: kind, apps: dirs.length, wallMs: roundMs(ms), perAppMs: roundMs(ms / dirs.length) };
    } finally {
      await fleet.close();
    }
  } finally {
    await test.dispose();
  }
}

export async function benchCampaignFleet(): Promise<Record<string, unknown>> {
  const work = mkdtempSync(join(tmpdir(), 'stowage-bench-campaign-fleet-'));
  const registry = await SparseRegistry.start([crate('vulnlib', '1.0.0'), crate('vulnlib', '1.0.1')]);
  try {
    const db = rustsecAdvisoryDb(join(work, 'advisory-db'), [{ id: ADVISORY, package: 'vulnlib', patched: ['>= 1.0.1'] }]);
    const dirs = await applications(join(work, 'apps'), registry.indexUrl);
    const env = { ...process.env, PATH: `${join(cargoBinary(), '..')}:${process.env.PATH ?? ''}`, CARGO_TERM_COLOR: 'never', STOWAGE_CACHE_DIR: join(work, 'cache'), NO_COLOR: '1' };
    mkdirSync(env.STOWAGE_CACHE_DIR, { recursive: true });

    const jobs = [await jobsOnly('sqlite', db, dirs, env)];
    if ((await skipUnless('postgres')) === false) jobs.push(await jobsOnly('postgres', db, dirs, env));
    console.log(`campaign jobs alone: ${jobs.map((j) => `${String(j.store)} ${String(j.perAppMs)} ms/app`).join(', ')}`);

    const store = join(work, 'fleet.sqlite');
    await fleetWithApps(store, db, dirs, env);
    const start = process.hrtime.bigint();
    const run = await stowage(['fleet', 'campaign', 'start', ADVISORY, '--store', store, '--concurrency', String(CONCURRENCY), '--no-fetch', '--format', 'json'], env);
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
    if (run.status !== 0 && run.status !== 1) throw new Error(`campaign start exited ${run.status}: ${run.stderr.slice(-2000)}`);
    const json = JSON.parse(run.stdout) as CampaignJson;
    for (const app of json.apps) if (app.state !== 'candidate') console.log(`${app.app}: ${app.state} at ${app.step ?? '?'}: ${(app.log ?? '').slice(0, 3000)}`);
    const stepMs = new Map<string, number[]>();
    let busyMs = 0;
    for (const app of json.apps) {
      for (const s of app.steps) {
        const ms = Date.parse(s.endedAt ?? s.startedAt) - Date.parse(s.startedAt);
        busyMs += ms;
        stepMs.set(s.step, [...(stepMs.get(s.step) ?? []), ms]);
      }
    }
    const pipeline = {
      store: 'sqlite',
      apps: json.apps.length,
      candidates: json.apps.filter((a) => a.state === 'candidate').length,
      concurrency: CONCURRENCY,
      wallMs: roundMs(wallMs),
      perAppMs: roundMs(wallMs / json.apps.length),
      applicationsPerMinute: Math.round((json.apps.length / (wallMs / 60_000)) * 10) / 10,
      stepsMedianMs: Object.fromEntries([...stepMs].map(([step, samples]) => [step, roundMs(median(samples))])),
      // Time inside steps over wall time × concurrency: how busy the two slots were.
      slotUtilisation: Math.round((busyMs / (wallMs * CONCURRENCY)) * 1000) / 1000,
    };
    console.log(`campaign over ${pipeline.apps} applications, concurrency ${CONCURRENCY}: ${Math.round(wallMs / 1000)} s, ${pipeline.applicationsPerMinute} applications/min`);
    return { advisory: ADVISORY, pipeline, jobsAlone: jobs };
  } finally {
    await registry.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Writes bench/results/campaign-fleet.json. */
export async function writeCampaignFleetResults(): Promise<Record<string, unknown>> {
  const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);
  const campaign = await benchCampaignFleet();
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    campaign,
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeResults(join(ROOT, 'bench', 'results', 'campaign-fleet.json'), results);
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await writeCampaignFleetResults();
  console.log(JSON.stringify(results, null, 2));
}
