import { existsSync, readFileSync } from 'node:fs';

/** Whether process `pid` is still running (a zombie not yet reaped counts as gone). */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = `/proc/${pid}/stat`;
  return !(existsSync(stat) && /^\d+ \(.*\) Z /.test(readFileSync(stat, 'utf8')));
}

/** Waits (boundedly: 10 s) for process `pid` to end; whether it has. */
export async function ended(pid: number): Promise<boolean> {
  for (let i = 0; i < 200 && running(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !running(pid);
}

/** Waits (boundedly: `tries` × 100 ms) for `file` to hold a pid and a newline; the pid. */
export async function pidIn(file: string, tries = 600): Promise<number> {
  for (let i = 0; i < tries && !(existsSync(file) && readFileSync(file, 'utf8').endsWith('\n')); i++) await new Promise((r) => setTimeout(r, 100));
  return Number(readFileSync(file, 'utf8'));
}
