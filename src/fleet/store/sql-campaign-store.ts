import { chunks } from '../../core/chunks.js';
import type { SqlExecutor } from './sql.js';
import {
  FINAL_APP_STATES,
  type CampaignAppOutcome,
  type CampaignAppRecord,
  type CampaignAppState,
  type CampaignArtifactRecord,
  type CampaignFix,
  type CampaignRecord,
  type CampaignState,
  type CampaignStepRecord,
  type CampaignStore,
  type QueuedJob,
  type WorkCheckpoint,
} from './campaign-store.js';

/** Digests a statement names at most (three times each: well under both dialects' parameter limits). */
const DIGESTS_PER_QUERY = 100;
/** Campaign applications a multi-row INSERT writes (5 bound values each). */
const APPS_PER_INSERT = 500;

/**
 * Queues `n` applications of a campaign in the order given, each that has no job of this campaign
 * yet (found by the campaign_jobs_app index). Bound: campaign id, priority, created at, then per
 * application its position and id, then the campaign id again.
 */
export function enqueueJobs(n: number): string {
  return `INSERT INTO campaign_jobs (campaign_id, app_id, priority, state, lease_owner, lease_until, attempts, created_at)
    SELECT ?, v.column2, ?, 'queued', NULL, NULL, 0, ? FROM (VALUES ${Array.from({ length: n }, () => '(CAST(? AS BIGINT), CAST(? AS BIGINT))').join(', ')}) AS v
    WHERE NOT EXISTS (SELECT 1 FROM campaign_jobs j WHERE j.kind = 'campaign-app' AND j.campaign_id = ? AND j.app_id = v.column2)
    ORDER BY v.column1`;
}

/**
 * Which of `n` digests (bound three times over, in the same order) an artifact, a kept source or
 * a revision's documents name, each found by its digest's index (migration
 * REVISION_DOCUMENTS_VERSION): what a campaign step asks before it deletes documents.
 */
export function documentsNamed(n: number): string {
  const marks = Array.from({ length: n }, () => '?').join(', ');
  return `SELECT digest FROM campaign_artifacts WHERE digest IN (${marks})
    UNION SELECT digest FROM revision_sources WHERE digest IN (${marks})
    UNION SELECT digest FROM revision_documents WHERE digest IN (${marks})`;
}

/** Every checkpoint held (by the applications under way), found by the campaign_apps_checkpoint partial index. */
export const HELD_CHECKPOINTS = `SELECT checkpoint FROM campaign_apps WHERE checkpoint IS NOT NULL`;

/** The digests of a stored checkpoint's files. */
function checkpointFiles(text: string): string[] {
  return (JSON.parse(text) as WorkCheckpoint).files.map((f) => f.digest);
}

/** CampaignStore over the same SQL executor (and transaction) as the SqlFleetStore holding it. */

interface CampaignRow {
  id: number;
  advisory_id: string;
  aliases: string;
  state: CampaignState;
  publish: number;
  sandbox: string;
  created_at: string;
  ended_at: string | null;
  by: string;
}

interface CampaignAppRow {
  campaign_id: number;
  app_id: number;
  name: string;
  revision_id: number;
  state: CampaignAppState;
  step: string | null;
  blocked_by: string | null;
  log: string | null;
  fix: string;
  candidate_revision_id: number | null;
  attempt: string | null;
  attempts: number;
  updated_at: string;
  checkpoint: string | null;
}

const CAMPAIGN_COLUMNS = 'id, advisory_id, aliases, state, publish, sandbox, created_at, ended_at, by';
const APP_COLUMNS = `ca.campaign_id, ca.app_id, a.name, ca.revision_id, ca.state, ca.step, ca.blocked_by, ca.log, ca.fix,
  ca.candidate_revision_id, ca.attempt, ca.attempts, ca.updated_at, ca.checkpoint`;

function campaignOf(r: CampaignRow): CampaignRecord {
  return {
    id: Number(r.id),
    advisoryId: r.advisory_id,
    aliases: JSON.parse(r.aliases) as string[],
    state: r.state,
    publish: Number(r.publish) === 1,
    sandbox: r.sandbox,
    createdAt: r.created_at,
    endedAt: r.ended_at,
    by: r.by,
  };
}

