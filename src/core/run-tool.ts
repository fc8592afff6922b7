import { spawn } from 'node:child_process';
import { StowageError } from './errors.js';

export interface ToolRun {
  status: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * Bounds on a tool that runs on behalf of a campaign (the package manager's lockfile update,
 * rpmbuild): a hung one must not hold a worker for ever, and a cancelled campaign stops it.
 */
export interface ToolLimits {
  /** The tool and everything it started (its process group) are killed after this many milliseconds. */
  timeLimitMs?: number;
  /** Aborting kills the tool's process group. */
  signal?: AbortSignal;
  /** Runs the tool inside something else (a campaign's sandbox); see ToolConfinement. */
  confine?: ToolConfinement;
}

/**
 * How a confined tool is started: given its argv, where it starts, its environment and the
 * paths outside its project it must read (a settings file of the caller's), the argv to spawn
 * instead (a sandbox's, ending with the tool's) and the environment to spawn it with.
 */
export type ToolConfinement = (tool: { argv: [string, ...string[]]; cwd: string; env: NodeJS.ProcessEnv; readable: readonly string[] }) => { argv: [string, ...string[]]; env: NodeJS.ProcessEnv };

/**
 * Runs a system tool (git, rpmbuild, cargo, npm) with an argv array, never a shell string,
 * collecting its output; a tool that cannot be started is a StowageError naming it. With
 * `limits`, the tool runs in a process group of its own, killed whole when its time runs out
 * (a StowageError: `cargo update … did not finish within 600 s`) or the signal aborts
 * (a StowageError: `… cancelled`); `label` is how those errors name the command (default its argv).
 */
export function runTool(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; limits?: ToolLimits; label?: string; readable?: readonly string[] }): Promise<ToolRun> {
  const limits = options.limits;
  const what = options.label ?? [command, ...args].join(' ');
  const confined = limits?.confine?.({ argv: [command, ...args], cwd: options.cwd, env: options.env ?? process.env, readable: options.readable ?? [] });
  const [program, ...programArgs] = confined?.argv ?? [command, ...args];
  const env = confined?.env ?? options.env ?? process.env;
  const bounded = limits?.timeLimitMs !== undefined || limits?.signal !== undefined;
  if (limits?.signal?.aborted) return Promise.reject(new StowageError(`${what}: cancelled`));
  return new Promise((resolve, reject) => {
    const child = spawn(program, programArgs, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: bounded });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let stopped: string | null = null;
    const kill = (why: string): void => {
      stopped ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = limits?.timeLimitMs !== undefined ? setTimeout(() => kill(`did not finish within ${Math.round((limits.timeLimitMs as number) / 100) / 10} s (killed)`), limits.timeLimitMs) : undefined;
    const onAbort = (): void => kill('cancelled');
    limits?.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => {
      clearTimeout(timer);
      limits?.signal?.removeEventListener('abort', onAbort);
    };
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      settle();
      reject(new StowageError(`cannot run ${program}: ${e.message}`));
    });
    child.on('close', (code) => {
      settle();
      if (stopped !== null) reject(new StowageError(`${what}: ${stopped}`));
      else resolve({ status: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}
