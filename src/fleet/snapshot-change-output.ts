import type { HumanStyle } from '../audit/report/human.js';
import type { CurrentChange, SnapshotChange, SnapshotChangeReport } from './promote.js';
import { fleetTail, notInSnapshotLines, renderAppListing, snapshotAppElementPieces, snapshotAppLine, snapshotChangeHeadLine, snapshotChangeJsonFrame } from './report.js';
import { Spool } from './spool.js';

/**
 * The output of `fleet promote|rollback --snapshot NAME` (either form), made an application at
 * a time as the change reports them (SnapshotChangeReport) and written once the change is
 * committed: each application's JSON element, or its lines of the listing, waits in a
 * temporary file (Spool), so the command's memory does not grow with the findings of the
 * fleet, and the output is never one string. Only each application's line of what changed
 * (text) is kept in memory. close() removes the file.
 */
export class SnapshotChangeOutput implements SnapshotChangeReport {
  /** JSON: each application's element, after `,\n` but the first. Text: each application's lines of the listing, each ending with `\n`. */
  private readonly spool: Spool;
  /** Text: each application's line of what changed, in order. */
  private lines: string[] = [];
  private apps = 0;
  private changed = 0;
  private failingFindings = 0;

  /** `style` for the text form; null for JSON. */
  constructor(
    action: CurrentChange['action'],
    private readonly dryRun: boolean,
    private readonly style: HumanStyle | null,
  ) {
    this.spool = new Spool(action === 'promoted' ? 'promote' : 'rollback');
  }

  restart(): void {
    this.spool.clear();
    this.lines = [];
    this.apps = this.changed = this.failingFindings = 0;
  }

  add(change: CurrentChange): void {
    if (change.changed) this.changed++;
    this.failingFindings += change.findings.filter((f) => f.failsPolicy).length;
    if (this.style === null) {
      const element = snapshotAppElementPieces(change, this.dryRun);
      this.spool.append(this.apps === 0 ? element : [',\n', ...element]);
    } else {
      this.lines.push(`${snapshotAppLine(change, this.dryRun)}\n`);
      // The application as status now lists it (a dry run lists nothing).
      if (!this.dryRun) this.spool.append(renderAppListing([{ name: change.app, revision: change.revision, findings: change.findings }], this.style).map((line) => `${line}\n`));
    }
    this.apps++;
  }

  /** Whether a finding of the snapshot's applications fails the policy (now that they are current). */
  get failing(): boolean {
    return this.failingFindings > 0;
  }

  /** The output, in pieces for writeStdoutPieces: the JSON (schema/fleet-snapshot-change.v1.json), or the text. */
  *pieces(change: SnapshotChange): Generator<string | Uint8Array> {
    if (this.style === null) {
      const frame = snapshotChangeJsonFrame(change, this.apps);
      yield frame.head;
      if (this.apps === 0) return;
      yield* this.spool.pieces();
      yield `\n${frame.tail}`;
      return;
    }
    yield `${snapshotChangeHeadLine(change, this.apps, this.changed, this.style)}\n`;
    yield* this.lines;
    yield* notInSnapshotLines(change).map((line) => `${line}\n`);
    if (this.dryRun) return;
    yield* this.spool.pieces();
    yield fleetTail(this.apps, this.failingFindings, this.style).join('\n') + '\n';
  }

  close(): void {
    this.spool.close();
  }
}
