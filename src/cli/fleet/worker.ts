import { cacheDir } from '../../core/cache-dir.js';
import { fetchPolicyOf } from '../audit-options.js';
import { EXIT_OK } from '../../core/errors.js';
import { storeGate } from '../../campaign/app-job.js';
import { runCampaignWorker, scheduledSync } from '../../campaign/campaign-worker.js';
import { openJobQueue } from '../../campaign/open-queue.js';
import { pipelineBuilder } from '../../campaign/pipeline-builder.js';
import { requireSettings } from '../../fleet/lookup.js';
import { writeStderr } from '../output.js';
import { concurrencyOption, stopSignal, warnJobError } from './campaign.js';
import type { FleetOptions } from './index.js';
import { withFleetStore } from './with-store.js';

export interface WorkerOptions extends FleetOptions {
  concurrency: string;
  drain?: boolean;
  cacheDir?: string;
  fetch?: boolean;
}

export async function fleetWorker(opts: WorkerOptions): Promise<number> {
  const concurrency = concurrencyOption(opts.concurrency);
  return withFleetStore(opts, async (store) => {
    const settings = await requireSettings(store);
    const gate = storeGate();
    const queue = await openJobQueue(opts.store, store, gate);
    writeStderr(`stowage: worker on ${store.location}, ${concurrency} job${concurrency === 1 ? '' : 's'} at a time${opts.drain ? ', until the queue is empty' : ''}\n`);
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
      await queue.close();
    }
    return EXIT_OK;
  });
}
