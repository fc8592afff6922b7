import { spawn } from 'node:child_process';
import { StowageError } from './errors.js';

export interface ToolRun {
  status: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs a system tool (git, rpmbuild, cargo, npm) with an argv array, never a shell string,
 * collecting its output; a tool that cannot be started is a StowageError naming it.
 */
export function runTool(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => reject(new StowageError(`cannot run ${command}: ${e.message}`)));
    child.on('close', (code) => resolve({ status: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
  });
}
