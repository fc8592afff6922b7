import type { Advisory } from '../core/advisory.js';
import { compareFindingsInTarget, type Finding } from '../core/finding.js';
import { compareText } from '../core/compare-text.js';
import { SharedJson, type JsonPieces } from '../core/shared-json.js';
import { shellOperand } from '../core/shell-word.js';
import { jsonArrayFrame, jsonForTerminal, terminalText as t } from '../core/terminal-text.js';
import { advisoryJson, findingJson, findingJsonWith } from '../audit/report/json.js';
import { notAuditedSentences, type NotAuditedPackage } from '../audit/audit.js';
import { paint, plural, renderFinding, type HumanStyle } from '../audit/report/human.js';
import type { AddFailure, AddOutcome } from './add.js';
import type { AppDiff } from './diff.js';
import type { CurrentChange, SnapshotChange } from './promote.js';
import type { TriageNote } from './triage.js';
import type { AppSummary } from './summary.js';
import { FINDING_LEVELS, type DatabaseState, type HistoryEntry, type RevisionRecord, type SnapshotRecord } from './store/store.js';

/** What a one-line listing of a finding shows (a Finding, or a FindingLine read without the finding's row). */
export interface ListedFinding {
  target: string;
  advisory: Pick<Advisory, 'id' | 'kind'>;
  package: { name: string; version: string };
  /** The applied ignore (Finding), or whether there is one (FindingLine). */
  ignored: object | boolean | null;
  failsPolicy: boolean;
}

/** A finding's one-word state in fleet listings: error (fails the policy), ignored, or warning. */
export function findingLabel(f: ListedFinding, style: HumanStyle): string {
  return f.failsPolicy ? paint(style, 'red', 'error') : f.ignored ? paint(style, 'dim', 'ignored') : paint(style, 'yellow', 'warning');
}

/**
 * The fleet's outputs: JSON (schemaVersion 1, schema/fleet-*.v1.json) and human text, rendered
 * from data the commands computed. Findings are the audit report's finding shape.
 */

export const FLEET_SCHEMA_VERSION = 1;

/** An application with its revision and findings: one entry of status, show and affected. */
export interface AppFindings {
  name: string;
  revision: RevisionRecord;
  findings: Finding[];
  /** The triage decisions governing the findings (fleet-eval's triage.ts), when applied. */
  triage?: TriageNote[];
  /** What the audit says of the revision's lockfiles (revision-warnings.ts): given by `fleet show` and the API's application. */
  warnings?: string[];
}

const json = (value: unknown): string => jsonForTerminal(JSON.stringify(value, null, 2) + '\n');

const revisionJson = (r: RevisionRecord): Record<string, unknown> => ({
  id: r.digest,
  seq: r.seq,
  createdAt: r.createdAt,
  origin: r.origin,
  documents: r.documents,
  evaluatedAgainst: r.evaluatedAgainst,
  // Not audited when last evaluated, as status and show say of a current one.
  ...notAuditedElement(r),
});

/** Findings in the audit's order (it sorts them), then by target for applications of several lockfiles. */
export function sortedFindings<F extends ListedFinding>(findings: readonly F[]): F[] {
  return [...findings].sort((a, b) => compareText(a.target, b.target) || compareFindingsInTarget(a, b));
}

/** `fleet status`/`show --format json` as a value (the server answers with it). */
export function appsBody(apps: readonly AppFindings[]): { schemaVersion: number; apps: Record<string, unknown>[] } {
  return { schemaVersion: FLEET_SCHEMA_VERSION, apps: apps.map((a) => appElement(a)) };
}

/**
 * Each advisory's JSON (advisoryJson), made, escaped and encoded once per advisory object and
 * spliced into every finding that cites it: the findings of a fleet share a few hundred
 * advisories (the store reads one object per advisory record), and an advisory's text is half or
 * more of a finding's.
 */
export const advisoryTexts = new SharedJson<Advisory>(advisoryJson);

