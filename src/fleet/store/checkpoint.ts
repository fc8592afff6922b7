import { Worker } from 'node:worker_threads';

/** How long a writer waits for another process's transaction before giving up (SQLITE_BUSY). */
export const BUSY_TIMEOUT_MS = 60_000;

/** `PRAGMA wal_checkpoint`'s answer: frames in the WAL, how many are in the database file now, and whether it had to stop short (busy). */
export interface CheckpointResult {
  busy: number;
  frames: number;
  checkpointed: number;
}

/** The worker module: from the bundle (dist/bundle/stowage.cjs) the bundle beside it; from tsc's output, the module beside this one. */
const WORKER = new URL(import.meta.url.endsWith('.cjs') ? './checkpoint-worker.cjs' : './checkpoint-worker.js', import.meta.url);

/**
 * A PASSIVE checkpoint of `file`'s WAL in a thread of its own, with its own connection (SQLite
 * does the copying, in the kernel mostly, outside the JavaScript thread that asked): it copies
 * every committed frame no reader still needs into the database file, waiting for no reader or
 * writer. Resolves when the thread has checkpointed and closed its connection.
 */
export function checkpointInThread(file: string): Promise<CheckpointResult> {
  return new Promise((resolve, reject) => {
    let result: CheckpointResult | null = null;
    const worker = new Worker(WORKER, { workerData: { file } });
    worker.on('message', (answer: CheckpointResult) => {
      result = answer;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (result !== null && code === 0) resolve(result);
      else reject(new Error(`the fleet store's checkpoint thread stopped (exit code ${code})`));
    });
  });
}
