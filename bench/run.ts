/**
 * `npm run bench`: whole commands timed side by side, interleaved in one run, so a noisy
 * machine slows both sides alike; the figures that matter are ratios. Results are written to
 * bench/results/audit.json.
 *
 * Wall time: the median of N interleaved runs after warm-up. CPU time: user + system of each
 * command (node and whatever it starts), the mean over the same runs, read from the kernel's
 * account of this process's children (/proc/self/stat), so a loaded machine, where wall times
 * wander, still gives a ratio that means something; the load average is recorded beside it.
 * Peak memory: the maximum resident set size of one run, read by GNU time (`/usr/bin/time -f
 * %M`) when installed. Vendoring three real npm applications needs the public npm registry
 * (skipped without it).
 *
 * `node dist/bench/run.js audit` runs only the audit figures (cold, warm comparisons, all
 * Cargo lockfiles, memory) and keeps the other sections of bench/results/audit.json as the
 * last full run left them (`auditOnly` says so).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createRustApp, rustAppCrates } from '../test/support/rust-app.js';
import { SparseRegistry } from '../test/support/sparse-registry.js';
import { whyNoRegistry } from '../test/support/npm-vendor.js';
import { benchArchive } from './archive.js';
import { benchBinary } from './binary.js';
import { writeCampaignResults } from './campaign.js';
import { writeCampaignFleetResults } from './campaign-fleet.js';
import { benchFleet } from './fleet.js';
import { benchFleetSync } from './fleet-sync.js';
import { benchServer } from './server.js';
import { benchNpmVendor } from './vendor-npm.js';
import { ROOT, SHARED, writeResults } from './results-file.js';
import { roundMs, summarize, type Timing as RunTiming } from './timing.js';

const CARGO = join(SHARED, 'corpus', 'cargo');
const NPM = join(SHARED, 'corpus', 'npm');
const BUNDLE = join(SHARED, 'advisory-db', 'rustsec-advisory-db.bundle');
const GHSA = join(SHARED, 'advisories', 'ghsa-npm');
const STOWAGE = join(ROOT, 'bin', 'stowage.cjs');
const BASELINES = join(ROOT, 'dist', 'bench', 'baselines');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const WARMUP = 3;

type Command = string[];

interface Timing extends RunTiming {
  /** User + system CPU time of one run, the mean over the runs; null without /proc. */
  cpuMeanMs: number | null;
  peakRssMb: number | null;
}

/** Clock ticks per second, the unit of /proc/self/stat's times. */
const CLOCK_TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (user + system, ms) of this process's children that have ended, as the kernel sums
 * it (cutime + cstime): exact to a clock tick in total, so the mean of N runs is exact to 1/N tick.
 */
function childrenCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name in parentheses: state is field 3, cutime 16, cstime 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

interface Run {
  wallMs: number;
  cpuMs: number | null;
}

function once(cmd: Command, env: NodeJS.ProcessEnv): Run {
  const cpuBefore = childrenCpuMs();
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd[0] as string, cmd.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const cpuAfter = childrenCpuMs();
  // Exit 1 is an audit with findings: a valid run. Anything else is a broken benchmark.
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return { wallMs, cpuMs: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore };
}

function peakRss(cmd: Command, env: NodeJS.ProcessEnv): number | null {
  if (!existsSync('/usr/bin/time')) return null;
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...cmd], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const kb = Number(r.stderr.toString().trim().split('\n').at(-1));
  return Number.isFinite(kb) ? Math.round(kb / 102.4) / 10 : null;
}

function summarizeRuns(samples: Run[], rss: number | null): Timing {
  const cpu = samples.map((s) => s.cpuMs);
  const cpuMeanMs = cpu.some((ms) => ms === null) ? null : roundMs((cpu as number[]).reduce((a, b) => a + b, 0) / cpu.length);
  return { ...summarize(samples.map((s) => s.wallMs)), cpuMeanMs, peakRssMb: rss };
}