function appOf(r: CampaignAppRow): CampaignAppRecord {
  return {
    campaignId: Number(r.campaign_id),
    appId: Number(r.app_id),
    app: r.name,
    revisionId: Number(r.revision_id),
    state: r.state,
    step: r.step,
    blockedBy: r.blocked_by,
    log: r.log,
    fix: JSON.parse(r.fix) as CampaignFix[],
    candidateRevisionId: r.candidate_revision_id === null ? null : Number(r.candidate_revision_id),
    attempt: r.attempt,
    attempts: Number(r.attempts),
    updatedAt: r.updated_at,
    checkpoint: r.checkpoint === null ? null : (JSON.parse(r.checkpoint) as WorkCheckpoint),
  };
}

/** `state NOT IN (...)` for the final states: their names are ours, never user text. */
const NOT_FINAL = `state NOT IN (${[...FINAL_APP_STATES].map((s) => `'${s}'`).join(', ')})`;

export class SqlCampaignStore implements CampaignStore {
  constructor(private readonly sql: SqlExecutor) {}

  async create(c: Omit<CampaignRecord, 'id' | 'endedAt' | 'state'>): Promise<CampaignRecord> {
    const rows = await this.sql.query<CampaignRow>(
      `INSERT INTO campaigns (advisory_id, aliases, state, publish, sandbox, created_at, ended_at, by) VALUES (?, ?, 'running', ?, ?, ?, NULL, ?)
       RETURNING ${CAMPAIGN_COLUMNS}`,
      [c.advisoryId, JSON.stringify(c.aliases), c.publish ? 1 : 0, c.sandbox, c.createdAt, c.by],
    );
    return campaignOf(rows[0] as CampaignRow);
  }

  async campaign(id: number): Promise<CampaignRecord | null> {
    const rows = await this.sql.query<CampaignRow>(`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?`, [id]);
    return rows[0] ? campaignOf(rows[0]) : null;
  }

  async list(): Promise<CampaignRecord[]> {
    return (await this.sql.query<CampaignRow>(`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns ORDER BY id DESC`)).map(campaignOf);
  }

  async setState(id: number, state: CampaignState, endedAt: string | null): Promise<void> {
    await this.sql.run(`UPDATE campaigns SET state = ?, ended_at = ? WHERE id = ?`, [state, endedAt, id]);
  }

  async closeIfOver(id: number, at: string): Promise<boolean> {
    // One statement touching the campaign row alone: finishing applications never conflict over it.
    await this.sql.run(
      `UPDATE campaigns SET state = 'done', ended_at = ? WHERE id = ? AND state = 'running'
         AND NOT EXISTS (SELECT 1 FROM campaign_apps WHERE campaign_id = ? AND ${NOT_FINAL})`,
      [at, id, id],
    );
    return (await this.campaign(id))?.state !== 'running';
  }

  async addApps(campaignId: number, apps: { appId: number; revisionId: number; state: CampaignAppState }[], at: string): Promise<void> {
    // Many rows a statement: a campaign may take thousands of applications.
    for (const batch of chunks(apps, APPS_PER_INSERT)) {
      await this.sql.run(
        `INSERT INTO campaign_apps (campaign_id, app_id, revision_id, state, step, blocked_by, log, fix, candidate_revision_id, attempt, attempts, updated_at)
         VALUES ${batch.map(() => `(?, ?, ?, ?, NULL, NULL, NULL, '[]', NULL, NULL, 0, ?)`).join(', ')}`,
        batch.flatMap((a) => [campaignId, a.appId, a.revisionId, a.state, at]),
      );
    }
  }

  async apps(campaignId: number): Promise<CampaignAppRecord[]> {
    const rows = await this.sql.query<CampaignAppRow>(`SELECT ${APP_COLUMNS} FROM campaign_apps ca JOIN apps a ON a.id = ca.app_id WHERE ca.campaign_id = ?`, [campaignId]);
    return rows.map(appOf).sort((x, y) => (x.app < y.app ? -1 : x.app > y.app ? 1 : 0));
  }

