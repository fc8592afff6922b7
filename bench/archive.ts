/**
 * Vendor archive writing against the system tools: `writeArchive(zst)` (reading the files
 * into memory included, and writing the result) beside
 * `tar --sort=name ... | zstd -<level> --long=<window> -T1` at the same settings, on a tree
 * of real source files (this repository's node_modules, the system's npm and Debian's cargo
 * registry: JavaScript, TypeScript, C, Rust, JSON, Markdown), runs interleaved so a noisy
 * machine slows both alike. Run alone with `node dist/bench/archive.js`, or from bench/run.ts.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileAtomically } from '../src/core/atomic-write.js';
import { DEFAULT_SOURCE_DATE_EPOCH, ZSTD_LEVEL, ZSTD_WINDOW_LOG, writeArchive } from '../src/core/archive.js';
import type { ArchiveFile } from '../src/core/untrusted-tar.js';
import { ROOT } from './results-file.js';
import { summarize } from './timing.js';

const SOURCES = [join(ROOT, 'node_modules'), '/usr/lib/node_modules', '/usr/share/cargo/registry'];
const TEXT = /\.(js|mjs|cjs|ts|mts|cts|json|md|markdown|txt|c|h|cc|cpp|hpp|rs|toml|yml|yaml|gyp|gypi|py|sh|html|css)$/i;
const TARGET_BYTES = Number(process.env.BENCH_ARCHIVE_MB ?? 64) * 1024 * 1024;
const RUNS = Number(process.env.BENCH_ARCHIVE_RUNS ?? 7);
const WARMUP = 1;
const LIMIT = 1.5;

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

/** Copies text files from SOURCES into `tree/copy-N/` until TARGET_BYTES; returns files and bytes. */
function buildTree(tree: string): { files: number; bytes: number; copies: number } {
  let bytes = 0;
  let files = 0;
  let copy = 0;
  const sources = SOURCES.filter((s) => existsSync(s));
  while (bytes < TARGET_BYTES) {
    const before = bytes;
    for (const source of sources) {
      for (const file of walk(source)) {
        if (!TEXT.test(file) || bytes >= TARGET_BYTES) continue;
        const dest = join(tree, `copy-${copy}`, source.replace(/^\//, '').replaceAll('/', '_'), relative(source, file));
        mkdirSync(dirname(dest), { recursive: true });
        copyFileSync(file, dest);
        chmodSync(dest, statSync(file).mode & 0o111 ? 0o755 : 0o644);
        bytes += statSync(dest).size;
        files++;
      }
    }
    if (bytes === before) throw new Error(`no source files found in ${sources.join(', ')}`);
    copy++;
  }
  return { files, bytes, copies: copy };
}

async function stowageOnce(tree: string, out: string): Promise<number> {
  const start = process.hrtime.bigint();
  const files: ArchiveFile[] = [];
  for (const path of walk(tree)) {
    files.push({ path: relative(tree, path), mode: statSync(path).mode & 0o111 ? 0o755 : 0o644, data: readFileSync(path) });
  }
  writeFileAtomically(out, await writeArchive(files, { compression: 'zst', mtime: DEFAULT_SOURCE_DATE_EPOCH }));
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function systemCommand(tree: string, out: string): string {
  const top = readdirSync(tree).sort().join(' ');
  return (
    `set -o pipefail; tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@${DEFAULT_SOURCE_DATE_EPOCH} -cf - -C ${tree} ${top}` +
    ` | zstd -q -${ZSTD_LEVEL} --long=${ZSTD_WINDOW_LOG} -T1 -f -o ${out}`
  );
}

function systemOnce(command: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${command} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

export async function benchArchive(): Promise<Record<string, unknown>> {
  const work = mkdtempSync(join(tmpdir(), 'stowage-bench-archive-'));
  try {
    const tree = join(work, 'tree');
    const built = buildTree(tree);
    const ours = join(work, 'stowage.tar.zst');
    const theirs = join(work, 'system.tar.zst');
    const command = systemCommand(tree, theirs);
    for (let i = 0; i < WARMUP; i++) {
      await stowageOnce(tree, ours);
      systemOnce(command);
    }
    const samples: [number[], number[]] = [[], []];
    for (let i = 0; i < RUNS; i++) {
      samples[0].push(await stowageOnce(tree, ours));
      samples[1].push(systemOnce(command));
    }
    const stowage = summarize(samples[0]);
    const reference = summarize(samples[1]);
    const ratio = Math.round((stowage.medianMs / reference.medianMs) * 100) / 100;
    const result = {
      name: 'vendor archive write (zst)',
      tree: { files: built.files, bytes: built.bytes, copiesOfSources: built.copies, sources: SOURCES.filter((s) => existsSync(s)) },
      settings: { level: ZSTD_LEVEL, windowLog: ZSTD_WINDOW_LOG, longDistanceMatching: true, threads: 1 },
      baseline: command.replace(`${work}/`, '$WORK/').replace(`${work}/`, '$WORK/'),
      stowage,
      reference,
      ratio,
      limit: LIMIT,
      withinLimit: ratio <= LIMIT,
      outputBytes: { stowage: statSync(ours).size, reference: statSync(theirs).size },
      processPeakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    console.log(
      `${result.name}: ${(built.bytes / 1e6).toFixed(0)} MB in ${built.files} files; stowage ${stowage.medianMs} ms vs tar | zstd ${reference.medianMs} ms = ${ratio}x ` +
        `(limit ${LIMIT}x) ${result.withinLimit ? 'ok' : 'OVER'}; output ${result.outputBytes.stowage} vs ${result.outputBytes.reference} bytes`,
    );
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchArchive(), null, 2));
}
