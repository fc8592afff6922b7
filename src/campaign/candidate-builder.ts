import type { ArtifactKind, CampaignFix } from '../fleet/store/campaign-store.js';

/**
 * What a campaign job asks of the pipeline for one application (plan → apply → audit → vendor →
 * build → test → package), and what it gets back. The jobs (src/campaign/app-job.ts) record the
 * steps as the hooks report them and keep the result; they never look inside a step.
 */

export interface CandidateRequest {
  /** The application's name. */
  app: string;
  /**
   * The work directory of this attempt: the pipeline works here and nowhere else. Fresh, or, for
   * an attempt taking over from a dead one, as the last completed step left it (a checkpoint):
   * the pipeline goes on from its own record of progress there, never running a completed step again.
   */
  workDir: string;
  /** The registered revision's source, materialised: `source/` of the work directory (candidateLayout). */
  sourceDir: string;
  advisory: { id: string; aliases: string[] };
  /** `auto` (bubblewrap where available), `bwrap`, or `none`. */
  sandbox: string;
}

export interface CandidateHooks {
  stepStarted(step: string): Promise<void>;
  stepEnded(step: string, state: 'done' | 'failed'): Promise<void>;
  /** Aborted when the campaign is cancelled (or the attempt lost the application): the running command is killed. */
  signal: AbortSignal;
}

export interface CandidateArtifact {
  kind: ArtifactKind;
  /** A file the pipeline wrote (absolute). */
  path: string;
}

export interface CandidateResult {
  /** `candidate`: built, tested, packaged; `needs-review`: no compatible fix; `failed`: a step failed. */
  state: 'candidate' | 'needs-review' | 'failed';
  fix: CampaignFix[];
  /** The blocker named, for needs-review. */
  blockedBy: string | null;
  /** The step that failed, for failed. */
  failedStep: string | null;
  /** The failed step's log (its tail), for failed. */
  log: string | null;
  artifacts: CandidateArtifact[];
}

export type CandidateBuilder = (request: CandidateRequest, hooks: CandidateHooks) => Promise<CandidateResult>;
