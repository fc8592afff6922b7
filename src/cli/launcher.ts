import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { writeFileAtomically } from '../core/atomic-write.js';
import { cacheDir } from '../core/cache-dir.js';
import { EXIT_FAILURE } from '../core/errors.js';
import { makeDirectory } from '../core/make-directory.js';

/**
 * How the `stowage` command starts: it loads the bundled CLI (one CommonJS file) through V8's
 * code cache, kept in stowage's cache directory. Compiling the bundle is a fixed cost of every
 * run, as large as parsing a big lockfile; node 22 caches compiled code itself
 * (module.enableCompileCache), node 20 does not, so this does what v8-compile-cache does for
 * one file. Nothing here can fail a run: a cache that is missing, unreadable, rejected by V8
 * (another node version, another bundle) or unwritable only means compiling as usual.
 */

/** What a bundle exports: src/cli/main.ts, src/cli/audit-main.ts. */
interface BundledCli {
  run(argv: string[]): Promise<number>;
  /** The kinds of work the run loaded code for (src/core/code-kinds.ts). */
  codeKinds(): string[];
}

export const CODE_CACHE_DIR = 'code-cache';

/**
 * The bundle that runs `argv`, in the bundle directory `dir`: `stowage audit ...` has one of its
 * own, without the other commands' code (src/cli/audit-main.ts); every other command line runs
 * the whole CLI.
 */
export function bundleFor(dir: string, argv: readonly string[]): string {
  return join(dir, argv[0] === 'audit' ? 'audit.cjs' : 'stowage.cjs');
}

export async function launch(bundle: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const source = readFileSync(bundle, 'utf8');
  // Without a usable cache location (no HOME, no passwd entry) stowage runs without a cache;
  // the command itself reports any problem with the cache directory it needs.
  let cacheFile: string | null;
  try {
    cacheFile = codeCacheFile(env, bundle, cacheDirArgument(argv));
  } catch {
    cacheFile = null;
  }
  const cache = cacheFile === null ? undefined : readCache(cacheFile);
  const script = bundleScript(bundle, source, cache?.data);
  const module = { exports: {} as BundledCli };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  const code = await module.exports.run(argv);
  // Written after the run, the cache also holds the functions the command compiled lazily. It is
  // made only by a run that did a command's work, not by --help, --version or a usage error.
  if (cacheFile === null || code === EXIT_FAILURE || asksForHelpOrVersion(argv)) return code;
  const kinds = module.exports.codeKinds();
  if (cache === undefined || script.cachedDataRejected === true) {
    store(bundle, cacheFile, () => withTrailer(script.createCachedData(), kinds));
  } else if (kinds.some((kind) => !cache.kinds.includes(kind))) {
    // An accepted cache is rewritten (that costs milliseconds) only when the run needed code it
    // was not made with: made by a Cargo audit, it lacks the npm parser, which an npm audit then
    // compiled again on every run. The cache now holds both, and says so: each kind of lockfile
    // rewrites it at most once.
    store(bundle, cacheFile, () => withTrailer(script.createCachedData(), [...new Set([...cache.kinds, ...kinds])].sort()));
  }
  return code;
}

/**
 * The cache file: V8's cached data, then the kinds of work it was made with (comma-separated
 * ASCII), their length in bytes and TRAILER_MAGIC (little-endian uint32 each). A file without
 * the trailer is V8 data alone, made with no kind.
 */
const TRAILER_MAGIC = 0x43575453; // "STWC"

function withTrailer(data: Buffer, kinds: readonly string[]): Buffer {
  const names = Buffer.from(kinds.join(','), 'latin1');
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(names.length, 0);
  tail.writeUInt32LE(TRAILER_MAGIC, 4);
  return Buffer.concat([data, names, tail]);
}

/** The cache read from `file`, or undefined when there is none or it cannot be read. */
export function readCache(file: string): { data: Buffer; kinds: string[] } | undefined {
  let buffer: Buffer;
  try {
    buffer = readFileSync(file);
  } catch {
    return undefined;
  }
  const tail = buffer.length - 8;
  if (tail < 0 || buffer.readUInt32LE(tail + 4) !== TRAILER_MAGIC) return { data: buffer, kinds: [] };
  const length = buffer.readUInt32LE(tail);
  if (length > tail) return { data: buffer, kinds: [] };
  const names = buffer.toString('latin1', tail - length, tail);
  return { data: buffer.subarray(0, tail - length), kinds: names === '' ? [] : names.split(',') };
}

