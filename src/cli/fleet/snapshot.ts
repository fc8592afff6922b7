import { styleFor } from '../../audit/report/human.js';
import { StowageError } from '../../core/errors.js';
import { appNameProblem } from '../../fleet/add.js';
import { requireSettings } from '../../fleet/lookup.js';
import { renderSnapshot, snapshotJson } from '../../fleet/report.js';
import { stdoutStream, writeStdout } from '../output.js';
import type { FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';

export async function fleetSnapshot(name: string, opts: FleetFormatOptions): Promise<number> {
  const problem = appNameProblem(name);
  if (problem !== null) throw new StowageError(`snapshot name ${JSON.stringify(name)}: ${problem.replace('an application name', 'a snapshot name')}`);
  return withFleetStore(opts, async (store) => {
    await requireSettings(store);
    const { snapshot, revisions } = await store.transaction(async (tx) => {
      if ((await tx.snapshot(name)) !== null) throw new StowageError(`a snapshot named ${JSON.stringify(name)} exists already; snapshots are never replaced`);
      const recorded = await tx.createSnapshot(name, new Date().toISOString(), await tx.databases());
      return { snapshot: recorded, revisions: await tx.revisionsById(recorded.apps.map((a) => a.revisionId)) };
    });
    writeStdout(opts.format === 'json' ? snapshotJson(snapshot, revisions) : renderSnapshot(snapshot, revisions, styleFor(stdoutStream())));
    return 0;
  });
}
