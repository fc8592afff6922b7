import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import { isIP } from 'node:net';
import { cacheDir } from '../../core/cache-dir.js';
import { EXIT_OK, StowageError, systemErrorReason } from '../../core/errors.js';
import { terminalText as t } from '../../core/terminal-text.js';
import { requireSettings } from '../../fleet/lookup.js';
import { openFleetStore } from '../../fleet/store/open-store.js';
import { createServerApp } from '../../server/app.js';
import { capConnections, DEFAULT_CONNECTION_LIMITS, httpServerOptions } from '../../server/connections.js';
import { DEFAULT_LIMITS, type ServerDeps } from '../../server/context.js';
import { readTokenFile, SEEDED_TOKEN_NAME, seedToken } from '../../server/auth.js';
import { EventFeed } from '../../server/event-feed.js';
import { FleetDatabases } from '../../server/fleet-databases.js';
import { deliverWebhooks, syncNow } from '../../server/sync-now.js';
import { WorkUnderWay } from '../../server/under-way.js';
import { DEFAULT_UPLOAD_BUDGET, UploadBudget } from '../../server/upload-budget.js';
import { fetchPolicyOf } from '../audit-options.js';
import { parseInterval } from './interval.js';
import { warn, writeStdout } from '../output.js';
import type { FleetDatabaseOptions } from './index.js';

export interface FleetServeOptions extends FleetDatabaseOptions {
  listen: string;
  tokenFile?: string;
  publicRead?: boolean;
  syncEvery?: string;
  trustProxy?: boolean;
  connectionsPerClient?: string;
  uploadMemory?: string;
}

const MIB = 1024 * 1024;

/** `--upload-memory MIB`: the bytes of upload bodies held at once; at least one upload's limit (64 MiB), or the largest would never be taken. */
export function parseUploadMemory(given: string | undefined): number {
  if (given === undefined) return DEFAULT_UPLOAD_BUDGET.bytes;
  const least = Math.ceil(DEFAULT_LIMITS.uploadBytes / MIB);
  if (!/^\d{1,7}$/.test(given) || Number(given) < least) {
    throw new StowageError(`--upload-memory ${JSON.stringify(given)}: expected a whole number of MiB, at least ${least} (one upload's limit)`);
  }
  return Number(given) * MIB;
}

/** `--connections-per-client N`: 0 is no cap. */
export function parseConnectionsPerClient(given: string | undefined): number | null {
  if (given === undefined) return DEFAULT_CONNECTION_LIMITS.perClient;
  if (!/^\d{1,6}$/.test(given)) throw new StowageError(`--connections-per-client ${JSON.stringify(given)}: expected a whole number of connections (0: no cap)`);
  return Number(given) === 0 ? null : Number(given);
}

/** `HOST:PORT`, `[IPv6]:PORT` or `PORT` (on 127.0.0.1); port 0 picks a free one. */
export function parseListen(given: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(given) ?? /^()()(\d{1,5})$/.exec(given);
  const host = m?.[1] || m?.[2] || '127.0.0.1';
  const port = Number(m?.[3]);
  if (m === null || port > 65535 || (host !== 'localhost' && isIP(host) === 0)) {
    throw new StowageError(`--listen ${JSON.stringify(given)}: expected HOST:PORT with an IP address (127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080) or PORT`);
  }
  return { host, port };
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (server.listening) return resolve();
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
}

/** How long shutdown waits for requests under way before it cuts their connections (a stalled upload, an event stream). */
export const DRAIN_MS = 10_000;

/**
 * Stops `server` taking requests, lets the work under way finish (at most DRAIN_MS, then the
 * connections still open are cut and their handlers end), and resolves once nothing is under
 * way: only then may the store close.
 */
async function drain(server: Server, underWay: WorkUnderWay): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections with no request would hold the close open: end them now.
  server.closeIdleConnections();
  if (!(await underWay.settledWithin(DRAIN_MS))) server.closeAllConnections();
  await underWay.settled();
  server.closeAllConnections();
  await closed;
}

/** How often the server looks for webhook deliveries that are due again (the first retry comes 30 s after a failure). */
const WEBHOOK_RETRY_CHECK_MS = 15_000;

