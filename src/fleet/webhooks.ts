import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { redactCredentials } from '../core/credentials.js';
import { errorMessage } from '../core/errors.js';
import { fleetDatabaseSources, jsonRename, shownDatabaseNames, type JsonRename } from './database-names.js';
import { EVENT_READ_BYTES } from './store/event-bodies.js';
import type { FleetSettings, FleetStore, OutboxDelivery } from './store/store.js';

/**
 * Posting the outbox's events to the fleet's webhook. Each event is one POST of its JSON body,
 * signed in `X-Stowage-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>` (as
 * GitHub signs its webhooks, so receivers already know how to check it), with
 * `X-Stowage-Event` (sync | add | triage | promote | rollback) and `X-Stowage-Delivery` (the event's id, the same on
 * every retry, so a receiver can drop a repeat). That signature covers the body alone, so a post
 * captured once (a receiver's log, a proxy, plain http) verifies again whenever it is sent, under
 * any delivery id: `X-Stowage-Timestamp` (the attempt's time, Unix seconds) and
 * `X-Stowage-Signature-V2` (the HMAC of `ID.TIMESTAMP.BODY`) let a receiver refuse a stale or
 * repeated post. A failed post (refused, timed out, not 2xx) is retried with exponential backoff
 * by a later run; a delivered one is marked and never posted again.
 *
 * Posted only to the webhook the fleet has now: an event queued for a URL since changed or
 * removed is not posted there. `fleet init --webhook` moves what was not yet delivered to the new
 * URL (due at once), or drops it when the webhook is removed (`--webhook ''`). The body names the fleet's databases as
 * the server's answers do (database-names.ts), never by a path of this machine. A URL's
 * user-info is sent as HTTP Basic credentials (fetch refuses a URL that carries them) and shown
 * redacted in every message.
 */

export const SIGNATURE_HEADER = 'X-Stowage-Signature';
export const SIGNATURE_V2_HEADER = 'X-Stowage-Signature-V2';
export const TIMESTAMP_HEADER = 'X-Stowage-Timestamp';
export const EVENT_HEADER = 'X-Stowage-Event';
export const DELIVERY_HEADER = 'X-Stowage-Delivery';

/** `sha256=` and the hex HMAC-SHA256 of the body's bytes. */
export function webhookSignature(secret: Buffer, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** `sha256=` and the hex HMAC-SHA256 of `DELIVERY.TIMESTAMP.BODY`: the post, its delivery id and when it was sent. */
export function webhookSignatureV2(secret: Buffer, delivery: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${delivery}.${timestamp}.`, 'utf8').update(body, 'utf8').digest('hex')}`;
}

/** The URL fetch is given (no user-info) and the Basic credentials its user-info held, if any. */
function postTarget(target: string): { url: string; authorization: string | null } {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return { url: target, authorization: null };
  }
  if (url.username === '' && url.password === '') return { url: target, authorization: null };
  const decoded = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  const credentials = `${decoded(url.username)}:${decoded(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.toString(), authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}` };
}

const FIRST_RETRY_MS = 30_000;
const LONGEST_WAIT_MS = 6 * 60 * 60 * 1000;

/**
 * How long a delivered event's outbox row is kept (its attempts, when it was delivered: for
 * `deliveries()` diagnostics); older ones are deleted as later deliveries are recorded, so the
 * outbox holds what is queued and a week of what was sent, not every event ever posted. The
 * events themselves are kept (GET /events resumes from them).
 */
export const DELIVERED_KEPT_MS = 7 * 24 * 60 * 60 * 1000;

/** 30 s after the first failure, doubling, at most six hours apart. */
export function retryDelayMs(failedAttempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, failedAttempts - 1), LONGEST_WAIT_MS);
}

export interface DeliveryOptions {
  /** The clock: tests move it past a backoff. */
  now?: () => Date;
  /** Per-post timeout. */
  timeoutMs?: number;
  /** At most this many posts per run, so a command never hangs on a backlog. */
  limit?: number;
  fetchImpl?: typeof fetch;
}

