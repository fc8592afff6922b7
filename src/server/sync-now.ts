import { syncFleet } from '../fleet/sync.js';
import { syncJsonBody } from '../fleet/sync-report.js';
import { deliverDueEvents } from '../fleet/webhooks.js';
import type { ServerDeps } from './context.js';

/**
 * `fleet sync` inside the server: on demand (POST /api/v1/sync) and on a schedule
 * (`serve --sync-every`), with the same code and the same JSON as the command line.
 */
export async function syncNow(deps: ServerDeps, by: string): Promise<Record<string, unknown>> {
  const outcome = await syncFleet(deps.store, { ...deps.databases.options, now: deps.now(), by });
  deps.databases.reopen();
  afterChange(deps);
  return syncJsonBody(outcome);
}

/** After a change: subscribers hear of its event now, webhooks get it after the response (the outbox keeps it if they fail). */
export function afterChange(deps: ServerDeps): void {
  deps.events.nudge();
  deliverWebhooks(deps);
}

/**
 * Posts the webhook's due events in the background (work under way: shutdown waits for it);
 * failures go to standard error, the events stay in the outbox. Runs at once never post an event
 * twice (each claims it first).
 */
export function deliverWebhooks(deps: ServerDeps): void {
  const delivery = deliverDueEvents(deps.store);
  deps.underWay?.track(delivery);
  void delivery.then(
    (report) => {
      for (const failure of report.failures) process.stderr.write(`stowage: fleet server: ${failure}\n`);
    },
    () => undefined,
  );
}
