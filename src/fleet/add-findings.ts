import { findingJson } from '../audit/report/json.js';
import { findingKey, type Finding } from '../core/finding.js';
import { jsonArrayElement, jsonArrayFrame, jsonForTerminal } from '../core/terminal-text.js';
import { Spool } from './spool.js';
import { findingRow } from './store/finding-rows.js';
import { encodedFinding, type EncodedFinding, type RevisionRecord } from './store/store.js';
import { FLEET_SCHEMA_VERSION, sortedFindings } from './report.js';
import type { AddChange } from './add.js';

/**
 * An application's findings as `fleet add` needs them once evaluated, made where they were
 * evaluated (a worker thread, add-pool.ts): the rows the store inserts, the advisory records
 * those rows cite, the findings' JSON as the add's output and event hold it, and counts. The
 * main thread, which writes the store, then handles a few strings per application instead of
 * an object graph per finding (a finding's advisory is half its size), and keeps strings, not
 * findings, until the output and the event are written.
 */

export interface EncodedFindings {
  /** The store's rows (EncodedFinding), in the evaluation's order. */
  rows: EncodedFinding[];
  /** Advisory records by digest: those the rows cite that this thread has not handed over before (all of them without `sent`). */
  records: [digest: string, record: string][];
  count: number;
  failing: number;
  /** The findings as sameFindings compares them (lockfile, package, advisory, failing or not), whatever their order. */
  sameKey: string;
  /** JSON of the sorted findings as the add's `findings` list: compact (the event), and pretty (the output; null when not asked). */
  json: FindingsJson;
}

/** An application's findings (sorted, as findingJson) in the add's JSON forms. */
export interface FindingsJson {
  /** JSON.stringify of the list: its text in the add's event. */
  compact: Uint8Array;
  /** Its text in `fleet add --format json`, indented at its place and escaped for a terminal; null when no such output was asked for. */
  pretty: Uint8Array | null;
}

/** The key sameFindings compares: each finding's identity and whether it fails, sorted. */
export function findingsSameKey(findings: readonly Finding[]): string {
  return findings
    .map((f) => `${findingKey(f)}\0${f.failsPolicy}`)
    .sort()
    .join('\n');
}

/** Where an application's findings list sits in the add's pretty JSON: in an object in the list `apps` (six spaces). */
const FINDINGS_INDENT = '\n      ';

export function findingsJson(findings: readonly Finding[], pretty: boolean): FindingsJson {
  const list = sortedFindings(findings).map(findingJson);
  return {
    // As UTF-8, as the add's temporary file keeps them: encoded where the findings were evaluated.
    compact: Buffer.from(JSON.stringify(list), 'utf8'),
    // JSON.stringify never puts a line break inside a string: every one starts a line to indent.
    pretty: pretty ? Buffer.from(jsonForTerminal(JSON.stringify(list, null, 2).replaceAll('\n', FINDINGS_INDENT)), 'utf8') : null,
  };
}

/** Encodes an application's findings; `sent` holds the advisory digests this thread handed over already (updated). */
export function encodeFindings(findings: readonly Finding[], pretty: boolean, sent: Set<string> | null): EncodedFindings {
  const rows: EncodedFinding[] = [];
  const records: [string, string][] = [];
  const listed = new Set<string>();
  let failing = 0;
  for (const f of findings) {
    const row = findingRow(f);
    if (!listed.has(row.digest) && sent?.has(row.digest) !== true) {
      listed.add(row.digest);
      sent?.add(row.digest);
      records.push([row.digest, row.record]);
    }
    if (f.failsPolicy) failing++;
    rows.push(encodedFinding(f, row.text, row.digest));
  }
  return { rows, records, count: findings.length, failing, sameKey: findingsSameKey(findings), json: findingsJson(findings, pretty) };
}

/** What the add reports of one application besides its findings. */
export interface AddedApp {
  name: string;
  path: string;
  change: AddChange;
  revision: RevisionRecord;
}

/** A placeholder no name or path can hold as JSON (a quote inside a string is escaped), replaced by the findings' text. */
const MARK = JSON.stringify('stowage-findings-4f1d2c');
const FAILED_MARK = JSON.stringify('stowage-failed-4f1d2c');

function appValue(app: AddedApp): Record<string, unknown> {
  return { name: app.name, path: app.path, change: app.change, revision: app.revision.digest, seq: app.revision.seq, findings: JSON.parse(MARK) as string };
}

/** An application's element of the add's event (`apps`), as JSON.stringify writes it in the whole. */
export function compactAppElement(app: AddedApp, findings: FindingsJson): (string | Uint8Array)[] {
  const text = JSON.stringify(appValue(app));
  const at = text.lastIndexOf(MARK);
  return [text.slice(0, at), findings.compact, text.slice(at + MARK.length)];
}

