import type { FleetStore } from '../fleet/store/store.js';
import { runAppJob, type StoreGate } from './app-job.js';
import type { CandidateBuilder } from './candidate-builder.js';
import { workJobs, type JobQueue } from './job-queue.js';

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
}

export async function runCampaignWorker(w: CampaignWorker): Promise<void> {
  const campaignId = w.untilCampaignEnds;
  await workJobs(w.queue, (job) => runAppJob(job, { store: w.store, gate: w.gate, builder: w.builder }), {
    concurrency: w.concurrency,
    drain: w.drain,
    ...(w.signal !== undefined ? { signal: w.signal } : {}),
    ...(campaignId !== undefined ? { done: async () => (await w.gate(() => w.store.campaigns.campaign(campaignId)))?.state !== 'running' } : {}),
  });
}
