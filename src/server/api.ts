import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { SEVERITY_LEVELS, type SeverityLevel } from '../core/advisory.js';
import { StowageError } from '../core/errors.js';
import { jsonForTerminal } from '../core/terminal-text.js';
import type { Ecosystem } from '../core/package.js';
import { loadVersionScheme } from '../ecosystems/formats.js';
import { addApplications, appNameProblem } from '../fleet/add.js';
import { affectedAppsPage, parseAffectedQuery, type AffectedQuery } from '../fleet/affected.js';
import { affectedBody } from '../fleet/affected-report.js';
import { diffRevisions } from '../fleet/diff.js';
import { EXPORT_FORMATS, exportApplication, type ExportFormat } from '../fleet/export.js';
import { currentRevision, requireApp, requireSettings, resolveRevision } from '../fleet/lookup.js';
import { decodeGraphs } from '../fleet/revision.js';
import { revisionWarnings } from '../fleet/revision-warnings.js';
import { addBody, appsBody, diffBody, historyBody, summaryBody } from '../fleet/report.js';
import { appSummariesPage } from '../fleet/summary.js';
import { UPLOAD_LIMITS } from '../inputs/shipped-limits.js';
import type { AppsFilter, FindingStateFilter, FleetEventRecord } from '../fleet/store/store.js';
import { applyTriage, recordDecision, TRIAGE_JSON_FIELDS, triageEventBody, withTriage } from '../fleet/triage.js';
import { AnswerCache, answerKey, DEFAULT_ANSWER_CACHE, type CachedAnswer } from './answer-cache.js';
import { errorResponse, type ServerDeps, type ServerEnv } from './context.js';
import { DatabaseNames, type JsonRename } from './database-names.js';
import { verifyToken, type TokenIdentity } from './auth.js';
import { openApiDocument } from './openapi.js';
import { readBodyWithin, type BodyBudget } from './request-body.js';
import { keysetPageJson, MAX_FULL_VIEW_LIMIT, pageJson, pageRequest } from './pagination.js';
import { afterChange, syncNow } from './sync-now.js';
import { checkMultipartParts, ENTRY_FIELD, jsonContainersProblem, SBOM_DOCUMENT, uploadMessage, writeUpload, type UploadedDocument } from './upload.js';

/**
 * /api/v1: the command line's `--format json` answers over HTTP, built by the same functions
 * (src/fleet/report.ts, affected-report.ts, sync-report.ts, triage.ts), lists paged in the store
 * (pagination.ts). Errors: `{ "error": LINE }` with the command line's one line; 400 bad input,
 * 401 no or unknown token, 403 read-only token writing, 404 unknown application, revision or
 * advisory, 413 body over its limit (nothing stored), 503 an upload the server has no room for
 * now (nothing stored; Retry-After says when to send it again: upload-budget.ts).
 */

type Access = 'read' | 'write';

const BEARER = /^Bearer ([^\s,]+)$/i;

/** The token an Authorization header gives (`Bearer TOKEN`), or null: none, or another scheme. */
function bearerToken(header: string | undefined): string | null {
  return header === undefined ? null : (BEARER.exec(header)?.[1] ?? null);
}

/**
 * Answers a refused request after reading (and discarding) its body within `budget`: a client
 * still sending an upload when the answer comes would otherwise see its connection closed
 * (EPIPE) rather than the 401 or 403 that says why. Past the budget the rest is left unread and
 * the connection closed (errorResponse).
 */
async function refuse(c: Context<ServerEnv>, budget: BodyBudget, status: 401 | 403 | 503, message: string, headers?: Record<string, string>): Promise<Response> {
  await readBodyWithin(c.req.raw.body, budget, false);
  return errorResponse(c, status, message, headers);
}