/** One application of appsBody's `apps`; with `share`, each finding's advisory is share's placeholder for it. */
export function appElement(a: AppFindings, share?: (advisory: Advisory) => string): Record<string, unknown> {
  return {
    name: a.name,
    revision: a.revision.digest,
    seq: a.revision.seq,
    findings: sortedFindings(a.findings).map((f) => (share === undefined ? findingJson(f) : findingJsonWith(f, share(f.advisory)))),
    ...(a.triage !== undefined ? { triage: a.triage } : {}),
    ...notAuditedElement(a.revision),
    ...(a.warnings !== undefined ? { warnings: a.warnings } : {}),
  };
}

/**
 * A revision not audited (RevisionRecord's notAudited), as an application's JSON says it: the
 * audit's sentences and their packages; nothing for a revision whose every package was checked.
 */
export function notAuditedElement(revision: Pick<RevisionRecord, 'notAudited'>): { notAudited?: { reasons: string[]; packages: NotAuditedPackage[] } } {
  return revision.notAudited.length === 0 ? {} : { notAudited: { reasons: notAuditedSentences(revision.notAudited), packages: revision.notAudited } };
}

/** jsonArrayElement(appElement(a)), its advisories' bytes spliced in (advisoryTexts). */
export function appElementPieces(a: AppFindings): JsonPieces {
  return advisoryTexts.prettyElement((share) => appElement(a, share));
}

export function appsJson(apps: readonly AppFindings[]): string {
  return json(appsBody(apps));
}

/** appsJson(apps) in pieces, each application's advisories spliced in as bytes: for writeStdoutPieces. */
export function* appsJsonPieces(apps: readonly AppFindings[]): Generator<string | Uint8Array> {
  if (apps.length === 0) {
    yield appsJson(apps);
    return;
  }
  const frame = jsonArrayFrame(appsBody([]), 'apps');
  yield frame.head;
  for (let i = 0; i < apps.length; i++) {
    yield* appElementPieces(apps[i] as AppFindings);
    yield i < apps.length - 1 ? ',\n' : '\n';
  }
  yield frame.tail;
}

/** `name  sha256:0123456789ab (revision 3)  2 findings, 1 failing`, then each finding. */
export function renderApps(apps: readonly AppFindings[], style: HumanStyle, { details }: { details: boolean }): string {
  const failing = apps.reduce((n, a) => n + a.findings.filter((f) => f.failsPolicy).length, 0);
  const notAudited = apps.filter((a) => a.revision.notAudited.length > 0).length;
  return [...renderAppLines(apps, style, { details }), ...fleetTail(apps.length, failing, style, notAudited)].join('\n') + '\n';
}

/** renderApps' lines of these applications, without the last lines (fleetTail): for a listing written page by page. */
export function renderAppLines(apps: readonly AppFindings[], style: HumanStyle, { details }: { details: boolean }): string[] {
  if (!details) return renderAppListing(apps, style);
  const out: string[] = [];
  for (const a of apps) {
    out.push(appHeadLine(a, style), ...notAuditedLines(a.revision, style));
    for (const f of sortedFindings(a.findings)) out.push('', ...renderFinding(f, style).map((l) => `  ${l}`));
    out.push('');
  }
  return out;
}

/** renderAppLines without details: a line per application, then one per finding (what a ListedFinding holds). */
export function renderAppListing(apps: readonly { name: string; revision: Pick<RevisionRecord, 'digest' | 'seq' | 'notAudited'>; findings: readonly ListedFinding[] }[], style: HumanStyle): string[] {
  const out: string[] = [];
  for (const a of apps) {
    out.push(appHeadLine(a, style), ...notAuditedLines(a.revision, style));
    for (const f of sortedFindings(a.findings)) out.push(`  ${findingLabel(f, style)}: ${t(f.advisory.id)} ${t(f.package.name)} ${t(f.package.version)} (${f.advisory.kind})`);
  }
  return out;
}

