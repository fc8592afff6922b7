import { StowageError } from '../core/errors.js';
import { affectedApps } from '../fleet/affected.js';
import type { CampaignAppRecord, CampaignArtifactRecord, CampaignRecord, CampaignStepRecord } from '../fleet/store/campaign-store.js';
import type { FleetStore } from '../fleet/store/store.js';

/**
 * A campaign: one advisory, every application of the fleet it affects (or those named), one
 * job each. Starting one records the campaign and each application's state in one transaction:
 * `planned` for an application whose registered revision kept its source, `needs-source` for
 * one added from a lockfile or SBOM alone (it can be planned, not built).
 */

export interface StartRequest {
  /** An advisory id or any alias. */
  id: string;
  /** Only these applications (each must be affected). */
  apps: string[];
  publish: boolean;
  sandbox: string;
  by: string;
  now: Date;
}

export interface StartedCampaign {
  campaign: CampaignRecord;
  /** Applications to run (planned), by id. */
  queued: number[];
}

export async function startCampaign(store: FleetStore, request: StartRequest): Promise<StartedCampaign> {
  const affected = await affectedApps(store, { kind: 'advisory', id: request.id });
  let chosen = affected;
  if (request.apps.length > 0) {
    const byName = new Map(affected.map((a) => [a.name, a]));
    for (const name of request.apps) {
      if (!byName.has(name)) {
        const known = (await store.app(name)) !== null;
        throw new StowageError(
          known ? `--app ${JSON.stringify(name)}: ${request.id} does not affect it (see stowage fleet affected ${request.id})` : `--app ${JSON.stringify(name)}: no such application in the fleet`,
        );
      }
    }
    chosen = affected.filter((a) => request.apps.includes(a.name));
  }
  if (chosen.length === 0) throw new StowageError(`${request.id} affects no application of the fleet: no campaign to start`);
  // The advisory as the findings name it: the database's id and its aliases.
  const advisory = chosen[0]?.findings.find((f) => f.advisory.id.toUpperCase() === request.id.toUpperCase() || f.advisory.aliases.some((a) => a.toUpperCase() === request.id.toUpperCase()))?.advisory;
  const advisoryId = advisory?.id ?? request.id;
  const aliases = advisory?.aliases ?? [];
  const at = request.now.toISOString();
  return store.transaction(async (tx) => {
    const campaign = await tx.campaigns.create({ advisoryId, aliases, publish: request.publish, sandbox: request.sandbox, createdAt: at, by: request.by });
    // Each application's current revision and kept source, a few queries for all of them: an
    // advisory may affect thousands, and one query each was seconds of round trips on PostgreSQL.
    const apps = await tx.appsNamed(chosen.map((a) => a.name));
    const current = chosen.flatMap((a) => {
      const revisionId = apps.get(a.name)?.currentRevision;
      return revisionId == null ? [] : [{ appId: a.appId, revisionId }];
    });
    const sources = await tx.revisionSources(current.map((c) => c.revisionId));
    const rows = current.map((c) => ({ ...c, state: sources.has(c.revisionId) ? ('planned' as const) : ('needs-source' as const) }));
    await tx.campaigns.addApps(campaign.id, rows, at);
    if (rows.every((r) => r.state !== 'planned')) await tx.campaigns.setState(campaign.id, 'done', at);
    return { campaign: (await tx.campaigns.campaign(campaign.id)) as CampaignRecord, queued: rows.filter((r) => r.state === 'planned').map((r) => r.appId) };
  });
}

/** CAMPAIGN as users give it: the number `campaign list` shows. */
export async function requireCampaign(store: FleetStore, given: string): Promise<CampaignRecord> {
  const id = /^[1-9][0-9]{0,15}$/.test(given) ? Number(given) : null;
  const campaign = id === null ? null : await store.campaigns.campaign(id);
  if (campaign === null) throw new StowageError(`no campaign ${JSON.stringify(given)} in the fleet (see stowage fleet campaign list)`);
  return campaign;
}

/**
 * Cancels a running campaign: applications not started end `cancelled`; the workers of running
 * ones see it (they watch the store while a step runs), kill the step's command and end them
 * `cancelled`, naming the step they were stopped in.
 */
export async function cancelCampaign(store: FleetStore, campaign: CampaignRecord, now: Date): Promise<{ cancelled: number }> {
  if (campaign.state !== 'running') throw new StowageError(`campaign ${campaign.id} is ${campaign.state}: nothing to cancel`);
  return store.transaction(async (tx) => {
    const at = now.toISOString();
    await tx.campaigns.setState(campaign.id, 'cancelled', at);
    return { cancelled: await tx.campaigns.cancelPlanned(campaign.id, at) };
  });
}

/** Everything `campaign show` reports about one campaign. */
export interface CampaignView {
  campaign: CampaignRecord;
  apps: CampaignAppRecord[];
  steps: CampaignStepRecord[];
  artifacts: CampaignArtifactRecord[];
  /** Candidate revision id -> its digest. */
  candidates: Map<number, string>;
}

export async function campaignView(store: FleetStore, campaign: CampaignRecord): Promise<CampaignView> {
  const apps = await store.campaigns.apps(campaign.id);
  // Every candidate's digest in a few queries: a campaign may hold thousands.
  const ids = apps.flatMap((a) => (a.candidateRevisionId === null ? [] : [a.candidateRevisionId]));
  const revisions = await store.revisionsById(ids);
  const candidates = new Map(ids.map((id) => [id, revisions.get(id)?.digest ?? '']));
  return { campaign, apps, steps: await store.campaigns.steps(campaign.id), artifacts: await store.campaigns.artifacts(campaign.id), candidates };
}
