/**
 * `stowage vendor` on three real npm applications, from the public npm registry:
 * - lerna 8.2.4 (bench/apps/lerna): the published application's dependencies, locked once by
 *   npm 11 (package-lock v3, 554 entries), with the tarballs that hold a file under two
 *   spellings (agent-base 7.1.4, http-proxy-agent 7.0.2, ...) and nx's native binaries;
 * - verdaccio 6.10.4 (bench/apps/verdaccio): the same way (package-lock v3, 320 entries);
 * - prettier's repository on 2018-01-01 (../shared/corpus): its own yarn.lock v1 (766 packages).
 *
 * Cold: an empty cache, every tarball downloaded (bound by the network: a figure, not a
 * limit). Warm: the content cache filled, the median of N runs. Peak RSS (GNU time, when
 * installed) of the cold run and the largest of the warm ones; packages and archive size as
 * written. Run alone with `node dist/bench/vendor-npm.js` (writes bench/results/vendor-npm.json),
 * or from bench/run.ts.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { unrelatedNpmAdvisoryDb } from '../test/support/advisory-fixtures.js';
import { ROOT, writeResults } from './results-file.js';
import { median } from './timing.js';

const NPM_CORPUS = resolve(ROOT, '..', 'shared', 'corpus', 'npm');
const STOWAGE = join(ROOT, 'bin', 'stowage.cjs');
const RUNS = Number(process.env.BENCH_VENDOR_RUNS ?? 3);

interface Application {
  name: string;
  /** Source file → name in the application's directory. */
  files: Array<[string, string]>;
}

const APPLICATIONS: Application[] = ['lerna', 'verdaccio'].map((app) => ({
  name: `${app} (bench/apps, package-lock v3)`,
  files: ['package.json', 'package-lock.json'].map((f): [string, string] => [join(ROOT, 'bench', 'apps', app, f), f]),
}));
APPLICATIONS.push({
  name: 'prettier 2018-01-01 (../shared/corpus, yarn.lock v1)',
  files: [
    [join(NPM_CORPUS, 'prettier-2018-01-01.package.json'), 'package.json'],
    [join(NPM_CORPUS, 'prettier-2018-01-01.yarn.lock'), 'yarn.lock'],
  ],
});

interface Run {
  ms: number;
  peakRssMb: number | null;
  /** The summary line's package count. */
  packages: number;
}

export interface NpmVendorBench {
  application: string;
  packages: number;
  archiveBytes: number;
  cold: { ms: number; peakRssMb: number | null };
  warm: { medianMs: number; minMs: number; maxMs: number; runs: number; peakRssMb: number | null };
}

const round = (n: number): number => Math.round(n * 10) / 10;

function vendorOnce(dir: string, db: string, archive: string, cache: string): Run {
  const cmd = [process.execPath, STOWAGE, 'vendor', dir, '--db', db, '-o', archive];
  const timed = existsSync('/usr/bin/time') ? ['/usr/bin/time', '-f', 'peak-rss-kb %M', ...cmd] : cmd;
  const start = process.hrtime.bigint();
  const r = spawnSync(timed[0] as string, timed.slice(1), { env: { ...process.env, STOWAGE_CACHE_DIR: cache, NO_COLOR: '1' }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`stowage vendor ${dir} exited ${r.status}: ${r.stderr}`);
  const kb = /peak-rss-kb (\d+)/.exec(r.stderr)?.[1];
  const packages = /: (\d+) packages, \d+ files/.exec(`${r.stdout}${r.stderr}`)?.[1];
  if (packages === undefined) throw new Error(`stowage vendor ${dir}: no summary line in its output`);
  return { ms, peakRssMb: kb === undefined ? null : round(Number(kb) / 1024), packages: Number(packages) };
}

export async function benchNpmVendor(): Promise<NpmVendorBench[]> {
  const work = mkdtempSync(join(tmpdir(), 'stowage-bench-npm-vendor-'));
  const out: NpmVendorBench[] = [];
  try {
    const db = unrelatedNpmAdvisoryDb(join(work, 'db'));
    for (const [i, app] of APPLICATIONS.entries()) {
      const dir = join(work, `app-${i}`);
      mkdirSync(dir);
      for (const [from, to] of app.files) copyFileSync(from, join(dir, to));
      const cache = join(work, `cache-${i}`);
      const archive = join(dir, 'vendor.tar.zst');
      const cold = vendorOnce(dir, db, archive, cache);
      const warm = Array.from({ length: RUNS }, () => vendorOnce(dir, db, archive, cache));
      const rss = warm.map((r) => r.peakRssMb).filter((m): m is number => m !== null);
      const times = warm.map((r) => r.ms);
      const result: NpmVendorBench = {
        application: app.name,
        packages: cold.packages,
        archiveBytes: statSync(archive).size,
        cold: { ms: round(cold.ms), peakRssMb: cold.peakRssMb },
        warm: { medianMs: round(median(times)), minMs: round(Math.min(...times)), maxMs: round(Math.max(...times)), runs: RUNS, peakRssMb: rss.length ? Math.max(...rss) : null },
      };
      console.log(
        `vendor ${app.name}: ${result.packages} packages, archive ${(result.archiveBytes / 2 ** 20).toFixed(1)} MiB; ` +
          `cold ${Math.round(cold.ms)} ms, warm ${result.warm.medianMs} ms; peak RSS ${result.warm.peakRssMb ?? '?'} MB`,
      );
      out.push(result);
      rmSync(cache, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    applications: await benchNpmVendor(),
  };
  const file = join(ROOT, 'bench', 'results', 'vendor-npm.json');
  writeResults(file, results);
  console.log(`written: ${file}`);
}
