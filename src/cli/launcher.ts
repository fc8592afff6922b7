import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { getHeapCodeStatistics, setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { writeFileAtomically } from '../core/atomic-write.js';
import { cacheDir } from '../core/cache-dir.js';
import { EXIT_FAILURE } from '../core/errors.js';

/**
 * How the `stowage` command starts: it loads the bundled CLI (one CommonJS file) through V8's
 * code cache, kept in stowage's cache directory. Compiling the bundle is a fixed cost of every
 * run, as large as parsing a big lockfile; node 22 caches compiled code itself
 * (module.enableCompileCache), node 20 does not, so this does what v8-compile-cache does for
 * one file. Nothing here can fail a run: a cache that is missing, unreadable, rejected by V8
 * (another node version, another bundle) or unwritable only means compiling as usual.
 */

/** What the bundle exports: src/cli/main.ts. */
interface BundledCli {
  run(argv: string[]): Promise<number>;
}

/** The CommonJS wrapper node puts around a module, so the bundle sees require, module, __filename. */
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAPPER_TAIL = '\n});';

export const CODE_CACHE_DIR = 'code-cache';

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
  const loaded = bytecodeBytes();
  const module = { exports: {} as BundledCli };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  const code = await module.exports.run(argv);
  // Written after the run, the cache also holds the functions the command compiled lazily. It is
  // made only by a run that did a command's work, not by --help, --version or a usage error.
  if (cacheFile === null || code === EXIT_FAILURE || asksForHelpOrVersion(argv)) return code;
  if (cache === undefined || script.cachedDataRejected === true) {
    store(cacheFile, () => withTrailer(script.createCachedData(), 0));
  } else if (cache.refreshes < MAX_REFRESHES && bytecodeBytes() - loaded > REFRESH_BYTES) {
    // An accepted cache is rewritten (that costs milliseconds) only when this run compiled much
    // that it lacked: made by a Cargo audit, it lacks the npm code, and the reverse.
    store(cacheFile, () => withTrailer(script.createCachedData(), cache.refreshes + 1));
  }
  return code;
}

/**
 * Bytecode a run compiles beyond what its code cache held, above which the cache is rewritten
 * to hold it too. A run from a cache made by a run of the same kind still compiles some 36-38 KiB
 * (node's own modules, which V8 does not put in the cache), an npm audit from a cache made by a
 * Cargo audit some 70 KiB (measured on the corpus lockfiles).
 */
const REFRESH_BYTES = 48 * 1024;

/**
 * How often one cache is rewritten: each rewrite holds the union of what the runs before it
 * compiled, so a few suffice for every kind of command; a command that compiles much that the
 * cache cannot hold (eval'd code, node's modules) does not rewrite it on every run.
 */
const MAX_REFRESHES = 3;

/** Bytecode and metadata on V8's heap: grows as functions are compiled, not as they are deserialized later. */
function bytecodeBytes(): number {
  return getHeapCodeStatistics().bytecode_and_metadata_size;
}

/**
 * The cache file: V8's cached data, then a trailer of TRAILER_MAGIC and how often the cache was
 * rewritten (a little-endian uint32). A file without the trailer is V8 data alone.
 */
const TRAILER_MAGIC = 0x43575453; // "STWC"
const TRAILER_BYTES = 8;

function withTrailer(data: Buffer, refreshes: number): Buffer {
  const trailer = Buffer.alloc(TRAILER_BYTES);
  trailer.writeUInt32LE(TRAILER_MAGIC, 0);
  trailer.writeUInt32LE(refreshes, 4);
  return Buffer.concat([data, trailer]);
}

/** The cache read from `file`, or undefined when there is none or it cannot be read. */
export function readCache(file: string): { data: Buffer; refreshes: number } | undefined {
  let buffer: Buffer;
  try {
    buffer = readFileSync(file);
  } catch {
    return undefined;
  }
  const end = buffer.length - TRAILER_BYTES;
  if (end > 0 && buffer.readUInt32LE(end) === TRAILER_MAGIC) return { data: buffer.subarray(0, end), refreshes: buffer.readUInt32LE(end + 4) };
  return { data: buffer, refreshes: 0 };
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
 * The bundle as V8 compiles it, wrapped as node wraps a CommonJS module, from `cachedData` when
 * given; V8's tiering is set for a short-lived command first (INTERRUPT_BUDGET).
 */
export function bundleScript(bundle: string, source: string, cachedData: Buffer | undefined): Script {
  setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET}`);
  return new Script(WRAPPER_HEAD + source + WRAPPER_TAIL, { filename: bundle, cachedData });
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
  const key = `stowage-${st.dev}-${st.ino}-${st.size}-${st.mtimeMs}-${st.ctimeMs}-node${process.versions.v8}-${process.arch}`;
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

/** Caches kept per cache directory: a few, so that two builds or node versions in turn do not evict each other. */
const KEPT_CACHES = 3;

/** Writes the cache and removes all but the newest few; every failure is ignored. */
function store(file: string, data: () => Buffer): void {
  try {
    const dir = dirname(file);
    mkdirSync(dir, { recursive: true });
    writeFileAtomically(file, data());
    const others = readdirSync(dir)
      .filter((name) => name.endsWith('.v8') && join(dir, name) !== file)
      .map((name) => ({ path: join(dir, name), mtime: statSync(join(dir, name)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const old of others.slice(KEPT_CACHES - 1)) rmSync(old.path, { force: true });
  } catch {
    // A read-only or full cache directory: the next run compiles again.
  }
}
