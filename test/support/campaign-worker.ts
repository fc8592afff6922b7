import { storeGate } from '../../src/campaign/app-job.js';
import { runCampaignWorker } from '../../src/campaign/campaign-worker.js';
import { openJobQueue } from '../../src/campaign/open-queue.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { cheapBuilder } from './campaign-fleet.js';

/**
 * A campaign worker process for the tests (a child they can SIGKILL): the real worker, store
 * and queue, with the cheap builder. argv: STORE CONCURRENCY STEP_MS MARKER_FILE [STEPS_FILE [HANG_AT]].
 */
const [store, concurrency, stepMs, markerFile, stepsFile, hangAt] = process.argv.slice(2) as [string, string, string, string, string?, string?];
const fleet = await openFleetStore(store);
const gate = storeGate();
const queue = await openJobQueue(store, fleet, gate);
process.stdout.write('ready\n');
try {
  await runCampaignWorker({ store: fleet, gate, queue, builder: cheapBuilder({ stepMs: Number(stepMs), markerFile, ...(stepsFile !== undefined ? { stepsFile } : {}), ...(hangAt !== undefined ? { hangAt } : {}) }), concurrency: Number(concurrency), drain: true });
} finally {
  await queue.close();
  await fleet.close();
}
