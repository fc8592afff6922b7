import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { StowageError, errorMessage } from '../core/errors.js';
import { forgetInputsUnder } from '../core/input-files.js';
import { readApp } from '../fleet/add.js';
import { recordEvent } from '../fleet/events.js';
import { compressBytes, documentDigest, encodeGraphs, revisionDigest, storedDocuments } from '../fleet/revision.js';
import { keepSource, materialiseSource, readSource, type KeptSource } from '../fleet/source.js';
import { type CampaignAppOutcome, type CampaignArtifactRecord } from '../fleet/store/campaign-store.js';
import type { FleetStore } from '../fleet/store/store.js';
import type { CandidateBuilder, CandidateResult } from './candidate-builder.js';
import { candidateLayout } from './candidate.js';
import { restoreCheckpoint, takeCheckpoint, treeDigests } from './checkpoint.js';
import { makeWorkDir } from './work-dirs.js';

/**
 * One application's job in a campaign: take it (a new attempt token), materialise the registered
 * revision's source in a fresh work directory (with the checkpoint of the last completed step
 * laid over it when an earlier attempt died), run the pipeline, and record the outcome. Every
 * write is fenced by the attempt token: when a worker is presumed dead and another takes the
 * application over, whatever the first one still writes is refused, so each application's
 * outcome is recorded once, by the attempt that ran it to completion, and each step is
 * recorded done (with its checkpoint) once: a taking-over attempt resumes after it.
 * While the pipeline runs, the attempt watches the store: a cancelled campaign (or the
 * application taken over) aborts it, killing the command running.
 */

/** The store calls of one process, one at a time: an SQLite connection holds one transaction. */
export type StoreGate = <T>(work: () => Promise<T>) => Promise<T>;

export function storeGate(): StoreGate {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };
}

export interface AppJob {
  campaignId: number;
  appId: number;
}

export interface AppJobContext {
  store: FleetStore;
  gate: StoreGate;
  builder: CandidateBuilder;
  now?: () => Date;
}

/** Ends the attempt with an outcome, or one computed in the ending transaction; false when the attempt no longer owns the application. */
type Finish = (outcome: CampaignAppOutcome | ((tx: FleetStore) => Promise<CampaignAppOutcome>)) => Promise<boolean>;

/** The attempt lost the application (taken over, or the campaign was cancelled): stop quietly. */
class AttemptOver extends Error {}

const LOG_TAIL = 64 * 1024;

/** How often a running attempt looks for its campaign's cancellation, in milliseconds. */
const WATCH_MS = 1000;

/**
 * Attempts at one application that may end without an outcome (each worker killed, crashed or
 * out of its lease in the middle) before the next one gives up and fails it: an application whose
 * build kills its worker would otherwise be taken again forever (SQLite's queue), or left
 * `running` for good once pg-boss's retries (10) are spent. Below pg-boss's limit, so the
 * attempt that gives up is always made.
 */
export const ATTEMPTS_LIMIT = 5;

