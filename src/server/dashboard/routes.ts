import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { StowageError } from '../../core/errors.js';
import { ECOSYSTEMS, type Ecosystem } from '../../core/package.js';
import { loadVersionScheme } from '../../ecosystems/formats.js';
import type { FleetStore } from '../../fleet/store/store.js';
import { recordDecision, TRIAGE_FORM_FIELDS } from '../../fleet/triage.js';
import { verifyToken } from '../auth.js';
import { advisoryPageData, packagePageData, renderAdvisoryPage, renderPackagePage } from './advisory-page.js';
import { appPageData, renderAppPage } from './app-page.js';
import { fleetPageData, parseFleetView, renderFleetPage } from './fleet-page.js';
import { documentText, type SafeHtml } from './html.js';
import { appPath, STYLESHEET_PATH, type Viewer } from './layout.js';
import { DEFAULT_LIMITS } from '../context.js';
import { readBodyWithin } from '../request-body.js';
import { BadRequest } from './request-errors.js';
import { csrfMatches, SESSION_COOKIE, SESSION_MAX_AGE_SECONDS, SessionStore, type Session } from './sessions.js';
import { renderErrorPage, renderSignInPage } from './sign-in-page.js';
import { STYLESHEET } from './stylesheet.js';

/**
 * The dashboard's routes: server-rendered pages over the fleet's store, at addresses a person
 * can paste (`/`, `/apps/{name}`, `/advisories/{id}`, `/packages/{ecosystem}/{name}`), sign in
 * and out, and the triage form. Mounted by the server app (src/server/app.ts), which gives every
 * response its Content-Security-Policy (no inline script or style: the pages have neither) and
 * refuses cross-site form posts (Origin / Sec-Fetch-Site); each form also carries its session's
 * own anti-forgery token, checked here.
 */

export interface DashboardOptions {
  store: FleetStore;
  /** Pages readable without signing in (`fleet serve --public-read`); changes still need a session. */
  publicRead: boolean;
  /** Take X-Forwarded-Proto as the scheme the browser used (behind a TLS-terminating proxy); never unless asked, since any client can send it. */
  trustProxy?: boolean;
  now: () => Date;
  /** How long a sign-in form (read before anyone is known) may take to arrive; by default the server's budget for anonymous bodies. */
  signInWithinMs?: number;
}

/** Forms are a few fields: anything larger is refused before it is read. */
const FORM_LIMIT_BYTES = 64 * 1024;
/** The sign-in form, read from anyone: a token and the path to return to. */
const SIGN_IN_LIMIT_BYTES = 4 * 1024;

/** Whether the browser reached this server over https: the request's own scheme, or a trusted proxy's X-Forwarded-Proto (its first, the client-facing hop). */
function overHttps(c: Context, trustProxy: boolean): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  if (!trustProxy) return false;
  return (c.req.header('x-forwarded-proto') ?? '').split(',')[0]?.trim().toLowerCase() === 'https';
}

function respond(c: Context, status: number, page: SafeHtml): Response {
  return c.html(documentText(page), status as 200);
}

/** Resolves `next` as a browser would: its origin says whether it stays on this site. */
const LOCAL_ORIGIN = 'http://stowage.invalid';

/**
 * A path on this site to return to after signing in; anything else goes home. Parsed as a
 * browser parses a Location, which drops tabs and newlines and takes `\` for `/` (`/<TAB>/x`
 * is `//x`, another host), and returned as parsed: no raw control character reaches the header.
 */
function localPath(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/')) return '/';
  let url: URL;
  try {
    url = new URL(next, LOCAL_ORIGIN);
  } catch {
    return '/';
  }
  return url.origin === LOCAL_ORIGIN ? `${url.pathname}${url.search}${url.hash}` : '/';
}

