import { availableParallelism } from 'node:os';
import { Worker, type MessagePort } from 'node:worker_threads';
import type { AdvisoryDatabase } from '../advisories/database.js';
import type { Ecosystem } from '../core/package.js';
import { reopen, workerDatabases, type WorkerDatabase } from './add-pool.js';
import { matchRevision, restrictionOf, type MatchContext, type MatchedRevision, type MatchJob, type Names } from './sync-match.js';

/**
 * `fleet sync` of many revisions re-matches them (sync-match.ts: decode, audit, compare) in
 * worker threads while the main thread reads the next revisions from the store and writes the
 * findings of those before, in order, in its one transaction. Each worker opens the advisory
 * indexes itself (files, read-only) and checks they are the very ones the command opened.
 * Whatever a worker cannot do as the main thread would (an index that changed or is damaged,
 * an error of any kind) it leaves to the main thread, which re-matches that revision itself
 * and meets the error there: the outcome is always what a sequential sync gives.
 */

/** Below this many revisions a sync stays in its thread: starting workers (each opens the indexes) costs more than they save. */
export const SYNC_POOL_FROM = 200;

/** Workers at most, whatever the machine (the main thread's reads and writes are the limit beyond). */
const MAX_WORKERS = 4;

/** Revisions given to a worker before it answers, so it never idles waiting for the main thread. */
const JOBS_PER_WORKER = 4;

/**
 * How many workers a sync of `count` revisions uses: 0 below `from`; else `asked`, or one core
 * fewer than the machine has (at least one): the main thread is busy too (the store, the
 * findings' rows), and a worker more than the cores only adds its start and its caches.
 */
export function syncPoolSize(count: number, from = SYNC_POOL_FROM, asked?: number): number {
  if (count < from) return 0;
  return Math.max(0, Math.min(asked ?? Math.max(1, availableParallelism() - 1), MAX_WORKERS));
}

/** What a worker is started with: the databases to reopen, the touched names, the sync's time. */
export interface SyncWorkerSetup {
  databases: WorkerDatabase[];
  names: [Ecosystem, string[]][];
  now: Date;
}

/** A job's answer: the re-matched revision, or null when the main thread must re-match it. */
interface Answer {
  id: number;
  matched: MatchedRevision | null;
}

interface Pending {
  id: number;
  job: MatchJob;
  resolve: (matched: MatchedRevision | null) => void;
  reject: (err: Error) => void;
}

/** The worker threads of one sync. */
export class SyncPool {
  private readonly queue: Pending[] = [];
  private readonly busy = new Map<Worker, Map<number, Pending>>();
  private nextId = 0;
  private failure: Error | null = null;
  private closing = false;

  private constructor(
    private readonly workers: Worker[],
    /** Called with each answer's advisory records as it arrives, before the revision is applied. */
    private readonly onRecords: (records: readonly [string, string][]) => void,
  ) {
    for (const worker of workers) {
      this.busy.set(worker, new Map());
      worker.on('message', (answer: Answer) => this.answered(worker, answer));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`a fleet sync worker stopped (exit code ${code})`));
      });
    }
  }

  static start(size: number, context: { databases: readonly AdvisoryDatabase[]; names: Names; now: Date }, onRecords: (records: readonly [string, string][]) => void): SyncPool {
    const setup: SyncWorkerSetup = {
      databases: workerDatabases(context.databases),
      names: (Object.entries(context.names) as [Ecosystem, Set<string>][]).map(([ecosystem, set]) => [ecosystem, [...set]]),
      now: context.now,
    };
    // From the bundle (dist/bundle/stowage.cjs) the worker is the bundle beside it; from tsc's output, the module beside this one.
    const entry = new URL(import.meta.url.endsWith('.cjs') ? './sync-worker.cjs' : './sync-worker.js', import.meta.url);
    return new SyncPool(
      Array.from({ length: size }, () => new Worker(entry, { workerData: setup })),
      onRecords,
    );
  }

  /** The revision re-matched by a worker; null when the main thread must re-match it itself. */
  match(job: MatchJob): Promise<MatchedRevision | null> {
    const answer = new Promise<MatchedRevision | null>((resolve, reject) => {
      if (this.failure !== null) reject(this.failure);
      else this.queue.push({ id: this.nextId++, job, resolve, reject });
    });
    // Awaited in order, perhaps after a worker failed: not an unhandled rejection meanwhile.
    answer.catch(() => undefined);
    this.pump();
    return answer;
  }

  private pump(): void {
    for (const [worker, jobs] of this.busy) {
      while (jobs.size < JOBS_PER_WORKER && this.queue.length > 0) {
        const pending = this.queue.shift() as Pending;
        jobs.set(pending.id, pending);
        // The graph's bytes are copied, not moved: a job a worker leaves is matched here from them.
        worker.postMessage({ id: pending.id, job: pending.job });
      }
    }
  }

  private answered(worker: Worker, answer: Answer): void {
    const jobs = this.busy.get(worker);
    const pending = jobs?.get(answer.id);
    if (jobs === undefined || pending === undefined) return;
    jobs.delete(answer.id);
    if (answer.matched !== null) this.onRecords(answer.matched.records);
    pending.resolve(answer.matched);
    this.pump();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const jobs of this.busy.values()) {
      for (const pending of jobs.values()) pending.reject(this.failure);
      jobs.clear();
    }
    for (const pending of this.queue.splice(0)) pending.reject(this.failure);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** A worker's life: re-matches the revisions it is given, one at a time, in the order given. */
export function serveSyncJobs(port: MessagePort, setup: SyncWorkerSetup): void {
  const databases = reopen(setup.databases);
  const names: Names = Object.fromEntries(setup.names.map(([ecosystem, list]) => [ecosystem, new Set(list)]));
  // Each advisory record is handed over once by each worker (the main thread keeps them all).
  const context: MatchContext = { databases: databases ?? [], restriction: restrictionOf(names), now: setup.now, sentRecords: new Set<string>() };
  let done: Promise<void> = Promise.resolve();
  port.on('message', (message: { id: number; job: MatchJob }) => {
    done = done.then(async () => {
      let matched: MatchedRevision | null = null;
      if (databases !== null) {
        try {
          matched = await matchRevision(message.job, context);
        } catch {
          // The main thread re-matches the revision and meets the error itself (or rebuilds a damaged index).
          matched = null;
        }
      }
      port.postMessage({ id: message.id, matched } satisfies Answer);
    });
  });
}
