import type { AdvisoryDatabase } from '../advisories/database.js';
import { compareCodePoints } from '../core/compare-text.js';
import { StowageError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import { loadVersionScheme } from '../ecosystems/formats.js';
import { databaseRevisions, evaluateGraphs, POLICY_DOCUMENT, revisionPolicy, storedPolicyText } from './evaluate.js';
import { recordEvent } from './events.js';
import { currentRevision, requireApp, requireSettings, requireSnapshot, resolveRevision } from './lookup.js';
import { decodeGraphs, decompressBytes, documentDigest, revisionDigest, type DocumentContent } from './revision.js';
import { applyTriage, type TriageNote } from './triage.js';
import { currentChangeJsonBody } from './report.js';
import type { AppRecord, FleetStore, HistoryAction, RevisionRecord, SnapshotMember, SnapshotRecord } from './store/store.js';

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
  /** The moment findings are judged at (withdrawn advisories, ignore and triage expiry): STOWAGE_NOW's (core/clock.ts evaluationTime); `now` when absent. `now` is what is recorded. */
  judgeAt?: Date;
  by: string;
  /** The snapshot whose promotion or rollback this change is part of (stated in its event). */
  snapshot?: string;
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
  /**
   * A campaign's candidate made current in place of a revision other than the one it rebuilt (one
   * added or pushed since the campaign started): the revisions the candidate was built from. What
   * the replaced revision changed beside them is not in the candidate. Empty otherwise.
   */
  builtFromOthers: number[];
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
  decisions: TriageSource = tx,
): Promise<CurrentChange> {
  if (revision.id === previous.id) {
    return { app: app.name, action, changed: false, revision, previous, ...(await triaged(decisions, app, await tx.findings(revision.id), context.judgeAt ?? context.now)), reevaluated: false, builtFromOthers: [] };
  }
  const candidate = await checkCandidateBytes(tx, app, revision);
  // Said of a single promotion only: a snapshot's replaces whatever is current by design.
  const builtFrom = candidate && action === 'promoted' && context.snapshot === undefined ? await tx.campaigns.rebuiltInto(revision.id) : [];
  const settings = await requireSettings(tx);
  const against = databaseRevisions(context.databases);
  let findings: Finding[];
  const reevaluated = JSON.stringify(revision.evaluatedAgainst) !== JSON.stringify(against);
  if (reevaluated) {
    const graphs = decodeGraphs(await tx.revisionGraph(revision.id));
    const policy = revisionPolicy(settings, await storedPolicyText(tx, revision), `${POLICY_DOCUMENT} of revision ${revision.digest}`);
    ({ findings } = await evaluateGraphs(graphs, context.databases, policy, context.judgeAt ?? context.now));
    await tx.replaceFindings(revision.id, findings);
    await tx.setEvaluatedAgainst(revision.id, against);
  } else {
    findings = await tx.findings(revision.id);
  }
  const at = context.now.toISOString();
  await tx.setCurrentRevision(app.id, revision.id);
  // The campaign that made the candidate says whether it is current: its application is
  // `promoted` while it is (a rollback to it too), and a `candidate` again once another revision
  // is made current in its place (a rollback undoing the promotion, or another promotion).
  await tx.campaigns.markDemoted(previous.id, at);
  if (candidate) await tx.campaigns.markPromoted(revision.id, at);
  await tx.appendHistory({ appId: app.id, at, action, revisionId: revision.id, previousRevisionId: previous.id, by: context.by });
  const change: CurrentChange = { app: app.name, action, changed: true, revision: { ...revision, evaluatedAgainst: against }, previous, ...(await triaged(decisions, app, findings, context.judgeAt ?? context.now)), reevaluated, builtFromOthers: builtFrom.includes(previous.seq) ? [] : builtFrom };
  const body = { ...currentChangeJsonBody(change), ...(context.snapshot !== undefined ? { snapshot: context.snapshot } : {}) };
  await recordEvent(tx, settings, action === 'promoted' ? 'promote' : 'rollback', body, at);
  return change;
}

/**
 * What a campaign built and tested is what becomes current: a candidate's documents (the changed
 * lockfile), its kept source (the SRPM's Source0) and its artifacts (vendor archive, SRPM, SBOM)
 * are read back from the store and hashed, and a candidate whose bytes are no longer the ones
 * recorded when it was tested (the store's file changed under it) is refused, nothing changed.
 * Says whether the revision is a campaign's candidate: one of origin `candidate`, or one
 * recorded before (by `fleet add` or a push) whose content a campaign's fix came to, which the
 * campaign's artifacts name.
 */
async function checkCandidateBytes(tx: FleetStore, app: AppRecord, revision: RevisionRecord): Promise<boolean> {
  const artifacts = await tx.campaigns.candidateArtifacts(revision.id);
  if (revision.origin !== 'candidate' && artifacts.length === 0) return false;
  const refuse = (what: string): never => {
    throw new StowageError(
      `candidate revision ${revision.seq} (${revision.digest.slice(0, 19)}) of ${JSON.stringify(app.name)}: ${what}; it is not what its campaign tested, nothing was promoted`,
      tx.location,
    );
  };
  const bytesOf = async (digest: string, what: string): Promise<Buffer> => {
    const stored = await tx.document(digest);
    if (stored === null) return refuse(`the store no longer holds ${what}`);
    let bytes: Buffer;
    try {
      bytes = decompressBytes(stored);
    } catch {
      return refuse(`${what} in the store cannot be read`);
    }
    if (documentDigest(bytes) !== digest) refuse(`${what} in the store no longer has the digest it was recorded with (${digest.slice(0, 19)})`);
    return bytes;
  };
  const documents: DocumentContent[] = [];
  for (const doc of revision.documents) documents.push({ name: doc.name, bytes: await bytesOf(doc.digest, `its ${doc.name}`) });
  if (revisionDigest(documents) !== revision.digest) refuse('its documents no longer make up its digest');
  const source = await tx.revisionSource(revision.id);
  if (source !== null) await bytesOf(source.digest, 'its kept source');
  for (const artifact of artifacts) await bytesOf(artifact.digest, `its ${artifact.kind} artifact ${artifact.name}`);
  return true;
}

