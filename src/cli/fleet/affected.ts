import { evaluationTime } from '../../core/clock.js';
import { EXIT_OK } from '../../core/errors.js';
import { styleFor } from '../../audit/report/human.js';
import { affectedApps, parseAffectedQuery } from '../../fleet/affected.js';
import { affectedJsonPieces, renderAffected } from '../../fleet/affected-report.js';
import { requireSettings } from '../../fleet/lookup.js';
import { applyTriage } from '../../fleet/triage.js';
import { loadVersionScheme } from '../../ecosystems/formats.js';
import { stdoutStream, writeStdout, writeStdoutPieces } from '../output.js';
import type { FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';

export async function fleetAffected(query: string, opts: FleetFormatOptions): Promise<number> {
  const parsed = parseAffectedQuery(query);
  return withFleetStore(opts, async (store) => {
    await requireSettings(store);
    const apps = await affectedApps(store, parsed);
    const triaged = await applyTriage(store, apps, evaluationTime(), loadVersionScheme);
    if (opts.format === 'json') writeStdoutPieces(affectedJsonPieces(parsed, apps, triaged));
    else writeStdout(renderAffected(parsed, apps, triaged, styleFor(stdoutStream())));
    return EXIT_OK;
  });
}
