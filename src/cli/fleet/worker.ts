import { cacheDir } from '../../core/cache-dir.js';
import { fetchPolicyOf } from '../audit-options.js';
import { errorMessage, EXIT_OK } from '../../core/errors.js';
import { storeGate } from '../../campaign/app-job.js';
import { runCampaignWorker, scheduledSync } from '../../campaign/campaign-worker.js';
import { openJobQueue } from '../../campaign/open-queue.js';
import { pipelineBuilder } from '../../campaign/pipeline-builder.js';
import { requireSettings } from '../../fleet/lookup.js';
import { warn, writeStderr } from '../output.js';
import { concurrencyOption, stopSignal, unisolatedWarning, warnJobError } from './campaign.js';
import type { FleetOptions } from './index.js';
import { parseInterval } from './interval.js';
import { withFleetStore } from './with-store.js';

export interface WorkerOptions extends FleetOptions {
  concurrency: string;
  drain?: boolean;
  cacheDir?: string;
  fetch?: boolean;
  syncEvery?: string;
}

export async function fleetWorker(opts: WorkerOptions): Promise<number> {
  const concurrency = concurrencyOption(opts.concurrency);
  const syncEvery = opts.syncEvery !== undefined ? parseInterval(opts.syncEvery) : null;
  return withFleetStore(opts, async (store) => {
    const settings = await requireSettings(store);
    const gate = storeGate();
    const queue = await openJobQueue(opts.store, store, gate);
    writeStderr(`stowage: worker on ${store.location}, ${concurrency} job${concurrency === 1 ? '' : 's'} at a time${opts.drain ? ', until the queue is empty' : ''}\n`);
    unisolatedWarning('this worker runs the builds and tests of campaigns started with --sandbox auto unisolated, with network access (--sandbox bwrap ones fail)');
    // Scheduled syncs are jobs of the queue: at most one waits at a time (enqueueSync), whichever
    // worker queued it, and campaigns' jobs go first. One now, then one every interval.
    let schedule: NodeJS.Timeout | null = null;
    if (syncEvery !== null) {
      await queue.enqueueSync();
      schedule = setInterval(() => void queue.enqueueSync().catch((e: unknown) => warn(`could not queue the scheduled sync: ${errorMessage(e)}`)), syncEvery);
    }
    try {
      const databases = { cacheRoot: opts.cacheDir ?? cacheDir(), fetch: fetchPolicyOf(opts.fetch) };
      await runCampaignWorker({
        store,
        gate,
        queue,
        builder: pipelineBuilder({ settings, ...databases }),
        sync: scheduledSync(store, gate, databases),
        concurrency,
        drain: opts.drain === true,
        signal: stopSignal(),
        onJobError: warnJobError,
      });
    } finally {
      if (schedule !== null) clearInterval(schedule);
      await queue.close();
    }
    return EXIT_OK;
  });
}