/**
 * How much bytecode a function runs before V8 considers optimizing it: 16 times V8's default
 * (66 KiB). A command runs most of its code once, cold, and finishes in a fraction of a second;
 * with the default, TurboFan compiles functions (in background threads, CPU all the same) that
 * are warm only for the moment: about an eighth of a warm audit's CPU time, a tenth of one of
 * 24 lockfiles, measured side by side (bench/results/audit.json). Code that is really hot, as in
 * a long-running server, is still optimized, a little later.
 */
const INTERRUPT_BUDGET = 16 * 66 * 1024;

/**
 * V8 set for a command that runs to its end and exits: INTERRUPT_BUDGET, and no scavenge task.
 * V8 schedules a young-generation collection as a task when that generation is 80% full, to run
 * when the process idles; a command does not idle, so the task ran once the report was written,
 * just before exit: a collection of objects about to be dropped whole, 3% of a warm npm audit's
 * CPU time. Without it the young generation is collected when it is full, as it always is too.
 */
const SHORT_RUN_FLAGS = `--interrupt-budget=${INTERRUPT_BUDGET} --no-minor-gc-task`;

/**
 * The bundle as V8 compiles it, from `cachedData` when given; V8 is set for a short-lived command
 * first (SHORT_RUN_FLAGS). The bundle's text is already wrapped as node wraps a CommonJS module
 * (scripts/bundle.mjs), so that it sees require, module and __filename: compiled as read, with no
 * copy of it joined to a wrapper here.
 */
export function bundleScript(bundle: string, source: string, cachedData: Buffer | undefined): Script {
  setFlagsFromString(SHORT_RUN_FLAGS);
  return new Script(source, { filename: bundle, cachedData });
}

function asksForHelpOrVersion(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const options = end === -1 ? argv : argv.slice(0, end);
  return options.length === 0 || options.some((a) => a === '--help' || a === '-h' || a === '--version' || a === '-V' || a === 'help');
}

/**
 * One file per bundle and node build. V8 checks its own version and flags but, of the source,
 * only the length; the file's identity names the cache, so a cache never runs code of another
 * bundle: device, inode, size, mtime and ctime. Installers may set mtimes back and file systems
 * reuse inodes, but ctime is set by the kernel on every write and cannot be set back. Hashing
 * the source would cost more than the cache saves (node:crypto alone takes milliseconds to load).
 */
export function codeCacheFile(env: NodeJS.ProcessEnv, bundle: string, cacheDirOption?: string): string {
  const st = statSync(bundle);
  const key = `${bundleName(bundle)}-${st.dev}-${st.ino}-${st.size}-${st.mtimeMs}-${st.ctimeMs}-node${process.versions.v8}-${process.arch}`;
  return join(cacheDirOption ?? cacheDir(env), CODE_CACHE_DIR, `${key.replace(/[^A-Za-z0-9.-]/g, '_')}.v8`);
}

/** The commands' `--cache-dir DIR` / `--cache-dir=DIR`, looked for before the CLI is loaded. */
export function cacheDirArgument(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') return undefined;
    if (arg === '--cache-dir') return argv[i + 1];
    if (arg.startsWith('--cache-dir=')) return arg.slice('--cache-dir='.length);
  }
  return undefined;
}

/** `stowage` or `audit`: a cache file's name starts with its bundle's. */
function bundleName(bundle: string): string {
  return basename(bundle).replace(/\.cjs$/, '');
}

/** Caches kept per bundle in a cache directory: a few, so that two builds or node versions in turn do not evict each other. */
const KEPT_CACHES = 3;

/** Writes the cache of `bundle` and removes all but the newest few of that bundle's; every failure is ignored. */
function store(bundle: string, file: string, data: () => Buffer): void {
  try {
    const dir = dirname(file);
    makeDirectory(dir);
    writeFileAtomically(file, data());
    const prefix = `${bundleName(bundle)}-`;
    const others = readdirSync(dir)
      .filter((name) => name.startsWith(prefix) && name.endsWith('.v8') && join(dir, name) !== file)
      .map((name) => ({ path: join(dir, name), mtime: statSync(join(dir, name)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const old of others.slice(KEPT_CACHES - 1)) rmSync(old.path, { force: true });
  } catch {
    // A read-only or full cache directory: the next run compiles again.
  }
}