/** An application's element of `fleet add --format json` (`apps`), indented at its place and escaped as jsonForTerminal does, without its separator. */
export function prettyAppElement(app: AddedApp, findings: FindingsJson): (string | Uint8Array)[] {
  if (findings.pretty === null) throw new Error('fleet add: an application rendered without its pretty findings');
  // jsonForTerminal changes characters one by one and leaves the (printable) mark as it is: the whole escaped is the parts escaped.
  const text = jsonArrayElement(appValue(app));
  const at = text.lastIndexOf(MARK);
  return [text.slice(0, at), findings.pretty, text.slice(at + MARK.length)];
}

/** An application that could not be added, as the add's `failed` lists it. */
export interface FailedApp {
  name: string;
  path: string;
  message: string;
}

const failedJson = (failures: readonly FailedApp[]): Record<string, unknown>[] => failures.map((f) => ({ name: f.name, path: f.path, error: f.message }));


const LINE_END = Buffer.from('\n', 'utf8');

/** What the output gathers in one piece from its temporary file (writeStdoutPieces writes a megabyte at a time). */
const OUTPUT_PIECE_BYTES = 1 << 20;

/**
 * The add's JSON (schema/fleet-add.v1.json) kept as each application's elements, in input order,
 * in a temporary file (close() removes it): the output (`fleet add --format json`) and the event
 * parts are written from them, the same bytes as addBody's JSON gives.
 */
export class AddJson {
  /** Each application's compact element followed by `,`. */
  private readonly compact = new Spool('add');
  /** Each application's pretty element followed by `,\n`. */
  private readonly pretty = new Spool('add');

  constructor(private readonly withPretty: boolean) {}

  add(app: AddedApp, findings: FindingsJson): void {
    this.compact.append([...compactAppElement(app, findings), ',']);
    if (this.withPretty) this.pretty.append([...prettyAppElement(app, findings), ',\n']);
  }

  /** Forgets the applications (an attempt of the transaction that is run again). */
  clear(): void {
    this.compact.clear();
    this.pretty.clear();
  }

  /** Removes the temporary files. */
  close(): void {
    this.compact.close();
    this.pretty.close();
  }

  /**
   * The event's bodies as UTF-8: eventParts of addBody, as recordEvent writes them (parts of
   * `size` applications, the failures in the first). Each is the bytes of the temporary file
   * with the few around them, never decoded to a text and encoded again (a first add of 10,000
   * applications is half a billion characters).
   */
  *eventBodies(failures: readonly FailedApp[], size: number): Generator<Buffer> {
    const skeleton = JSON.stringify({ schemaVersion: FLEET_SCHEMA_VERSION, apps: JSON.parse(MARK) as string, failed: JSON.parse(FAILED_MARK) as string });
    const at = skeleton.indexOf(MARK);
    const failedAt = skeleton.indexOf(FAILED_MARK);
    const head = Buffer.from(`${skeleton.slice(0, at)}[`, 'utf8');
    const middle = `]${skeleton.slice(at + MARK.length, failedAt)}`;
    const tail = skeleton.slice(failedAt + FAILED_MARK.length);
    const count = this.compact.length;
    for (let start = 0; start === 0 || start < count; start += size) {
      const after = Buffer.from(middle + (start === 0 ? JSON.stringify(failedJson(failures)) : '[]') + tail, 'utf8');
      // Without the last element's `,` (one byte).
      yield this.compact.readBytes(start, Math.min(start + size, count), 1, head, after);
    }
  }

  /** eventBodies as texts. */
  *eventTexts(failures: readonly FailedApp[], size: number): Generator<string> {
    for (const body of this.eventBodies(failures, size)) yield body.toString('utf8');
  }

  /**
   * `fleet add --format json` in pieces (jsonForTerminalPieces of addBody): the same bytes, a
   * megabyte or an element at a time; the elements as the UTF-8 of the temporary file, never
   * decoded to a text to be encoded again (a first add of 10,000 applications writes 700 MB).
   */
  *outputPieces(failures: readonly FailedApp[]): Generator<string | Uint8Array> {
    if (!this.withPretty) throw new Error('fleet add: JSON output asked of an add that did not render it');
    const value = { schemaVersion: FLEET_SCHEMA_VERSION, apps: [] as unknown[], failed: failedJson(failures) };
    const count = this.pretty.length;
    if (count === 0) {
      yield jsonForTerminal(JSON.stringify(value, null, 2) + '\n');
      return;
    }
    const frame = jsonArrayFrame(value, 'apps');
    yield frame.head;
    for (let start = 0; start < count; ) {
      const end = this.pretty.endWithin(start, OUTPUT_PIECE_BYTES);
      // The last element ends with `\n`, not `,\n`.
      yield end === count ? this.pretty.readBytes(start, end, 2, undefined, LINE_END) : this.pretty.readBytes(start, end);
      start = end;
    }
    yield frame.tail;
  }
}
