import { styleFor } from '../../audit/report/human.js';
import { requireApp } from '../../fleet/lookup.js';
import { historyJson, renderHistory } from '../../fleet/report.js';
import { stdoutStream, writeStdout } from '../output.js';
import type { FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';

export async function fleetHistory(name: string, opts: FleetFormatOptions): Promise<number> {
  return withFleetStore(opts, async (store) => {
    const app = await requireApp(store, name);
    const entries = await store.history(app.id);
    writeStdout(opts.format === 'json' ? historyJson(app.name, entries) : renderHistory(app.name, entries, styleFor(stdoutStream())));
    return 0;
  });
}
