import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { FleetStore } from '../fleet/store/store.js';
import type { TokenIdentity } from './auth.js';
import type { EventFeed } from './event-feed.js';
import type { FleetDatabases } from './fleet-databases.js';
import type { BodyBudget } from './request-body.js';
import type { UploadBudget } from './upload-budget.js';
import type { WorkUnderWay } from './under-way.js';

/**
 * What every part of the fleet server shares (app.ts puts them together, api.ts and the
 * dashboard answer with them): its dependencies, the request context's variables, its limits and
 * the one shape of an error answer.
 */

export interface BodyLimits {
  /** An upload (POST /apps/{name}/revisions): lockfiles and manifests, an SBOM or a vendor archive. */
  uploadBytes: number;
  /** Any other request body (triage, sync). */
  jsonBytes: number;
  /**
   * What the server reads of a body it will not take: the sign-in form (its bytes are the
   * dashboard's own cap), read before the sender is known, and the rest of a request refused
   * 401 (no or an unknown token) or 403 (a read-only token writing), read so that an uploading
   * client gets the refusal rather than a closed connection. Past either, the connection is
   * closed.
   */
  anonymous: BodyBudget;
  /**
   * Bytes of events one `GET /events` stream may have waiting to be written (its client reads
   * slower than the fleet changes, or not at all). Past it the stream is cut: every event is in
   * the store, and the client resumes from the last it got (Last-Event-ID).
   */
  eventBacklogBytes: number;
}

export const DEFAULT_LIMITS: BodyLimits = {
  uploadBytes: 64 * 1024 * 1024,
  jsonBytes: 64 * 1024,
  // A push of real lockfiles under a wrong token still reads its 401; as long for the body as node gives for the headers.
  anonymous: { maxBytes: 1024 * 1024, withinMs: 10_000 },
  eventBacklogBytes: 8 * 1024 * 1024,
};

export interface ServerDeps {
  store: FleetStore;
  /** Reads without a token (`serve --public-read`); writes always need one. */
  publicRead: boolean;
  /**
   * The address the server listens on (`--listen`'s host). On a loopback one a request is answered
   * only when its Host names this machine (see app.ts): a page whose name is pointed at 127.0.0.1
   * (DNS rebinding) would otherwise read the server as its own origin. Absent: any Host.
   */
  listenHost?: string;
  /** `serve --trust-proxy`: X-Forwarded-Proto (set by a TLS-terminating proxy) says the request's scheme; otherwise it is ignored. */
  trustProxy?: boolean;
  /** The fleet's advisory databases, kept open for uploads and reopened after a sync. */
  databases: FleetDatabases;
  /** Events recorded in the store, pushed to GET /api/v1/events subscribers. */
  events: EventFeed;
  limits: BodyLimits;
  /** The bytes of upload bodies held at once, across requests (upload-budget.ts); at least `limits.uploadBytes`. */
  uploads: UploadBudget;
  /** The clock (tests may fix it). */
  now: () => Date;
  /** Work under way that shutdown waits for (`fleet serve`); untracked when absent. */
  underWay?: WorkUnderWay;
}

/**
 * What handlers find in the context: the request's token (null: none given, on a public read),
 * and, on node's server, its request (a request made without a socket, as tests make, has none);
 * `upload`: an upload's body, read within the upload budget (api.ts); `textAsSent`: the answer's
 * JSON text is already as the server sends it (a kept answer, api.ts).
 */
export type ServerEnv = { Bindings: Partial<HttpBindings> | undefined; Variables: { token: TokenIdentity | null; textAsSent?: true; upload?: Uint8Array } };

/** The one shape of every error answer: `{ "error": "the one line the command line would print" }`. */
export function errorResponse(c: Context, status: 400 | 401 | 403 | 404 | 405 | 408 | 409 | 413 | 415 | 500 | 503, message: string, headers?: Record<string, string>): Response {
  // Refused before its body was read (no token, over the limit): the connection is not reused,
  // so the unread rest of the body is never taken for the next request.
  const unread = status !== 400 && status !== 404 && (c.req.header('content-length') ?? '0') !== '0';
  const chunked = c.req.header('transfer-encoding') !== undefined;
  return c.json({ error: message }, status, unread || chunked ? { ...headers, connection: 'close' } : headers);
}
