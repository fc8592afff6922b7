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
  return recordEventText(tx, settings, type, JSON.stringify(body), at);
}

/** recordEvent of a body given as its JSON text (JSON.stringify of the body), or that text's UTF-8. */
export async function recordEventText(tx: FleetStore, settings: FleetSettings | null, type: FleetEventType, body: string | Uint8Array, at: string): Promise<number> {
  const targets = settings?.webhook ? [settings.webhook.url] : [];
  return tx.addEvent({ type, body, at }, targets);
}

/**
 * A command's event body split so that no event is too large to hold as one string (a first add
 * of 10,000 applications is about half a billion characters of JSON): parts of the same shape,
 * each with up to `size` elements of the list `key`, the other fields in each part, except those
 * named in `firstOnly`, which are whole in the first part and empty lists in the others. One part
 * when the list is short. Each element is given as `element(item)`, made only when its part is
 * asked for: a list kept in another form never has all its JSON at once.
 */
export function* eventParts(
  body: Readonly<Record<string, unknown>>,
  key: string,
  size: number,
  firstOnly: readonly string[] = [],
  element: (item: unknown) => unknown = (item) => item,
): Generator<Record<string, unknown>> {
  const items = body[key];
  if (!Array.isArray(items)) {
    yield { ...body };
    return;
  }
  for (let start = 0; start === 0 || start < items.length; start += size) {
    const part: Record<string, unknown> = { ...body, [key]: items.slice(start, start + size).map(element) };
    if (start > 0) for (const only of firstOnly) part[only] = [];
    yield part;
  }
}

/**
 * The most applications one add event carries (an application's findings are up to about 100 KB
 * of JSON), and the most changes one sync event carries (a change is a few KB).
 */
export const EVENT_APPS_LIMIT = 1_000;
export const EVENT_CHANGES_LIMIT = 10_000;
