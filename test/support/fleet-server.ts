import assert from 'node:assert/strict';
import { basename } from 'node:path';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import type { FleetStore } from '../../src/fleet/store/store.js';
import { createServerApp } from '../../src/server/app.js';
import { capConnections, DEFAULT_CONNECTION_LIMITS, httpServerOptions, type ConnectionLimits } from '../../src/server/connections.js';
import { DEFAULT_LIMITS, type BodyLimits, type ServerDeps } from '../../src/server/context.js';
import { createToken } from '../../src/server/auth.js';
import { EventFeed } from '../../src/server/event-feed.js';
import { FleetDatabases } from '../../src/server/fleet-databases.js';
import { openApiDocument } from '../../src/server/openapi.js';
import { DEFAULT_UPLOAD_BUDGET, UploadBudget, type UploadBudgetOptions } from '../../src/server/upload-budget.js';
import { schemaCheck, type JsonSchema, type SchemaCheck } from './json-schema.js';

/**
 * The fleet server for tests: started in this process on a free loopback port over a real store
 * (real HTTP, the same app `stowage fleet serve` runs), and a client whose every JSON answer is
 * checked against the OpenAPI document the server serves.
 */

export interface TestServer {
  url: string;
  store: FleetStore;
  deps: ServerDeps;
  /** Node's http server under it. */
  http: Server;
  /** A new token's secret. */
  token(name: string, readOnly?: boolean): Promise<string>;
  close(): Promise<void>;
}

export async function startServer(
  storeLocation: string,
  cacheRoot: string,
  options: { publicRead?: boolean; trustProxy?: boolean; limits?: Partial<BodyLimits>; uploads?: Partial<UploadBudgetOptions>; connections?: Partial<ConnectionLimits>; now?: () => Date } = {},
): Promise<TestServer> {
  const store = await openFleetStore(storeLocation);
  const events = new EventFeed(store, 200);
  const databases = new FleetDatabases(store, { cacheRoot, fetch: 'auto' });
  const deps: ServerDeps = { store, publicRead: options.publicRead === true, trustProxy: options.trustProxy === true, listenHost: '127.0.0.1', databases, events, limits: { ...DEFAULT_LIMITS, ...options.limits }, uploads: new UploadBudget({ ...DEFAULT_UPLOAD_BUDGET, ...options.uploads }), now: options.now ?? (() => new Date()) };
  // The connection limits `fleet serve` sets (src/cli/fleet/serve.ts), or those a test gives.
  const connections = { ...DEFAULT_CONNECTION_LIMITS, ...options.connections };
  const server = serve({ fetch: createServerApp(deps).fetch, hostname: '127.0.0.1', port: 0, serverOptions: httpServerOptions(connections) }) as Server;
  capConnections(server, connections);
  await new Promise<void>((resolve, reject) => {
    if (server.listening) resolve();
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  return {
    url: `http://127.0.0.1:${address.port}`,
    store,
    deps,
    http: server,
    token: async (name, readOnly = false) => (await createToken(store, name, readOnly, new Date())).token,
    close: async () => {
      events.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      databases.close();
      await store.close();
    },
  };
}

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }>;
}

let checker: ((method: string, path: string, status: number, body: unknown) => void) | undefined;

/** Checks an answer against the response schema the OpenAPI document gives its operation and status. */
export function checkAgainstOpenApi(method: string, path: string, status: number, body: unknown): void {
  checker ??= (() => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, JsonSchema> } };
    const references = Object.fromEntries(
      Object.values(doc.components.schemas)
        .filter((s) => typeof s.$id === 'string')
        .map((s) => [s.$id as string, s]),
    );
    const templates = Object.keys(doc.paths).map((template) => ({
      template,
      // The last parameter may hold slashes (an npm scope).
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}(?=$)/, '(.+)').replace(/\{[^}]+\}/g, '([^/]+)')}$`),
    }));
    const compiled = new Map<JsonSchema, SchemaCheck>();
    return (method, path, status, body) => {
      const bare = path.split('?')[0] as string;
      const found = templates.filter((t) => t.pattern.test(bare)).sort((a, b) => b.template.length - a.template.length)[0];
      assert.ok(found, `${bare}: no path of the OpenAPI document`);
      const operation = doc.paths[found.template]?.[method.toLowerCase()];
      assert.ok(operation, `${method} ${found.template}: not in the OpenAPI document`);
      const schema = operation.responses[String(status)]?.content?.['application/json']?.schema;
      assert.ok(schema, `${method} ${found.template} ${status}: no such answer in the OpenAPI document`);
      let check = compiled.get(schema);
      if (!check) compiled.set(schema, (check = schemaCheck(schema, { draft2020: true, references })));
      const { valid, errors } = check(body);
      assert.ok(valid, `${method} ${path} ${status} does not match the OpenAPI document:\n${errors}`);
    };
  })();
  checker(method, path, status, body);
}

/** An answer; `body` is its JSON (checked against the OpenAPI document), T the shape the caller expects, or the text. */
export interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** A request to /api/v1; a JSON answer is checked against the OpenAPI document, and every answer carries the CSP. */
export async function api<T = { error?: string }>(
  server: { url: string },
  method: string,
  path: string,
  init: { token?: string; body?: RequestInit['body']; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  const response = await fetch(`${server.url}/api/v1${path}`, { method, headers, body: init.body });
  const text = await response.text();
  const csp = response.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/, `${method} ${path}: the CSP header`);
  assert.doesNotMatch(csp, /script-src|connect-src/, `${method} ${path}: no script runs, so none is allowed`);
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  const isJson = (response.headers.get('content-type') ?? '').startsWith('application/json');
  const body: unknown = isJson ? JSON.parse(text) : text;
  if (isJson && path !== '/openapi.json') checkAgainstOpenApi(method, path, response.status, body);
  return { status: response.status, headers: response.headers, body: body as T };
}

/** A GET /api/v1/events response read as it comes: what arrived so far, and a wait for a marker in it. */
export function eventStream(response: Response): { readUntil(marker: string): Promise<void>; ids(): number[] } {
  assert.equal(response.status, 200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let received = '';
  return {
    async readUntil(marker) {
      while (!received.includes(marker)) {
        const chunk = await reader.read();
        if (chunk.done) assert.fail(`the stream ended before ${JSON.stringify(marker)}`);
        received += decoder.decode(chunk.value, { stream: true });
      }
    },
    ids: () => [...received.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])),
  };
}

/**
 * The command line's JSON as the server answers it: the server names a database on its disk
 * (each of `databases`, a path) by the last component of its path (src/server/database-names.ts).
 */
export function asServed<T>(cliJson: string, databases: readonly string[]): T {
  let text = cliJson;
  for (const path of databases) text = text.split(JSON.stringify(path)).join(JSON.stringify(basename(path)));
  return JSON.parse(text) as T;
}