/** PostgreSQL connections one server holds at most. */
const SERVER_CONNECTIONS = 10;

export async function fleetServe(opts: FleetServeOptions): Promise<number> {
  const { host, port } = parseListen(opts.listen);
  const every = opts.syncEvery !== undefined ? parseInterval(opts.syncEvery) : null;
  const seed = opts.tokenFile !== undefined ? readTokenFile(opts.tokenFile) : null;
  const connections = { ...DEFAULT_CONNECTION_LIMITS, perClient: parseConnectionsPerClient(opts.connectionsPerClient) };
  const uploads = new UploadBudget({ ...DEFAULT_UPLOAD_BUDGET, bytes: parseUploadMemory(opts.uploadMemory) });
  // PostgreSQL: a connection per request in flight, up to this many (a command needs two); more wait their turn in the pool.
  const store = await openFleetStore(opts.store, process.env, { connections: SERVER_CONNECTIONS });
  const events = new EventFeed(store);
  const databases = new FleetDatabases(store, { cacheRoot: opts.cacheDir ?? cacheDir(), fetch: fetchPolicyOf(opts.fetch) });
  const underWay = new WorkUnderWay();
  let timer: NodeJS.Timeout | null = null;
  let retries: NodeJS.Timeout | null = null;
  let server: Server | null = null;
  try {
    await requireSettings(store);
    if (seed !== null && (await seedToken(store, seed, new Date()))) writeStdout(`stored the token of ${t(opts.tokenFile ?? '')} as "${SEEDED_TOKEN_NAME}"\n`);
    if ((await store.tokens()).every((k) => k.revokedAt !== null)) warn('the fleet has no token yet: every write will be refused (stowage fleet token create NAME)');
    const deps: ServerDeps = { store, publicRead: opts.publicRead === true, trustProxy: opts.trustProxy === true, listenHost: host, databases, events, limits: DEFAULT_LIMITS, uploads, now: () => new Date(), underWay };
    const app = createServerApp(deps);
    // Every request is work under way until its handler has answered (a stream's body goes on after).
    server = serve({
      fetch: (request, env) => underWay.track(Promise.resolve(app.fetch(request, env))),
      hostname: host,
      port,
      // Slow clients are cut (headers within 10 s, the whole request within 300 s), and connections are capped, in all and per client.
      serverOptions: httpServerOptions(connections),
    }) as Server;
    capConnections(server, connections);
    try {
      await listen(server);
    } catch (err) {
      throw new StowageError(`cannot listen on ${opts.listen}: ${systemErrorReason(err)}`);
    }
    const address = server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    const shown = host.includes(':') ? `[${host}]` : host;
    writeStdout(`stowage fleet server on http://${shown}:${bound}/ (API: /api/v1/, OpenAPI: /api/v1/openapi.json; Ctrl-C stops it)\n`);
    // Webhook deliveries that failed are retried when due (30 s after a failure, doubling, at most
    // 6 h), whether or not anything changes meanwhile: a fleet that only serves would otherwise
    // never post an event again once its webhook had been down. What is due now goes at once.
    deliverWebhooks(deps);
    retries = setInterval(() => deliverWebhooks(deps), WEBHOOK_RETRY_CHECK_MS);
    if (every !== null) {
      let running = false;
      timer = setInterval(() => {
        if (running) return;
        running = true;
        underWay.track(syncNow(deps, 'scheduled sync'))
          .catch((err: unknown) => warn(`scheduled sync failed: ${err instanceof StowageError ? err.line : systemErrorReason(err)}`))
          .finally(() => (running = false));
      }, every);
    }
    await new Promise<void>((resolve) => {
      // In place of the command line's exit-at-once handlers (main.ts): the server finishes the
      // requests under way and closes the store; a second signal ends it at once.
      process.removeAllListeners('SIGINT');
      process.removeAllListeners('SIGTERM');
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    writeStdout('stopping: finishing the requests under way\n');
    return EXIT_OK;
  } finally {
    if (timer !== null) clearInterval(timer);
    if (retries !== null) clearInterval(retries);
    // Event streams end; requests and a scheduled sync under way finish before the store closes.
    events.close();
    if (server !== null) await drain(server, underWay);
    else await underWay.settled();
    databases.close();
    await store.close();
  }
}
