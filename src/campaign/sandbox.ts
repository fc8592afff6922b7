import { spawn, spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
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

/** The isolation options shared by the probe and every run. */
function isolation(): string[] {
  const args = ['--unshare-net', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session'];
  for (const dir of SYSTEM_DIRS) if (existsSync(dir)) args.push('--ro-bind', dir, dir);
  for (const entry of ETC_ENTRIES) args.push('--ro-bind-try', `/etc/${entry}`, `/etc/${entry}`);
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  return args;
}

let probed: string | null | undefined;

/** Why bubblewrap cannot isolate a command here, or null when it can. Asked once per process. */
function bwrapProblem(): string | null {
  if (probed !== undefined) return probed;
  const run = spawnSync(BWRAP, [...isolation(), '--remount-ro', '/', '--', 'true'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  if (run.error) probed = `cannot run ${BWRAP}: ${(run.error as NodeJS.ErrnoException).code ?? run.error.message}`;
  else if (run.status !== 0) probed = `${BWRAP} refused to start (${run.stderr.toString('utf8').trim().split('\n').pop() ?? `exit ${run.status}`})`;
  else probed = null;
  return probed;
}

/** The sandbox `mode` gives on this machine; `bwrap` where bubblewrap does not work is an error. */
export function chooseSandbox(mode: SandboxMode): Sandbox {
  if (mode === 'none') return { kind: 'none', note: 'sandbox: none (--sandbox none): builds and tests run unisolated, with network access' };
  const problem = bwrapProblem();
  if (problem === null) {
    return { kind: 'bwrap', note: 'sandbox: bubblewrap: no network, read-only system (of /etc only what builds read), only the build directory writable, no home directory' };
  }
  if (mode === 'bwrap') throw new StowageError(`--sandbox bwrap: ${problem}`);
  return { kind: 'none', note: `sandbox: none (--sandbox auto: ${problem}): builds and tests run unisolated, with network access` };
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
}

export interface SandboxedRun {
  /** The exit status; null when the command was killed. */
  status: number | null;
  timedOut: boolean;
  cancelled: boolean;
}

function bwrapArgv(command: SandboxedCommand): string[] {
  const args = [...isolation()];
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
  const [program, ...args] = sandbox.kind === 'bwrap' ? (bwrapArgv(command) as [string, ...string[]]) : command.argv;
  command.log.line(`$ ${commandText(command.argv)}`);
  return new Promise((resolve, reject) => {
    // Its own process group, so the time limit kills everything it started.
    const child = spawn(program, args, { cwd: command.dir, env: command.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let timedOut = false;
    let cancelled = false;
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
    command.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout?.on('data', (chunk: Buffer) => command.log.output(chunk));
    child.stderr?.on('data', (chunk: Buffer) => command.log.output(chunk));
    child.on('error', (err) => {
      clearTimeout(timer);
      command.signal?.removeEventListener('abort', onAbort);
      reject(new StowageError(`cannot run ${program}: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      command.signal?.removeEventListener('abort', onAbort);
      command.log.endOutput();
      if (timedOut) command.log.line(`killed after the time limit of ${Math.round(command.timeLimitMs / 1000)} s`);
      else if (cancelled) command.log.line('killed: the campaign was cancelled');
      else command.log.line(`exit status ${code ?? 'none (killed by a signal)'}`);
      resolve({ status: code, timedOut, cancelled });
    });
  });
}
