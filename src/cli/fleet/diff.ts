import { styleFor } from '../../audit/report/human.js';
import { StowageError } from '../../core/errors.js';
import { diffRevisions, diffSnapshots, type AppDiff } from '../../fleet/diff.js';
import { requireApp, requireSnapshot, resolveRevision } from '../../fleet/lookup.js';
import { diffElementPieces, diffHeadLine, diffJsonFrame, diffJsonPieces, NO_DIFFERENCES, renderDiffAppLines, renderDiffLines } from '../../fleet/report.js';
import { stdoutStream, writeStdout, writeStdoutPieces } from '../output.js';
import type { FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';

export interface FleetDiffOptions extends FleetFormatOptions {
  snapshots?: boolean;
}

/**
 * A diff of two snapshots, written a page of applications at a time as diffSnapshots reads
 * them: the same bytes as renderDiffLines / diffJsonPieces of the whole (a diff of two snapshots
 * of a large fleet is more than one string, or the memory of one process, may hold).
 */
async function writeSnapshotDiff(pages: AsyncIterable<AppDiff[]>, from: string, to: string, opts: FleetDiffOptions): Promise<void> {
  let apps = 0;
  if (opts.format === 'json') {
    const frame = diffJsonFrame(from, to);
    for await (const page of pages) {
      writeStdoutPieces(
        (function* () {
          for (const d of page) {
            yield apps++ === 0 ? frame.head : ',\n';
            yield* diffElementPieces(d);
          }
        })(),
      );
    }
    writeStdoutPieces(apps === 0 ? diffJsonPieces(from, to, []) : [`\n${frame.tail}`]);
    return;
  }
  const style = styleFor(stdoutStream());
  writeStdout(`${diffHeadLine(from, to)}\n`);
  for await (const page of pages) {
    apps += page.length;
    writeStdoutPieces(renderDiffAppLines(page, style).map((line) => `${line}\n`));
  }
  if (apps === 0) writeStdout(`${NO_DIFFERENCES}\n`);
}

export async function fleetDiff(args: string[], opts: FleetDiffOptions): Promise<number> {
  const expected = opts.snapshots ? 2 : 3;
  if (args.length !== expected) {
    throw new StowageError(opts.snapshots ? 'fleet diff --snapshots takes two snapshot names: S1 S2' : 'fleet diff takes APP REV1 REV2 (or --snapshots S1 S2)');
  }
  return withFleetStore(opts, async (store) => {
    if (opts.snapshots) {
      const [a, b] = args as [string, string];
      const from = await requireSnapshot(store, a);
      const to = await requireSnapshot(store, b);
      await writeSnapshotDiff(diffSnapshots(store, from, to), from.name, to.name, opts);
      return 0;
    }
    const [name, rev1, rev2] = args as [string, string, string];
    const app = await requireApp(store, name);
    const from = await resolveRevision(store, app, rev1);
    const to = await resolveRevision(store, app, rev2);
    const diffs = [await diffRevisions(store, app.name, from, to)];
    writeStdoutPieces(opts.format === 'json' ? diffJsonPieces(from.digest, to.digest, diffs) : renderDiffLines(from.digest, to.digest, diffs, styleFor(stdoutStream())).map((line) => `${line}\n`));
    return 0;
  });
}
