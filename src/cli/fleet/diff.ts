import { styleFor } from '../../audit/report/human.js';
import { EXIT_FAILURE, EXIT_OK, StowageError } from '../../core/errors.js';
import { shortList } from '../../core/short-list.js';
import { terminalText } from '../../core/terminal-text.js';
import { diffRevisions, diffSnapshots, type AppDiff } from '../../fleet/diff.js';
import { requireApp, requireSnapshot, resolveRevision } from '../../fleet/lookup.js';
import { diffElementPieces, diffHeadLine, diffJsonFrame, diffJsonPieces, NO_DIFFERENCES, renderDiffAppLines, renderDiffLines } from '../../fleet/report.js';
import { stdoutStream, writeStderr, writeStdout, writeStdoutPieces } from '../output.js';
import type { FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';

export interface FleetDiffOptions extends FleetFormatOptions {
  snapshots?: boolean;
}

/** `APP revision N`, for each side of these diffs that is not audited. */
function notAuditedSides(diffs: readonly AppDiff[]): string[] {
  const sides: string[] = [];
  for (const d of diffs) {
    for (const r of [d.from, d.to]) if (r !== null && r.notAudited.length > 0) sides.push(`${d.name} revision ${r.seq}`);
  }
  return [...new Set(sides)];
}

/**
 * Fail closed, as `fleet status` and `fleet show` do: a diff with a side not audited is written
 * (it says so of that side), then exits 2 whatever it shows, naming the revisions on standard
 * error: no finding "new" towards a revision that could not be compared is no verdict on it, and
 * a script reading the diff must not take it for one.
 */
function refuseNotAudited(sides: readonly string[]): number {
  if (sides.length === 0) return EXIT_OK;
  writeStderr(
    `stowage: ${terminalText(`${sides.length === 1 ? 'a revision of the diff is' : `${sides.length} revisions of the diff are`} not audited (an advisory names a package it locks that cannot be compared), so its findings are not all known: ${shortList(sides, 10)}`)}\n`,
  );
  return EXIT_FAILURE;
}

/**
 * A diff of two snapshots, written a page of applications at a time as diffSnapshots reads
 * them: the same bytes as renderDiffLines / diffJsonPieces of the whole (a diff of two snapshots
 * of a large fleet is more than one string, or the memory of one process, may hold). Returns
 * the sides not audited (notAuditedSides).
 */
async function writeSnapshotDiff(pages: AsyncIterable<AppDiff[]>, from: string, to: string, opts: FleetDiffOptions): Promise<string[]> {
  let apps = 0;
  const notAudited: string[] = [];
  if (opts.format === 'json') {
    const frame = diffJsonFrame(from, to);
    for await (const page of pages) {
      notAudited.push(...notAuditedSides(page));
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
    return notAudited;
  }
  const style = styleFor(stdoutStream());
  writeStdout(`${diffHeadLine(from, to)}\n`);
  for await (const page of pages) {
    notAudited.push(...notAuditedSides(page));
    apps += page.length;
    writeStdoutPieces(renderDiffAppLines(page, style).map((line) => `${line}\n`));
  }
  if (apps === 0) writeStdout(`${NO_DIFFERENCES}\n`);
  return notAudited;
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
      return refuseNotAudited(await writeSnapshotDiff(diffSnapshots(store, from, to), from.name, to.name, opts));
    }
    const [name, rev1, rev2] = args as [string, string, string];
    const app = await requireApp(store, name);
    const from = await resolveRevision(store, app, rev1);
    const to = await resolveRevision(store, app, rev2);
    const diffs = [await diffRevisions(store, app.name, from, to)];
    writeStdoutPieces(opts.format === 'json' ? diffJsonPieces(from.digest, to.digest, diffs) : renderDiffLines(from.digest, to.digest, diffs, styleFor(stdoutStream())).map((line) => `${line}\n`));
    return refuseNotAudited(notAuditedSides(diffs));
  });
}
