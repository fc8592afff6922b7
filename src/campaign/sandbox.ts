import { spawn, spawnSync } from 'node:child_process';
import { existsSync, realpathSync, statfsSync } from 'node:fs';
import { StowageError } from '../core/errors.js';
import { commandText } from '../fixes/report.js';
import type { StepLog } from './step-log.js';

/**
 * Where a campaign runs the application's own code (build scripts, procedural macros, tests):
 * under bubblewrap when it works on this machine, with no network, the system read-only, a
 * fresh /tmp, no home directory, and only one directory writable; or, when asked (`none`) or
 * when bubblewrap is missing or refused here (`auto`), as a plain child process, which the
 * choice's `note` says in so many words. Either way each command has a time limit (its whole
 * process group is killed) and its output goes to the step log, capped.
 */

export const SANDBOX_MODES = ['auto', 'bwrap', 'none'] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

export interface Sandbox {
  kind: 'bwrap' | 'none';
  /** bwrap: in a user namespace of its own, as an unprivileged user (root outside is not root inside); false where the kernel refuses one. */
  userNamespace: boolean;
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

/**
 * Who the command is inside a user namespace: an unprivileged user (nobody), mapped to the
 * caller outside. Run by root, the build would otherwise be root with every capability inside
 * the sandbox (able to remount what was bound read-only, for one).
 */
const SANDBOX_ID = '65534';

/** The isolation options shared by the probe and every run. */
function isolation(userNamespace: boolean): string[] {
  const args = ['--unshare-net', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session'];
  if (userNamespace) args.push('--unshare-user', '--uid', SANDBOX_ID, '--gid', SANDBOX_ID, '--cap-drop', 'ALL');
  // Root without a user namespace would keep every capability inside (CAP_SYS_ADMIN: remount,
  // mount the machine's disks; CAP_SYS_MODULE: load a kernel module): it keeps none.
  else if (process.getuid?.() === 0) args.push('--cap-drop', 'ALL');
  for (const dir of SYSTEM_DIRS) if (existsSync(dir)) args.push('--ro-bind', dir, dir);
  for (const entry of ETC_ENTRIES) args.push('--ro-bind-try', `/etc/${entry}`, `/etc/${entry}`);
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  return args;
}

interface Probe {
  /** Why bubblewrap cannot isolate a command here, or null when it can. */
  problem: string | null;
  /** Whether it can in a user namespace of its own (kernels may refuse them). */
  userNamespace: boolean;
}

let probed: Probe | undefined;

/** What bubblewrap can do here: with a user namespace, else without, else why not. Asked once per process. */
function probeBwrap(): Probe {
  if (probed !== undefined) return probed;
  const run = (userNamespace: boolean): ReturnType<typeof spawnSync> =>
    spawnSync(BWRAP, [...isolation(userNamespace), '--remount-ro', '/', '--', 'true'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  const withUser = run(true);
  if (!withUser.error && withUser.status === 0) return (probed = { problem: null, userNamespace: true });
  const plain = run(false);
  let problem: string | null = null;
  if (plain.error) problem = `cannot run ${BWRAP}: ${(plain.error as NodeJS.ErrnoException).code ?? plain.error.message}`;
  else if (plain.status !== 0) problem = `${BWRAP} refused to start (${plain.stderr.toString().trim().split('\n').pop() ?? `exit ${plain.status}`})`;
  return (probed = { problem, userNamespace: false });
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
export function chooseSandbox(mode: SandboxMode): Sandbox {
  if (mode === 'none') return { kind: 'none', userNamespace: false, note: 'sandbox: none (--sandbox none): builds and tests run unisolated, with network access' };
  const { problem, userNamespace } = probeBwrap();
  if (problem === null) {
    const who = userNamespace
      ? 'an unprivileged user with no capabilities'
      : `the calling user${process.getuid?.() === 0 ? ' with no capabilities' : ''} (this kernel refuses bubblewrap a user namespace)`;
    return {
      kind: 'bwrap',
      userNamespace,
      note: `sandbox: bubblewrap: no network, read-only system (of /etc only what builds read), only the build directory writable, no home directory, run as ${who}`,
    };
  }
  if (mode === 'bwrap') throw new StowageError(`--sandbox bwrap: ${problem}`);
  return { kind: 'none', userNamespace: false, note: `sandbox: none (--sandbox auto: ${problem}): builds and tests run unisolated, with network access` };
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
}

export interface SandboxedRun {
  /** The exit status; null when the command was killed. */
  status: number | null;
  timedOut: boolean;
  cancelled: boolean;
  /** Killed for leaving fewer than `minFreeBytes` free on its directory's filesystem. */
  diskFull: boolean;
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

function bwrapArgv(sandbox: Sandbox, command: SandboxedCommand): string[] {
  const args = [...isolation(sandbox.userNamespace)];
  for (const dir of command.readOnly) {
    const real = realpathSync(dir);
    args.push('--ro-bind', real, real);
    if (real !== dir) args.push('--ro-bind', real, dir);
  }
  // The sandbox's own root (where bwrap made the mount points) is read-only too, once made.
  args.push('--bind', command.dir, command.dir, '--remount-ro', '/', '--chdir', command.dir, '--clearenv');
  for (const [name, value] of Object.entries(command.env)) args.push('--setenv', name, value);
  return [BWRAP, ...args, '--', ...command.argv];
}

/** Runs one command in the sandbox, its output (stdout and stderr interleaved) into the log. */
export function runSandboxed(sandbox: Sandbox, command: SandboxedCommand): Promise<SandboxedRun> {
  const [program, ...args] = sandbox.kind === 'bwrap' ? (bwrapArgv(sandbox, command) as [string, ...string[]]) : command.argv;
  command.log.line(`$ ${commandText(command.argv)}`);
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
    child.stdout?.on('data', (chunk: Buffer) => command.log.output(chunk));
    child.stderr?.on('data', (chunk: Buffer) => command.log.output(chunk));
    child.on('error', (err) => {
      clearTimeout(timer);
      clearInterval(disk);
      command.signal?.removeEventListener('abort', onAbort);
      reject(new StowageError(`cannot run ${program}: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(disk);
      command.signal?.removeEventListener('abort', onAbort);
      command.log.endOutput();
      if (timedOut) command.log.line(`killed after the time limit of ${Math.round(command.timeLimitMs / 1000)} s`);
      else if (cancelled) command.log.line('killed: the campaign was cancelled');
      else if (diskFull) command.log.line(`killed: ${mebibytes(free ?? 0)} left free on the filesystem of ${command.dir}, under the ${mebibytes(minFree)} kept free`);
      else command.log.line(`exit status ${code ?? 'none (killed by a signal)'}`);
      resolve({ status: code, timedOut, cancelled, diskFull });
    });
  });
}
