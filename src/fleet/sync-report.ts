import { randomUUID } from 'node:crypto';
import type { Advisory } from '../core/advisory.js';
import type { Finding } from '../core/finding.js';
import { jsonArrayElementOfText, jsonArrayFrame, jsonForTerminal, terminalText as t } from '../core/terminal-text.js';
import { advisoryJson, packageJson } from '../audit/report/json.js';
import { paint, plural, type HumanStyle } from '../audit/report/human.js';
import type { AdvisoryChange } from './advisory-changes.js';
import { advisoryTexts, notAuditedCount } from './report.js';
import type { JsonPieces } from '../core/shared-json.js';
import type { FindingChange, NotAuditedApp, SyncOutcome } from './sync.js';
import { notAuditedSentences } from '../audit/audit.js';

/** `fleet sync`'s output: JSON (schema/fleet-sync.v1.json, also the webhook event's body) and text. */

const SYNC_SCHEMA_VERSION = 1;

/** A change as its JSON holds it: the finding's fields (findingJson's) that a change reports. */
function changeJson(c: Pick<FindingChange, 'app' | 'change'>, f: Finding, advisory: unknown = advisoryJson(f.advisory)): Record<string, unknown> {
  return { app: c.app, change: c.change, target: f.target, advisory, package: packageJson(f.package), paths: f.paths, failsPolicy: f.failsPolicy };
}

/**
 * A change's JSON made where its finding was matched (a sync worker, sync-match.ts), with the
 * string `mark` in its advisory's place: its element of the event bodies as it is, of the output
 * once parsed (the pretty text, kept as well, made the main thread's memory at 10,000
 * applications 950 MB where it was 790), each advisory's text spliced in when written (advisoryTexts).
 */
export interface PreparedChange {
  mark: string;
  advisory: Advisory;
  compact: string;
}

/** PreparedChange's compact text for a new finding of `app`. */
export function changeText(app: string, f: Finding, mark: string): string {
  return JSON.stringify(changeJson({ app, change: 'new' }, f, mark));
}

/**
 * A placeholder no other value can hold (it names nothing from the input; a quote inside a
 * string is escaped), where an event body takes its changes' text. Each change's advisory is
 * spliced in by advisoryTexts (src/core/shared-json.ts), made once per advisory.
 */
const MARK = JSON.stringify(`stowage-sync-${randomUUID()}`);
const MARK_VALUE = JSON.parse(MARK) as string;

/** The text of `json` before and after the (first) MARK. */
function around(json: string): [before: string, after: string] {
  const at = json.indexOf(MARK);
  return [json.slice(0, at), json.slice(at + MARK.length)];
}

/**
 * UTF-8 text appended piece by piece into one buffer, grown as needed: an event's body is
 * encoded once, its advisories copied. The buffer is kept for the next body (a sync's parts are
 * about 20 MB each): a fresh one per part is memory outside V8's heap that V8 answers with full
 * collections.
 */
class Utf8Builder {
  private bytes = Buffer.allocUnsafeSlow(1 << 20);
  private used = 0;

  /**
   * Empties it for the next text (what done() gave is overwritten), with room for `bytes` at
   * least: a body sized up front is written without growing. Grown by doubling, the first part
   * of a sync (about 20 MB) was copied buffer to buffer five times, into memory never touched
   * before (its page faults were most of the copies' cost).
   */
  reset(bytes = 0): void {
    this.used = 0;
    if (bytes > this.bytes.length) this.bytes = Buffer.allocUnsafeSlow(bytes);
  }

  text(text: string): void {
    // UTF-8 takes at most three bytes per UTF-16 code unit.
    this.room(text.length * 3);
    this.used += this.bytes.write(text, this.used, 'utf8');
  }

  utf8(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.bytes.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** What was appended. */
  done(): Buffer {
    return this.bytes.subarray(0, this.used);
  }

  private room(more: number): void {
    if (this.used + more <= this.bytes.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.used + more, this.bytes.length * 2));
    this.bytes.copy(grown, 0, 0, this.used);
    this.bytes = grown;
  }
}

