/**
 * Time to safety on the Rust fixture (test/fixtures/rust-app, real crate sources from Debian,
 * a git dependency, served by a local sparse registry): a made-up advisory marks `hex` 0.4.3
 * vulnerable and 0.4.4 fixed, the application is locked at 0.4.3, and
 * - stowage: buildCandidate, from the advisory to the candidate SRPM (plan, cargo update
 *   --precise, audit, vendor, sandboxed cargo build --release and cargo test --release,
 *   packaging with rpmbuild -bs);
 * - by hand: the package manager alone in a copy of the application, `cargo update -p
 *   hex@0.4.3 --precise 0.4.4`, `cargo build --release`, `cargo test --release` (the same
 *   profile as the candidate's test, so the same compilation work is on both sides).
 * Runs alternate, each from scratch (fresh work directory, CARGO_HOME, target directory and
 * stowage cache). stowage's own share is the time on top of the package manager alone, as a
 * fraction of it; the target (issue 11) is at most 50%. The time from the fleet's sync to the
 * campaign's start is the fleet's (bench/campaign-fleet.ts), not measured here.
 * Results: bench/results/campaign.json. Run alone with `node dist/bench/campaign.js`.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_POLICY } from '../src/audit/policy.js';
import { buildCandidate, candidateLayout, type CandidateStep } from '../src/campaign/candidate.js';
import { rustsecAdvisoryDb } from '../test/support/advisory-fixtures.js';
import { cargoBinary, createRustApp, runCargo, rustAppCrates } from '../test/support/rust-app.js';
import { debianCrate, SparseRegistry } from '../test/support/sparse-registry.js';
import { ROOT, writeResults } from './results-file.js';
import { summarize, type Timing } from './timing.js';

const RUNS = Number(process.env.BENCH_CAMPAIGN_RUNS ?? 3);
const SHARE_LIMIT = 0.5;

/** Runs a command to completion (asynchronously: the registry answers from this process). */
function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr}`))));
  });
}

function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function benchCampaign(): Promise<Record<string, unknown>> {
  const work = mkdtempSync(join(tmpdir(), 'stowage-bench-campaign-'));
  const hexFixed = debianCrate('hex-0.4.3', (files) => {
    for (const f of files) {
      if (f.path === 'Cargo.toml' || f.path === 'Cargo.toml.orig') f.data = Buffer.from(f.data.toString('utf8').replace('version = "0.4.3"', 'version = "0.4.4"'));
    }
  });
  const registry = await SparseRegistry.start([...rustAppCrates(), hexFixed]);
  try {
    const app = await createRustApp(registry.indexUrl);
    await runCargo(['update', '-p', 'hex', '--precise', '0.4.3'], { cwd: app.dir, cargoHome: app.cargoHome });
    const db = rustsecAdvisoryDb(join(work, 'advisory-db'), [{ id: 'RUSTSEC-2099-0100', package: 'hex', patched: ['>= 0.4.4'] }]);
    const cargoDir = join(cargoBinary(), '..');
    const env = { ...process.env, PATH: `${cargoDir}:${process.env.PATH ?? ''}`, CARGO_TERM_COLOR: 'never' };

    const stowageSamples: number[] = [];
    const handSamples: number[] = [];
    const stepSamples = new Map<string, number[]>();
    let sandbox = '';
    for (let i = 0; i < RUNS; i++) {
      const workDir = join(work, `candidate-${i}`);
      cpSync(app.dir, candidateLayout(workDir).source, { recursive: true });
      const start = process.hrtime.bigint();
      const outcome = await buildCandidate({
        workDir,
        advisory: { id: 'RUSTSEC-2099-0100', aliases: [] },
        audit: { policy: { ...DEFAULT_POLICY }, databases: [db], fetch: 'never', cacheRoot: join(work, `cache-${i}`) },
        sandbox: 'auto',
        publish: true,
        licenses: ['stowage-demo=MIT'],
        env,
      });
      stowageSamples.push(elapsedMs(start));
      if (outcome.state !== 'candidate') throw new Error(`the candidate failed at ${outcome.failedStep}: ${outcome.reason}`);
      sandbox = outcome.sandbox;
      for (const s of outcome.steps as CandidateStep[]) {
        const list = stepSamples.get(s.step) ?? [];
        list.push(Date.parse(s.endedAt ?? s.startedAt) - Date.parse(s.startedAt));
        stepSamples.set(s.step, list);
      }

      const byHand = join(work, `by-hand-${i}`);
      cpSync(app.dir, byHand, { recursive: true });
      const handEnv = { ...env, CARGO_HOME: join(work, `cargo-home-${i}`), CARGO_TARGET_DIR: join(byHand, 'target') };
      mkdirSync(handEnv.CARGO_HOME, { recursive: true });
      const handStart = process.hrtime.bigint();
      await run(['cargo', 'update', '-p', 'hex@0.4.3', '--precise', '0.4.4'], byHand, handEnv);
      await run(['cargo', 'build', '--release'], byHand, handEnv);
      await run(['cargo', 'test', '--release'], byHand, handEnv);
      handSamples.push(elapsedMs(handStart));
      rmSync(workDir, { recursive: true, force: true });
      rmSync(byHand, { recursive: true, force: true });
      console.log(`campaign run ${i + 1}/${RUNS}: stowage ${Math.round(stowageSamples.at(-1) ?? 0)} ms, by hand ${Math.round(handSamples.at(-1) ?? 0)} ms`);
    }
    const stowage: Timing = summarize(stowageSamples);
    const byHand: Timing = summarize(handSamples);
    const share = Math.round(((stowage.medianMs - byHand.medianMs) / byHand.medianMs) * 1000) / 1000;
    const steps = Object.fromEntries([...stepSamples].map(([step, samples]) => [step, summarize(samples).medianMs]));
    return {
      fixture: 'test/fixtures/rust-app (hex 0.4.3 -> 0.4.4)',
      sandbox,
      stowage,
      byHand: { commands: ['cargo update -p hex@0.4.3 --precise 0.4.4', 'cargo build --release', 'cargo test --release'], ...byHand },
      stepsMedianMs: steps,
      stowageShare: share,
      shareLimit: SHARE_LIMIT,
      withinLimit: share <= SHARE_LIMIT,
    };
  } finally {
    await registry.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Writes bench/results/campaign.json. */
export async function writeCampaignResults(): Promise<Record<string, unknown>> {
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100) },
    runs: RUNS,
    timeToSafety: await benchCampaign(),
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeResults(join(ROOT, 'bench', 'results', 'campaign.json'), results);
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await writeCampaignResults();
  console.log(JSON.stringify(results, null, 2));
}
