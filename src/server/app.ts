import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { StowageError } from '../core/errors.js';
import { NotInFleetError } from '../fleet/lookup.js';
import type { FleetStore } from '../fleet/store/store.js';
import { apiRoutes } from './api.js';
import { dashboardRoutes } from './dashboard/routes.js';
import type { TokenIdentity } from './auth.js';
import type { FleetDatabases } from './fleet-databases.js';
import type { EventFeed } from './event-feed.js';
import type { WorkUnderWay } from './under-way.js';

/**
 * The fleet server as one Hono app: the JSON API under /api/v1 (api.ts), and whatever mounts
 * itself beside it (the dashboard: `app.route('/', dashboard)`).
 *
 * Why hono: small and dependency-free, built on the web-standard Request/Response (handlers are
 * plain functions, testable without a socket), with what a server facing untrusted input needs
 * built in and maintained upstream rather than written here: a body limit that counts streamed
 * bytes, secure headers with a Content-Security-Policy, CSRF protection for cookie-signed forms,
 * server-sent events; @hono/node-server puts it on Node's http server.
 */

export interface BodyLimits {
  /** An upload (POST /apps/{name}/revisions): lockfiles and manifests, an SBOM or a vendor archive. */
  uploadBytes: number;
  /** Any other request body (triage, sync). */
  jsonBytes: number;
}

export const DEFAULT_LIMITS: BodyLimits = { uploadBytes: 64 * 1024 * 1024, jsonBytes: 64 * 1024 };

export interface ServerDeps {
  store: FleetStore;
  /** Reads without a token (`serve --public-read`); writes always need one. */
  publicRead: boolean;
  /** `serve --trust-proxy`: X-Forwarded-Proto (set by a TLS-terminating proxy) says the request's scheme; otherwise it is ignored. */
  trustProxy?: boolean;
  /** The fleet's advisory databases, kept open for uploads and reopened after a sync. */
  databases: FleetDatabases;
  /** Events recorded in the store, pushed to GET /api/v1/events subscribers. */
  events: EventFeed;
  limits: BodyLimits;
  /** The clock (tests may fix it). */
  now: () => Date;
  /** Work under way that shutdown waits for (`fleet serve`); untracked when absent. */
  underWay?: WorkUnderWay;
}

/** What handlers find in the context: the request's token (null: none given, on a public read). */
export type ServerEnv = { Variables: { token: TokenIdentity | null } };

/**
 * The Content-Security-Policy of every response: nothing from other origins, no script at all
 * (the dashboard has none), no framing, forms posting only here; styles only as files of this server.
 */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'none'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

/** The one shape of every error answer: `{ "error": "the one line the command line would print" }`. */
export function errorResponse(c: Context, status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 500 | 503, message: string, headers?: Record<string, string>): Response {
  // Refused before its body was read (no token, over the limit): the connection is not reused,
  // so the unread rest of the body is never taken for the next request.
  const unread = status !== 400 && status !== 404 && (c.req.header('content-length') ?? '0') !== '0';
  const chunked = c.req.header('transfer-encoding') !== undefined;
  return c.json({ error: message }, status, unread || chunked ? { ...headers, connection: 'close' } : headers);
}

/**
 * CSRF protection for what a browser may send on its own, with its cookies: the pages (the
 * dashboard signs in with a cookie). The API takes no cookie, only a Bearer token, which a
 * browser never sends unasked: a cross-site post to it has no credentials and is refused 401.
 */
const csrfOutsideApi = (): MiddlewareHandler => {
  const check = csrf();
  return async (c, next) => (c.req.path.startsWith(`${API_PREFIX}/`) ? next() : check(c, next));
};

export const API_PREFIX = '/api/v1';

export function createServerApp(deps: ServerDeps): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: CONTENT_SECURITY_POLICY,
      crossOriginResourcePolicy: 'same-origin',
      referrerPolicy: 'no-referrer',
      xFrameOptions: 'DENY',
      strictTransportSecurity: false,
    }),
  );
  app.use('*', async (c, next) => {
    await next();
    // An answer about the fleet is as fresh as the store: never served from a cache.
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
  });
  app.use('*', csrfOutsideApi());
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      return err.status === 403 ? errorResponse(c, 403, 'cross-site request refused') : errorResponse(c, err.status === 413 ? 413 : 400, err.message || 'bad request');
    }
    if (err instanceof NotInFleetError) return errorResponse(c, 404, err.line);
    if (err instanceof StowageError) return errorResponse(c, 400, err.line);
    process.stderr.write(`stowage: fleet server: ${c.req.method} ${c.req.path}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return errorResponse(c, 500, 'internal error (the server logged it)');
  });
  app.route(API_PREFIX, apiRoutes(deps));
  app.route('/', dashboardRoutes({ store: deps.store, publicRead: deps.publicRead, trustProxy: deps.trustProxy === true, now: deps.now }));
  app.notFound((c) => errorResponse(c, 404, `no such address: ${c.req.path}`));
  return app;
}