function countOf(changes: readonly AdvisoryChange[], kind: AdvisoryChange['change']): number {
  return changes.filter((c) => c.change === kind).length;
}

export function syncJsonBody(outcome: SyncOutcome): Record<string, unknown> {
  return { ...syncBodyOf(outcome), changes: outcome.changes.map((c) => changeJson(c, c.finding)) };
}

function syncSummary(outcome: SyncOutcome): Record<string, unknown> {
  // Counted in one pass (a sync of 10,000 applications has 134,738 changes; a filter per kind made an array of each).
  const counts: Record<FindingChange['change'], number> = { new: 0, resolved: 0, reopened: 0 };
  for (const c of outcome.changes) counts[c.change]++;
  return {
    new: counts.new,
    resolved: counts.resolved,
    reopened: counts.reopened,
    advisories: {
      added: countOf(outcome.advisories, 'added'),
      changed: countOf(outcome.advisories, 'changed'),
      withdrawn: countOf(outcome.advisories, 'withdrawn'),
      removed: countOf(outcome.advisories, 'removed'),
    },
    reevaluated: outcome.reevaluated,
    fullyEvaluated: outcome.fullyEvaluated,
    failing: outcome.failing,
  };
}

/** The sync's JSON, in the schema's key order, with its changes as they are: each is made JSON where it is written. */
function syncBodyOf(outcome: SyncOutcome): Record<string, unknown> {
  return {
    schemaVersion: SYNC_SCHEMA_VERSION,
    databases: outcome.databases,
    changes: outcome.changes,
    summary: syncSummary(outcome),
    notAudited: outcome.notAudited.map(notAuditedJson),
  };
}

/** An application not audited, as the sync's JSON (and the fleet's app JSON) gives it: the audit's sentences, and their packages. */
export function notAuditedJson(a: NotAuditedApp): Record<string, unknown> {
  return { app: a.app, revision: a.revision, seq: a.seq, reasons: notAuditedSentences(a.packages), packages: a.packages };
}

const eventBodies = new Utf8Builder();

/**
 * The sync's event bodies, as the UTF-8 of their text: its JSON in parts of up to `size`
 * changes, each part with the databases and the whole sync's summary (JSON.stringify of each
 * part of eventParts(syncJsonBody(outcome), 'changes', size)). Each body is valid until the next
 * is asked for (they are made in the same memory): record it, or copy it, before.
 */
export function* syncEventBodies(outcome: SyncOutcome, size: number): Generator<Buffer> {
  const [head, tail] = around(JSON.stringify({ ...syncBodyOf(outcome), changes: MARK_VALUE }));
  const changes = outcome.changes;
  const body = eventBodies;
  for (let start = 0; start === 0 || start < changes.length; start += size) {
    const end = Math.min(start + size, changes.length);
    const parts: JsonPieces[] = [];
    // What the part takes at most (a string's UTF-8 three bytes per UTF-16 unit at most, as text() reserves).
    let most = (head.length + tail.length + 2) * 3;
    for (let i = start; i < end; i++) {
      const c = changes[i] as FindingChange;
      const pieces = c.prepared !== undefined ? advisoryTexts.spliced(c.prepared.compact, c.prepared.mark, c.prepared.advisory, 'compact') : compactChange(c);
      for (const piece of pieces) most += typeof piece === 'string' ? piece.length * 3 : piece.length;
      most += 3;
      parts.push(pieces);
    }
    body.reset(most);
    body.text(`${head}[`);
    parts.forEach((pieces, n) => {
      if (n > 0) body.text(',');
      for (const piece of pieces) {
        if (typeof piece === 'string') body.text(piece);
        else body.utf8(piece);
      }
    });
    body.text(`]${tail}`);
    yield body.done();
  }
}