/** `name  sha256:0123456789ab (revision 3)  2 findings, 1 failing`. */
function appHeadLine(a: { name: string; revision: Pick<RevisionRecord, 'digest' | 'seq' | 'notAudited'>; findings: readonly ListedFinding[] }, style: HumanStyle): string {
  const fails = a.findings.filter((f) => f.failsPolicy).length;
  const counted = `${plural(a.findings.length, 'finding')}${fails > 0 ? paint(style, 'red', `, ${fails} failing`) : ''}`;
  const state =
    a.revision.notAudited.length > 0
      ? `${paint(style, 'red', 'NOT audited')}${a.findings.length === 0 ? '' : `, ${counted}`}`
      : a.findings.length === 0
        ? paint(style, 'green', 'no advisories apply')
        : counted;
  return `${paint(style, 'cyan', t(a.name))}  ${a.revision.digest.slice(0, 19)} (revision ${a.revision.seq})  ${state}`;
}

/** `2 applications are not audited (...)`: the result of a sync, or of `fleet status`, that could not check them. */
export function notAuditedCount(apps: number): string {
  return `${plural(apps, 'application')} ${apps === 1 ? 'is' : 'are'} not audited (an advisory names a package of ${apps === 1 ? 'it' : 'theirs'} that cannot be compared)`;
}

/** `  NOT audited: SENTENCE` for each lockfile of the revision that has packages it could not compare. */
function notAuditedLines(revision: Pick<RevisionRecord, 'notAudited'>, style: HumanStyle, label = 'NOT audited'): string[] {
  return notAuditedSentences(revision.notAudited).map((sentence) => `  ${paint(style, 'red', label)}: ${t(sentence)}`);
}

/** The last lines of `fleet status` (either form): an empty fleet said so, then the result. */
export function fleetTail(apps: number, failing: number, style: HumanStyle, notAudited = 0): string[] {
  const fails = `${plural(failing, 'finding')} ${failing === 1 ? 'fails' : 'fail'} the policy`;
  return [
    ...(apps === 0 ? ['no applications in the fleet yet (stowage fleet add PATH)'] : []),
    notAudited > 0
      ? paint(style, 'red', `result: NOT AUDITED, ${notAuditedCount(notAudited)}${failing > 0 ? `; ${fails}` : ''}`)
      : failing > 0
      ? paint(style, 'red', `result: FAIL, ${plural(failing, 'finding')} ${failing === 1 ? 'fails' : 'fail'} the policy`)
      : paint(style, 'green', `result: ok, ${plural(apps, 'application')}, nothing fails the policy`),
  ];
}

/** `fleet status --summary --format json` as a value (schema/fleet-apps-summary.v1.json); the API's list of applications by default. */
export function summaryBody(apps: readonly AppSummary[]): { schemaVersion: number; apps: Record<string, unknown>[] } {
  return {
    schemaVersion: FLEET_SCHEMA_VERSION,
    apps: apps.map((a) => ({
      name: a.name,
      revision: a.revision,
      seq: a.seq,
      revisedAt: a.revisedAt,
      open: { ...a.open },
      failing: a.failing,
      failsPolicy: a.failing > 0,
      ...(a.notAudited ? { notAudited: true } : {}),
    })),
  };
}

export function summaryJson(apps: readonly AppSummary[]): string {
  return json(summaryBody(apps));
}

/** `name  sha256:0123456789ab (revision 3)  open: 1 critical, 2 high, 1 failing`, one line per application. */
export function renderSummaries(apps: readonly AppSummary[], style: HumanStyle): string {
  const out: string[] = [];
  let failing = 0;
  for (const a of apps) {
    failing += a.failing;
    const counts = FINDING_LEVELS.filter((l) => a.open[l] > 0).map((l) => `${a.open[l]} ${l}`);
    const state = a.notAudited
      ? paint(style, 'red', `NOT audited${counts.length === 0 ? '' : `; open: ${counts.join(', ')}`}${a.failing > 0 ? `, ${a.failing} failing` : ''} (fleet show ${t(a.name)} says why)`)
      : counts.length === 0
        ? paint(style, 'green', 'nothing open')
        : `open: ${counts.join(', ')}${a.failing > 0 ? paint(style, 'red', `, ${a.failing} failing`) : ''}`;
    out.push(`${paint(style, 'cyan', t(a.name))}  ${a.revision.slice(0, 19)} (revision ${a.seq})  ${state}`);
  }
  out.push(...fleetTail(apps.length, failing, style, apps.filter((a) => a.notAudited).length));
  return out.join('\n') + '\n';
}

