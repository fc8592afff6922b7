import { cacheDir } from '../../core/cache-dir.js';
import { EXIT_FINDINGS, EXIT_OK } from '../../core/errors.js';
import { styleFor } from '../../audit/report/human.js';
import { currentUser } from '../../fleet/add.js';
import { closeDatabases, openFleetDatabases } from '../../fleet/evaluate.js';
import { requireSettings } from '../../fleet/lookup.js';
import { promoteRevision, rollBack, type CurrentChange, type CurrentChangeContext } from '../../fleet/promote.js';
import { currentChangeJson, renderCurrentChange } from '../../fleet/report.js';
import type { FleetStore } from '../../fleet/store/store.js';
import { deliverDueEvents } from '../../fleet/webhooks.js';
import { fetchPolicyOf } from '../audit-options.js';
import { stdoutStream, warn, writeStdout } from '../output.js';
import type { FleetDatabaseOptions, FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';

export interface FleetCurrentOptions extends FleetDatabaseOptions, FleetFormatOptions {
  by?: string;
}

/** Opens the databases (a revision made current again may need evaluating), changes, reports. */
async function changeCurrent(opts: FleetCurrentOptions, change: (store: FleetStore, context: CurrentChangeContext) => Promise<CurrentChange>): Promise<number> {
  return withFleetStore(opts, async (store) => {
    const settings = await requireSettings(store);
    const databases = await openFleetDatabases(settings, { cacheRoot: opts.cacheDir ?? cacheDir(), fetch: fetchPolicyOf(opts.fetch) });
    let outcome: CurrentChange;
    try {
      outcome = await change(store, { databases, now: new Date(), by: opts.by ?? currentUser() });
    } finally {
      closeDatabases(databases);
    }
    writeStdout(opts.format === 'json' ? currentChangeJson(outcome) : renderCurrentChange(outcome, styleFor(stdoutStream())));
    for (const failure of (await deliverDueEvents(store)).failures) warn(failure);
    return outcome.findings.some((f) => f.failsPolicy) ? EXIT_FINDINGS : EXIT_OK;
  });
}

export function fleetPromote(app: string, revision: string, opts: FleetCurrentOptions): Promise<number> {
  return changeCurrent(opts, (store, context) => promoteRevision(store, app, revision, context));
}

export function fleetRollback(app: string, opts: FleetCurrentOptions): Promise<number> {
  return changeCurrent(opts, (store, context) => rollBack(store, app, context));
}