/** Where the triage decisions come from: the store, or (a whole snapshot's change) the decisions read once. */
type TriageSource = Parameters<typeof applyTriage>[0];

async function triaged(decisions: TriageSource, app: AppRecord, findings: Finding[], now: Date): Promise<{ findings: Finding[]; triage: TriageNote[] }> {
  const [applied] = await applyTriage(decisions, [{ appId: app.id, findings }], now, loadVersionScheme);
  return applied ?? { findings, triage: [] };
}

/**
 * `fleet promote --snapshot NAME` and `fleet rollback --snapshot NAME`: every application the
 * snapshot recorded gets the revision recorded for it as its current one, all in one transaction,
 * each change recorded in the application's history and posted as its own `promote` or
 * `rollback` event (naming the snapshot), as `fleet promote APP REV` would. The two differ only in
 * how history and events name the change: moving the fleet to a tested state, or back to a
 * known one. Applications added after the snapshot are left as they are (and listed). The
 * databases are not moved back: each revision is evaluated with the fleet's databases as they are
 * now, as a promotion of one application is.
 *
 * A snapshot whose application or revision is no longer in the fleet changes nothing: one line
 * naming it.
 */

export interface SnapshotChange {
  snapshot: SnapshotRecord;
  action: CurrentChange['action'];
  dryRun: boolean;
  /** Applications with a current revision that the snapshot does not hold, left as they are. */
  notInSnapshot: string[];
}

/**
 * Where a change to a snapshot reports each application's change as it is made: what the
 * command's output needs of it is kept there, not the changes (a snapshot of 10,000
 * applications has hundreds of thousands of findings).
 */
export interface SnapshotChangeReport {
  /** An attempt of the transaction begins (a PostgreSQL store runs it again after a serialisation failure): forget what an earlier one reported. */
  restart(): void;
  /** One application of the snapshot, in name order. In a dry run, nothing is evaluated: its findings and triage are empty. */
  add(change: CurrentChange): void;
}

function memberLabel(m: SnapshotMember): string {
  return m.appName === null ? `application #${m.appId}` : `application ${JSON.stringify(m.appName)}`;
}

export async function changeToSnapshot(
  store: FleetStore,
  name: string,
  action: CurrentChange['action'],
  context: CurrentChangeContext,
  { dryRun, report }: { dryRun: boolean; report: SnapshotChangeReport },
): Promise<SnapshotChange> {
  return store.transaction(async (tx) => {
    report.restart();
    const snapshot = await requireSnapshot(tx, name);
    const members = await tx.snapshotMembers(snapshot.id);
    const gone = members.find((m) => !m.appPresent);
    if (gone !== undefined) {
      throw new StowageError(`snapshot ${JSON.stringify(snapshot.name)} holds ${memberLabel(gone)}, which is no longer in the fleet; nothing was changed`);
    }
    const lost = members.find((m) => !m.revisionPresent);
    if (lost !== undefined) {
      throw new StowageError(`snapshot ${JSON.stringify(snapshot.name)} holds a revision of ${memberLabel(lost)} that the fleet no longer records; nothing was changed`);
    }
    const inSnapshot = new Set(members.map((m) => m.appId));
    // The applications and revisions in a few queries, not a few per application (a fleet of thousands).
    const fleetApps = await tx.apps();
    const appsById = new Map(fleetApps.map((a) => [a.id, a]));
    const byName = members.map((m) => ({ app: appsById.get(m.appId) as AppRecord, revisionId: m.revisionId }));
    // By name: the output, the history and the events in one order whatever the ids.
    byName.sort((a, b) => compareCodePoints(a.app.name, b.app.name));
    const revisions = await tx.revisionsById([...members.map((m) => m.revisionId), ...fleetApps.flatMap((a) => (a.currentRevision === null ? [] : [a.currentRevision]))]);
    const decisions = await tx.triageDecisions();
    const triage: TriageSource = { triageDecisions: () => Promise.resolve(decisions) };
    for (const { app, revisionId } of byName) {
      const revision = revisions.get(revisionId) as RevisionRecord;
      const previous = (app.currentRevision === null ? undefined : revisions.get(app.currentRevision)) ?? (await currentRevision(tx, app));
      if (dryRun) {
        report.add({ app: app.name, action, changed: revision.id !== previous.id, revision, previous, findings: [], triage: [], reevaluated: false, builtFromOthers: [] });
      } else {
        report.add(await makeCurrent(tx, app, action, revision, previous, { ...context, snapshot: snapshot.name }, triage));
      }
    }
    const notInSnapshot = fleetApps
      .filter((a) => a.currentRevision !== null && !inSnapshot.has(a.id))
      .map((a) => a.name)
      .sort(compareCodePoints);
    return { snapshot, action, dryRun, notInSnapshot };
  });
}