/** Bearer auth: every write, and reads unless the server was started with --public-read. */
function requireToken(deps: ServerDeps, access: Access): MiddlewareHandler<ServerEnv> {
  // Refused (no token, an unknown one, a read-only one writing): a small body, quickly. A read-only
  // token is the one handed out widely (dashboards, scripts): its refused upload must not have the
  // server read 64 MiB over node's five minutes, as an accepted one may.
  const refused = deps.limits.anonymous;
  return async (c, next) => {
    const header = c.req.header('authorization');
    let token: TokenIdentity | null = null;
    if (header !== undefined) {
      const given = bearerToken(header);
      token = given === null ? null : await verifyToken(deps.store, given);
      if (token === null) {
        return refuse(c, refused, 401, 'the token is unknown, revoked or not a token (Authorization: Bearer TOKEN)', { 'www-authenticate': 'Bearer error="invalid_token"' });
      }
    }
    if (token === null && (access === 'write' || !deps.publicRead)) {
      return refuse(c, refused, 401, `this request needs a token: Authorization: Bearer TOKEN (stowage fleet token create NAME${access === 'read' ? ' --read-only' : ''})`, {
        'www-authenticate': 'Bearer',
      });
    }
    if (access === 'write' && token?.readOnly) return refuse(c, refused, 403, `token ${token.name} is read-only: it cannot change the fleet`);
    c.set('token', token);
    await next();
  };
}

/** The writer's name, recorded in history and triage (`by`). */
function writer(c: Context<ServerEnv>): string {
  const token = c.get('token');
  if (token === null) throw new Error('a write reached its handler without a token');
  return token.name;
}

const tooLarge =
  (limit: number) =>
  (c: Context): Response =>
    errorResponse(c, 413, `the request body is over the limit of ${limit} bytes; nothing was stored`);

/**
 * An upload's body, read into `c.var.upload` within the upload budget (upload-budget.ts) and held
 * until the upload is answered. Over the upload limit: 413, as declared (nothing read) or as
 * streamed. Not fitting the budget within its wait: 503 with Retry-After, nothing stored and
 * nothing of the body held: declared, none of it was read as an upload (what was sent is drained
 * and dropped within the refused-body budget, as a 401's is, so the client reads the answer);
 * streamed, the chunks read are dropped and the connection closed. A body coming slower than the
 * budget's minimum rate: 408, its reservation given back (what others wait for), nothing stored.
 */
function uploadBody(deps: ServerDeps): MiddlewareHandler<ServerEnv> {
  const limit = deps.limits.uploadBytes;
  const { retryAfterSeconds, bodyWithinMs, bodyBytesPerSecond } = deps.uploads.options;
  const busy = `the server holds as many uploads as it takes at once (${deps.uploads.capacity} bytes); nothing was stored: send it again in ${retryAfterSeconds} seconds`;
  const retryAfter = { 'retry-after': String(retryAfterSeconds) };
  const slow = `the upload's body came slower than ${bodyBytesPerSecond / 1024} KiB/s after its first ${bodyWithinMs / 1000} s; nothing was stored`;
  return async (c, next) => {
    const chunked = c.req.header('transfer-encoding') !== undefined;
    const length = c.req.header('content-length');
    const declared = chunked || length === undefined ? null : Number(length);
    if (declared !== null && declared > limit) return tooLarge(limit)(c);
    const reservation = await deps.uploads.reserve(declared ?? 0);
    if (reservation === null) return refuse(c, deps.limits.anonymous, 503, busy, retryAfter);
    try {
      let reserved = declared ?? 0;
      const read = await readBodyWithin(c.req.raw.body, { maxBytes: limit, withinMs: bodyWithinMs, bytesPerSecond: bodyBytesPerSecond }, true, async (seen) => {
        if (seen <= reserved) return true;
        if (!(await reservation.grow(seen - reserved))) return false;
        reserved = seen;
        return true;
      });
      if ('refused' in read) {
        if (read.refused === 'no room') return errorResponse(c, 503, busy, retryAfter);
        return read.refused === 'too slow' ? errorResponse(c, 408, slow) : tooLarge(limit)(c);
      }
      c.set('upload', read.bytes);
      await next();
    } finally {
      reservation.release();
    }
  };
}

const STATES: readonly FindingStateFilter[] = ['failing', 'warning', 'ignored'];

function appsFilter(query: Record<string, string>): AppsFilter {
  const filter: AppsFilter = {};
  if (query.state !== undefined) {
    if (!STATES.includes(query.state as FindingStateFilter)) throw new StowageError(`?state=: expected one of ${STATES.join(', ')}`);
    filter.state = query.state as FindingStateFilter;
  }
  if (query.severity !== undefined) {
    if (!SEVERITY_LEVELS.includes(query.severity as SeverityLevel)) throw new StowageError(`?severity=: expected one of ${SEVERITY_LEVELS.join(', ')}`);
    filter.severity = query.severity as SeverityLevel;
  }
  if (query.q !== undefined && query.q !== '') filter.search = query.q;
  return filter;
}

