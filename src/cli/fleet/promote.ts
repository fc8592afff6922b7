import { evaluationTime } from '../../core/clock.js';
import { cacheDir } from '../../core/cache-dir.js';
import { EXIT_FINDINGS, EXIT_OK, StowageError } from '../../core/errors.js';
import { styleFor } from '../../audit/report/human.js';
import { currentUser } from '../../fleet/add.js';
import { closeDatabases, openFleetDatabases } from '../../fleet/evaluate.js';
import { requireSettings } from '../../fleet/lookup.js';
import { changeToSnapshot, promoteRevision, rollBack, type CurrentChange, type CurrentChangeContext, type SnapshotChange } from '../../fleet/promote.js';
import { candidateBuiltFromOthersWarning, currentChangeJson, renderCurrentChange } from '../../fleet/report.js';
import { SnapshotChangeOutput } from '../../fleet/snapshot-change-output.js';
import type { FleetStore } from '../../fleet/store/store.js';
import { deliverDueEvents } from '../../fleet/webhooks.js';
import { fetchPolicyOf } from '../audit-options.js';
import { stdoutStream, warn, writeStdout, writeStdoutPieces } from '../output.js';
import type { FleetDatabaseOptions, FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';

export interface FleetCurrentOptions extends FleetDatabaseOptions, FleetFormatOptions {
  by?: string;
  /** The whole fleet to the revisions this snapshot recorded, instead of one application. */
  snapshot?: string;
  dryRun?: boolean;
}

/** Opens the databases (a revision made current again may need evaluating), changes, reports. */
async function changeCurrent(opts: FleetCurrentOptions, change: (store: FleetStore, context: CurrentChangeContext) => Promise<CurrentChange>): Promise<number> {
  return withFleetStore(opts, async (store) => {
    const settings = await requireSettings(store);
    const databases = await openFleetDatabases(settings, { cacheRoot: opts.cacheDir ?? cacheDir(), fetch: fetchPolicyOf(opts.fetch) });
    let outcome: CurrentChange;
    try {
      outcome = await change(store, { databases, now: new Date(), judgeAt: evaluationTime(), by: opts.by ?? currentUser() });
    } finally {
      closeDatabases(databases);
    }
    writeStdout(opts.format === 'json' ? currentChangeJson(outcome) : renderCurrentChange(outcome, styleFor(stdoutStream())));
    const leftOut = candidateBuiltFromOthersWarning(outcome);
    if (leftOut !== null) warn(leftOut);
    for (const failure of (await deliverDueEvents(store)).failures) warn(failure);
    return outcome.findings.some((f) => f.failsPolicy) ? EXIT_FINDINGS : EXIT_OK;
  });
}

/** The whole fleet to a snapshot: a dry run reads the store only (no database is opened, nothing evaluated). */
async function changeToSnapshotCommand(name: string, action: SnapshotChange['action'], opts: FleetCurrentOptions): Promise<number> {
  return withFleetStore(opts, async (store) => {
    const settings = await requireSettings(store);
    const dryRun = opts.dryRun === true;
    const databases = dryRun ? [] : await openFleetDatabases(settings, { cacheRoot: opts.cacheDir ?? cacheDir(), fetch: fetchPolicyOf(opts.fetch) });
    // Each application's part of the output waits in a temporary file until the change is committed.
    const output = new SnapshotChangeOutput(action, dryRun, opts.format === 'json' ? null : styleFor(stdoutStream()));
    try {
      let outcome: SnapshotChange;
      try {
        outcome = await changeToSnapshot(store, name, action, { databases, now: new Date(), judgeAt: evaluationTime(), by: opts.by ?? currentUser() }, { dryRun, report: output });
      } finally {
        closeDatabases(databases);
      }
      writeStdoutPieces(output.pieces(outcome));
    } finally {
      output.close();
    }
    if (dryRun) return EXIT_OK;
    for (const failure of (await deliverDueEvents(store)).failures) warn(failure);
    return output.failing ? EXIT_FINDINGS : EXIT_OK;
  });
}

/** `--snapshot NAME` takes the place of the application's arguments; `--dry-run` goes only with it. */
function checkArguments(command: string, given: (string | undefined)[], usage: string, opts: FleetCurrentOptions): void {
  const args = given.filter((a) => a !== undefined);
  if (opts.snapshot !== undefined) {
    if (args.length > 0) throw new StowageError(`fleet ${command} --snapshot ${JSON.stringify(opts.snapshot)} changes every application of the snapshot: give no ${usage}`);
    return;
  }
  if (opts.dryRun === true) throw new StowageError(`fleet ${command}: --dry-run goes with --snapshot NAME`);
  if (args.length < given.length) throw new StowageError(`fleet ${command}: give ${usage}, or --snapshot NAME`);
}

export function fleetPromote(app: string | undefined, revision: string | undefined, opts: FleetCurrentOptions): Promise<number> {
  checkArguments('promote', [app, revision], 'APP REVISION', opts);
  if (opts.snapshot !== undefined) return changeToSnapshotCommand(opts.snapshot, 'promoted', opts);
  return changeCurrent(opts, (store, context) => promoteRevision(store, app as string, revision as string, context));
}

export function fleetRollback(app: string | undefined, opts: FleetCurrentOptions): Promise<number> {
  checkArguments('rollback', [app], 'APP', opts);
  if (opts.snapshot !== undefined) return changeToSnapshotCommand(opts.snapshot, 'rolled-back', opts);
  return changeCurrent(opts, (store, context) => rollBack(store, app as string, context));
}