/** An application added, with its findings (the server's answer to an upload). */
export type AddedFindings = Pick<AddOutcome, 'name' | 'path' | 'change' | 'revision'> & { findings: readonly Finding[] };

/**
 * `fleet add --format json` as a value (schema/fleet-add.v1.json), also the `add` event's body
 * (which `fleet add` writes from its AddJson, add-findings.ts: the same JSON).
 */
export function addBody(outcomes: readonly AddedFindings[], failures: readonly AddFailure[]): Record<string, unknown> {
  return {
    schemaVersion: FLEET_SCHEMA_VERSION,
    apps: outcomes.map((o) => ({ name: o.name, path: o.path, change: o.change, revision: o.revision.digest, seq: o.revision.seq, findings: sortedFindings(o.findings).map(findingJson) })),
    failed: failures.map((f) => ({ name: f.name, path: f.path, error: f.message })),
  };
}

export function renderAdd(outcomes: readonly AddOutcome[], failures: readonly AddFailure[], style: HumanStyle): string {
  const out: string[] = [];
  for (const o of outcomes) {
    const fails = o.failing;
    const findings = o.change === 'unchanged' ? '' : `, ${plural(o.findingCount, 'finding')}${fails > 0 ? paint(style, 'red', `, ${fails} failing`) : ''}`;
    out.push(`${o.change}: ${t(o.name)} ${o.revision.digest.slice(0, 19)} (revision ${o.revision.seq})${findings}`);
  }
  const counts = (['added', 'changed', 'unchanged'] as const).map((c) => `${outcomes.filter((o) => o.change === c).length} ${c}`);
  out.push(`summary: ${counts.join(', ')}${failures.length > 0 ? paint(style, 'red', `, ${failures.length} not added`) : ''}`);
  return out.join('\n') + '\n';
}

/** `fleet history --format json` as a value. */
export function historyBody(app: string, entries: readonly HistoryEntry[]): { schemaVersion: number; app: string; history: Record<string, unknown>[] } {
  return {
    schemaVersion: FLEET_SCHEMA_VERSION,
    app,
    history: entries.map((e) => ({
      at: e.at,
      action: e.action,
      revision: revisionJson(e.revision),
      previousRevision: e.previousRevision?.digest ?? null,
      by: e.by,
    })),
  };
}

export function historyJson(app: string, entries: readonly HistoryEntry[]): string {
  return json(historyBody(app, entries));
}

export function renderHistory(app: string, entries: readonly HistoryEntry[], style: HumanStyle): string {
  const out = [paint(style, 'cyan', t(app))];
  for (const e of entries) {
    const docs = e.revision.documents.map((d) => t(d.name)).join(', ');
    const from = e.previousRevision === null ? '' : `, was revision ${e.previousRevision.seq}`;
    out.push(`  ${t(e.at)}  ${e.action}  ${e.revision.digest.slice(0, 19)} (revision ${e.revision.seq}, ${e.revision.origin}${from}) by ${t(e.by)}: ${docs}`);
    out.push(...notAuditedLines(e.revision, style).map((line) => `  ${line}`));
  }
  return out.join('\n') + '\n';
}

const databaseJson = (d: DatabaseState): Record<string, unknown> => ({ source: d.source, kind: d.kind, revision: d.revision, revisionDate: d.revisionDate });

export function snapshotJson(snapshot: SnapshotRecord, revisions: ReadonlyMap<number, RevisionRecord>): string {
  return json({
    schemaVersion: FLEET_SCHEMA_VERSION,
    snapshot: {
      name: snapshot.name,
      createdAt: snapshot.createdAt,
      databases: snapshot.databases.map(databaseJson),
      apps: snapshot.apps.map((a) => ({ name: a.appName, revision: revisions.get(a.revisionId)?.digest ?? null })),
    },
  });
}

