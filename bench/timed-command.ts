/**
 * One command run and timed as the fleet benches time them: wall time, and from GNU time (when
 * installed) the user + system CPU time, which says what a loaded machine's wall time hides, and
 * the peak resident memory.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

export interface TimedRun {
  ms: number;
  /** User + system CPU time, from GNU time. */
  cpuMs: number | null;
  peakRssMb: number | null;
  status: number;
  /** Standard output, when it was kept as text. */
  stdout: string;
  /** Bytes written to standard output, when it went to a file. */
  bytes: number;
}

/**
 * Runs `cmd`; its standard output is kept as text ('text'), dropped ('ignore') or written to the
 * file `stdout` names (a fleet's status is more than a pipe buffer should hold). Exit 1 (findings
 * fail a policy) is a valid run; any other failure is a broken benchmark, and throws.
 */
export function timedCommand(cmd: string[], env: NodeJS.ProcessEnv, stdout: 'text' | 'ignore' | { file: string } = 'text'): TimedRun {
  const time = existsSync('/usr/bin/time');
  const argv = time ? ['/usr/bin/time', '-f', '%M %U %S', ...cmd] : cmd;
  const fd = typeof stdout === 'object' ? openSync(stdout.file, 'w') : null;
  try {
    const start = process.hrtime.bigint();
    const out = fd ?? (stdout === 'ignore' ? 'ignore' : 'pipe');
    const r = spawnSync(argv[0] as string, argv.slice(1), { env, encoding: 'utf8', stdio: ['ignore', out, 'pipe'], maxBuffer: 1024 * 1024 * 1024 });
    const ms = Math.round(Number(process.hrtime.bigint() - start) / 1e6);
    const status = r.status ?? -1;
    if (status !== 0 && status !== 1) throw new Error(`${cmd.join(' ')} exited ${status}: ${r.stderr.slice(-2000)}`);
    // GNU time's last line: peak RSS (KB), user and system CPU seconds.
    const [kb, user, system] = time ? (r.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number) : [];
    const cpuMs = user !== undefined && system !== undefined && Number.isFinite(user + system) ? Math.round((user + system) * 1000) : null;
    const peakRssMb = kb !== undefined && Number.isFinite(kb) ? Math.round(kb / 102.4) / 10 : null;
    return { ms, cpuMs, peakRssMb, status, stdout: r.stdout ?? '', bytes: fd === null ? Buffer.byteLength(r.stdout ?? '') : fstatSync(fd).size };
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** The machine a result was measured on, with its load when the bench started. */
export function machineNow(): Record<string, unknown> {
  return { cpus: cpus().length, model: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverage: loadavg() };
}