const ECOSYSTEMS: readonly Ecosystem[] = ['cargo', 'npm'];

/** The documents of an upload (multipart file parts, or a CycloneDX SBOM as the body), and what to read among them. */
async function uploadedDocuments(c: Context<ServerEnv>): Promise<{ documents: UploadedDocument[]; entry: string | null }> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const body = c.get('upload');
  if (body === undefined) throw new Error('an upload reached its handler without its body read (uploadBody)');
  if (type === 'multipart/form-data') {
    const contentType = c.req.header('content-type') ?? '';
    checkMultipartParts(body, contentType);
    let form: FormData;
    try {
      form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
    } catch {
      throw new StowageError('the multipart body cannot be read');
    }
    const documents: UploadedDocument[] = [];
    let entry: string | null = null;
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field !== ENTRY_FIELD || entry !== null) throw new StowageError(`form field ${JSON.stringify(field)} is not a file: send each document as a file part`);
        entry = value;
        continue;
      }
      documents.push({ name: value.name, bytes: new Uint8Array(await value.arrayBuffer()) });
    }
    return { documents, entry };
  }
  if (type === 'application/json' || type === 'application/vnd.cyclonedx+json') {
    return { documents: [{ name: SBOM_DOCUMENT, bytes: body }], entry: null };
  }
  throw new StowageError('send lockfiles and manifests as multipart/form-data, or a CycloneDX SBOM as application/json');
}

/** A JSON object body of string fields, or one line saying what is wrong with it. */
async function jsonFields(c: Context<ServerEnv>, allowed: readonly string[]): Promise<Record<string, string | undefined>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new StowageError('the request body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new StowageError('the request body must be a JSON object');
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(body)) {
    if (!allowed.includes(key)) throw new StowageError(`unknown field ${JSON.stringify(key)} (expected ${allowed.join(', ')})`);
    if (value === null) continue;
    if (typeof value !== 'string') throw new StowageError(`field ${JSON.stringify(key)} must be a string`);
    out[key] = value;
  }
  return out;
}

/** How often an idle event stream is sent a comment (keeping proxies from closing it) and its token checked again. */
const PING_MS = 15_000;

const TRIAGE_FIELDS = ['id', 'state', 'reason', 'justification', 'expires', 'package'] as const;

/**
 * A kept answer (answer-cache.ts): 304 when the client already has it (If-None-Match), else its
 * body. `no-cache`: a client may keep it but asks again each time, so it is never stale.
 */
