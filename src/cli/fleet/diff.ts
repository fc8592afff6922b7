import { styleFor } from '../../audit/report/human.js';
import { StowageError } from '../../core/errors.js';
import { diffRevisions, diffSnapshots } from '../../fleet/diff.js';
import { requireApp, requireSnapshot, resolveRevision } from '../../fleet/lookup.js';
import { diffJsonPieces, renderDiffLines } from '../../fleet/report.js';
import { stdoutStream, writeStdoutPieces } from '../output.js';
import type { FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';

export interface FleetDiffOptions extends FleetFormatOptions {
  snapshots?: boolean;
}

export async function fleetDiff(args: string[], opts: FleetDiffOptions): Promise<number> {
  const expected = opts.snapshots ? 2 : 3;
  if (args.length !== expected) {
    throw new StowageError(opts.snapshots ? 'fleet diff --snapshots takes two snapshot names: S1 S2' : 'fleet diff takes APP REV1 REV2 (or --snapshots S1 S2)');
  }
  return withFleetStore(opts, async (store) => {
    // In pieces: a diff of two snapshots of a large fleet is more than one string may hold.
    const render = (from: string, to: string, diffs: Parameters<typeof diffJsonPieces>[2]): void =>
      writeStdoutPieces(opts.format === 'json' ? diffJsonPieces(from, to, diffs) : renderDiffLines(from, to, diffs, styleFor(stdoutStream())).map((line) => `${line}\n`));
    if (opts.snapshots) {
      const [a, b] = args as [string, string];
      const from = await requireSnapshot(store, a);
      const to = await requireSnapshot(store, b);
      render(from.name, to.name, await diffSnapshots(store, from, to));
      return 0;
    }
    const [name, rev1, rev2] = args as [string, string, string];
    const app = await requireApp(store, name);
    const from = await resolveRevision(store, app, rev1);
    const to = await resolveRevision(store, app, rev2);
    render(from.digest, to.digest, [await diffRevisions(store, app.name, from, to)]);
    return 0;
  });
}