  async app(campaignId: number, appId: number): Promise<CampaignAppRecord | null> {
    const rows = await this.sql.query<CampaignAppRow>(
      `SELECT ${APP_COLUMNS} FROM campaign_apps ca JOIN apps a ON a.id = ca.app_id WHERE ca.campaign_id = ? AND ca.app_id = ?`,
      [campaignId, appId],
    );
    return rows[0] ? appOf(rows[0]) : null;
  }

  async begin(campaignId: number, appId: number, attempt: string, at: string): Promise<boolean> {
    const changed = await this.sql.run(
      `UPDATE campaign_apps SET state = 'running', step = NULL, attempt = ?, attempts = attempts + 1, updated_at = ?
       WHERE campaign_id = ? AND app_id = ? AND ${NOT_FINAL}`,
      [attempt, at, campaignId, appId],
    );
    if (changed === 0) return false;
    // The completed steps stay (the checkpoint holds what they made); an interrupted one starts again.
    await this.sql.run(`DELETE FROM campaign_steps WHERE campaign_id = ? AND app_id = ? AND state <> 'done'`, [campaignId, appId]);
    await this.sql.run(`DELETE FROM campaign_artifacts WHERE campaign_id = ? AND app_id = ?`, [campaignId, appId]);
    return true;
  }

  async setStep(campaignId: number, appId: number, attempt: string, step: CampaignStepRecord): Promise<boolean> {
    const changed = await this.sql.run(`UPDATE campaign_apps SET step = ?, updated_at = ? WHERE campaign_id = ? AND app_id = ? AND attempt = ? AND state = 'running'`, [
      step.step,
      step.endedAt ?? step.startedAt,
      campaignId,
      appId,
      attempt,
    ]);
    if (changed === 0) return false;
    await this.sql.run(
      `INSERT INTO campaign_steps (campaign_id, app_id, step, state, started_at, ended_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (campaign_id, app_id, step) DO UPDATE SET state = excluded.state, started_at = excluded.started_at, ended_at = excluded.ended_at`,
      [campaignId, appId, step.step, step.state, step.startedAt, step.endedAt],
    );
    return true;
  }

  async setCheckpoint(campaignId: number, appId: number, attempt: string, checkpoint: WorkCheckpoint): Promise<boolean> {
    const before = await this.checkpointDigests(campaignId, appId, attempt);
    const changed = await this.sql.run(`UPDATE campaign_apps SET checkpoint = ? WHERE campaign_id = ? AND app_id = ? AND attempt = ? AND state = 'running'`, [
      JSON.stringify(checkpoint),
      campaignId,
      appId,
      attempt,
    ]);
    if (changed !== 1) return false;
    await this.dropUnreferencedDocuments(before);
    return true;
  }

  async finish(campaignId: number, appId: number, attempt: string, o: CampaignAppOutcome, at: string): Promise<boolean> {
    const before = await this.checkpointDigests(campaignId, appId, attempt);
    const changed = await this.sql.run(
      `UPDATE campaign_apps SET state = ?, step = ?, blocked_by = ?, log = ?, fix = ?, candidate_revision_id = ?, updated_at = ?, checkpoint = NULL
       WHERE campaign_id = ? AND app_id = ? AND attempt = ? AND state = 'running'`,
      [o.state, o.step, o.blockedBy, o.log, JSON.stringify(o.fix), o.candidateRevisionId, at, campaignId, appId, attempt],
    );
    if (changed !== 1) return false;
    await this.dropUnreferencedDocuments(before);
    return true;
  }

  /** The documents the attempt's checkpoint names (none before its first completed step). */
  private async checkpointDigests(campaignId: number, appId: number, attempt: string): Promise<string[]> {
    const rows = await this.sql.query<{ checkpoint: string | null }>(
      `SELECT checkpoint FROM campaign_apps WHERE campaign_id = ? AND app_id = ? AND attempt = ? AND state = 'running'`,
      [campaignId, appId, attempt],
    );
    const text = rows[0]?.checkpoint ?? null;
    return text === null ? [] : checkpointFiles(text);
  }

