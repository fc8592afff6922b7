import type { AdvisoryDatabase } from '../advisories/database.js';
import { StowageError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import { loadVersionScheme } from '../ecosystems/formats.js';
import { databaseRevisions, evaluateGraphs, POLICY_DOCUMENT, revisionPolicy, storedPolicyText } from './evaluate.js';
import { recordEvent } from './events.js';
import { currentRevision, requireApp, requireSettings, resolveRevision } from './lookup.js';
import { decodeGraphs } from './revision.js';
import { applyTriage, type TriageNote } from './triage.js';
import { currentChangeJsonBody } from './report.js';
import type { AppRecord, FleetStore, HistoryAction, RevisionRecord } from './store/store.js';

/**
 * `fleet promote APP REVISION` and `fleet rollback APP`: which recorded revision is the
 * application's current one (the one status, show, affected, sync and export read). A
 * campaign's candidate revision is recorded beside the current one and becomes current only
 * when promoted. Rollback returns to the revision that was current before the last change of
 * current revision (an add, a promotion or a rollback), so two rollbacks in a row come back
 * where they started, as `kubectl rollout undo` does. Both are recorded in the history, and
 * post an event (`promote`, `rollback`) when the current revision changed.
 *
 * A revision made current again may have been evaluated with other database revisions than the
 * fleet's now: it is evaluated again first (as `fleet add` does for content seen before), so
 * what status shows right after is true.
 */

export interface CurrentChangeContext {
  databases: AdvisoryDatabase[];
  now: Date;
  by: string;
}

export interface CurrentChange {
  app: string;
  action: Extract<HistoryAction, 'promoted' | 'rolled-back'>;
  /** False when REVISION was already current: nothing was recorded. */
  changed: boolean;
  revision: RevisionRecord;
  /** The revision that was current before. */
  previous: RevisionRecord;
  /** The now-current revision's findings, the triage decisions applied (as status shows them). */
  findings: Finding[];
  triage: TriageNote[];
  /** Whether the revision was evaluated again (it had been evaluated with other database revisions). */
  reevaluated: boolean;
}

export async function promoteRevision(store: FleetStore, appName: string, given: string, context: CurrentChangeContext): Promise<CurrentChange> {
  return store.transaction(async (tx) => {
    const app = await requireApp(tx, appName);
    const previous = await currentRevision(tx, app);
    const revision = await resolveRevision(tx, app, given);
    return makeCurrent(tx, app, 'promoted', revision, previous, context);
  });
}

export async function rollBack(store: FleetStore, appName: string, context: CurrentChangeContext): Promise<CurrentChange> {
  return store.transaction(async (tx) => {
    const app = await requireApp(tx, appName);
    const current = await currentRevision(tx, app);
    // The last change that made the current revision current says what was current before it.
    const made = (await tx.history(app.id)).filter((e) => e.revision.id === current.id).at(-1);
    const target = made?.previousRevision ?? null;
    if (target === null) {
      throw new StowageError(
        `application ${JSON.stringify(app.name)} has nothing to roll back to: revision ${current.seq} (${current.digest.slice(0, 19)}) is the first it had current`,
      );
    }
    return makeCurrent(tx, app, 'rolled-back', target, current, context);
  });
}

async function makeCurrent(
  tx: FleetStore,
  app: AppRecord,
  action: CurrentChange['action'],
  revision: RevisionRecord,
  previous: RevisionRecord,
  context: CurrentChangeContext,
): Promise<CurrentChange> {
  if (revision.id === previous.id) {
    return { app: app.name, action, changed: false, revision, previous, ...(await triaged(tx, app, await tx.findings(revision.id), context.now)), reevaluated: false };
  }
  const settings = await requireSettings(tx);
  const against = databaseRevisions(context.databases);
  let findings: Finding[];
  const reevaluated = JSON.stringify(revision.evaluatedAgainst) !== JSON.stringify(against);
  if (reevaluated) {
    const graphs = decodeGraphs(await tx.revisionGraph(revision.id));
    const policy = revisionPolicy(settings, await storedPolicyText(tx, revision), `${POLICY_DOCUMENT} of revision ${revision.digest}`);
    ({ findings } = await evaluateGraphs(graphs, context.databases, policy, context.now));
    await tx.replaceFindings(revision.id, findings);
    await tx.setEvaluatedAgainst(revision.id, against);
  } else {
    findings = await tx.findings(revision.id);
  }
  const at = context.now.toISOString();
  await tx.setCurrentRevision(app.id, revision.id);
  await tx.appendHistory({ appId: app.id, at, action, revisionId: revision.id, previousRevisionId: previous.id, by: context.by });
  const change: CurrentChange = { app: app.name, action, changed: true, revision: { ...revision, evaluatedAgainst: against }, previous, ...(await triaged(tx, app, findings, context.now)), reevaluated };
  await recordEvent(tx, settings, action === 'promoted' ? 'promote' : 'rollback', currentChangeJsonBody(change), at);
  return change;
}

async function triaged(tx: FleetStore, app: AppRecord, findings: Finding[], now: Date): Promise<{ findings: Finding[]; triage: TriageNote[] }> {
  const [applied] = await applyTriage(tx, [{ appId: app.id, findings }], now, loadVersionScheme);
  return applied ?? { findings, triage: [] };
}
