import { Hono, type MiddlewareHandler } from 'hono';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { isIP } from 'node:net';
import { StowageError } from '../core/errors.js';
import { isLoopbackHostname, LOOPBACK_HOSTNAMES } from '../core/http.js';
import { NotInFleetError } from '../fleet/lookup.js';
import { apiRoutes } from './api.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { errorResponse, type ServerDeps, type ServerEnv } from './context.js';

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

/** `--listen`'s host as a URL's hostname (`::1` is `[::1]`). */
const urlHostname = (host: string): string => (isIP(host) === 6 ? `[${host}]` : host);

/**
 * DNS rebinding: a web page at a name its owner then points at 127.0.0.1 reaches a server
 * listening there as its own origin, so the browser lets it read the answers (no CORS is
 * involved), and with `--public-read` that is the whole fleet's findings. A server listening on
 * a loopback address is reached by a loopback name, so a request naming any other Host is
 * refused before anything is read. A server listening on another address (behind a proxy, under
 * names this process cannot know) answers any Host.
 */
function loopbackHostOnly(listenHost: string | undefined): MiddlewareHandler | null {
  if (listenHost === undefined) return null;
  const listening = urlHostname(listenHost);
  if (!isLoopbackHostname(listening)) return null;
  const names = new Set([...LOOPBACK_HOSTNAMES, listening]);
  return async (c, next) => {
    const host = c.req.header('host');
    // No Host at all (HTTP/1.0) is no browser's request.
    if (host === undefined) return next();
    let hostname: string | null;
    try {
      hostname = new URL(`http://${host}`).hostname;
    } catch {
      hostname = null;
    }
    if (hostname !== null && names.has(hostname)) return next();
    return errorResponse(c, 403, `Host ${JSON.stringify(host)} refused: this server listens on ${listening}, which only this machine reaches, as ${[...names].join(', ')}`);
  };
}

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
  const hostCheck = loopbackHostOnly(deps.listenHost);
  if (hostCheck !== null) app.use('*', hostCheck);
  app.use('*', csrfOutsideApi());
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      return err.status === 403 ? errorResponse(c, 403, 'cross-site request refused') : errorResponse(c, err.status === 413 ? 413 : 400, err.message || 'bad request');
    }
    // Where to look instead, as an address of this API: the client speaks HTTP, not the command line.
    if (err instanceof NotInFleetError) return errorResponse(c, 404, err.see === null ? err.missing : `${err.missing} (see GET ${API_PREFIX}${err.see.apiPath})`);
    if (err instanceof StowageError) return errorResponse(c, 400, err.line);
    process.stderr.write(`stowage: fleet server: ${c.req.method} ${c.req.path}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return errorResponse(c, 500, 'internal error (the server logged it)');
  });
  app.route(API_PREFIX, apiRoutes(deps));
  app.route('/', dashboardRoutes({ store: deps.store, publicRead: deps.publicRead, trustProxy: deps.trustProxy === true, now: deps.now, signInWithinMs: deps.limits.anonymous.withinMs }));
  app.notFound((c) => errorResponse(c, 404, `no such address: ${c.req.path}`));
  return app;
}
