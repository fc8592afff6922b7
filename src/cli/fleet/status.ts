import { EXIT_FINDINGS, EXIT_OK } from '../../core/errors.js';
import { styleFor } from '../../audit/report/human.js';
import { loadVersionScheme } from '../../ecosystems/formats.js';
import { requireSettings } from '../../fleet/lookup.js';
import { applyTriage } from '../../fleet/triage.js';
import { appsJson, renderApps, renderSummaries, summaryJson, type AppFindings } from '../../fleet/report.js';
import { allAppSummaries } from '../../fleet/summary.js';
import type { FleetStore } from '../../fleet/store/store.js';
import { stdoutStream, writeStdout } from '../output.js';
import type { FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';

/**
 * Writes the applications with their findings, the fleet's triage decisions applied (a settled
 * one ignores its finding, as a policy ignore does); exit 1 when a finding still fails its policy.
 */
export async function reportApps(store: FleetStore, found: AppFindings[], opts: FleetFormatOptions, details: boolean): Promise<number> {
  const triaged = await applyTriage(store, found.map((a) => ({ appId: a.revision.appId, findings: a.findings })), new Date(), loadVersionScheme);
  const apps = found.map((a, i) => ({ ...a, findings: triaged[i]?.findings ?? a.findings, triage: triaged[i]?.triage ?? [] }));
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

export interface FleetStatusOptions extends FleetFormatOptions {
  /** One line per application, its open findings counted by level (triage applied), no finding listed. */
  summary?: boolean;
}

export async function fleetStatus(opts: FleetStatusOptions): Promise<number> {
  return withFleetStore(opts, async (store) => {
    await requireSettings(store);
    if (opts.summary === true) {
      const apps = await allAppSummaries(store, new Date(), loadVersionScheme);
      writeStdout(opts.format === 'json' ? summaryJson(apps) : renderSummaries(apps, styleFor(stdoutStream())));
      return apps.some((a) => a.failing > 0) ? EXIT_FINDINGS : EXIT_OK;
    }
    return reportApps(store, await currentFindings(store), opts, false);
  });
}