/** Runs the commands alternately, after warm-up, and returns a timing for each. */
function sideBySide(commands: Command[], env: NodeJS.ProcessEnv, runs = RUNS): Timing[] {
  for (let i = 0; i < WARMUP; i++) for (const cmd of commands) once(cmd, env);
  const samples: Run[][] = commands.map(() => []);
  for (let i = 0; i < runs; i++) commands.forEach((cmd, j) => samples[j]?.push(once(cmd, env)));
  return commands.map((cmd, j) => summarizeRuns(samples[j] ?? [], peakRss(cmd, env)));
}

function largest(dir: string, suffix: string, filter: (file: string) => boolean = () => true): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .map((f) => join(dir, f))
    .filter(filter);
  return files.sort((a, b) => statSync(b).size - statSync(a).size)[0] as string;
}

interface Comparison {
  name: string;
  target: string;
  baseline: string;
  stowage: Timing;
  reference: Timing;
  ratio: number;
  /** The same ratio of mean CPU times; null without /proc. */
  cpuRatio: number | null;
  limit: number;
  withinLimit: boolean;
}

function compare(name: string, target: string, stowage: Command, baseline: Command, baselineName: string, env: NodeJS.ProcessEnv, limit: number): Comparison {
  const [ours, theirs] = sideBySide([stowage, baseline], env) as [Timing, Timing];
  const ratio = Math.round((ours.medianMs / theirs.medianMs) * 100) / 100;
  const cpuRatio = ours.cpuMeanMs === null || theirs.cpuMeanMs === null ? null : Math.round((ours.cpuMeanMs / theirs.cpuMeanMs) * 100) / 100;
  const result = { name, target, baseline: baselineName, stowage: ours, reference: theirs, ratio, cpuRatio, limit, withinLimit: ratio <= limit };
  console.log(
    `${name}: stowage ${ours.medianMs} ms vs ${baselineName} ${theirs.medianMs} ms = ${ratio}x (limit ${limit}x) ${result.withinLimit ? 'ok' : 'OVER'}; ` +
      `CPU ${ours.cpuMeanMs ?? '?'} vs ${theirs.cpuMeanMs ?? '?'} ms = ${cpuRatio ?? '?'}x; peak RSS ${ours.peakRssMb ?? '?'} MB`,
  );
  return result;
}

/** `audit`: only the audit figures; nothing: everything. */
const ONLY = process.argv[2];

