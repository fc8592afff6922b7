/**
 * `node dist/bench/shipped.js`: auditing Debian's own Rust application packages (`.deb`, from
 * STOWAGE_TEST_DEBS, as .ci/run downloads them) beside the time node takes to read the file
 * once, interleaved so a noisy machine slows both alike. Written to bench/results/shipped.json,
 * paths relative to the repository.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { basename, join, relative } from 'node:path';
import { ROOT, writeResults } from './results-file.js';
import { median, roundMs } from './timing.js';

const BUNDLE = join(ROOT, '..', 'shared', 'advisory-db', 'rustsec-advisory-db.bundle');
const STOWAGE = join(ROOT, 'bin', 'stowage.cjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

function once(cmd: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd[0] as string, cmd.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const roundedMedian = (values: number[]): number => roundMs(median(values));

function main(): void {
  const dir = process.env.STOWAGE_TEST_DEBS;
  if (!dir) {
    console.log('shipped: STOWAGE_TEST_DEBS not set, skipped');
    return;
  }
  const env = { ...process.env, STOWAGE_CACHE_DIR: mkdtempSync(join(tmpdir(), 'stowage-bench-shipped-')), NO_COLOR: '1' };
  const results = [];
  for (const deb of readdirSync(dir).filter((f) => f.endsWith('.deb')).sort().map((f) => join(dir, f))) {
    const audit = [process.execPath, STOWAGE, 'audit', deb, '--db', BUNDLE, '--allow-partial', '--format', 'json'];
    const read = [process.execPath, '-e', `require('node:fs').readFileSync(${JSON.stringify(deb)})`];
    once(audit, env); // clones and indexes the database once
    const samples: [number[], number[]] = [[], []];
    for (let i = 0; i < RUNS; i++) {
      samples[0].push(once(audit, env));
      samples[1].push(once(read, env));
    }
    const [auditMs, readMs] = samples.map(roundedMedian) as [number, number];
    const entry = { deb: basename(deb), bytes: statSync(deb).size, auditMs, readOnceMs: readMs, ratio: Math.round((auditMs / readMs) * 100) / 100, runs: RUNS };
    console.log(`${entry.deb} (${(entry.bytes / 1e6).toFixed(1)} MB): audit ${auditMs} ms vs reading it once ${readMs} ms = ${entry.ratio}x`);
    results.push(entry);
  }
  const out = join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, 'shipped.json');
  const machine = { cpus: cpus().length, model: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
  writeResults(file, { date: new Date().toISOString(), machine, database: BUNDLE, debs: results });
  console.log(`written to ${relative(ROOT, file)}`);
}

main();