export interface DeliveryReport {
  delivered: number;
  /** One line per failed post: the target, the event, why; the event stays queued. */
  failures: string[];
}

function readSecret(settings: FleetSettings | null): Buffer | null {
  const file = settings?.webhook?.secretFile;
  return file ? readFileSync(file) : null;
}

/**
 * Posts every due event, oldest first. Each one is claimed (its next attempt moved past the
 * post's timeout) before it is posted, so two runs at once never post the same event; the
 * outcome is recorded after. A secret file that cannot be read fails the posts (nothing is
 * sent unsigned when a secret is configured).
 */
export async function deliverDueEvents(store: FleetStore, options: DeliveryOptions = {}): Promise<DeliveryReport> {
  const now = options.now ?? ((): Date => new Date());
  const timeoutMs = options.timeoutMs ?? 10_000;
  const post = options.fetchImpl ?? fetch;
  const report: DeliveryReport = { delivered: 0, failures: [] };
  const settings = await store.settings();
  const webhook = settings?.webhook ?? null;
  // No webhook: nothing is posted (fleet init dropped what was queued for a removed one).
  if (webhook === null) return report;
  const rename = jsonRename(shownDatabaseNames(fleetDatabaseSources(settings, await store.databases())));
  // A few at a time (EVENT_READ_BYTES of stored bodies): each one posted is leased, delivered or
  // put off, so it is not due again, and the next read starts after it.
  let remaining = options.limit ?? 100;
  while (remaining > 0) {
    const due = await store.dueDeliveries(webhook.url, now().toISOString(), remaining, EVENT_READ_BYTES);
    if (due.length === 0) break;
    remaining -= due.length;
    for (const delivery of due) {
      const lease = new Date(now().getTime() + 2 * timeoutMs).toISOString();
      if (!(await store.claimDelivery(delivery, lease))) continue;
      const failure = await attempt(delivery, settings, rename, post, timeoutMs, now());
      if (failure === null) {
        const at = now();
        await store.deliveryDone(delivery, at.toISOString(), new Date(at.getTime() - DELIVERED_KEPT_MS).toISOString());
        report.delivered++;
        continue;
      }
      const next = new Date(now().getTime() + retryDelayMs(delivery.attempts + 1)).toISOString();
      await store.deliveryFailed(delivery, next, failure);
      report.failures.push(`webhook ${redactCredentials(delivery.target)}: event ${delivery.eventId} (${delivery.type}) not delivered: ${failure}; retried from ${next}`);
      // The webhook is down (or refuses): the other due events would each wait out the same
      // timeout, a command's exit held up to `limit` times as long. They stay due for a later run.
      return report;
    }
  }
  return report;
}

/** null when the target took the event (2xx), else why not (its credentials redacted). */
async function attempt(delivery: OutboxDelivery, settings: FleetSettings | null, rename: JsonRename, post: typeof fetch, timeoutMs: number, at: Date): Promise<string | null> {
  let secret: Buffer | null;
  try {
    secret = readSecret(settings);
  } catch (err) {
    return `cannot read the webhook secret file: ${errorMessage(err)}`;
  }
  const body = rename(delivery.body);
  const delivered = String(delivery.eventId);
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const target = postTarget(delivery.target);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'stowage-fleet',
    [EVENT_HEADER]: delivery.type,
    [DELIVERY_HEADER]: delivered,
    [TIMESTAMP_HEADER]: timestamp,
  };
  if (target.authorization !== null) headers.authorization = target.authorization;
  if (secret !== null) {
    headers[SIGNATURE_HEADER] = webhookSignature(secret, body);
    headers[SIGNATURE_V2_HEADER] = webhookSignatureV2(secret, delivered, timestamp, body);
  }
  try {
    const response = await post(target.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await response.body?.cancel();
    return response.ok ? null : `HTTP ${response.status}`;
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    return redactCredentials(errorMessage(cause ?? err));
  }
}
