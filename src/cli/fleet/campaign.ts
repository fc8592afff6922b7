import { cacheDir } from '../../core/cache-dir.js';
import { fetchPolicyOf } from '../audit-options.js';
import { EXIT_FINDINGS, EXIT_OK, StowageError, errorMessage } from '../../core/errors.js';
import { storeGate } from '../../campaign/app-job.js';
import { cancelCampaign, campaignView, requireCampaign, startCampaign } from '../../campaign/campaign.js';
import { campaignJson, campaignListJson, renderCampaign, renderCampaignList } from '../../campaign/campaign-report.js';
import { runCampaignWorker, scheduledSync } from '../../campaign/campaign-worker.js';
import { PRIORITY, type FleetJob } from '../../campaign/job-queue.js';
import { openJobQueue } from '../../campaign/open-queue.js';
import { pipelineBuilder } from '../../campaign/pipeline-builder.js';
import { bubblewrapProblem } from '../../campaign/sandbox.js';
import { currentUser } from '../../fleet/add.js';
import { requireSettings } from '../../fleet/lookup.js';
import type { FleetStore } from '../../fleet/store/store.js';
import { warn, writeStderr, writeStdout } from '../output.js';
import type { FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';

export interface CampaignStartOptions extends FleetFormatOptions {
  app?: string[];
  detach?: boolean;
  publish: boolean;
  sandbox: string;
  concurrency: string;
  cacheDir?: string;
  fetch?: boolean;
}

/** --concurrency N: a whole number from 1 to 64. */
export function concurrencyOption(given: string): number {
  const n = Number(given);
  if (!/^[0-9]+$/.test(given) || n < 1 || n > 64) throw new StowageError(`--concurrency ${JSON.stringify(given)}: expected a whole number from 1 to 64`);
  return n;
}

/** A job the store failed under: said, and left to its lease (another attempt takes it). */
export function warnJobError(job: FleetJob, err: unknown): void {
  const what = job.kind === 'sync' ? 'scheduled sync' : `campaign ${job.campaignId}, application ${job.appId}`;
  warn(`${what}: ${errorMessage(err)}; the job is taken again after its lease`);
}

/**
 * `--sandbox auto` where bubblewrap does not work: said on stderr by the command that runs the
 * builds (each candidate's log says it too), never only there.
 */
export function unisolatedWarning(consequence: string): void {
  const problem = bubblewrapProblem();
  if (problem !== null) warn(`bubblewrap cannot isolate builds here (${problem}): ${consequence}`);
}

/** SIGINT/SIGTERM stop taking jobs; the ones running finish (a second signal ends the process as usual). */
export function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

async function show(store: FleetStore, id: number, opts: FleetFormatOptions): Promise<number> {
  const campaign = await requireCampaign(store, String(id));
  const json = campaignJson(await campaignView(store, campaign));
  writeStdout(opts.format === 'json' ? `${JSON.stringify(json, null, 2)}\n` : renderCampaign(json));
  return json.apps.every((a) => a.state === 'candidate' || a.state === 'promoted') ? EXIT_OK : EXIT_FINDINGS;
}

export async function fleetCampaignStart(id: string, opts: CampaignStartOptions): Promise<number> {
  const concurrency = concurrencyOption(opts.concurrency);
  return withFleetStore(opts, async (store) => {
    const settings = await requireSettings(store);
    const started = await startCampaign(store, { id, apps: opts.app ?? [], publish: opts.publish, sandbox: opts.sandbox, by: currentUser(), now: new Date() });
    if (opts.sandbox === 'none') warn(`--sandbox none: the applications' build scripts and tests run unconfined, as ${currentUser()}, with its files and the network`);
    const gate = storeGate();
    const queue = await openJobQueue(opts.store, store, gate);
    try {
      await queue.enqueue(started.campaign.id, started.queued, PRIORITY.userStarted);
      if (opts.detach) {
        if (opts.format === 'json') return show(store, started.campaign.id, opts);
        writeStdout(
          `campaign ${started.campaign.id} started: ${started.queued.length} application${started.queued.length === 1 ? '' : 's'} queued for stowage fleet worker\n` +
            `follow it with: stowage fleet campaign show ${started.campaign.id}\n`,
        );
        return EXIT_OK;
      }
      if (opts.format !== 'json') writeStderr(`stowage: campaign ${started.campaign.id}: ${started.queued.length} application(s) to rebuild\n`);
      if (opts.sandbox === 'auto') unisolatedWarning('builds and tests run unisolated, with network access (--sandbox bwrap refuses to)');
      await runCampaignWorker({
        store,
        gate,
        queue,
        builder: pipelineBuilder({ settings, cacheRoot: opts.cacheDir ?? cacheDir(), fetch: fetchPolicyOf(opts.fetch) }),
        concurrency,
        drain: false,
        signal: stopSignal(),
        onJobError: warnJobError,
        sync: scheduledSync(store, gate, { cacheRoot: opts.cacheDir ?? cacheDir(), fetch: fetchPolicyOf(opts.fetch) }),
        untilCampaignEnds: started.campaign.id,
      });
    } finally {
      await queue.close();
    }
    return show(store, started.campaign.id, opts);
  });
}

export async function fleetCampaignShow(given: string, opts: FleetFormatOptions): Promise<number> {
  return withFleetStore(opts, async (store) => show(store, (await requireCampaign(store, given)).id, opts));
}

export async function fleetCampaignList(opts: FleetFormatOptions): Promise<number> {
  return withFleetStore(opts, async (store) => {
    const campaigns = await store.campaigns.list();
    writeStdout(opts.format === 'json' ? `${JSON.stringify(campaignListJson(campaigns), null, 2)}\n` : renderCampaignList(campaigns));
    return EXIT_OK;
  });
}

export async function fleetCampaignCancel(given: string, opts: FleetFormatOptions): Promise<number> {
  return withFleetStore(opts, async (store) => {
    const campaign = await requireCampaign(store, given);
    const { cancelled } = await cancelCampaign(store, campaign, new Date());
    const gate = storeGate();
    const queue = await openJobQueue(opts.store, store, gate);
    try {
      await queue.cancel(campaign.id);
    } finally {
      await queue.close();
    }
    writeStdout(`campaign ${campaign.id} cancelled: ${cancelled} application${cancelled === 1 ? '' : 's'} not started; running ones are stopped by their workers (their command killed)\n`);
    return EXIT_OK;
  });
}
