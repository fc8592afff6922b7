import type { Ecosystem } from '../../core/package.js';

/**
 * The campaigns' part of the fleet store: campaigns, each affected application's state and
 * steps, the artifacts of its candidate, and the SQLite job queue (on PostgreSQL, pg-boss holds
 * the queue; these tables hold what the jobs did). Reached as `FleetStore.campaigns`, bound to
 * the same transaction as the store it came from.
 */

export type CampaignState = 'running' | 'done' | 'cancelled';

/** Per-application states (issue #11), and `cancelled` for one a cancelled campaign never ran. */
export const CAMPAIGN_APP_STATES = ['planned', 'running', 'candidate', 'failed', 'needs-review', 'needs-source', 'promoted', 'cancelled'] as const;
export type CampaignAppState = (typeof CAMPAIGN_APP_STATES)[number];

/** States an application's work is over in: nothing runs for it any more. */
export const FINAL_APP_STATES: ReadonlySet<CampaignAppState> = new Set(['candidate', 'failed', 'needs-review', 'needs-source', 'promoted', 'cancelled']);

export type CampaignStepState = 'running' | 'done' | 'failed';

export interface CampaignRecord {
  id: number;
  advisoryId: string;
  aliases: string[];
  state: CampaignState;
  /** False with --no-publish: candidates stay out of notifications. */
  publish: boolean;
  sandbox: string;
  createdAt: string;
  endedAt: string | null;
  by: string;
}

/** One lockfile change a campaign made (the fix planner's FixChange, as the JSON shows it). */
export interface CampaignFix {
  ecosystem: Ecosystem;
  name: string;
  from: string;
  to: string;
  command: string;
}

export interface CampaignAppRecord extends CampaignAppOutcome {
  campaignId: number;
  appId: number;
  app: string;
  /** The revision being rebuilt (the application's current one when the campaign started). */
  revisionId: number;
  /** The attempt that owns the application now (a worker's token); null before the first. */
  attempt: string | null;
  attempts: number;
  updatedAt: string;
  /** The work directory as of the last completed step, for a retried attempt to resume from; null before one, and once the work is over. */
  checkpoint: WorkCheckpoint | null;
}

/**
 * A work directory as its last completed step left it, relative to the revision's kept source
 * materialised in `source/`: the files that differ from it (or are outside it), each a document
 * of the store, and the source files removed.
 */
export interface WorkCheckpoint {
  files: { path: string; mode: number; digest: string }[];
  removed: string[];
}

export interface CampaignStepRecord {
  appId: number;
  step: string;
  state: CampaignStepState;
  startedAt: string;
  endedAt: string | null;
}