export async function runAppJob(job: AppJob, context: AppJobContext): Promise<void> {
  const { store, gate } = context;
  const now = (): string => (context.now?.() ?? new Date()).toISOString();
  const attempt = randomUUID();
  const campaign = await gate(() => store.campaigns.campaign(job.campaignId));
  if (campaign === null) return;
  const taken = await gate(() =>
    store.transaction(async (tx) => {
      const current = await tx.campaigns.campaign(job.campaignId);
      if (current === null || current.state !== 'running') return false;
      return tx.campaigns.begin(job.campaignId, job.appId, attempt, now());
    }),
  );
  if (!taken) return;
  const record = (await gate(() => store.campaigns.app(job.campaignId, job.appId))) as NonNullable<Awaited<ReturnType<FleetStore['campaigns']['app']>>>;
  const finish: Finish = (outcome) =>
    gate(() =>
      store.transaction(async (tx) => {
        const ended = typeof outcome === 'function' ? await outcome(tx) : outcome;
        const at = now();
        // Refused: the transaction (the candidate's revision and artifacts with it) rolls back.
        if (!(await tx.campaigns.finish(job.campaignId, job.appId, attempt, ended, at))) throw new AttemptOver();
        return true;
      }),
    ).then(
      // Closing the campaign is a transaction of its own: finishing applications never conflict over it.
      async (finished) => (await gate(() => store.transaction((tx) => tx.campaigns.closeIfOver(job.campaignId, now()))), finished),
      (err: unknown) => {
        if (err instanceof AttemptOver) return false;
        throw err;
      },
    );

  if (record.attempts > ATTEMPTS_LIMIT) {
    const log = `gave up: the ${ATTEMPTS_LIMIT} attempts before this one ended without an outcome (their workers were killed, crashed or lost their lease while running it)`;
    await finish({ state: 'failed', step: null, blockedBy: null, log, fix: [], candidateRevisionId: null });
    return;
  }

  const workDir = makeWorkDir();
  const stopped = new AbortController();
  let watch: NodeJS.Timeout | undefined;
  try {
    const layout = candidateLayout(workDir);
    const sourceDir = layout.source;
    const files = await gate(() => materialiseSource(store, record.revisionId, sourceDir));
    if (files === null) {
      await finish({ state: 'needs-source', step: null, blockedBy: null, log: null, fix: [], candidateRevisionId: null });
      return;
    }
    const base = treeDigests(sourceDir, 'source');
    const checkpoint = record.checkpoint;
    if (checkpoint !== null) {
      try {
        await gate(() => restoreCheckpoint(store, checkpoint, workDir));
      } catch (err) {
        // A checkpoint that cannot be laid back (a document missing, a path refused) would fail every retry the same way.
        if (!(err instanceof StowageError)) throw err;
        await finish({ state: 'failed', step: record.step, blockedBy: null, log: `cannot resume: ${err.line}`, fix: [], candidateRevisionId: null });
        return;
      }
    }
    // Documents the last checkpoint names, which the store holds: an unchanged vendor archive is not compressed at every step.
    const stored = new Set<string>();
    const stepStart = new Map<string, string>();
    const step = async (name: string, state: 'running' | 'done' | 'failed'): Promise<void> => {
      const at = now();
      if (state === 'running') stepStart.set(name, at);
      const stepRecord = { appId: job.appId, step: name, state, startedAt: stepStart.get(name) ?? at, endedAt: state === 'running' ? null : at };
      // A completed step's work directory goes to the store with the step, in one transaction: a
      // step recorded done is one a taking-over attempt can skip.
      const taken = state === 'done' ? takeCheckpoint(workDir, base, layout.scratch, stored) : null;
      const owned = await gate(async () => {
        const c = await store.campaigns.campaign(job.campaignId);
        if (c === null || c.state === 'cancelled') return false;
        return store.transaction(async (tx) => {
          if (!(await tx.campaigns.setStep(job.campaignId, job.appId, attempt, stepRecord))) return false;
          if (taken === null) return true;
          await tx.putDocuments(taken.documents);
          return tx.campaigns.setCheckpoint(job.campaignId, job.appId, attempt, taken.checkpoint);
        });
      });
      if (!owned) throw new AttemptOver();
      if (taken !== null) {
        // The store keeps what the checkpoint names (setCheckpoint drops the documents the one before
        // named alone): a file that comes back in a later step is put again.
        stored.clear();
        for (const f of taken.checkpoint.files) stored.add(f.digest);
      }
    };
    // Cancellation (or the application taken over) while a step runs: the pipeline kills its command.
    watch = setInterval(() => {
      void gate(async () => {
        const c = await store.campaigns.campaign(job.campaignId);
        const a = await store.campaigns.app(job.campaignId, job.appId);
        return c === null || c.state === 'cancelled' || a?.attempt !== attempt;
      })
        .then((over) => (over ? stopped.abort() : undefined))
        .catch(() => undefined);
    }, WATCH_MS);
    let result: CandidateResult;
    try {
      result = await context.builder(
        { app: record.app, sourceDir, workDir, advisory: { id: campaign.advisoryId, aliases: campaign.aliases }, sandbox: campaign.sandbox },
        { stepStarted: (name) => step(name, 'running'), stepEnded: (name, state) => step(name, state), signal: stopped.signal },
      );
    } catch (err) {
      if (err instanceof AttemptOver || stopped.signal.aborted) {
        await cancelledIfCampaignIs(context, job, attempt, now);
        return;
      }
      const message = err instanceof StowageError ? err.line : errorMessage(err);
      const current = await gate(() => store.campaigns.app(job.campaignId, job.appId));
      await finish({ state: 'failed', step: current?.step ?? null, blockedBy: null, log: message, fix: [], candidateRevisionId: null });
      return;
    }
    if (stopped.signal.aborted) {
      // Stopped from outside: the campaign was cancelled (the application ends so), or another attempt owns it.
      await cancelledIfCampaignIs(context, job, attempt, now);
      return;
    }
    if (result.state !== 'candidate') {
      await finish({
        state: result.state,
        step: result.failedStep,
        blockedBy: result.blockedBy,
        log: result.log === null ? null : result.log.slice(-LOG_TAIL),
        fix: result.fix,
        candidateRevisionId: null,
      });
      return;
    }
    await recordCandidate(job, record.app, sourceDir, result, finish, campaign.publish, stored);
  } finally {
    clearInterval(watch);
    rmSync(workDir, { recursive: true, force: true });
    forgetInputsUnder(workDir);
  }
}