function cachedResponse(c: Context<ServerEnv>, answer: CachedAnswer): Response {
  c.set('textAsSent', true);
  const headers = { etag: answer.etag, 'cache-control': 'private, no-cache' };
  const given = c.req.header('if-none-match');
  if (given !== undefined && given.split(',').some((tag) => tag.trim().replace(/^W\//, '') === answer.etag)) return c.body(null, 304, headers);
  return c.body(answer.body, 200, { ...headers, 'content-type': 'application/json' });
}

/**
 * writeSSE's bytes for an event. Its body is JSON on one line: written in one piece, not split,
 * prefixed and joined as writeSSE does any text (four copies of a 50 MB part of a first add's
 * event at 10,000 applications); a body with a line break goes through writeSSE.
 */
async function writeEvent(stream: SSEStreamingApi, event: { id: number; type: string; body: string }, rename: JsonRename): Promise<void> {
  const body = answerText(event.body, rename);
  if (/[\r\n]/.test(body) || /[\r\n]/.test(event.type)) return stream.writeSSE({ id: String(event.id), event: event.type, data: body });
  await stream.write(`event: ${event.type}\ndata: ${body}\nid: ${event.id}\n\n`);
}

/**
 * JSON text as the server sends it: the fleet's databases named as the server shows them
 * (database-names.ts), never by a file path of the server; and, as the command line's JSON, the
 * characters a terminal acts on that JSON.stringify leaves raw (C1 controls such as the CSI
 * U+009B, bidi and zero-width characters) as `\u` escapes (jsonForTerminal): an advisory's text
 * read with curl cannot drive the terminal. The value is unchanged.
 */
function answerText(json: string, rename: JsonRename): string {
  return jsonForTerminal(rename(json));
}

/** A JSON type: application/json, or a `+json` one (an SBOM, a VEX). */
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\b/i;

/** Every JSON answer's text through answerText, whatever its shape (findings, exports, errors); a kept answer's was made so once, when built. */
function jsonAnswersAsSent(names: DatabaseNames): MiddlewareHandler<ServerEnv> {
  return async (c, next) => {
    await next();
    if (c.get('textAsSent') === true || !JSON_TYPE.test(c.res.headers.get('content-type') ?? '') || c.res.body === null) return;
    const rename = await names.rename();
    const { status } = c.res;
    const headers = new Headers(c.res.headers);
    headers.delete('content-length');
    const text = answerText(await c.res.text(), rename);
    // Unset first: hono's setter would copy the old answer's headers over the new one's.
    c.res = undefined;
    c.res = new Response(text, { status, headers });
  };
}

export function apiRoutes(deps: ServerDeps): Hono<ServerEnv> {
  const api = new Hono<ServerEnv>();
  const { store } = deps;
  const databaseNames = new DatabaseNames(store);
  api.use('*', jsonAnswersAsSent(databaseNames));
  const read = requireToken(deps, 'read');
  const write = requireToken(deps, 'write');
  const jsonLimit = bodyLimit({ maxSize: deps.limits.jsonBytes, onError: tooLarge(deps.limits.jsonBytes) });
  // Every token reads the whole fleet: the key is the query alone.
  const answers = new AnswerCache({ ...DEFAULT_ANSWER_CACHE, now: deps.now, generation: () => store.generation(), text: async (json) => answerText(json, await databaseNames.rename()) });

  api.get('/openapi.json', (c) => c.json(openApiDocument()));

  api.get('/apps', read, async (c) => {
    const query = c.req.query();
    const filter = appsFilter(query);
    const view = query.view ?? 'summary';
    if (view !== 'summary' && view !== 'full') throw new StowageError('?view=: expected summary (the default) or full');
    const request = pageRequest(
      query,
      view === 'summary' ? { keyset: true } : { maxLimit: { limit: MAX_FULL_VIEW_LIMIT, why: `(a ?view=full page holds at most ${MAX_FULL_VIEW_LIMIT} applications)` } },
    );
    const answer = await answers.answer(answerKey(c.req.path, query), async () => {
      await requireSettings(store);
      if (view === 'summary') {
        const page = await appSummariesPage(store, filter, request, deps.now(), loadVersionScheme);
        return { ...summaryBody(page.items), page: keysetPageJson(request, page, page.before, page.items.at(-1)?.name ?? null) };
      }
      const page = await store.appsPage(filter, request);
      const findings = await store.findingsOfRevisions(page.items.map((i) => i.revision.id));
      const apps = await withTriage(store, page.items.map((i) => ({ name: i.app.name, revision: i.revision, findings: findings.get(i.revision.id) ?? [] })), deps.now(), loadVersionScheme);
      return { ...appsBody(apps), page: pageJson(request, page) };
    });
    return cachedResponse(c, answer);
  });

  api.get('/apps/:name', read, async (c) => {
    const app = await requireApp(store, c.req.param('name'));
    const given = c.req.query('revision');
    const revision = given !== undefined ? await resolveRevision(store, app, given) : await currentRevision(store, app);
    // What the audit says of the revision's lockfiles (a stale lockfile...), as `fleet show` gives it.
    const warnings = revisionWarnings(decodeGraphs(await store.revisionGraph(revision.id)));
    return c.json(appsBody(await withTriage(store, [{ name: app.name, revision, findings: await store.findings(revision.id), warnings }], deps.now(), loadVersionScheme)));
  });

  api.get('/apps/:name/history', read, async (c) => {
    const request = pageRequest(c.req.query());
    const app = await requireApp(store, c.req.param('name'));
    const page = await store.historyPage(app.id, request);
    return c.json({ ...historyBody(app.name, page.items), page: pageJson(request, page) });
  });

  api.get('/apps/:name/diff', read, async (c) => {
    const app = await requireApp(store, c.req.param('name'));
    const fromGiven = c.req.query('from');
    if (fromGiven === undefined || fromGiven === '') throw new StowageError('?from=REVISION is required (sha256:HEX or at least 12 hex digits; ?to= defaults to the current revision)');
    const toGiven = c.req.query('to');
    const from = await resolveRevision(store, app, fromGiven);
    const to = toGiven === undefined || toGiven === '' ? await currentRevision(store, app) : await resolveRevision(store, app, toGiven);
    return c.json(diffBody(from.digest, to.digest, [await diffRevisions(store, app.name, from, to)]));
  });

  api.get('/apps/:name/export', read, async (c) => {
    const format = c.req.query('format') ?? '';
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
      throw new StowageError(`?format=${JSON.stringify(format)}: expected one of ${EXPORT_FORMATS.join(', ')}`);
    }
    const revision = c.req.query('revision');
    const text = await exportApplication(store, c.req.param('name'), format as ExportFormat, { now: deps.now(), ...(revision ? { revision } : {}) });
    const type = format === 'spdx' ? 'application/spdx+json' : 'application/vnd.cyclonedx+json';
    return c.body(text, 200, { 'content-type': `${type}; charset=utf-8` });
  });

  const affected = async (c: Context<ServerEnv>, query: AffectedQuery, ecosystem: Ecosystem | null): Promise<Response> => {
    const request = pageRequest(c.req.query());
    const answer = await answers.answer(answerKey(c.req.path, c.req.query()), async () => {
      await requireSettings(store);
      const page = await affectedAppsPage(store, query, request, ecosystem);
      const applied = await applyTriage(store, page.items, deps.now(), loadVersionScheme);
      return { ...affectedBody(query, page.items, applied), page: pageJson(request, page) };
    });
    return cachedResponse(c, answer);
  };

  api.get('/advisories/:id/affected', read, async (c) => {
    const id = c.req.param('id');
    const query = parseAffectedQuery(id);
    if (query.kind !== 'advisory') throw new StowageError(`${JSON.stringify(id)} is not an advisory id (RUSTSEC-..., GHSA-..., CVE-...)`);
    return affected(c, query, null);
  });

  // An npm scope's slash may come as it is (`/packages/npm/@types/node`) or encoded.
  api.get('/packages/:ecosystem/:name{.+}', read, async (c) => {
    const ecosystem = c.req.param('ecosystem') as Ecosystem;
    if (!ECOSYSTEMS.includes(ecosystem)) throw new StowageError(`ecosystem ${JSON.stringify(ecosystem)}: expected one of ${ECOSYSTEMS.join(', ')}`);
    const version = c.req.query('version');
    return affected(c, { kind: 'package', name: c.req.param('name'), version: version === undefined || version === '' ? null : version }, ecosystem);
  });

  api.post('/apps/:name/revisions', write, uploadBody(deps), async (c) => {
    const name = c.req.param('name');
    const problem = appNameProblem(name);
    if (problem !== null) throw new StowageError(`application ${JSON.stringify(name)}: ${problem}`);
    const { documents, entry } = await uploadedDocuments(c);
    // Before anything parses them: a JSON bomb is refused as a body over the limit is.
    const bomb = jsonContainersProblem(documents);
    if (bomb !== null) return errorResponse(c, 413, bomb);
    const upload = writeUpload(documents, entry);
    try {
      const now = deps.now();
      const result = await deps.databases.use((databases, settings) =>
        addApplications(store, [{ path: upload.path, shownPath: 'upload', name }], { settings, databases, now, by: writer(c), origin: 'push', relativePaths: true, readLimits: UPLOAD_LIMITS }),
      );
      result.json.close();
      const failure = result.failures[0];
      // An archive that inflates past an upload's caps is too large, not malformed: 413, as a body over the limit is.
      if (failure !== undefined) return errorResponse(c, failure.overLimit === true ? 413 : 400, uploadMessage(failure.message, upload));
      // The findings as stored (the add keeps their JSON, not the findings): the same findings, key for key.
      const outcomes = [];
      for (const o of result.outcomes) outcomes.push({ ...o, findings: await store.findings(o.revision.id) });
      const applied = await applyTriage(store, outcomes.map((o) => ({ appId: o.revision.appId, findings: o.findings })), now, loadVersionScheme);
      const shown = outcomes.map((o, i) => ({ ...o, findings: applied[i]?.findings ?? o.findings }));
      afterChange(deps);
      return c.json(addBody(shown, []), shown.some((o) => o.change !== 'unchanged') ? 201 : 200);
    } finally {
      upload.dispose();
    }
  });

  api.post('/sync', write, jsonLimit, async (c) => c.json(await syncNow(deps, writer(c))));

  const triage = async (c: Context<ServerEnv>, app: string | null): Promise<Response> => {
    const fields = await jsonFields(c, TRIAGE_FIELDS);
    if (fields.id === undefined || fields.id === '') throw new StowageError('field "id" is required: the advisory id (any alias)');
    const outcome = await recordDecision(
      store,
      { app, id: fields.id, state: fields.state, reason: fields.reason, justification: fields.justification, expires: fields.expires, package: fields.package, by: writer(c), now: deps.now(), names: TRIAGE_JSON_FIELDS },
      loadVersionScheme,
    );
    afterChange(deps);
    return c.json(triageEventBody(outcome), 201);
  };
  api.post('/apps/:name/triage', write, jsonLimit, (c) => triage(c, c.req.param('name')));
  api.post('/triage', write, jsonLimit, (c) => triage(c, null));

  api.get('/events', read, (c) => {
    const resumeFrom = c.req.header('last-event-id');
    // The token the stream was opened with, checked again before each event and at each ping: a
    // stream outlives any request, and a token revoked meanwhile must stop reading the fleet.
    const given = c.get('token') === null ? null : bearerToken(c.req.header('authorization'));
    const revoked = async (): Promise<boolean> => given !== null && (await verifyToken(store, given)) === null;
    return streamSSE(c, async (stream) => {
      let sent = resumeFrom !== undefined && /^\d{1,15}$/.test(resumeFrom) ? Number(resumeFrom) : await deps.events.latest();
      // One write after another; only the last is kept (a long-lived stream holds no list of every write).
      let written: Promise<void> = Promise.resolve();
      // What waits to be written: a client that stops reading would otherwise have the server keep
      // every event from then on. Past the limit it is cut, the connection reset (its unsent bytes dropped).
      let backlog = 0;
      let cut = false;
      // An event is queued while what waits is under the limit, however large the event itself.
      const overBacklog = (): boolean => {
        if (backlog <= deps.limits.eventBacklogBytes) return false;
        cut = true;
        stream.abort();
        c.env?.incoming?.socket.resetAndDestroy();
        return true;
      };
      // The token was revoked: the stream ends (a client reconnecting is refused 401).
      const end = (): void => {
        cut = true;
        stream.abort();
      };
      const send = (event: FleetEventRecord): void => {
        if (event.id <= sent || stream.aborted || cut) return;
        sent = event.id;
        if (overBacklog()) return;
        backlog += event.body.length;
        written = written
          .then(async () => {
            if (cut || stream.aborted) return;
            if (await revoked()) return end();
            await writeEvent(stream, event, await databaseNames.rename());
          })
          .catch(() => undefined)
          .finally(() => (backlog -= event.body.length));
      };
      // What the store holds after `sent` (a client resuming, or events recorded while it did), in
      // id order a bounded page at a time (EventFeed.since), waiting for what waits to be written
      // to fall under the limit before sending more: a client reading at full speed gets them all,
      // and the server never holds more than a page and the limit. Live events that arrive
      // meanwhile are read from the store after those (`again`), never sent ahead of them.
      let catchingUp = false;
      let again = false;
      const catchUp = async (): Promise<void> => {
        if (catchingUp) {
          again = true;
          return;
        }
        catchingUp = true;
        try {
          do {
            again = false;
            for (;;) {
              const events = await deps.events.since(sent, 100);
              if (events.length === 0 || stream.aborted) break;
              for (const event of events) {
                if (backlog > deps.limits.eventBacklogBytes) await written;
                if (stream.aborted) break;
                send(event);
              }
              // The next page is read once this one is on its way: one large event in memory at a time.
              if (backlog > deps.limits.eventBacklogBytes) await written;
            }
          } while (again && !stream.aborted);
        } finally {
          catchingUp = false;
        }
      };
      const unsubscribe = await deps.events.subscribe((event) => {
        if (catchingUp) again = true;
        else send(event);
      });
      let offClose = (): void => undefined;
      try {
        await catchUp();
        // Cut, or the client gone, during the catch-up: the abort is past, no listener would hear it.
        if (cut || stream.aborted) return;
        await stream.write(': stowage fleet events\n\n');
        await new Promise<void>((resolve) => {
          if (stream.aborted) return resolve();
          const ping = setInterval(() => {
            const beat = async (): Promise<void> => {
              if (await revoked()) end();
              else await stream.write(': ping\n\n');
            };
            void beat().catch(() => undefined);
          }, PING_MS);
          stream.onAbort(() => {
            clearInterval(ping);
            resolve();
          });
          offClose = deps.events.onClose(() => {
            clearInterval(ping);
            resolve();
          });
        });
      } finally {
        offClose();
        unsubscribe();
        await written;
      }
    });
  });

  return api;
}
