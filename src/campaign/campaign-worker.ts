import { evaluationTime } from '../core/clock.js';
import type { FleetStore } from '../fleet/store/store.js';
import type { FetchPolicy } from '../advisories/source.js';
import { cacheDir } from '../core/cache-dir.js';
import { syncFleet } from '../fleet/sync.js';
import { deliverDueEvents } from '../fleet/webhooks.js';
import { runAppJob, type StoreGate } from './app-job.js';
import type { CandidateBuilder } from './candidate-builder.js';
import { PRIORITY, workJobs, type FleetJob, type JobQueue } from './job-queue.js';
import { sweepAbandonedWorkDirs } from './work-dirs.js';

/**
 * A campaign worker: takes application jobs from the queue and runs each through the builder,
 * `concurrency` at a time. `stowage fleet worker` runs one until interrupted (or, with --drain,
 * until the queue is empty); `campaign start` runs one in its own process until its campaign ends.
 */
export interface CampaignWorker {
  store: FleetStore;
  gate: StoreGate;
  queue: JobQueue;
  builder: CandidateBuilder;
  concurrency: number;
  drain: boolean;
  signal?: AbortSignal;
  /** Stop once this campaign is over. */
  untilCampaignEnds?: number;
  /** Runs a scheduled sync job (`fleet sync` with the worker's databases options); default: `fleet sync`'s defaults. */
  sync?: () => Promise<void>;
  onJobError?: (job: FleetJob, err: unknown) => void;
}

/** `fleet sync` as a scheduled job runs it, with the default cache and fetch policy, then delivers its events. */
export function scheduledSync(store: FleetStore, gate: StoreGate, options: { cacheRoot: string; fetch: FetchPolicy } = { cacheRoot: cacheDir(), fetch: 'auto' }): () => Promise<void> {
  return async () => {
    await gate(() => syncFleet(store, { ...options, now: new Date(), judgeAt: evaluationTime(), by: 'scheduled sync' }));
    await gate(() => deliverDueEvents(store));
  };
}

/**
 * Queues the applications of running campaigns that are planned but have no job: what a
 * `campaign start` killed between committing its campaign and queueing the jobs left behind
 * (enqueueing is idempotent, so the applications already queued are not queued twice).
 */
export async function queuePlannedApps(store: FleetStore, gate: StoreGate, queue: JobQueue): Promise<void> {
  const byCampaign = new Map<number, number[]>();
  for (const { campaignId, appId } of await gate(() => store.campaigns.plannedApps())) {
    const apps = byCampaign.get(campaignId);
    if (apps === undefined) byCampaign.set(campaignId, [appId]);
    else apps.push(appId);
  }
  for (const [campaignId, appIds] of byCampaign) await queue.enqueue(campaignId, appIds, PRIORITY.userStarted);
}

export async function runCampaignWorker(w: CampaignWorker): Promise<void> {
  const campaignId = w.untilCampaignEnds;
  // What workers killed before us left behind (their applications resume from the store).
  sweepAbandonedWorkDirs();
  // At the start and once a lease: a killed starter's applications wait at most that long.
  await queuePlannedApps(w.store, w.gate, w.queue);
  const reconcile = setInterval(() => void queuePlannedApps(w.store, w.gate, w.queue).catch(() => undefined), w.queue.leaseSeconds * 1000);
  try {
    await work(w, campaignId);
  } finally {
    clearInterval(reconcile);
  }
}

async function work(w: CampaignWorker, campaignId: number | undefined): Promise<void> {
  const sync = w.sync ?? scheduledSync(w.store, w.gate);
  const handler = (job: FleetJob): Promise<void> => (job.kind === 'sync' ? sync() : runAppJob(job, { store: w.store, gate: w.gate, builder: w.builder }));
  await workJobs(w.queue, handler, {
    concurrency: w.concurrency,
    drain: w.drain,
    ...(w.signal !== undefined ? { signal: w.signal } : {}),
    ...(w.onJobError !== undefined ? { onJobError: w.onJobError } : {}),
    // Closing again here: a close that failed after an application's last finish is not lost.
    ...(campaignId !== undefined ? { done: () => w.gate(() => w.store.transaction((tx) => tx.campaigns.closeIfOver(campaignId, new Date().toISOString()))) } : {}),
  });
}
