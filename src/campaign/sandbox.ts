import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lchownSync, readdirSync, realpathSync, statfsSync } from 'node:fs';
import { constants, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { ancestors } from '../core/ancestors.js';
import { StowageError } from '../core/errors.js';
import type { ToolConfinement } from '../core/run-tool.js';
import { commandText } from '../fixes/report.js';
import type { StepLog } from './step-log.js';
import { programOnPath } from '../core/program-path.js';

/**
 * Where a campaign runs the application's own code (build scripts, procedural macros, tests):
 * under bubblewrap when it works on this machine, with no network, the system read-only, a
 * fresh /tmp, no home directory, and only one directory writable; or, when asked (`none`) or
 * when bubblewrap is missing or refused here (`auto`), as a plain child process, which the
 * choice's `note` says in so many words. Either way each command has a time limit (its whole
 * process group is killed), resource limits (processes and threads, file size, no core dumps:
 * `prlimit`), and its output goes to the step log, capped.
 */

export const SANDBOX_MODES = ['auto', 'bwrap', 'none'] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

export interface Sandbox {
  kind: 'bwrap' | 'none';
  /** bwrap: in a user namespace of its own, as an unprivileged user (root outside is not root inside); false where the kernel refuses one. */
  userNamespace: boolean;
  /**
   * bwrap run by root: the command runs as the unprivileged user nobody outside as well as
   * inside (setpriv, after bubblewrap has set the sandbox up), its directory handed to that user.
   * Root's own processes, even in a user namespace, are exempt from the process limit
   * (RLIMIT_NPROC): nobody's are not.
   */
  dropToNobody: boolean;
  /** One line saying how builds and tests run here, for the output and the log. */
  note: string;
}

/** System directories bound read-only inside the sandbox; a missing one is skipped. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/lib32', '/opt'];

/**
 * What compilers, linkers and package managers read of /etc (`cc` is an alternative, the
 * dynamic linker's cache, users and groups by name, certificates), and nothing else: the rest
 * (shadow files, machine secrets, service configurations) would otherwise be readable by the
 * application's build scripts and tests, and end up in the log.
 */
const ETC_ENTRIES = [
  'alternatives',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'passwd',
  'group',
  'nsswitch.conf',
  'host.conf',
  'hosts',
  'localtime',
  'os-release',
  'debian_version',
  'ssl',
  'ca-certificates',
];

const BWRAP = 'bwrap';

/** A program of the system's (util-linux), by its full path: the sandbox's PATH is the application's. */
function systemProgram(name: string): string | null {
  return programOnPath(name, '/usr/bin:/bin:/usr/sbin:/sbin');
}

const PRLIMIT = systemProgram('prlimit');
const SETPRIV = systemProgram('setpriv');

const GIB = 1024 * 1024 * 1024;

/**
 * What each command may use, set by `prlimit` on the command and everything it starts (soft
 * and hard: it cannot raise them). Core dumps are always off (a crashing test must not write
 * its memory, the environment included, into the build directory).
 */
export interface ResourceLimits {
  /**
   * RLIMIT_NPROC: processes and threads of the user the command runs as, on the whole machine
   * (since Linux 5.14 counted in each user namespace and in its parents): a fork bomb stops
   * there. Root is exempt (the kernel does not count uid 0), hence dropToNobody.
   */
  processes: number;
  /** RLIMIT_FSIZE: the largest file the command may write, in bytes (past it: SIGXFSZ). */
  fileBytes: number;
  /**
   * RLIMIT_DATA: the memory each process may allocate (its private writable mappings: heap,
   * anonymous mmap), in bytes; past it an allocation fails. Per process, not per build (there
   * is no cgroup to cap a build whole), and not RLIMIT_AS, which counts address space merely
   * reserved (V8's cage, thread stacks) and fails healthy programs long before they use memory.
   */
  memoryBytes: number;
}

/**
 * 4096 processes and threads: a cargo build runs `-j` (the CPU count) rustc at once, each with
 * up to its codegen units' threads, and a test binary a thread per CPU; npm about a dozen
 * threads per node. 8 GiB for one file: a debug binary with its debuginfo stays well under it.
 * Memory: half the machine's (at least 4 GiB) for any one process, rustc on a large crate included.
 */
export const DEFAULT_RESOURCE_LIMITS: ResourceLimits = { processes: 4096, fileBytes: 8 * GIB, memoryBytes: Math.max(4 * GIB, Math.floor(totalmem() / 2 / GIB) * GIB) };

const bytesText = (bytes: number): string => (bytes % (1024 * 1024 * 1024) === 0 ? `${bytes / (1024 * 1024 * 1024)} GiB` : bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`);

/** The limits in words, for the sandbox's note and the log. */
export function limitsText(limits: ResourceLimits, processLimitHolds: boolean): string {
  const processes = processLimitHolds ? `at most ${limits.processes} processes and threads` : `no process limit (the kernel exempts root's processes; run the worker as another user)`;
  return `${processes}, ${bytesText(limits.memoryBytes)} of memory per process, files up to ${bytesText(limits.fileBytes)}, no core dumps`;
}

/** The prlimit (and, dropping to nobody, setpriv) in front of a command's argv. */
function limitPrefix(limits: ResourceLimits, dropToNobody: boolean): string[] {
  const prefix = PRLIMIT !== null ? [PRLIMIT, `--nproc=${limits.processes}`, `--fsize=${limits.fileBytes}`, `--data=${limits.memoryBytes}`, '--core=0', '--'] : [];
  if (dropToNobody && SETPRIV !== null) {
    prefix.push(SETPRIV, `--reuid=${SANDBOX_ID}`, `--regid=${SANDBOX_ID}`, '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--');
  }
  return prefix;
}

/**
 * Who the command is inside a user namespace: an unprivileged user (nobody), mapped to the
 * caller outside. Run by root, the build would otherwise be root with every capability inside
 * the sandbox (able to remount what was bound read-only, for one).
 */
const SANDBOX_ID = '65534';

interface Confinement {
  userNamespace: boolean;
  dropToNobody: boolean;
}

/** The isolation options shared by the probe and every run; `network`: the machine's network is shared (the lockfile update). */
function isolation(how: Confinement, network = false): string[] {
  const args = [...(network ? [] : ['--unshare-net']), '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session'];
  if (how.userNamespace) args.push('--unshare-user', '--uid', SANDBOX_ID, '--gid', SANDBOX_ID, '--cap-drop', 'ALL');
  // Root keeps only what it needs to enter the directory it has handed to nobody and what
  // setpriv needs to become nobody, which then drops them all.
  else if (how.dropToNobody) args.push('--cap-drop', 'ALL', ...['CAP_DAC_OVERRIDE', 'CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP'].flatMap((c) => ['--cap-add', c]));
  // Root without a user namespace would keep every capability inside (CAP_SYS_ADMIN: remount,
  // mount the machine's disks; CAP_SYS_MODULE: load a kernel module): it keeps none.
  else if (process.getuid?.() === 0) args.push('--cap-drop', 'ALL');
  for (const dir of SYSTEM_DIRS) if (existsSync(dir)) args.push('--ro-bind', dir, dir);
  args.push('--perms', '0755', '--dir', '/etc');
  for (const entry of [...ETC_ENTRIES, ...(network ? NETWORK_ETC_ENTRIES : [])]) args.push('--ro-bind-try', `/etc/${entry}`, `/etc/${entry}`);
  // /tmp as any /tmp is (writable by nobody too).
  args.push('--proc', '/proc', '--dev', '/dev', '--perms', '1777', '--tmpfs', '/tmp');
  return args;
}

/** What a command with the network reads more of /etc: the resolver's configuration. */
const NETWORK_ETC_ENTRIES = ['resolv.conf', 'gai.conf'];

interface Probe extends Confinement {
  /** Why bubblewrap cannot isolate a command here, or null when it can. */
  problem: string | null;
}

let probed: Probe | undefined;

/**
 * What bubblewrap can do here, asked once per process: run by root, dropping to nobody (no user
 * namespace needed, and the process limit holds), else in a user namespace, else without one,
 * else why not.
 */
function probeBwrap(): Probe {
  if (probed !== undefined) return probed;
  const run = (how: Confinement): ReturnType<typeof spawnSync> =>
    spawnSync(BWRAP, [...isolation(how), '--remount-ro', '/', '--', ...limitPrefix(DEFAULT_RESOURCE_LIMITS, how.dropToNobody), 'true'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  const tries: Confinement[] = [
    ...(process.getuid?.() === 0 && SETPRIV !== null && PRLIMIT !== null ? [{ userNamespace: false, dropToNobody: true }] : []),
    { userNamespace: true, dropToNobody: false },
  ];
  for (const how of tries) {
    const tried = run(how);
    if (!tried.error && tried.status === 0) return (probed = { problem: null, ...how });
  }
  const plain = run({ userNamespace: false, dropToNobody: false });
  let problem: string | null = null;
  if (plain.error) problem = `cannot run ${BWRAP}: ${(plain.error as NodeJS.ErrnoException).code ?? plain.error.message}`;
  else if (plain.status !== 0) problem = `${BWRAP} refused to start (${plain.stderr.toString().trim().split('\n').pop() ?? `exit ${plain.status}`})`;
  return (probed = { problem, userNamespace: false, dropToNobody: false });
}

/** Whether RLIMIT_NPROC binds a command run this way: not when it runs as root's uid (in a user namespace or not). */
export function processLimitHolds(sandbox: Sandbox): boolean {
  if (PRLIMIT === null) return false;
  return process.getuid?.() !== 0 || (sandbox.kind === 'bwrap' && sandbox.dropToNobody);
}

/**
 * Why bubblewrap cannot isolate builds on this machine (campaigns started with `--sandbox auto`
 * then build and test unisolated), or null when it can: for the commands that run campaigns to
 * say so on their output, not only in each candidate's log.
 */
export function bubblewrapProblem(): string | null {
  return probeBwrap().problem;
}

/** The sandbox `mode` gives on this machine; `bwrap` where bubblewrap does not work is an error. */
export function chooseSandbox(mode: SandboxMode, limits: ResourceLimits = DEFAULT_RESOURCE_LIMITS): Sandbox {
  const unisolated = (why: string): Sandbox => {
    const sandbox: Sandbox = { kind: 'none', userNamespace: false, dropToNobody: false, note: '' };
    return { ...sandbox, note: `sandbox: none (${why}): builds and tests run unisolated, with network access; ${limitsText(limits, processLimitHolds(sandbox))}` };
  };
  if (mode === 'none') return unisolated('--sandbox none');
  const { problem, userNamespace, dropToNobody } = probeBwrap();
  if (problem === null) {
    const who = dropToNobody
      ? 'the unprivileged user nobody with no capabilities'
      : userNamespace
        ? 'an unprivileged user with no capabilities'
        : `the calling user${process.getuid?.() === 0 ? ' with no capabilities' : ''} (this kernel refuses bubblewrap a user namespace)`;
    const sandbox: Sandbox = { kind: 'bwrap', userNamespace, dropToNobody, note: '' };
    return {
      ...sandbox,
      note: `sandbox: bubblewrap: no network, read-only system (of /etc only what builds read), only the build directory writable, no home directory, run as ${who}; ${limitsText(limits, processLimitHolds(sandbox))}`,
    };
  }
  if (mode === 'bwrap') throw new StowageError(`--sandbox bwrap: ${problem}`);
  return unisolated(`--sandbox auto: ${problem}`);
}

export interface SandboxedCommand {
  argv: [string, ...string[]];
  /** The one writable directory, and where the command starts. */
  dir: string;
  /** The whole environment the command sees (nothing is inherited). */
  env: Record<string, string>;
  /** Directories outside the system the command needs to read (a toolchain under a home directory). */
  readOnly: readonly string[];
  timeLimitMs: number;
  log: StepLog;
  signal?: AbortSignal;
  /**
   * Bytes kept free on the filesystem of `dir`: the command is killed when fewer are left (a
   * test that writes without end must not fill the disk the fleet's store and other builds use).
   * Default DEFAULT_MIN_FREE_BYTES.
   */
  minFreeBytes?: number;
  /** Each missing one DEFAULT_RESOURCE_LIMITS's. */
  limits?: Partial<ResourceLimits>;
  /**
   * Share the machine's network (the lockfile update, which needs the registry), and read the
   * resolver's configuration; the filesystem stays as confined. Default false.
   */
  network?: boolean;
}

export interface SandboxedRun {
  /** The exit status; null when the command was killed. */
  status: number | null;
  timedOut: boolean;
  cancelled: boolean;
  /** Killed for leaving fewer than `minFreeBytes` free on its directory's filesystem. */
  diskFull: boolean;
  /** It failed, and its output or its end shows a resource limit reached: which one, in words (`the limit of 4096 processes and threads (RLIMIT_NPROC)`). */
  limitReached: string | null;
}

export const DEFAULT_MIN_FREE_BYTES = 1024 * 1024 * 1024;

/** How often the free space of a running command's filesystem is looked at. */
const DISK_CHECK_MS = 1000;

/** Bytes an unprivileged writer can still use on the filesystem of `dir`; null when it cannot be asked. */
function freeBytes(dir: string): number | null {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return null;
  }
}

const mebibytes = (bytes: number): string => `${Math.floor(bytes / (1024 * 1024))} MiB`;

/** Whether `path` is one of the system's directories, bound read-only whole, or inside one. */
const underSystemDir = (path: string): boolean => SYSTEM_DIRS.some((s) => path === s || path.startsWith(`${s}/`));

/** The directories above `path` (not `/`, not the system's), the highest first. */
function mountParents(path: string): string[] {
  return [...ancestors(path)].reverse().filter((d) => d !== '/' && d !== '.' && !underSystemDir(d));
}

/** `dir` and everything in it given to nobody, who the command runs as (its files were the worker's). */
function handToNobody(dir: string): void {
  const id = Number(SANDBOX_ID);
  lchownSync(dir, id, id);
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) lchownSync(join(entry.parentPath, entry.name), id, id);
}

/** The mounts of a command's own directories: `readOnly` (a missing one skipped when `optional`), then `writable`. */
function mountArgs(readOnly: readonly string[], writable: readonly string[], optional = false): string[] {
  const binds: [string, string, string][] = [];
  for (const path of readOnly) {
    if (optional && !existsSync(path)) continue;
    const real = realpathSync(path);
    binds.push(['--ro-bind', real, real]);
    if (real !== path) binds.push(['--ro-bind', real, path]);
  }
  for (const dir of writable) binds.push(['--bind', dir, dir]);
  // The directories bwrap makes above each mount point would copy their originals' modes (a
  // home directory's 0700, which nobody could not cross): made first, searchable by anyone.
  const parents = new Set(binds.map((b) => b[2]).flatMap(mountParents));
  return [...[...parents].flatMap((dir) => ['--perms', '0755', '--dir', dir]), ...binds.flat()];
}

function bwrapArgv(sandbox: Sandbox, command: SandboxedCommand, limits: ResourceLimits): string[] {
  const args = [...isolation(sandbox, command.network === true), ...mountArgs(command.readOnly, [command.dir])];
  // The sandbox's own root (where bwrap made the mount points) is read-only too, once made.
  args.push('--remount-ro', '/', '--chdir', command.dir, '--clearenv');
  for (const [name, value] of Object.entries(command.env)) args.push('--setenv', name, value);
  return [BWRAP, ...args, '--', ...limitPrefix(limits, sandbox.dropToNobody), ...command.argv];
}

/**
 * What of the environment a package manager's lockfile update keeps: where it finds itself and
 * its toolchain, its own settings (the registry, its credentials, its cache), proxies and
 * certificates; not the worker's other variables, which an application's .npmrc could expand.
 */
const UPDATE_ENV = /^(?:PATH|HOME|LANG|LC_[A-Z]+|TZ|CARGO_[A-Z0-9_]+|RUSTUP_HOME|RUSTUP_TOOLCHAIN|npm_config_\w+|(?:https?|no|all)_proxy|SSL_CERT_(?:FILE|DIR)|NODE_EXTRA_CA_CERTS)$/i;

const inSystem = (path: string): boolean => underSystemDir(path) || path === '/etc' || path.startsWith('/etc/');

/** What a package manager reads outside the system: its installation, the Rust toolchain, the user's npmrc, certificates. */
function updateReadOnly(env: NodeJS.ProcessEnv): string[] {
  const paths: string[] = [];
  for (const tool of ['cargo', 'rustup', 'npm', 'node', 'git']) {
    const found = programOnPath(tool, env.PATH);
    if (found === null) continue;
    // A tool installed under a prefix of its own (nvm, a tarball) reads its whole prefix.
    paths.push(dirname(found), dirname(dirname(realpathSync(found))));
  }
  const home = env.HOME;
  const rustupHome = env.RUSTUP_HOME ?? (home !== undefined ? join(home, '.rustup') : undefined);
  if (rustupHome !== undefined) paths.push(rustupHome);
  const userConfig = Object.entries(env).find(([name]) => name.toLowerCase() === 'npm_config_userconfig')?.[1] ?? (home !== undefined ? join(home, '.npmrc') : undefined);
  if (userConfig !== undefined) paths.push(userConfig);
  for (const name of ['SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS']) if (env[name] !== undefined) paths.push(env[name]);
  return [...new Set(paths.filter((p) => p.startsWith('/') && !inSystem(p)))];
}

/**
 * How a campaign runs the package manager's lockfile update (`cargo update`, `npm install
 * --package-lock-only`) under bubblewrap: with the machine's network (it needs the registry),
 * the filesystem as confined as for builds (the system read-only, a fresh /tmp, none of the
 * worker's other directories, so none of another application's work directory that a `file:`
 * or `workspaces` entry points to), only `writable` (the application's source, the package
 * managers' home) writable, and the environment reduced to UPDATE_ENV. The package manager is
 * not the application's code: run by root it stays root, with no capabilities. Undefined when
 * the sandbox is `none`: the update then runs as any command.
 */
export function confineUpdate(sandbox: Sandbox, writable: readonly string[], limits: ResourceLimits = DEFAULT_RESOURCE_LIMITS): ToolConfinement | undefined {
  if (sandbox.kind !== 'bwrap') return undefined;
  const how: Confinement = { userNamespace: sandbox.userNamespace && !sandbox.dropToNobody, dropToNobody: false };
  return ({ argv, cwd, env, readable }) => {
    const kept = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && UPDATE_ENV.test(e[0])));
    const args = [...isolation(how, true), ...mountArgs([...updateReadOnly(env), ...readable], writable, true), '--remount-ro', '/', '--chdir', cwd, '--clearenv'];
    for (const [name, value] of Object.entries(kept)) args.push('--setenv', name, value);
    return { argv: [BWRAP, ...args, '--', ...limitPrefix(limits, false), ...argv], env: kept };
  };
}

