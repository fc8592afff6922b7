import { evaluationTime } from '../../core/clock.js';
import { EXIT_OK, StowageError } from '../../core/errors.js';
import { terminalText as t } from '../../core/terminal-text.js';
import { loadVersionScheme } from '../../ecosystems/formats.js';
import { currentUser } from '../../fleet/add.js';
import { recordDecision } from '../../fleet/triage.js';
import { deliverDueEvents } from '../../fleet/webhooks.js';
import { warn, writeStdout } from '../output.js';
import type { FleetOptions } from './index.js';
import { withFleetStore } from './with-store.js';

export interface FleetTriageOptions extends FleetOptions {
  all?: boolean;
  state?: string;
  reason?: string;
  justification?: string;
  expires?: string;
  package?: string;
  by?: string;
}

export async function fleetTriage(args: string[], opts: FleetTriageOptions): Promise<number> {
  const expected = opts.all ? 1 : 2;
  if (args.length !== expected) {
    throw new StowageError(opts.all ? 'with --all, give the advisory ID only' : 'give the application and the advisory ID (or --all ID for the whole fleet)');
  }
  const [app, id] = opts.all ? [null, args[0] as string] : [args[0] as string, args[1] as string];
  return withFleetStore(opts, async (store) => {
    const outcome = await recordDecision(
      store,
      { app, id, state: opts.state, reason: opts.reason, justification: opts.justification, expires: opts.expires, package: opts.package, by: opts.by ?? currentUser(), now: new Date(), judgeAt: evaluationTime() },
      loadVersionScheme,
    );
    const d = outcome.decision;
    const scope = app === null ? 'the whole fleet' : t(app);
    const governed = outcome.apps.reduce((n, a) => n + a.triage.length, 0);
    writeStdout(
      `recorded: ${d.state}${d.justification ? ` (${d.justification})` : ''} for ${t(id)}${d.packageName ? ` in ${t(d.packageName)}${d.packageRange ? ` ${t(d.packageRange)}` : ''}` : ''} ` +
        `on ${scope}${d.expires ? ` until ${d.expires}` : ''}, by ${t(d.by)}; it governs ${governed} current finding${governed === 1 ? '' : 's'}\n`,
    );
    for (const failure of (await deliverDueEvents(store)).failures) warn(failure);
    return EXIT_OK;
  });
}