async function main(): Promise<void> {
  if (ONLY !== undefined && ONLY !== 'audit') throw new Error(`unknown part ${JSON.stringify(ONLY)}: give \`audit\` or nothing`);
  const cache = mkdtempSync(join(tmpdir(), 'stowage-bench-'));
  const env = { ...process.env, STOWAGE_CACHE_DIR: cache, NO_COLOR: '1' };
  const node = process.execPath;
  const audit = (...args: string[]): Command => [node, STOWAGE, 'audit', '--format', 'json', ...args];
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    // Set, node loads these certificates at every start (about two thirds of the parse-only
    // baseline's instructions on the shared machine): a fixed cost on both sides of each ratio.
    nodeExtraCaCerts: process.env.NODE_EXTRA_CA_CERTS ?? null,
    runs: RUNS,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 10) / 10),
  };

  // Cold: clone the bundle and build the index, a fresh cache each time.
  const coldSamples: Run[] = [];
  const kanidm = join(CARGO, 'kanidm-2026-08-20.Cargo.lock');
  for (let i = 0; i < 3; i++) {
    const coldCache = mkdtempSync(join(tmpdir(), 'stowage-bench-cold-'));
    const coldEnv = { ...env, STOWAGE_CACHE_DIR: coldCache };
    coldSamples.push(once(audit(kanidm, '--db', BUNDLE), coldEnv));
    rmSync(coldCache, { recursive: true, force: true });
  }
  const rssCache = mkdtempSync(join(tmpdir(), 'stowage-bench-cold-'));
  const coldRss = peakRss(audit(kanidm, '--db', BUNDLE), { ...env, STOWAGE_CACHE_DIR: rssCache });
  rmSync(rssCache, { recursive: true, force: true });
  results.cold = { target: kanidm, database: BUNDLE, ...summarizeRuns(coldSamples, coldRss) };
  console.log(`cold (clone + index ${BUNDLE}): ${(results.cold as Timing).medianMs} ms, peak RSS ${coldRss ?? '?'} MB`);

  const comparisons: Comparison[] = [];
  comparisons.push(
    compare('warm Cargo audit (kanidm, 774 packages)', kanidm, audit(kanidm, '--db', BUNDLE), [node, join(BASELINES, 'parse-toml.js'), kanidm], 'node + smol-toml parse', env, 1.5),
  );

  // The same audit with --db a local git checkout of RustSec, read in place: its HEAD and its
  // files are checked on every run (a changed checkout is re-indexed).
  const checkout = mkdtempSync(join(tmpdir(), 'stowage-bench-checkout-'));
  execFileSync('git', ['clone', '--quiet', BUNDLE, checkout]);
  comparisons.push(
    compare('warm Cargo audit, --db a local RustSec checkout (kanidm)', kanidm, audit(kanidm, '--db', checkout), [node, join(BASELINES, 'parse-toml.js'), kanidm], 'node + smol-toml parse', env, 1.5),
  );
  rmSync(checkout, { recursive: true, force: true });

  const allCargo = readdirSync(CARGO).filter((f) => f.endsWith('.Cargo.lock')).map((f) => join(CARGO, f));
  const [all] = sideBySide([audit(...allCargo, '--db', BUNDLE)], env, Math.min(RUNS, 5));
  results.allCargoLockfiles = { lockfiles: allCargo.length, ...all };
  console.log(`all ${allCargo.length} Cargo lockfiles in one audit: ${all?.medianMs} ms, peak RSS ${all?.peakRssMb ?? '?'} MB`);

  const packageLock = join(NPM, 'jellyfin-web-2025-03-01.package-lock.json');
  comparisons.push(
    compare('warm npm audit (jellyfin-web 2025-03 package-lock)', packageLock, audit(packageLock, '--db', GHSA), [node, join(BASELINES, 'parse-json.js'), packageLock], 'node + JSON.parse', env, 1.5),
  );
  const pnpm = largest(NPM, '.pnpm-lock.yaml');
  comparisons.push(
    compare('warm npm audit (largest pnpm-lock.yaml)', pnpm, audit(pnpm, '--db', GHSA), [node, join(BASELINES, 'parse-syml.js'), pnpm], 'node + parseSyml', env, 1.5),
  );
  const berry = largest(NPM, '.yarn.lock', (f) => execFileSync('head', ['-c', '400', f]).toString().includes('__metadata'));
  comparisons.push(
    compare('warm npm audit (largest yarn berry lockfile)', berry, audit(berry, '--db', GHSA), [node, join(BASELINES, 'parse-syml.js'), berry], 'node + parseSyml', env, 1.5),
  );
  results.comparisons = comparisons;
  const warmRss = comparisons[0]?.stowage.peakRssMb ?? null;
  results.memory = { warmCargoAuditPeakRssMb: warmRss, limitMb: 150, withinLimit: warmRss === null ? null : warmRss < 150 };
  results.loadAverageAtEnd = loadavg().map((l) => Math.round(l * 10) / 10);
  const out = join(ROOT, 'bench', 'results', 'audit.json');
  if (ONLY === 'audit') {
    // The other sections stay as the last full run measured them.
    let previous: Record<string, unknown> = {};
    try {
      previous = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    } catch {
      // No earlier results: the audit figures alone.
    }
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeResults(out, { ...previous, ...results, auditOnly: 'this run measured only the audit figures (node dist/bench/run.js audit); the other sections are from an earlier full run' });
    rmSync(cache, { recursive: true, force: true });
    console.log(`written: ${out}`);
    if (comparisons.some((c) => !c.withinLimit)) process.exitCode = 1;
    return;
  }

  // Vendoring the end-to-end Rust fixture (a local sparse registry on 127.0.0.1 serving
  // Debian's crate sources): one cold run fills the content cache, then the registry is shut
  // down and warm runs must need nothing from it.
  const registry = await SparseRegistry.start(rustAppCrates());
  const app = await createRustApp(registry.indexUrl);
  const emptyDb = mkdtempSync(join(tmpdir(), 'stowage-bench-db-'));
  mkdirSync(join(emptyDb, 'crates', 'unrelated'), { recursive: true });
  writeFileSync(
    join(emptyDb, 'crates', 'unrelated', 'RUSTSEC-2099-0002.md'),
    '```toml\n[advisory]\nid = "RUSTSEC-2099-0002"\npackage = "unrelated"\ndate = "2099-01-01"\n[versions]\npatched = [">= 1.0.0"]\n```\n\n# unrelated\n',
  );
  const archive = join(app.dir, 'vendor.tar.zst');
  const vendorCmd: Command = [node, STOWAGE, 'vendor', app.dir, '--db', emptyDb, '-o', archive];
  const cold = await new Promise<number>((resolveRun, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(vendorCmd[0] as string, vendorCmd.slice(1), { env, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolveRun(Number(process.hrtime.bigint() - start) / 1e6) : reject(new Error(`vendor exited ${code}`))));
  });
  await registry.close();
  const [warmVendor] = sideBySide([vendorCmd], env, Math.min(RUNS, 10));
  results.vendor = { fixture: 'test/fixtures/rust-app', crates: rustAppCrates().length, coldMs: Math.round(cold), warm: warmVendor, archiveBytes: statSync(archive).size };
  console.log(`vendor (Rust fixture): cold ${Math.round(cold)} ms, warm ${warmVendor?.medianMs} ms (registry down), peak RSS ${warmVendor?.peakRssMb ?? '?'} MB`);

  results.archive = await benchArchive();
  results.binary = benchBinary();

  // The fleet's figures are their own file (bench/results/fleet.json), as fleet-eval's sync adds to them.
  const fleet = { date: results.date, machine: results.machine, ...(await benchFleet()), sync: await benchFleetSync() };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeResults(join(ROOT, 'bench', 'results', 'fleet.json'), fleet);

  // Time to safety: a campaign's candidate beside the package manager alone (bench/results/campaign.json).
  const campaign = (await writeCampaignResults()).timeToSafety as { stowageShare: number; withinLimit: boolean };
  console.log(`time to safety (Rust fixture): stowage's own share ${Math.round(campaign.stowageShare * 100)}% on top of cargo alone`);
  if (!campaign.withinLimit) process.exitCode = 1;

  // The fleet server under load (bench/server.ts): its own file too.
  writeResults(join(ROOT, 'bench', 'results', 'server.json'), await benchServer());

  // A campaign over 100 affected applications, two at a time (bench/results/campaign-fleet.json).
  await writeCampaignFleetResults();

  // Three real npm applications vendored from the public registry (bench/vendor-npm.ts).
  const noRegistry = await whyNoRegistry();
  if (noRegistry === null) results.npmVendor = await benchNpmVendor();
  else {
    results.npmVendor = { skipped: noRegistry };
    console.log(`npm vendor: skipped, ${noRegistry}`);
  }

  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeResults(out, results);
  rmSync(cache, { recursive: true, force: true });
  console.log(`written: ${out}`);
  const archiveRatio = (results.archive as { ratio?: number }).ratio;
  if (comparisons.some((c) => !c.withinLimit) || (archiveRatio !== undefined && archiveRatio > 1.5)) process.exitCode = 1;
}

await main();