export function dashboardRoutes(options: DashboardOptions): Hono {
  const { store, now } = options;
  const sessions = new SessionStore(store);
  const app = new Hono();

  // Only on the dashboard's own forms: this app is mounted at '/', and a '*' middleware would reach the API too.
  const formLimit = bodyLimit({ maxSize: FORM_LIMIT_BYTES, onError: (c) => respond(c, 413, renderErrorPage(413, 'the form is too large')) });
  // Refuses a Content-Length past the sign-in form's cap before a byte is read.
  const signInLimit = bodyLimit({ maxSize: SIGN_IN_LIMIT_BYTES, onError: (c) => respond(c, 413, renderErrorPage(413, 'the form is too large')) });

  app.onError((err, c) => {
    if (err instanceof BadRequest) return respond(c, err.status, renderErrorPage(err.status, err.message));
    if (err instanceof StowageError) return respond(c, 400, renderErrorPage(400, err.message));
    const res = (err as { getResponse?: () => Response }).getResponse?.();
    if (res !== undefined) return res;
    console.error(err);
    return respond(c, 500, renderErrorPage(500, 'the dashboard failed to answer; see the server log'));
  });

  async function sessionOf(c: Context): Promise<{ session: Session; viewer: Viewer } | null> {
    // The store checks the token on every request: a revoked one has no session.
    const session = await sessions.get(getCookie(c, SESSION_COOKIE), now());
    if (session === null) return null;
    return { session, viewer: { name: session.token.name, csrf: session.csrf, canWrite: !session.token.readOnly } };
  }

  /** The reader, or a redirect to sign in. */
  async function reader(c: Context): Promise<Viewer | Response> {
    const signed = await sessionOf(c);
    if (signed !== null) return signed.viewer;
    if (options.publicRead) return { name: null, csrf: null, canWrite: false };
    const url = new URL(c.req.url);
    return c.redirect(`/sign-in?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
  }

  /**
   * The signed-in session for a form and the form, its anti-forgery token checked. The session
   * (a cookie) is checked before the body is read: a post from no one is refused unread, and
   * its connection closed so that the unread rest is never taken for a request.
   */
  async function writer(c: Context): Promise<{ session: Session; viewer: Viewer; form: Record<string, unknown> }> {
    const signed = await sessionOf(c);
    if (signed === null) {
      c.header('connection', 'close');
      throw new BadRequest('not signed in (or the session ended): sign in again', 403);
    }
    const form = await c.req.parseBody();
    if (!csrfMatches(signed.session, form.csrf)) throw new BadRequest('the form is stale or was not sent from this dashboard: reload the page and try again', 403);
    return { ...signed, form };
  }

  /** The sign-in form's fields, read within its budget (it comes from anyone), or the page refusing it (the connection closed). */
  async function signInForm(c: Context): Promise<{ token: string; next: string } | Response> {
    const read = await readBodyWithin(c.req.raw.body, { maxBytes: SIGN_IN_LIMIT_BYTES, withinMs: options.signInWithinMs ?? DEFAULT_LIMITS.anonymous.withinMs });
    if ('refused' in read) {
      c.header('connection', 'close');
      return read.refused === 'too large' ? respond(c, 413, renderErrorPage(413, 'the form is too large')) : respond(c, 408, renderErrorPage(408, 'the form took too long to arrive'));
    }
    let form: FormData;
    try {
      form = await new Response(read.bytes, { headers: { 'content-type': c.req.header('content-type') ?? '' } }).formData();
    } catch {
      throw new BadRequest('the sign-in form cannot be read');
    }
    const token = form.get('token');
    return { token: typeof token === 'string' ? token.trim() : '', next: localPath(form.get('next')) };
  }

  app.get(STYLESHEET_PATH, (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(STYLESHEET, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });

  app.get('/sign-in', (c) => respond(c, 200, renderSignInPage(localPath(c.req.query('next')), null)));

  app.post('/sign-in', signInLimit, async (c) => {
    const form = await signInForm(c);
    if (form instanceof Response) return form;
    const { token, next } = form;
    const identity = token === '' ? null : await verifyToken(store, token);
    if (identity === null) return respond(c, 401, renderSignInPage(next, 'That token is not valid (unknown or revoked).'));
    const session = await sessions.open(identity, now());
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: overHttps(c, options.trustProxy === true),
      path: '/',
      maxAge: SESSION_MAX_AGE_SECONDS,
    });
    return c.redirect(next, 303);
  });

  app.post('/sign-out', formLimit, async (c) => {
    const { session } = await writer(c);
    await sessions.close(session.id);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/sign-in', 303);
  });

  app.get('/', async (c) => {
    const viewer = await reader(c);
    if (viewer instanceof Response) return viewer;
    const view = parseFleetView((name) => c.req.query(name));
    return respond(c, 200, renderFleetPage(await fleetPageData(store, view, now()), viewer));
  });

  app.get('/apps/:name', async (c) => {
    const viewer = await reader(c);
    if (viewer instanceof Response) return viewer;
    const from = c.req.query('from');
    const to = c.req.query('to');
    const diff = from !== undefined && to !== undefined && from !== '' && to !== '' ? { from, to } : null;
    const notice = c.req.query('triaged') !== undefined ? 'Decision recorded.' : null;
    const allHistory = c.req.query('history') === 'all';
    return respond(c, 200, renderAppPage(await appPageData(store, c.req.param('name'), { diff, allHistory }, now()), viewer, notice));
  });

  app.post('/apps/:name/triage', formLimit, async (c) => {
    const { viewer, form } = await writer(c);
    if (!viewer.canWrite || viewer.name === null) throw new BadRequest('this token is read-only: it cannot record triage decisions', 403);
    const name = c.req.param('name');
    const field = (key: string): string | undefined => {
      const value = form[key];
      return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
    };
    const id = field('advisory');
    if (id === undefined) throw new BadRequest('the triage form names no advisory');
    try {
      await recordDecision(
        store,
        { app: name, id, state: field('state'), reason: field('reason'), justification: field('justification'), expires: field('expires'), package: field('package'), by: viewer.name, now: now(), names: TRIAGE_FORM_FIELDS },
        loadVersionScheme,
      );
    } catch (err) {
      if (!(err instanceof StowageError)) throw err;
      // The message names the form's fields (TRIAGE_FORM_FIELDS).
      const data = await appPageData(store, name, { diff: null, allHistory: false }, now());
      return respond(c, 400, renderAppPage(data, viewer, `Not recorded: ${err.message}`));
    }
    return c.redirect(`${appPath(name)}?triaged=1`, 303);
  });

  app.get('/advisories/:id', async (c) => {
    const viewer = await reader(c);
    if (viewer instanceof Response) return viewer;
    const view = parseFleetView((n) => (n === 'page' ? c.req.query('page') : undefined));
    return respond(c, 200, renderAdvisoryPage(await advisoryPageData(store, c.req.param('id'), view.page, now()), viewer));
  });

  app.get('/packages/:ecosystem/:name', async (c) => {
    const viewer = await reader(c);
    if (viewer instanceof Response) return viewer;
    const ecosystem = c.req.param('ecosystem');
    if (!ECOSYSTEMS.includes(ecosystem as Ecosystem)) throw new BadRequest(`ecosystem ${JSON.stringify(ecosystem)} is not one of ${ECOSYSTEMS.join(', ')}`, 404);
    const view = parseFleetView((n) => (n === 'page' ? c.req.query('page') : undefined));
    return respond(c, 200, renderPackagePage(await packagePageData(store, ecosystem as Ecosystem, c.req.param('name'), view.page, now()), viewer));
  });

  return app;
}
