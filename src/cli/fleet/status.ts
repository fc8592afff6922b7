import { EXIT_FINDINGS, EXIT_OK } from '../../core/errors.js';
import { styleFor } from '../../audit/report/human.js';
import { requireSettings } from '../../fleet/lookup.js';
import { appsJson, renderApps, type AppFindings } from '../../fleet/report.js';
import type { FleetStore } from '../../fleet/store/store.js';
import { stdoutStream, writeStdout } from '../output.js';
import type { FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';

/** Writes the applications with their findings; exit 1 when a finding fails its policy. */
export function reportApps(apps: AppFindings[], opts: FleetFormatOptions, details: boolean): number {
  writeStdout(opts.format === 'json' ? appsJson(apps) : renderApps(apps, styleFor(stdoutStream()), { details }));
  return apps.some((a) => a.findings.some((f) => f.failsPolicy)) ? EXIT_FINDINGS : EXIT_OK;
}

async function currentFindings(store: FleetStore): Promise<AppFindings[]> {
  const out: AppFindings[] = [];
  for (const app of await store.apps()) {
    if (app.currentRevision === null) continue;
    const revision = await store.revision(app.currentRevision);
    if (revision === null) continue;
    out.push({ name: app.name, revision, findings: await store.findings(revision.id) });
  }
  // Code-point order, the same on both stores (PostgreSQL would sort by its collation).
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function fleetStatus(opts: FleetFormatOptions): Promise<number> {
  return withFleetStore(opts, async (store) => {
    await requireSettings(store);
    return reportApps(await currentFindings(store), opts, false);
  });
}