/** A cancelled campaign's running application ends `cancelled` (when this attempt still owns it). */
async function cancelledIfCampaignIs(context: AppJobContext, job: AppJob, attempt: string, now: () => string): Promise<void> {
  await context.gate(() =>
    context.store.transaction(async (tx) => {
      const c = await tx.campaigns.campaign(job.campaignId);
      if (c?.state !== 'cancelled') return;
      const current = await tx.campaigns.app(job.campaignId, job.appId);
      // The step it was stopped at stays named.
      await tx.campaigns.finish(job.campaignId, job.appId, attempt, { state: 'cancelled', step: current?.step ?? null, blockedBy: null, log: null, fix: [], candidateRevisionId: null }, now());
    }),
  );
}

/**
 * The candidate: a revision of the application with origin `candidate` (never current:
 * promotion makes it so), read from the changed source as `fleet add` reads a directory, with
 * its source kept and every artifact stored as a document, all in the transaction that ends
 * the attempt.
 */
async function recordCandidate(job: AppJob, app: string, sourceDir: string, result: CandidateResult, finish: Finish, publish: boolean, stored: ReadonlySet<string>): Promise<void> {
  const read = await readApp({ path: sourceDir, name: app });
  const digest = revisionDigest(read.documents);
  // Read before the transaction that ends the attempt, as everything else it stores.
  const source = await readSource(sourceDir).catch((err: unknown): KeptSource | null => {
    if (err instanceof StowageError) return null;
    throw err;
  });
  // An artifact a checkpoint of this attempt already stored (the vendor archive) is not compressed and stored again.
  const artifacts = result.artifacts.map((a) => {
    const bytes = readFileSync(a.path);
    const digest = documentDigest(bytes);
    return { kind: a.kind, name: basename(a.path), digest, size: bytes.length, content: stored.has(digest) ? null : compressBytes(bytes) };
  });
  await finish(async (tx) => {
    const at = new Date().toISOString();
    let revision = await tx.revisionByDigest(job.appId, digest);
    if (revision === null) {
      const { listed, contents } = storedDocuments(read.documents);
      await tx.putDocuments(contents);
      // Not evaluated ({}): promotion evaluates it with the fleet's databases.
      revision = await tx.addRevision({ appId: job.appId, digest, origin: 'candidate', documents: listed, graph: encodeGraphs(read.graphs), evaluatedAgainst: {}, at });
      await tx.indexPackages(
        revision.id,
        read.graphs.flatMap((g) => g.packages.map((p) => ({ ecosystem: p.ecosystem, name: p.name, version: p.version }))),
      );
    }
    if (source !== null) await keepSource(tx, revision.id, source);
    await tx.putDocuments(artifacts.flatMap(({ digest: d, size, content }) => (content === null ? [] : [{ digest: d, size, content }])));
    const kept: Omit<CampaignArtifactRecord, 'appId'>[] = artifacts.map(({ kind, name, digest: d }) => ({ kind, name, digest: d }));
    await tx.campaigns.putArtifacts(job.campaignId, job.appId, kept);
    if (publish) {
      await recordEvent(tx, await tx.settings(), 'campaign', { schemaVersion: 1, campaign: job.campaignId, app, state: 'candidate', revision: revision.digest, fix: result.fix }, at);
    }
    return { state: 'candidate', step: null, blockedBy: null, log: null, fix: result.fix, candidateRevisionId: revision.id };
  });
}