export function renderSnapshot(snapshot: SnapshotRecord, revisions: ReadonlyMap<number, RevisionRecord>, style: HumanStyle): string {
  const out = [`snapshot ${paint(style, 'bold', t(snapshot.name))} recorded at ${t(snapshot.createdAt)}: ${plural(snapshot.apps.length, 'application')}`];
  for (const a of snapshot.apps) out.push(`  ${t(a.appName)}  ${revisions.get(a.revisionId)?.digest.slice(0, 19) ?? '?'}`);
  for (const d of snapshot.databases) out.push(`  database: ${t(d.source)} @ ${d.revision === null ? 'not evaluated yet' : t(d.revision.slice(0, 12))}`);
  return out.join('\n') + '\n';
}

/** `fleet diff --format json` as a value. */
export function diffBody(from: string, to: string, diffs: readonly AppDiff[]): Record<string, unknown> {
  return { schemaVersion: FLEET_SCHEMA_VERSION, from, to, apps: diffs.map((d) => diffElement(d)) };
}

/** One application of diffBody's `apps`; with `share`, each finding's advisory is share's placeholder for it. */
function diffElement(d: AppDiff, share?: (advisory: Advisory) => string): Record<string, unknown> {
  const findings = (list: readonly Finding[]): Record<string, unknown>[] =>
    sortedFindings(list).map((f) => (share === undefined ? findingJson(f) : findingJsonWith(f, share(f.advisory))));
  return {
    name: d.name,
    from: d.from?.digest ?? null,
    to: d.to?.digest ?? null,
    packages: d.packages,
    findings: { new: findings(d.findings.new), resolved: findings(d.findings.resolved) },
    ...diffNotAudited(d),
  };
}

/**
 * Either side not audited (RevisionRecord's notAudited), as status and show say it: a finding
 * "resolved" towards a revision not audited, or none "new" in it, says nothing of the packages
 * it could not compare. Nothing when both sides were audited in full.
 */
function diffNotAudited(d: AppDiff): { notAudited?: { from: NotAuditedJson | null; to: NotAuditedJson | null } } {
  const side = (r: RevisionRecord | null): NotAuditedJson | null => (r === null ? null : (notAuditedElement(r).notAudited ?? null));
  const from = side(d.from);
  const to = side(d.to);
  return from === null && to === null ? {} : { notAudited: { from, to } };
}

type NotAuditedJson = { reasons: string[]; packages: NotAuditedPackage[] };

export function diffJson(from: string, to: string, diffs: readonly AppDiff[]): string {
  return json(diffBody(from, to, diffs));
}

/**
 * diffJson in pieces, an application at a time, its advisories spliced in as bytes: a diff of
 * two snapshots of a large fleet is more JSON than one string may hold.
 */
export function* diffJsonPieces(from: string, to: string, diffs: readonly AppDiff[]): Generator<string | Uint8Array> {
  if (diffs.length === 0) {
    yield diffJson(from, to, diffs);
    return;
  }
  const frame = diffJsonFrame(from, to);
  yield frame.head;
  for (let i = 0; i < diffs.length; i++) {
    yield* diffElementPieces(diffs[i] as AppDiff);
    yield i < diffs.length - 1 ? ',\n' : '\n';
  }
  yield frame.tail;
}

/** diffJson's text before its first application and after its last (diffJson(from, to, []) when there is none). */
export function diffJsonFrame(from: string, to: string): { head: string; tail: string } {
  return jsonArrayFrame(diffBody(from, to, []), 'apps');
}

/** One application of diffJson's `apps`, its advisories spliced in as bytes (for a diff written a page at a time). */
export function diffElementPieces(d: AppDiff): JsonPieces {
  return advisoryTexts.prettyElement((share) => diffElement(d, share));
}