function compactChange(c: FindingChange): JsonPieces {
  const f = c.finding;
  return advisoryTexts.compact((share) => changeJson(c, f, share(f.advisory)));
}

function prettyChange(c: FindingChange): JsonPieces {
  const f = c.finding;
  return advisoryTexts.prettyElement((share) => changeJson(c, f, share(f.advisory)));
}

/**
 * `fleet sync --format json` in pieces, each change made JSON as it is written (a sync of
 * thousands of applications is too long for one string): the CLI writes them with
 * writeStdoutPieces, a megabyte at a time. The text of jsonForTerminalPieces(syncJsonBody(outcome), 'changes').
 */
export function* syncJsonPieces(outcome: SyncOutcome): Generator<string | Uint8Array> {
  const body = syncBodyOf(outcome);
  const changes = outcome.changes;
  if (changes.length === 0) {
    yield jsonForTerminal(JSON.stringify(body, null, 2) + '\n');
    return;
  }
  const frame = jsonArrayFrame(body, 'changes');
  yield frame.head;
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i] as FindingChange;
    yield* c.prepared !== undefined ? advisoryTexts.spliced(jsonArrayElementOfText(c.prepared.compact), c.prepared.mark, c.prepared.advisory, 'pretty') : prettyChange(c);
    yield i < changes.length - 1 ? ',\n' : '\n';
  }
  yield frame.tail;
}

/** One line per database move, one per changed finding, then the summary. */
export function renderSync(outcome: SyncOutcome, style: HumanStyle): string {
  const out: string[] = [];
  for (const db of outcome.databases) {
    const from = db.previousRevision === null ? 'no earlier evaluation' : db.previousRevision.slice(0, 12);
    out.push(`${t(db.source)}: ${from} -> ${db.revision.slice(0, 12)}`);
  }
  const a = outcome.advisories;
  out.push(`advisories: ${countOf(a, 'added')} added, ${countOf(a, 'changed')} changed, ${countOf(a, 'withdrawn')} withdrawn, ${countOf(a, 'removed')} removed`);
  for (const c of outcome.changes) {
    const f = c.finding;
    const label = c.change === 'resolved' ? paint(style, 'green', 'resolved') : paint(style, f.failsPolicy ? 'red' : 'yellow', c.change);
    out.push(`${label}: ${t(c.app)}: ${t(f.advisory.id)} ${t(f.package.name)} ${t(f.package.version)} (${f.advisory.kind}) ${t(f.advisory.title)}`);
  }
  const count = (kind: FindingChange['change']): number => outcome.changes.filter((c) => c.change === kind).length;
  out.push(
    `summary: ${count('new')} new, ${count('resolved')} resolved, ${count('reopened')} reopened; ` +
      `${plural(outcome.reevaluated, 'revision')} re-matched, ${outcome.fullyEvaluated} evaluated in full`,
  );
  for (const a of outcome.notAudited) {
    for (const reason of notAuditedSentences(a.packages)) out.push(`${paint(style, 'red', 'NOT audited')}: ${t(a.app)} ${a.revision.slice(0, 19)} (revision ${a.seq}): ${t(reason)}`);
  }
  if (outcome.notAudited.length > 0) {
    const failing = outcome.failing > 0 ? `; ${plural(outcome.failing, 'finding')} in the fleet ${outcome.failing === 1 ? 'fails' : 'fail'} the policy` : '';
    out.push(paint(style, 'red', `result: NOT AUDITED, ${notAuditedCount(outcome.notAudited.length)}${failing}`));
    return out.join('\n') + '\n';
  }
  out.push(
    outcome.failing > 0
      ? paint(style, 'red', `result: FAIL, ${plural(outcome.failing, 'finding')} in the fleet ${outcome.failing === 1 ? 'fails' : 'fail'} the policy`)
      : paint(style, 'green', 'result: ok, nothing in the fleet fails the policy'),
  );
  return out.join('\n') + '\n';
}