/** What a candidate carries: lockfile, patch, vendor, srpm, sbom, log. */
export const ARTIFACT_KINDS = ['lockfile', 'patch', 'vendor', 'srpm', 'sbom', 'log'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export interface CampaignArtifactRecord {
  appId: number;
  kind: ArtifactKind;
  /** The file's name as the pipeline wrote it. */
  name: string;
  /** `sha256:` + hex; the bytes are a document of the store. */
  digest: string;
}

/** One application's work (or a scheduled sync: campaignId and appId 0) in the SQLite queue. */
export interface QueuedJob {
  id: number;
  kind: 'campaign-app' | 'sync';
  campaignId: number;
  appId: number;
  /** Attempts before this one. */
  attempts: number;
}

/** What the end of an attempt writes; only the attempt that owns the application may write it. */
export interface CampaignAppOutcome {
  state: CampaignAppState;
  /** The step running, or the step that failed. */
  step: string | null;
  blockedBy: string | null;
  log: string | null;
  fix: CampaignFix[];
  candidateRevisionId: number | null;
}

export interface CampaignStore {
  create(c: Omit<CampaignRecord, 'id' | 'endedAt' | 'state'>): Promise<CampaignRecord>;
  campaign(id: number): Promise<CampaignRecord | null>;
  /** Newest first. */
  list(): Promise<CampaignRecord[]>;
  setState(id: number, state: CampaignState, endedAt: string | null): Promise<void>;
  /** Marks a running campaign done when every application's work is over; whether it is over now. */
  closeIfOver(id: number, at: string): Promise<boolean>;

  addApps(campaignId: number, apps: { appId: number; revisionId: number; state: CampaignAppState }[], at: string): Promise<void>;
  /** In application-name order. */
  apps(campaignId: number): Promise<CampaignAppRecord[]>;
  app(campaignId: number, appId: number): Promise<CampaignAppRecord | null>;
  /**
   * Takes the application for `attempt` (a new worker token) when its work is not over, keeping
   * the steps earlier attempts completed (and their checkpoint) and forgetting the ones they left
   * unfinished; false when it is over (done by another, or cancelled).
   */
  begin(campaignId: number, appId: number, attempt: string, at: string): Promise<boolean>;
  /** The step the attempt is at; false when another attempt owns the application now. */
  setStep(campaignId: number, appId: number, attempt: string, step: CampaignStepRecord): Promise<boolean>;
  /** The work directory after a completed step (its files' documents already put); false when another attempt owns the application now. */
  setCheckpoint(campaignId: number, appId: number, attempt: string, checkpoint: WorkCheckpoint): Promise<boolean>;
  /** Ends the attempt's work (the checkpoint is dropped); false (nothing written) when another attempt owns the application now. */
  finish(campaignId: number, appId: number, attempt: string, outcome: CampaignAppOutcome, at: string): Promise<boolean>;
  /** The applications of running campaigns whose work has not started (each must have a job: the worker makes sure). */
  plannedApps(): Promise<{ campaignId: number; appId: number }[]>;
  /** Marks every application whose work has not started as cancelled; how many. */
  cancelPlanned(campaignId: number, at: string): Promise<number>;
  steps(campaignId: number): Promise<CampaignStepRecord[]>;
  putArtifacts(campaignId: number, appId: number, artifacts: Omit<CampaignArtifactRecord, 'appId'>[]): Promise<void>;
  artifacts(campaignId: number): Promise<CampaignArtifactRecord[]>;
  /** The applications whose candidate is this revision, now current: `candidate` becomes `promoted`; how many. */
  markPromoted(revisionId: number, at: string): Promise<number>;
  /** The applications whose promoted candidate is this revision, no longer current: `promoted` becomes `candidate` again; how many. */
  markDemoted(revisionId: number, at: string): Promise<number>;
  /** The artifacts recorded with this candidate revision, by every campaign that made it. */
  candidateArtifacts(revisionId: number): Promise<CampaignArtifactRecord[]>;
  /** The sequence numbers of the revisions campaigns rebuilt into this candidate revision, ascending (none: no campaign made it). */
  rebuiltInto(candidateRevisionId: number): Promise<number[]>;

  // The SQLite queue.
  /** Queues a job for each application that has none in the campaign yet (queued, running or over): asking twice queues once. */
  enqueue(campaignId: number, appIds: number[], priority: number, at: string): Promise<void>;
  /** Queues a sync unless one is queued and not yet taken; whether it did. */
  enqueueSync(priority: number, at: string): Promise<boolean>;
  /** The most urgent due job (queued, or running under a lease that ran out), leased to `owner` until `leaseUntil`. */
  claim(owner: string, now: string, leaseUntil: string): Promise<QueuedJob | null>;
  /** Extends the lease; false when the job is no longer this owner's. */
  renew(jobId: number, owner: string, leaseUntil: string): Promise<boolean>;
  complete(jobId: number, owner: string): Promise<void>;
  /** Cancels a campaign's queued jobs; how many. */
  cancelJobs(campaignId: number): Promise<number>;
  /** Jobs queued or running (of one campaign, or all). */
  pendingJobs(campaignId?: number): Promise<number>;
}