export function renderDiff(from: string, to: string, diffs: readonly AppDiff[], style: HumanStyle): string {
  return renderDiffLines(from, to, diffs, style).join('\n') + '\n';
}

/** renderDiff's lines (a diff of two snapshots of a large fleet is more text than one string may hold). */
export function renderDiffLines(from: string, to: string, diffs: readonly AppDiff[], style: HumanStyle): string[] {
  const out = [diffHeadLine(from, to), ...renderDiffAppLines(diffs, style)];
  if (diffs.length === 0) out.push(NO_DIFFERENCES);
  return out;
}

/** renderDiffLines' first line. */
export function diffHeadLine(from: string, to: string): string {
  return `diff ${t(from)} → ${t(to)}`;
}

/** renderDiffLines' last line when no application differs. */
export const NO_DIFFERENCES = 'no differences';

/** renderDiffLines' lines of these applications (for a diff written a page at a time). */
export function renderDiffAppLines(diffs: readonly AppDiff[], style: HumanStyle): string[] {
  const out: string[] = [];
  for (const d of diffs) {
    out.push(`${paint(style, 'cyan', t(d.name))}  ${d.from?.digest.slice(0, 19) ?? '(absent)'} → ${d.to?.digest.slice(0, 19) ?? '(absent)'}`);
    for (const p of d.packages.added) out.push(`  + ${t(p.name)} ${t(p.version)}`);
    for (const p of d.packages.removed) out.push(`  - ${t(p.name)} ${t(p.version)}`);
    for (const c of d.packages.changed) out.push(`  ~ ${t(c.name)} ${t(c.from.join(', ') || '(none)')} → ${t(c.to.join(', ') || '(none)')}`);
    for (const f of sortedFindings(d.findings.new)) out.push(`  ${paint(style, 'red', 'new')}: ${t(f.advisory.id)} ${t(f.package.name)} ${t(f.package.version)} (${f.advisory.kind})`);
    for (const f of sortedFindings(d.findings.resolved)) out.push(`  ${paint(style, 'green', 'resolved')}: ${t(f.advisory.id)} ${t(f.package.name)} ${t(f.package.version)} (${f.advisory.kind})`);
    for (const [side, r] of [['from', d.from], ['to', d.to]] as const) {
      if (r !== null) out.push(...notAuditedLines(r, style, `NOT audited (${side})`));
    }
    const counts = `${d.packages.added.length} added, ${d.packages.removed.length} removed, ${d.packages.changed.length} changed; findings: ${d.findings.new.length} new, ${d.findings.resolved.length} resolved`;
    out.push(`  packages: ${counts}`);
  }
  return out;
}

/** `fleet promote|rollback --format json` (schema/fleet-promote.v1.json), also the event's body. */
export function currentChangeJsonBody(change: CurrentChange, share?: (advisory: Advisory) => string): Record<string, unknown> {
  return {
    schemaVersion: FLEET_SCHEMA_VERSION,
    app: change.app,
    action: change.action,
    changed: change.changed,
    revision: change.revision.digest,
    seq: change.revision.seq,
    origin: change.revision.origin,
    previousRevision: change.previous.digest,
    previousSeq: change.previous.seq,
    reevaluated: change.reevaluated,
    findings: sortedFindings(change.findings).map((f) => (share === undefined ? findingJson(f) : findingJsonWith(f, share(f.advisory)))),
    triage: change.triage,
  };
}

export function currentChangeJson(change: CurrentChange): string {
  return json(currentChangeJsonBody(change));
}

/**
 * What a promotion of a campaign's candidate leaves out, when the revision it replaced is not the
 * one the campaign rebuilt (added or pushed since): null when it is, or when nothing was promoted.
 */
export function candidateBuiltFromOthersWarning(change: CurrentChange): string | null {
  const from = change.builtFromOthers;
  if (from.length === 0) return null;
  const revisions = `revision${from.length > 1 ? 's' : ''} ${from.join(', ')}`;
  return (
    `candidate revision ${change.revision.seq} of ${JSON.stringify(change.app)} was built from ${revisions}, not from revision ${change.previous.seq}, ` +
    `current until now: what revision ${change.previous.seq} changes is not in it (\`stowage fleet rollback ${shellOperand(change.app)}\` makes revision ${change.previous.seq} current again)`
  );
}

