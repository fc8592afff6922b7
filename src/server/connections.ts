import { readFileSync } from 'node:fs';
import type { Server, ServerOptions } from 'node:http';
import { isIPv4, isIPv6, type Socket } from 'node:net';

/**
 * How long a client may take, and how many connections the server holds, so that slow clients
 * (a header byte every few seconds, a body dripped in) neither hold a connection for long nor,
 * many of them, take every file descriptor the server needs for its own work (the store, an
 * upload's temporary files, a sync's databases).
 *
 * Node's own defaults bound a request too, but loosely: 60 s for the headers and 300 s for the
 * whole request, checked every 30 s, so a client sending one header byte per 10 s held its
 * connection 90 s (measured: 408 after 91.8 s), and with no cap on connections 1,100 such
 * clients took every descriptor of a server limited to 1,024 open files: every other request
 * failed until they were cut. @hono/node-server's serve() sets none of these.
 *
 * The cap on all connections keeps the server's own descriptors, but one client could still take
 * every connection under it, so each client address holds at most `perClient` (IPv6 by its /64,
 * what one host or site is given). Past it a new connection is closed at once, before a byte of it
 * is read, as the total cap does (node's maxConnections) and as HAProxy's `tcp-request connection
 * reject` does: an HTTP answer (nginx's limit_conn answers 503) would need the request read first,
 * which is what the excess connection must not cost. Caddy has no such limit.
 */
export interface ConnectionLimits {
  /** From the first byte of a request to the end of its headers (node's `headersTimeout`). */
  headersMs: number;
  /** From the first byte of a request to the end of its body (`requestTimeout`): an upload of up to 64 MiB must fit. */
  requestMs: number;
  /** How long an idle keep-alive connection is kept (`keepAliveTimeout`). */
  keepAliveMs: number;
  /** How often node checks the two timeouts above (`connectionsCheckingInterval`): a slow client is cut at most this late. */
  checkEveryMs: number;
  /** Connections held at once (`maxConnections`; past it a new one is closed at once); null: from the open-file limit. */
  maxConnections: number | null;
  /** Connections one client address holds at once (`fleet serve --connections-per-client`); null: no cap (behind a reverse proxy every connection comes from its address). */
  perClient: number | null;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersMs: 10_000,
  requestMs: 300_000,
  keepAliveMs: 5_000,
  checkEveryMs: 1_000,
  maxConnections: null,
  // Past a browser's 6 and a CI job's few pushes, and the 50 connections of the load benchmark.
  perClient: 64,
};

/** File descriptors kept for the server's own work when connections are capped by the open-file limit (it uses about 30 at rest). */
const RESERVED_DESCRIPTORS = 256;

/** The options node's http server is created with (passed to @hono/node-server's serve() as serverOptions). */
export function httpServerOptions(limits: ConnectionLimits): ServerOptions {
  return {
    headersTimeout: limits.headersMs,
    requestTimeout: limits.requestMs,
    keepAliveTimeout: limits.keepAliveMs,
    connectionsCheckingInterval: limits.checkEveryMs,
  };
}

/** Caps the server's connections (the limit given, else the open-file limit less what the server keeps for itself), and each client's. */
export function capConnections(server: Server, limits: ConnectionLimits): void {
  const cap = limits.maxConnections ?? connectionsForOpenFileLimit(openFileLimit());
  if (cap !== null) server.maxConnections = cap;
  if (limits.perClient !== null) capConnectionsPerClient(server, limits.perClient);
}

function capConnectionsPerClient(server: Server, perClient: number): void {
  const held = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const client = clientKey(socket.remoteAddress);
    // No address: the client has gone already.
    if (client === null) return;
    const count = held.get(client) ?? 0;
    if (count >= perClient) {
      socket.destroy();
      return;
    }
    held.set(client, count + 1);
    socket.once('close', () => {
      const left = (held.get(client) ?? 1) - 1;
      if (left === 0) held.delete(client);
      else held.set(client, left);
    });
  });
}

/** Whom a connection's address counts against: an IPv4 address (also IPv4-mapped IPv6), or an IPv6 address's /64. */
export function clientKey(address: string | undefined): string | null {
  if (address === undefined) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined && isIPv4(mapped)) return mapped;
  if (isIPv4(address)) return address;
  const bare = address.split('%', 1)[0] as string;
  if (!isIPv6(bare)) return address;
  // Expanded to its eight groups (an embedded IPv4 tail only ever lies past the first four).
  const [head = '', tail] = bare.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

export function connectionsForOpenFileLimit(limit: number | null): number | null {
  if (limit === null) return null;
  return limit > 2 * RESERVED_DESCRIPTORS ? limit - RESERVED_DESCRIPTORS : Math.max(1, Math.floor(limit / 2));
}

/** The process's soft limit on open files (Linux: /proc/self/limits), or null where it cannot be read or is unlimited. */
function openFileLimit(): number | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return null;
  }
  const soft = /^Max open files\s+(\d+)\s/m.exec(text)?.[1];
  return soft === undefined ? null : Number(soft);
}