/** What a failing command's output says when it hit a limit: a process or thread it could not start, a file it could not grow. */
const PROCESS_LIMIT_OUTPUT = /Resource temporarily unavailable|Cannot fork|fork: retry|spawn EAGAIN|fork failed/;
const FILE_LIMIT_OUTPUT = new RegExp(`File size limit exceeded|SIGXFSZ|\\(signal: ${constants.signals.SIGXFSZ}[,)]`);
const MEMORY_LIMIT_OUTPUT = /Cannot allocate memory|memory allocation of \d+ bytes failed|allocation failed|[Oo]ut of memory/;
/** 128 + SIGXFSZ: how a shell (and bwrap) reports a child the file size limit killed. */
const XFSZ_STATUS = 153;

/** Runs one command in the sandbox, its output (stdout and stderr interleaved) into the log. */
export function runSandboxed(sandbox: Sandbox, command: SandboxedCommand): Promise<SandboxedRun> {
  const limits: ResourceLimits = { ...DEFAULT_RESOURCE_LIMITS, ...command.limits };
  const [program, ...args] = sandbox.kind === 'bwrap' ? (bwrapArgv(sandbox, command, limits) as [string, ...string[]]) : ([...limitPrefix(limits, false), ...command.argv] as [string, ...string[]]);
  command.log.line(`$ ${commandText(command.argv)}`);
  if (sandbox.kind === 'bwrap' && sandbox.dropToNobody) handToNobody(command.dir);
  // The last of the output, to see a limit's message split across two chunks.
  let tail = '';
  let processLimit = false;
  let fileLimit = false;
  let memoryLimit = false;
  const watch = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('latin1')).slice(-chunk.length - 64);
    processLimit ||= PROCESS_LIMIT_OUTPUT.test(tail);
    fileLimit ||= FILE_LIMIT_OUTPUT.test(tail);
    memoryLimit ||= MEMORY_LIMIT_OUTPUT.test(tail);
    tail = tail.slice(-64);
  };
  return new Promise((resolve, reject) => {
    // Its own process group, so the time limit kills everything it started.
    const child = spawn(program, args, { cwd: command.dir, env: command.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let timedOut = false;
    let cancelled = false;
    let diskFull = false;
    const minFree = command.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
    let free: number | null = null;
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, command.timeLimitMs);
    const onAbort = (): void => {
      cancelled = true;
      kill();
    };
    const disk = setInterval(() => {
      free = freeBytes(command.dir);
      if (free !== null && free < minFree && !diskFull) {
        diskFull = true;
        kill();
      }
    }, DISK_CHECK_MS);
    command.signal?.addEventListener('abort', onAbort, { once: true });
    const output = (chunk: Buffer): void => {
      watch(chunk);
      command.log.output(chunk);
    };
    child.stdout?.on('data', output);
    child.stderr?.on('data', output);
    child.on('error', (err) => {
      clearTimeout(timer);
      clearInterval(disk);
      command.signal?.removeEventListener('abort', onAbort);
      reject(new StowageError(`cannot run ${program}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(disk);
      command.signal?.removeEventListener('abort', onAbort);
      command.log.endOutput();
      let limitReached: string | null = null;
      if (timedOut) command.log.line(`killed after the time limit of ${Math.round(command.timeLimitMs / 1000)} s`);
      else if (cancelled) command.log.line('killed: the campaign was cancelled');
      else if (diskFull) command.log.line(`killed: ${mebibytes(free ?? 0)} left free on the filesystem of ${command.dir}, under the ${mebibytes(minFree)} kept free`);
      else {
        command.log.line(`exit status ${code ?? `none (killed by ${signal ?? 'a signal'})`}`);
        if (code !== 0) {
          if (fileLimit || code === XFSZ_STATUS || signal === 'SIGXFSZ') limitReached = `the limit of ${bytesText(limits.fileBytes)} per file (RLIMIT_FSIZE)`;
          else if (memoryLimit) limitReached = `the limit of ${bytesText(limits.memoryBytes)} of memory per process (RLIMIT_DATA)`;
          else if (processLimit && processLimitHolds(sandbox)) limitReached = `the limit of ${limits.processes} processes and threads (RLIMIT_NPROC)`;
          if (limitReached !== null) command.log.line(`limit reached: ${limitReached}`);
        }
      }
      resolve({ status: code, timedOut, cancelled, diskFull, limitReached });
    });
  });
}