/** `promoted: web sha256:… (revision 3, candidate), was revision 2`, then the findings as status lists them. */
export function renderCurrentChange(change: CurrentChange, style: HumanStyle): string {
  const r = change.revision;
  const what = `${t(change.app)} ${r.digest.slice(0, 19)} (revision ${r.seq}, ${r.origin})`;
  const head = change.changed
    ? `${change.action}: ${what}, was revision ${change.previous.seq}${change.reevaluated ? '; evaluated again with the databases as they are now' : ''}`
    : `unchanged: ${what} is already current; nothing recorded`;
  return `${head}\n${renderApps([{ name: change.app, revision: r, findings: change.findings }], style, { details: false })}`;
}

/**
 * `fleet promote|rollback --snapshot NAME --format json` (schema/fleet-snapshot-change.v1.json)
 * without its applications: the text before the first and after the last (each application's
 * element is snapshotAppElementPieces, `,\n` between them), or the whole when there is none.
 */
export function snapshotChangeJsonFrame(change: SnapshotChange, apps: number): { head: string; tail: string } {
  const body = { schemaVersion: FLEET_SCHEMA_VERSION, snapshot: change.snapshot.name, action: change.action, dryRun: change.dryRun, apps: [], notInSnapshot: change.notInSnapshot };
  return apps === 0 ? { head: json(body), tail: '' } : jsonArrayFrame(body, 'apps');
}

/** One application's element of that JSON's `apps` (its findings only when not a dry run), its advisories spliced in as bytes. */
export function snapshotAppElementPieces(a: CurrentChange, dryRun: boolean): JsonPieces {
  return advisoryTexts.prettyElement((share) => {
    const { schemaVersion: _, findings, triage, reevaluated, ...entry } = currentChangeJsonBody(a, share);
    return dryRun ? entry : { ...entry, reevaluated, findings, triage };
  });
}

/**
 * The first line of the text form of a change to a snapshot: what it does to how many
 * applications. Then each application's snapshotAppLine, notInSnapshotLines; then, when not a
 * dry run, the snapshot's applications as status now lists them (renderAppListing of each) and
 * fleetTail with the verdict (SnapshotChangeOutput writes them).
 */
export function snapshotChangeHeadLine(change: SnapshotChange, apps: number, changed: number, style: HumanStyle): string {
  const verb = change.action === 'promoted' ? 'promote' : 'roll back to';
  return (
    `${change.dryRun ? 'dry run: would ' : ''}${verb} snapshot ${paint(style, 'bold', t(change.snapshot.name))}` +
    ` (recorded ${t(change.snapshot.createdAt)}): ${plural(apps, 'application')}, ${changed} ${change.dryRun ? 'to change' : 'changed'}`
  );
}

/** An application's line of what changed, or would (dry run), under snapshotChangeHeadLine. */
export function snapshotAppLine(a: CurrentChange, dryRun: boolean): string {
  const to = `${a.revision.digest.slice(0, 19)} (revision ${a.revision.seq}, ${a.revision.origin})`;
  if (!a.changed) return `  unchanged: ${t(a.app)} ${to}`;
  const again = a.reevaluated ? '; evaluated again with the databases as they are now' : '';
  // The history's word for the action, `rolled-back`, is no English after "would be".
  return `  ${dryRun ? `would be ${a.action === 'rolled-back' ? 'rolled back' : a.action}` : a.action}: ${t(a.app)} ${to}, was revision ${a.previous.seq}${again}`;
}

/** The line naming the applications the snapshot does not hold (none when it holds them all), after each snapshotAppLine. */
export function notInSnapshotLines(change: SnapshotChange): string[] {
  return change.notInSnapshot.length > 0 ? [`  not in the snapshot, left as they are: ${change.notInSnapshot.map(t).join(', ')}`] : [];
}
