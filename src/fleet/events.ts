import type { FleetSettings, FleetStore } from './store/store.js';

/**
 * The fleet's events: one per command that changed findings (sync, add, triage) or the
 * revision an application's findings are read from (promote, rollback), with the same
 * JSON body as the command's own `--format json` output. They are recorded in the same
 * transaction as the change itself (the outbox), so an event exists exactly when its change was
 * committed, and queued for each webhook to be posted after the commit (webhooks.ts).
 */

export type FleetEventType = 'sync' | 'add' | 'triage' | 'promote' | 'rollback' | 'campaign';

export async function recordEvent(tx: FleetStore, settings: FleetSettings | null, type: FleetEventType, body: unknown, at: string): Promise<number> {
  const targets = settings?.webhook ? [settings.webhook.url] : [];
  return tx.addEvent({ type, body: JSON.stringify(body), at }, targets);
}