  /**
   * A checkpoint replaced (the next step's) or dropped (the work is over) leaves its documents
   * behind: the work directory's files at each step, a failed application's vendor archive.
   * Those of `digests` nothing else names are deleted, so the store does not grow with every step
   * of every campaign. Kept: what a checkpoint still names (another application's, or the next
   * one of this application), an artifact of a candidate, a revision's document (a candidate's
   * changed lockfile, which promote and rollback read) or its kept source.
   */
  private async dropUnreferencedDocuments(digests: readonly string[]): Promise<void> {
    const unreferenced = new Set(digests);
    if (unreferenced.size === 0) return;
    for (const row of await this.sql.query<{ checkpoint: string }>(HELD_CHECKPOINTS)) {
      for (const digest of checkpointFiles(row.checkpoint)) unreferenced.delete(digest);
    }
    for (const batch of chunks([...unreferenced], DIGESTS_PER_QUERY)) {
      for (const row of await this.sql.query<{ digest: string }>(documentsNamed(batch.length), [...batch, ...batch, ...batch])) unreferenced.delete(row.digest);
    }
    for (const batch of chunks([...unreferenced], DIGESTS_PER_QUERY)) {
      await this.sql.run(`DELETE FROM documents WHERE digest IN (${batch.map(() => '?').join(', ')})`, batch);
    }
  }

  async plannedApps(): Promise<{ campaignId: number; appId: number }[]> {
    const rows = await this.sql.query<{ campaign_id: number; app_id: number }>(
      `SELECT ca.campaign_id, ca.app_id FROM campaign_apps ca JOIN campaigns c ON c.id = ca.campaign_id
       WHERE c.state = 'running' AND ca.state = 'planned' ORDER BY ca.campaign_id, ca.app_id`,
    );
    return rows.map((r) => ({ campaignId: Number(r.campaign_id), appId: Number(r.app_id) }));
  }

  async cancelPlanned(campaignId: number, at: string): Promise<number> {
    return this.sql.run(`UPDATE campaign_apps SET state = 'cancelled', updated_at = ? WHERE campaign_id = ? AND state = 'planned'`, [at, campaignId]);
  }

  async steps(campaignId: number): Promise<CampaignStepRecord[]> {
    const rows = await this.sql.query<{ app_id: number; step: string; state: CampaignStepRecord['state']; started_at: string; ended_at: string | null }>(
      `SELECT app_id, step, state, started_at, ended_at FROM campaign_steps WHERE campaign_id = ? ORDER BY app_id, started_at, step`,
      [campaignId],
    );
    return rows.map((r) => ({ appId: Number(r.app_id), step: r.step, state: r.state, startedAt: r.started_at, endedAt: r.ended_at }));
  }

  async putArtifacts(campaignId: number, appId: number, artifacts: Omit<CampaignArtifactRecord, 'appId'>[]): Promise<void> {
    for (const a of artifacts) {
      await this.sql.run(
        `INSERT INTO campaign_artifacts (campaign_id, app_id, kind, name, digest) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (campaign_id, app_id, kind) DO UPDATE SET name = excluded.name, digest = excluded.digest`,
        [campaignId, appId, a.kind, a.name, a.digest],
      );
    }
  }

  async artifacts(campaignId: number): Promise<CampaignArtifactRecord[]> {
    return this.artifactRows(`SELECT app_id, kind, name, digest FROM campaign_artifacts WHERE campaign_id = ? ORDER BY app_id, kind`, campaignId);
  }

  async markPromoted(revisionId: number, at: string): Promise<number> {
    return this.sql.run(`UPDATE campaign_apps SET state = 'promoted', updated_at = ? WHERE candidate_revision_id = ? AND state = 'candidate'`, [at, revisionId]);
  }

  async markDemoted(revisionId: number, at: string): Promise<number> {
    return this.sql.run(`UPDATE campaign_apps SET state = 'candidate', updated_at = ? WHERE candidate_revision_id = ? AND state = 'promoted'`, [at, revisionId]);
  }

  async candidateArtifacts(revisionId: number): Promise<CampaignArtifactRecord[]> {
    return this.artifactRows(
      `SELECT a.app_id, a.kind, a.name, a.digest FROM campaign_artifacts a
       JOIN campaign_apps ca ON ca.campaign_id = a.campaign_id AND ca.app_id = a.app_id
       WHERE ca.candidate_revision_id = ? ORDER BY a.campaign_id, a.kind`,
      revisionId,
    );
  }

