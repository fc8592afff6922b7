import { availableParallelism } from 'node:os';
import { Worker, type MessagePort } from 'node:worker_threads';

/**
 * Jobs done by worker threads for a fleet command (`fleet add`: add-pool.ts, `fleet sync`:
 * sync-pool.ts): each job posted to a worker with fewer than `perWorker` under way (so none
 * idles waiting for the main thread), each answer resolving its own job's promise. A worker
 * that fails or stops fails every job not answered yet, and every later one.
 */

interface JobMessage<Job> {
  id: number;
  job: Job;
}

/** A job's answer: null when the worker leaves the job to the main thread. */
interface ResultMessage<Sent> {
  id: number;
  result: Sent | null;
}

interface Pending<Job, Result> {
  id: number;
  job: Job;
  resolve: (result: Result | null) => void;
  reject: (err: Error) => void;
}

/** How many workers a command with `count` items uses: 0 below `from`; else `asked` (tests), or one per core; at most `max`. */
export function workerCount(count: number, from: number, max: number, asked?: number): number {
  if (count < from) return 0;
  return Math.max(0, Math.min(asked ?? availableParallelism(), max));
}

/** The worker module `name` (add-worker, sync-worker): from the bundle (dist/bundle/stowage.cjs) the bundle beside it; from tsc's output, the module beside this one. */
export function workerEntry(name: string): URL {
  return new URL(import.meta.url.endsWith('.cjs') ? `./${name}.cjs` : `./${name}.js`, import.meta.url);
}

export class WorkerJobs<Job, Result, Sent = Result> {
  private readonly queue: Pending<Job, Result>[] = [];
  private readonly busy = new Map<Worker, Map<number, Pending<Job, Result>>>();
  private nextId = 0;
  private failure: Error | null = null;
  private closing = false;

  /**
   * `received` sees each answer as it arrives (before the job's promise resolves), as the
   * worker sent it, and gives what the promise resolves to.
   */
  constructor(
    private readonly workers: Worker[],
    what: string,
    private readonly perWorker: number,
    private readonly received: (sent: Sent) => Result,
  ) {
    for (const worker of workers) {
      this.busy.set(worker, new Map());
      worker.on('message', (answer: ResultMessage<Sent>) => this.answered(worker, answer));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`a ${what} worker stopped (exit code ${code})`));
      });
    }
  }

  /** Whether no worker failed. */
  get healthy(): boolean {
    return this.failure === null;
  }

  /** The job's result from a worker; null when the main thread must do the job itself. */
  run(job: Job): Promise<Result | null> {
    const answer = new Promise<Result | null>((resolve, reject) => {
      if (this.failure !== null) reject(this.failure);
      else this.queue.push({ id: this.nextId++, job, resolve, reject });
    });
    // Awaited in order, perhaps after a worker failed: not an unhandled rejection meanwhile.
    answer.catch(() => undefined);
    this.pump();
    return answer;
  }

  /** Each job queued to the worker with the fewest under way (below `perWorker`): the jobs of a round spread over the workers, not one worker's fill first. */
  private pump(): void {
    while (this.queue.length > 0) {
      let least: [Worker, Map<number, Pending<Job, Result>>] | null = null;
      for (const entry of this.busy) if (entry[1].size < this.perWorker && (least === null || entry[1].size < least[1].size)) least = entry;
      if (least === null) return;
      const pending = this.queue.shift() as Pending<Job, Result>;
      least[1].set(pending.id, pending);
      least[0].postMessage({ id: pending.id, job: pending.job } satisfies JobMessage<Job>);
    }
  }

  private answered(worker: Worker, answer: ResultMessage<Sent>): void {
    const jobs = this.busy.get(worker);
    const pending = jobs?.get(answer.id);
    if (jobs === undefined || pending === undefined) return;
    jobs.delete(answer.id);
    pending.resolve(answer.result === null ? null : this.received(answer.result));
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

/**
 * A worker's side: does the jobs it is given, one at a time, in the order given. `handle` null
 * (the worker cannot do any: its databases are not the command's), or a job that throws: the
 * answer is null, and the main thread does the job itself, meeting any error as it would alone.
 * `transfer` names the buffers of an answer that are handed over rather than copied.
 */
export function serveJobs<Job, Result>(
  port: MessagePort,
  handle: ((job: Job) => Promise<Result>) | null,
  transfer: (result: Result | null) => ArrayBuffer[] = () => [],
): void {
  let done: Promise<void> = Promise.resolve();
  port.on('message', (message: JobMessage<Job>) => {
    done = done.then(async () => {
      let result: Result | null = null;
      if (handle !== null) {
        try {
          result = await handle(message.job);
        } catch {
          result = null;
        }
      }
      port.postMessage({ id: message.id, result } satisfies ResultMessage<Result>, transfer(result));
    });
  });
}
