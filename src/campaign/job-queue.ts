import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { FleetStore } from '../fleet/store/store.js';
import type { AppJob, StoreGate } from './app-job.js';

/** What a worker takes from the queue: one application of a campaign, or a scheduled `fleet sync`. */
export type FleetJob = ({ kind: 'campaign-app' } & AppJob) | { kind: 'sync' };

/**
 * The campaigns' durable job queue: one job per affected application. Two implementations
 * with one contract: on SQLite a table of the store (`campaign_jobs`), taken under a lease the
 * worker renews while it works (a worker that dies stops renewing, the lease runs out, another
 * takes the job); on PostgreSQL pg-boss (./pg-boss-queue.ts), whose expiry does the same across
 * machines. Jobs of campaigns a user started go before scheduled ones (PRIORITY), scheduled
 * syncs among them: a worker busy with syncs never keeps a user's campaign waiting behind them.
 */

export const PRIORITY = { userStarted: 10, scheduled: 0 } as const;

export interface WorkOptions {
  concurrency: number;
  /** Return once nothing is left to take (and this worker's jobs are done). */
  drain: boolean;
  /** Stop taking jobs; the ones running are finished. */
  signal?: AbortSignal;
  /** Checked between jobs: true stops the worker (a `campaign start` waiting for its campaign). */
  done?: () => Promise<boolean>;
  /** A job that threw (the store failed under it): it is left to its lease and taken again later. */
  onJobError?: (job: FleetJob, err: unknown) => void;
}

/** A job this worker holds: renew its lease while it works, then mark it done. */
export interface TakenJob {
  job: FleetJob;
  renew(): Promise<void>;
  done(): Promise<void>;
}

export interface JobQueue {
  /** Seconds a taken job stays this worker's without a renewal. */
  readonly leaseSeconds: number;
  /**
   * Queues one job per application of a campaign already committed. Idempotent: an application
   * that has a job in the campaign (queued, running or over) gets no second one, so the worker's
   * reconciliation (a `campaign start` killed before it queued its jobs) can ask again at any time.
   */
  enqueue(campaignId: number, appIds: number[], priority: number): Promise<void>;
  /** Queues a scheduled sync (PRIORITY.scheduled) unless one is waiting to be taken; whether it did. */
  enqueueSync(): Promise<boolean>;
  /** The most urgent job due (queued, or held by a worker whose lease ran out), or null. */
  take(): Promise<TakenJob | null>;
  /** Jobs queued or held by any worker. */
  pending(): Promise<number>;
  /** Drops a campaign's jobs not yet taken. */
  cancel(campaignId: number): Promise<void>;
  close(): Promise<void>;
}

/** How long a job is a worker's without a sign of life, in seconds (tests shorten it). */
export function campaignLeaseSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const given = Number(env.STOWAGE_CAMPAIGN_LEASE_SECONDS);
  return Number.isInteger(given) && given >= 1 ? given : 60;
}

/** Who holds a job, for `campaign show` and for fencing: host, pid and a random part. */
export function workerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

const POLL_MS = 250;
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * Takes jobs and runs `handler` for each, `concurrency` at a time, renewing each lease at a
 * third of its length, until the options say stop. A handler that throws (the store went away)
 * stops the worker; its job's lease runs out and another worker takes it.
 */
export async function workJobs(queue: JobQueue, handler: (job: FleetJob) => Promise<void>, options: WorkOptions): Promise<void> {
  const running = new Set<Promise<void>>();
  const stop = async (): Promise<boolean> => options.signal?.aborted === true || (options.done !== undefined && (await options.done()));
  while (!(await stop())) {
    if (running.size >= options.concurrency) {
      await Promise.race(running);
      continue;
    }
    const taken = await queue.take();
    if (taken === null) {
      if (options.drain && running.size === 0 && (await queue.pending()) === 0) break;
      await Promise.race([sleep(POLL_MS, options.signal), ...running]);
      continue;
    }
    const task = runLeased(queue, taken, handler, options.onJobError).finally(() => running.delete(task));
    running.add(task);
  }
  await Promise.all(running);
}

async function runLeased(queue: JobQueue, taken: TakenJob, handler: (job: FleetJob) => Promise<void>, onError: WorkOptions['onJobError']): Promise<void> {
  const renew = setInterval(() => void taken.renew().catch(() => undefined), (queue.leaseSeconds * 1000) / 3);
  try {
    await handler(taken.job);
    await taken.done();
  } catch (err) {
    // The store failed under the job (not the job's own failure, which it records): the job is
    // left to its lease, after which a worker takes it again; this worker goes on.
    onError?.(taken.job, err);
  } finally {
    clearInterval(renew);
  }
}

/** The queue in the store's own tables, for SQLite (it works on any SqlDriver). */
export class StoreJobQueue implements JobQueue {
  private readonly owner = workerId();

  constructor(
    private readonly store: FleetStore,
    private readonly gate: StoreGate,
    readonly leaseSeconds: number = campaignLeaseSeconds(),
  ) {}

  async enqueue(campaignId: number, appIds: number[], priority: number): Promise<void> {
    await this.gate(() => this.store.transaction((tx) => tx.campaigns.enqueue(campaignId, appIds, priority, new Date().toISOString())));
  }

  async enqueueSync(): Promise<boolean> {
    return this.gate(() => this.store.transaction((tx) => tx.campaigns.enqueueSync(PRIORITY.scheduled, new Date().toISOString())));
  }

  async cancel(campaignId: number): Promise<void> {
    await this.gate(() => this.store.transaction((tx) => tx.campaigns.cancelJobs(campaignId)));
  }

  pending(): Promise<number> {
    return this.gate(() => this.store.campaigns.pendingJobs());
  }

  async take(): Promise<TakenJob | null> {
    const until = (): string => new Date(Date.now() + this.leaseSeconds * 1000).toISOString();
    const job = await this.gate(() => this.store.transaction((tx) => tx.campaigns.claim(this.owner, new Date().toISOString(), until())));
    if (job === null) return null;
    return {
      job: job.kind === 'sync' ? { kind: 'sync' } : { kind: 'campaign-app', campaignId: job.campaignId, appId: job.appId },
      renew: async () => void (await this.gate(() => this.store.transaction((tx) => tx.campaigns.renew(job.id, this.owner, until())))),
      done: () => this.gate(() => this.store.transaction((tx) => tx.campaigns.complete(job.id, this.owner))),
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