  async rebuiltInto(candidateRevisionId: number): Promise<number[]> {
    const rows = await this.sql.query<{ seq: number }>(
      `SELECT DISTINCT r.seq FROM campaign_apps ca JOIN revisions r ON r.id = ca.revision_id WHERE ca.candidate_revision_id = ? ORDER BY r.seq`,
      [candidateRevisionId],
    );
    return rows.map((r) => Number(r.seq));
  }

  private async artifactRows(query: string, id: number): Promise<CampaignArtifactRecord[]> {
    const rows = await this.sql.query<{ app_id: number; kind: CampaignArtifactRecord['kind']; name: string; digest: string }>(query, [id]);
    return rows.map((r) => ({ appId: Number(r.app_id), kind: r.kind, name: r.name, digest: r.digest }));
  }

  async enqueue(campaignId: number, appIds: number[], priority: number, at: string): Promise<void> {
    // Many applications a statement (a campaign may take thousands).
    const unique = [...new Set(appIds)];
    for (const [index, batch] of chunks(unique, APPS_PER_INSERT).entries()) {
      await this.sql.run(enqueueJobs(batch.length), [campaignId, priority, at, ...batch.flatMap((appId, i) => [index * APPS_PER_INSERT + i, appId]), campaignId]);
    }
  }

  async enqueueSync(priority: number, at: string): Promise<boolean> {
    const added = await this.sql.run(
      `INSERT INTO campaign_jobs (kind, campaign_id, app_id, priority, state, lease_owner, lease_until, attempts, created_at)
       SELECT 'sync', 0, 0, ?, 'queued', NULL, NULL, 0, ? WHERE NOT EXISTS (SELECT 1 FROM campaign_jobs WHERE kind = 'sync' AND state = 'queued')`,
      [priority, at],
    );
    return added === 1;
  }

  async claim(owner: string, now: string, leaseUntil: string): Promise<QueuedJob | null> {
    const rows = await this.sql.query<{ id: number; kind: QueuedJob['kind']; campaign_id: number; app_id: number; attempts: number }>(
      `SELECT id, kind, campaign_id, app_id, attempts FROM campaign_jobs
       WHERE state = 'queued' OR (state = 'running' AND lease_until < ?) ORDER BY priority DESC, id LIMIT 1`,
      [now],
    );
    const row = rows[0];
    if (!row) return null;
    const taken = await this.sql.run(
      `UPDATE campaign_jobs SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1
       WHERE id = ? AND (state = 'queued' OR (state = 'running' AND lease_until < ?))`,
      [owner, leaseUntil, row.id, now],
    );
    if (taken !== 1) return null;
    return { id: Number(row.id), kind: row.kind, campaignId: Number(row.campaign_id), appId: Number(row.app_id), attempts: Number(row.attempts) };
  }

  async renew(jobId: number, owner: string, leaseUntil: string): Promise<boolean> {
    return (await this.sql.run(`UPDATE campaign_jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'running'`, [leaseUntil, jobId, owner])) === 1;
  }

  async complete(jobId: number, owner: string): Promise<void> {
    await this.sql.run(`UPDATE campaign_jobs SET state = 'done', lease_until = NULL WHERE id = ? AND lease_owner = ?`, [jobId, owner]);
  }

  async cancelJobs(campaignId: number): Promise<number> {
    return this.sql.run(`UPDATE campaign_jobs SET state = 'cancelled' WHERE campaign_id = ? AND state = 'queued'`, [campaignId]);
  }

  async pendingJobs(campaignId?: number): Promise<number> {
    const rows =
      campaignId === undefined
        ? await this.sql.query<{ n: number }>(`SELECT COUNT(*) AS n FROM campaign_jobs WHERE state IN ('queued', 'running')`)
        : await this.sql.query<{ n: number }>(`SELECT COUNT(*) AS n FROM campaign_jobs WHERE state IN ('queued', 'running') AND campaign_id = ?`, [campaignId]);
    return Number(rows[0]?.n ?? 0);
  }
}
