import { jsonForTerminalPieces, terminalText as t } from '../core/terminal-text.js';
import { findingJson } from '../audit/report/json.js';
import { paint, plural, type HumanStyle } from '../audit/report/human.js';
import type { AdvisoryChange } from './advisory-changes.js';
import { eventParts } from './events.js';
import type { FindingChange, SyncOutcome } from './sync.js';

/** `fleet sync`'s output: JSON (schema/fleet-sync.v1.json, also the webhook event's body) and text. */

const SYNC_SCHEMA_VERSION = 1;

function changeJson(c: FindingChange): Record<string, unknown> {
  const f = findingJson(c.finding);
  return { app: c.app, change: c.change, target: f.target, advisory: f.advisory, package: f.package, paths: f.paths, failsPolicy: f.failsPolicy };
}

function countOf(changes: readonly AdvisoryChange[], kind: AdvisoryChange['change']): number {
  return changes.filter((c) => c.change === kind).length;
}

export function syncJsonBody(outcome: SyncOutcome): Record<string, unknown> {
  return { ...syncBodyOf(outcome), changes: outcome.changes.map(changeJson) };
}

function syncSummary(outcome: SyncOutcome): Record<string, unknown> {
  const count = (kind: FindingChange['change']): number => outcome.changes.filter((c) => c.change === kind).length;
  return {
    new: count('new'),
    resolved: count('resolved'),
    reopened: count('reopened'),
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

/** The sync's JSON, in the schema's key order, with its changes as they are: each is made JSON (changeJson) where it is written. */
function syncBodyOf(outcome: SyncOutcome): Record<string, unknown> {
  return { schemaVersion: SYNC_SCHEMA_VERSION, databases: outcome.databases, changes: outcome.changes, summary: syncSummary(outcome) };
}

/** The sync's event bodies: its JSON in parts of up to `size` changes (eventParts). */
export function syncEventBodies(outcome: SyncOutcome, size: number): Iterable<Record<string, unknown>> {
  return eventParts(syncBodyOf(outcome), 'changes', size, [], (c) => changeJson(c as FindingChange));
}

/**
 * `fleet sync --format json` in pieces, each change made JSON as it is written (a sync of
 * thousands of applications is too long for one string): the CLI writes them with
 * writeStdoutPieces, a megabyte at a time.
 */
export function syncJsonPieces(outcome: SyncOutcome): Iterable<string> {
  return jsonForTerminalPieces(syncBodyOf(outcome), 'changes', (c) => changeJson(c as FindingChange));
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
    const label = c.change === 'resolved' ? paint(style, 'green', 'resolved') : paint(style, c.finding.failsPolicy ? 'red' : 'yellow', c.change);
    const f = c.finding;
    out.push(`${label}: ${t(c.app)}: ${t(f.advisory.id)} ${t(f.package.name)} ${t(f.package.version)} (${f.advisory.kind}) ${t(f.advisory.title)}`);
  }
  const count = (kind: FindingChange['change']): number => outcome.changes.filter((c) => c.change === kind).length;
  out.push(
    `summary: ${count('new')} new, ${count('resolved')} resolved, ${count('reopened')} reopened; ` +
      `${plural(outcome.reevaluated, 'revision')} re-matched, ${outcome.fullyEvaluated} evaluated in full`,
  );
  out.push(
    outcome.failing > 0
      ? paint(style, 'red', `result: FAIL, ${plural(outcome.failing, 'finding')} in the fleet ${outcome.failing === 1 ? 'fails' : 'fail'} the policy`)
      : paint(style, 'green', 'result: ok, nothing in the fleet fails the policy'),
  );
  return out.join('\n') + '\n';
}
