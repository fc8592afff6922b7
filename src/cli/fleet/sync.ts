import { evaluationTime } from '../../core/clock.js';
import { cacheDir } from '../../core/cache-dir.js';
import { EXIT_FINDINGS, EXIT_OK } from '../../core/errors.js';
import { styleFor } from '../../audit/report/human.js';
import { currentUser } from '../../fleet/add.js';
import { syncFleet } from '../../fleet/sync.js';
import { renderSync, syncJsonPieces } from '../../fleet/sync-report.js';
import { rereadReport } from '../../fleet/reread.js';
import { terminalText } from '../../core/terminal-text.js';
import { deliverDueEvents } from '../../fleet/webhooks.js';
import { fetchPolicyOf } from '../audit-options.js';
import { stdoutStream, warn, writeStderr, writeStdout, writeStdoutPieces } from '../output.js';
import type { FleetDatabaseOptions, FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';
import { refuseNotAuditedApps } from './status.js';

export async function fleetSync(opts: FleetDatabaseOptions & FleetFormatOptions): Promise<number> {
  return withFleetStore(opts, async (store) => {
    const outcome = await syncFleet(store, {
      cacheRoot: opts.cacheDir ?? cacheDir(),
      fetch: fetchPolicyOf(opts.fetch),
      now: new Date(),
      judgeAt: evaluationTime(),
      by: currentUser(),
    });
    // On standard error, whatever the format: the JSON's schema (and the sync's event) is unchanged.
    const reread = rereadReport(outcome.reread);
    if (reread.note !== null) writeStderr(`stowage: ${terminalText(reread.note)}\n`);
    for (const line of reread.warnings) warn(line);
    if (opts.format === 'json') writeStdoutPieces(syncJsonPieces(outcome));
    else writeStdout(renderSync(outcome, styleFor(stdoutStream())));
    // After the commit: a webhook that is down only delays its events (the outbox keeps them).
    for (const failure of (await deliverDueEvents(store)).failures) warn(failure);
    if (outcome.notAudited.length > 0) return refuseNotAuditedApps(outcome.notAudited.map((a) => a.app));
    return outcome.failing > 0 ? EXIT_FINDINGS : EXIT_OK;
  });
}
