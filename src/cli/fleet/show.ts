import { currentRevision, requireApp, resolveRevision } from '../../fleet/lookup.js';
import { decodeGraphs } from '../../fleet/revision.js';
import { revisionWarnings } from '../../fleet/revision-warnings.js';
import { warn } from '../output.js';
import type { FleetFormatOptions } from './index.js';
import { reportApps } from './status.js';
import { withFleetStore } from './with-store.js';

export interface FleetShowOptions extends FleetFormatOptions {
  revision?: string;
}

export async function fleetShow(name: string, opts: FleetShowOptions): Promise<number> {
  return withFleetStore(opts, async (store) => {
    const app = await requireApp(store, name);
    const revision = opts.revision !== undefined ? await resolveRevision(store, app, opts.revision) : await currentRevision(store, app);
    // What the audit warns of the revision's lockfiles, as `fleet add` said it (standard error, any format; and in the JSON).
    const warnings = revisionWarnings(decodeGraphs(await store.revisionGraph(revision.id)));
    for (const w of warnings) warn(w);
    return reportApps(store, [{ name: app.name, revision, findings: await store.findings(revision.id), ...(opts.format === 'json' ? { warnings } : {}) }], opts, true);
  });
}
