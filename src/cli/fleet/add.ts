import { evaluationTime } from '../../core/clock.js';
import { readFileSync } from 'node:fs';
import { cacheDir } from '../../core/cache-dir.js';
import { fetchPolicyOf } from '../audit-options.js';
import { EXIT_FAILURE, EXIT_FINDINGS, EXIT_OK, StowageError, systemErrorReason } from '../../core/errors.js';
import { terminalText as t } from '../../core/terminal-text.js';
import { styleFor } from '../../audit/report/human.js';
import { addApplications, appInputs, currentUser, type AddOutcome } from '../../fleet/add.js';
import { closeDatabases, openFleetDatabases } from '../../fleet/evaluate.js';
import { requireSettings } from '../../fleet/lookup.js';
import { renderAdd } from '../../fleet/report.js';
import { deliverDueEvents } from '../../fleet/webhooks.js';
import { stdoutStream, warn, writeStderr, writeStdout, writeStdoutPieces } from '../output.js';
import type { FleetDatabaseOptions, FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';
import { shortList } from '../../core/short-list.js';

export interface FleetAddOptions extends FleetDatabaseOptions, FleetFormatOptions {
  name?: string;
  fromFile?: string;
}

/** One path a line; blank lines and `#` comments skipped; `-` is standard input. */
function readPathList(list: string): string[] {
  let text: string;
  try {
    text = readFileSync(list === '-' ? 0 : list, 'utf8');
  } catch (err) {
    throw new StowageError(`cannot read the list of paths: ${systemErrorReason(err)}`, list);
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

const LISTED_FAILURES = 20;

/** Applications named before a warning that several got alike. */
const LISTED_APPLICATIONS = 5;

/**
 * Warnings every application got (a stale database) once; the others naming their application.
 * A warning several applications got word for word (an advisory's odd package name, say) is
 * said once, naming them: adding thousands of applications would otherwise repeat it thousands
 * of times and bury the warnings that are each application's own.
 */
function warnApplications(outcomes: readonly AddOutcome[]): void {
  const common = outcomes.length > 1 ? new Set(outcomes[0]?.warnings.filter((w) => outcomes.every((o) => o.warnings.includes(w)))) : new Set<string>();
  for (const w of common) warn(w);
  if (outcomes.length <= 1) {
    for (const o of outcomes) for (const w of o.warnings) if (!common.has(w)) warn(w);
    return;
  }
  // In the order first met, each with the applications that got it.
  const byText = new Map<string, string[]>();
  for (const o of outcomes) {
    for (const w of new Set(o.warnings)) {
      if (common.has(w)) continue;
      const names = byText.get(w);
      if (names === undefined) byText.set(w, [o.name]);
      else names.push(o.name);
    }
  }
  for (const [w, names] of byText) warn(`${shortList(names, LISTED_APPLICATIONS)}: ${w}`);
}

export async function fleetAdd(paths: string[], opts: FleetAddOptions): Promise<number> {
  const all = [...paths, ...(opts.fromFile !== undefined ? readPathList(opts.fromFile) : [])];
  if (all.length === 0) throw new StowageError('nothing to add: give PATH... or --from-file LIST');
  const inputs = appInputs(all, opts.name);
  return withFleetStore(opts, async (store) => {
    const settings = await requireSettings(store);
    const databases = await openFleetDatabases(settings, { cacheRoot: opts.cacheDir ?? cacheDir(), fetch: fetchPolicyOf(opts.fetch) });
    let result;
    try {
      result = await addApplications(store, inputs, { settings, databases, now: new Date(), judgeAt: evaluationTime(), by: currentUser(), jsonOutput: opts.format === 'json' });
    } finally {
      closeDatabases(databases);
    }
    const { outcomes, failures, json } = result;
    try {
      if (opts.format === 'json') writeStdoutPieces(json.outputPieces(failures));
      else writeStdout(renderAdd(outcomes, failures, styleFor(stdoutStream())));
    } finally {
      json.close();
    }
    warnApplications(outcomes);
    // After the commit: a webhook that is down only delays the event (the outbox keeps it).
    for (const failure of (await deliverDueEvents(store)).failures) warn(failure);
    for (const f of failures) writeStderr(`stowage: ${t(f.message)}\n`);
    if (failures.length > 0) {
      writeStderr(`stowage: ${failures.length} of ${inputs.length} applications not added: ${t(shortList(failures.map((f) => f.name), LISTED_FAILURES))}\n`);
      return EXIT_FAILURE;
    }
    return outcomes.some((o) => o.failing > 0) ? EXIT_FINDINGS : EXIT_OK;
  });
}
