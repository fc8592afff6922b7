/**
 * Auditing a ~20 MB Rust binary beside the time to read that file once. The binary is rustup
 * (the real executable cargo's proxies point at, 20 MB, built without cargo-auditable): read
 * as it is (no `.dep-v0`: the whole file is scanned for embedded source paths), and a copy
 * given a `.dep-v0` section (by objcopy) listing the crates its paths name. In-process figures
 * isolate the reader (readFileSync alone, then readRustBinary on the bytes); whole-command
 * figures compare `stowage audit BINARY` with a node process that only reads the file. Run
 * alone with `node dist/bench/binary.js` (writes bench/results/binary.json) or from bench/run.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodeDepV0 } from '../src/inputs/binary/dep-v0.js';
import { readRustBinary } from '../src/inputs/binary/rust-binary.js';
import { unrelatedRustsecAdvisoryDb } from '../test/support/advisory-fixtures.js';
import { cargoBinary } from '../test/support/rust-app.js';
import { ROOT, writeResults } from './results-file.js';
import { summarize, type Timing } from './timing.js';

const STOWAGE = join(ROOT, 'bin', 'stowage.cjs');
const RUNS = Number(process.env.BENCH_BINARY_RUNS ?? 9);
const WARMUP = 2;

/** Each function timed alternately with the others, after warm-up. */
function interleaved(fns: (() => void)[]): Timing[] {
  for (let i = 0; i < WARMUP; i++) for (const fn of fns) fn();
  const samples: number[][] = fns.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    fns.forEach((fn, j) => {
      const start = process.hrtime.bigint();
      fn();
      samples[j]?.push(Number(process.hrtime.bigint() - start) / 1e6);
    });
  }
  return samples.map(summarize);
}

function run(cmd: string[], env: NodeJS.ProcessEnv): () => void {
  return () => {
    const r = spawnSync(cmd[0] as string, cmd.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  };
}

export interface BinaryBench {
  binary: string;
  bytes: number;
  crates: number;
  inProcess: { readFileMs: Timing; depV0Ms: Timing; embeddedPathsMs: Timing };
  command: { readOnceMs: Timing; auditDepV0Ms: Timing; auditEmbeddedPathsMs: Timing };
}

export function benchBinary(): BinaryBench | { skipped: string } {
  const binary = realpathSync(cargoBinary());
  if (statSync(binary).size < 10 * 2 ** 20) return { skipped: `${binary} is under 10 MB` };
  const work = mkdtempSync(join(tmpdir(), 'stowage-bench-binary-'));
  try {
    const plain = readFileSync(binary);
    const found = readRustBinary(plain, binary);
    if (!found) return { skipped: `${binary} is not an executable stowage reads` };
    const section = join(work, 'dep-v0');
    writeFileSync(
      section,
      encodeDepV0(found.packages.map((p) => ({ name: p.name, version: p.version, source: 'crates.io', kind: 'runtime', dependencies: [], root: false }))),
    );
    const auditable = join(work, 'rustup-auditable');
    execFileSync('objcopy', ['--add-section', `.dep-v0=${section}`, binary, auditable]);
    const withSection = readFileSync(auditable);

    const inProcess = interleaved([
      () => readFileSync(auditable),
      () => readRustBinary(withSection, auditable),
      () => readRustBinary(plain, binary),
    ]) as [Timing, Timing, Timing];

    const db = unrelatedRustsecAdvisoryDb(join(work, 'db'));
    const env = { ...process.env, STOWAGE_CACHE_DIR: join(work, 'cache'), NO_COLOR: '1' };
    const node = process.execPath;
    const audit = (file: string, ...extra: string[]): string[] => [node, STOWAGE, 'audit', file, '--db', db, '--format', 'json', ...extra];
    run(audit(auditable), env)(); // builds the database index once, outside the timings
    const command = interleaved([
      run([node, '-e', 'require("node:fs").readFileSync(process.argv[1])', auditable], env),
      run(audit(auditable), env),
      run(audit(binary, '--allow-partial'), env),
    ]) as [Timing, Timing, Timing];
    const result: BinaryBench = {
      binary: binary.startsWith(ROOT) ? relative(ROOT, binary) : binary.replace(/^.*\/(\.cargo\/bin\/)/, '~/$1'),
      bytes: withSection.length,
      crates: found.packages.length,
      inProcess: { readFileMs: inProcess[0], depV0Ms: inProcess[1], embeddedPathsMs: inProcess[2] },
      command: { readOnceMs: command[0], auditDepV0Ms: command[1], auditEmbeddedPathsMs: command[2] },
    };
    console.log(
      `binary ${(result.bytes / 2 ** 20).toFixed(1)} MiB, ${result.crates} crates: read ${inProcess[0].medianMs} ms, ` +
        `.dep-v0 ${inProcess[1].medianMs} ms, embedded paths ${inProcess[2].medianMs} ms; ` +
        `command: node reading it ${command[0].medianMs} ms, audit (.dep-v0) ${command[1].medianMs} ms, audit (paths) ${command[2].medianMs} ms`,
    );
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    binary: benchBinary(),
  };
  const file = join(ROOT, 'bench', 'results', 'binary.json');
  writeResults(file, results);
  console.log(`written: ${relative(ROOT, file)}`);
}
