import { terminalText as t } from '../core/terminal-text.js';
import { ARTIFACT_KINDS, type ArtifactKind, type CampaignAppRecord, type CampaignFix, type CampaignRecord } from '../fleet/store/campaign-store.js';
import type { CampaignView } from './campaign.js';

/** `campaign show` and `campaign list`, rendered: JSON (schema/fleet-campaign.v1.json) and human. */

export interface CampaignJson {
  schemaVersion: 1;
  id: number;
  advisory: { id: string; aliases: string[] };
  state: CampaignRecord['state'];
  publish: boolean;
  createdAt: string;
  endedAt: string | null;
  apps: {
    app: string;
    state: CampaignAppRecord['state'];
    /** The step running, or the one that failed. */
    step: string | null;
    fix: CampaignFix[];
    blockedBy: string | null;
    /** The failed step's log (its tail). */
    log: string | null;
    candidate: { revision: string; artifacts: Record<ArtifactKind, string | null> } | null;
    steps: { step: string; state: string; startedAt: string; endedAt: string | null }[];
  }[];
}

export function campaignJson(view: CampaignView): CampaignJson {
  const { campaign } = view;
  return {
    schemaVersion: 1,
    id: campaign.id,
    advisory: { id: campaign.advisoryId, aliases: campaign.aliases },
    state: campaign.state,
    publish: campaign.publish,
    createdAt: campaign.createdAt,
    endedAt: campaign.endedAt,
    apps: view.apps.map((a) => {
      const artifacts = Object.fromEntries(ARTIFACT_KINDS.map((k) => [k, null])) as Record<ArtifactKind, string | null>;
      for (const art of view.artifacts) if (art.appId === a.appId) artifacts[art.kind] = art.digest;
      const revision = a.candidateRevisionId === null ? undefined : view.candidates.get(a.candidateRevisionId);
      return {
        app: a.app,
        state: a.state,
        step: a.step,
        fix: a.fix,
        blockedBy: a.blockedBy,
        log: a.log,
        candidate: revision === undefined ? null : { revision, artifacts },
        steps: view.steps.filter((s) => s.appId === a.appId).map((s) => ({ step: s.step, state: s.state, startedAt: s.startedAt, endedAt: s.endedAt })),
      };
    }),
  };
}

const short = (digest: string): string => digest.slice(0, 'sha256:'.length + 12);

function appLine(a: CampaignJson['apps'][number]): string {
  const fix = a.fix.map((f) => `${f.name} ${f.from} → ${f.to}`).join(', ');
  switch (a.state) {
    case 'running':
      return `running${a.step !== null ? ` (${t(a.step)})` : ''}`;
    case 'candidate':
    case 'promoted':
      return `${a.state} ${a.candidate !== null ? short(a.candidate.revision) : ''}${fix !== '' ? `  fix: ${t(fix)}` : ''}`;
    case 'failed': {
      const last = (a.log ?? '').trimEnd().split('\n').pop() ?? '';
      return `failed${a.step !== null ? ` at ${t(a.step)}` : ''}${last !== '' ? `: ${t(last)}` : ''}`;
    }
    case 'needs-review':
      return `needs-review${a.blockedBy !== null ? `: ${t(a.blockedBy)}` : ''}`;
    case 'needs-source':
      return 'needs-source: added without its source (fleet add DIR keeps it)';
    default:
      return a.state;
  }
}

export function renderCampaign(json: CampaignJson): string {
  const aliases = json.advisory.aliases.length > 0 ? ` (${t(json.advisory.aliases.join(', '))})` : '';
  const out = [`campaign ${json.id}: ${t(json.advisory.id)}${aliases}, ${json.state}${json.publish ? '' : ', not published'}`];
  const width = Math.max(0, ...json.apps.map((a) => t(a.app).length));
  for (const a of json.apps) out.push(`  ${t(a.app).padEnd(width)}  ${appLine(a)}`);
  const counts = new Map<string, number>();
  for (const a of json.apps) counts.set(a.state, (counts.get(a.state) ?? 0) + 1);
  out.push(`${json.apps.length} application${json.apps.length === 1 ? '' : 's'}: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`);
  return `${out.join('\n')}\n`;
}

export function campaignListJson(campaigns: readonly CampaignRecord[]): unknown {
  return {
    schemaVersion: 1,
    campaigns: campaigns.map((c) => ({ id: c.id, advisory: { id: c.advisoryId, aliases: c.aliases }, state: c.state, publish: c.publish, createdAt: c.createdAt, endedAt: c.endedAt, by: c.by })),
  };
}

export function renderCampaignList(campaigns: readonly CampaignRecord[]): string {
  if (campaigns.length === 0) return 'no campaigns yet (stowage fleet campaign start ID)\n';
  return `${campaigns.map((c) => `${c.id}  ${t(c.advisoryId)}  ${c.state}  ${c.createdAt}  by ${t(c.by)}`).join('\n')}\n`;
}
