import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { clientKey, connectionsForOpenFileLimit } from '../../src/server/connections.js';
import { startServer, type TestServer } from '../support/fleet-server.js';
import { freshStore, storeSkips } from '../support/fleet-stores.js';
import { tempDir } from '../support/shared.js';

/**
 * Slow clients against the fleet server (over real HTTP on loopback, with small limits so the
 * test takes seconds; `fleet serve`'s own are checked in test/cli/fleet-serve.test.ts): one
 * that sends its headers or its body a byte at a time is answered 408 and cut, an idle
 * keep-alive connection is closed, and past the cap on connections a new one is closed at once
 * while the server goes on answering the others, and everyone once the slow ones are cut.
 */

const skips = await storeSkips();

/** A client that sends `first`, then `drip` one byte at a time every `everyMs`, and resolves with what the server answered once it closes. */
function slowClient(url: string, first: string, drip: string, everyMs: number, from = '127.0.0.1'): { socket: Socket; answer: Promise<string> } {
  const { port } = new URL(url);
  const socket = connect({ port: Number(port), host: '127.0.0.1', localAddress: from });
  let received = '';
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    socket.write(first);
    timer = setInterval(() => socket.write(drip[sent++ % drip.length] as string), everyMs);
  });
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  const answer = new Promise<string>((resolve) => {
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve(received);
    });
  });
  return { socket, answer };
}

const LIMITS = { headersMs: 400, requestMs: 1500, keepAliveMs: 300, checkEveryMs: 100, maxConnections: 4, perClient: null };

test('slow clients are cut, idle connections closed, and connections capped (sqlite)', { skip: skips.sqlite, timeout: 60_000 }, async () => {
  const made = await freshStore('sqlite');
  let server: TestServer | null = null;
  try {
    server = await startServer(made.store, tempDir('server-connections-cache'), { connections: LIMITS });
    const { url } = server;
    const status = async (): Promise<number | string> => {
      try {
        const r = await fetch(`${url}/api/v1/openapi.json`, { headers: { connection: 'close' } });
        await r.arrayBuffer();
        return r.status;
      } catch (err) {
        return (err as { cause?: { code?: string } }).cause?.code ?? 'failed';
      }
    };
    assert.equal(await status(), 200);

    // Headers a byte at a time (a byte every 100 ms, never ending): 408, and the connection is closed.
    const headers = slowClient(url, 'GET /api/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: a\r\n', 100);
    assert.match(await headers.answer, /^HTTP\/1\.1 408 /);

    // A body dripped in, to a form anyone may post (signing in): 408 too.
    const form = 'token=stw_x&next=%2F';
    const body = slowClient(url, `POST /sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length + 1000}\r\n\r\n`, form, 100);
    assert.match(await body.answer, /^HTTP\/1\.1 408 /);

    // A keep-alive connection left idle after its answer is closed by the server.
    const idle = slowClient(url, 'GET /api/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', '', 60_000);
    assert.match(await idle.answer, /^HTTP\/1\.1 200 /);

    // As many slow clients as the cap: the next connection is closed at once, the server is not exhausted.
    const held = [0, 1, 2, 3].map(() => slowClient(url, 'GET / HTTP/1.1\r\n', 'X-Slow: a\r\n', 100));
    const http = server.http;
    while ((await new Promise<number>((resolve, reject) => http.getConnections((err, n) => (err ? reject(err) : resolve(n))))) < LIMITS.maxConnections) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.notEqual(await status(), 200, 'past the cap, a new connection is refused');
    for (const h of held) assert.match(await h.answer, /^HTTP\/1\.1 408 /);
    assert.equal(await status(), 200, 'once the slow clients are cut, everyone is answered again');
  } finally {
    await server?.close();
    await made.dispose();
  }
});

test('connections are capped below the open-file limit, keeping descriptors for the server itself', () => {
  assert.equal(connectionsForOpenFileLimit(20_000), 19_744);
  assert.equal(connectionsForOpenFileLimit(1024), 768);
  assert.equal(connectionsForOpenFileLimit(100), 50);
  assert.equal(connectionsForOpenFileLimit(null), null);
});

/** The server's open connections. */
function connectionsOf(server: TestServer): Promise<number> {
  return new Promise<number>((resolve, reject) => server.http.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

test('one client address holds at most its share of the connections; others are still answered (sqlite)', { skip: skips.sqlite, timeout: 60_000 }, async () => {
  const made = await freshStore('sqlite');
  let server: TestServer | null = null;
  try {
    // Slow requests are cut late here: the held connections stay held while the test looks.
    server = await startServer(made.store, tempDir('server-connections-cache'), { connections: { headersMs: 30_000, requestMs: 30_000, checkEveryMs: 1_000, maxConnections: 100, perClient: 3 } });
    const held = [0, 1, 2].map(() => slowClient(server?.url as string, 'GET /api/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: a\r\n', 100));
    while ((await connectionsOf(server)) < 3) await new Promise((resolve) => setImmediate(resolve));
    // A fourth from the same address is closed before it is read: no answer at all.
    const excess = slowClient(server.url, 'GET /api/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', '', 60_000);
    assert.equal(await excess.answer, '');
    // Another address (Linux answers all of 127/8 on loopback) is answered as ever.
    const other = slowClient(server.url, 'GET /api/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', '', 60_000, '127.0.0.2');
    assert.match(await other.answer, /^HTTP\/1\.1 200 /);
    // Once one of the first address's connections closes, it may open another.
    held[0]?.socket.destroy();
    await held[0]?.answer;
    while ((await connectionsOf(server)) > 2) await new Promise((resolve) => setImmediate(resolve));
    const again = slowClient(server.url, 'GET /api/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', '', 60_000);
    assert.match(await again.answer, /^HTTP\/1\.1 200 /);
    for (const h of held) h.socket.destroy();
  } finally {
    await server?.close();
    await made.dispose();
  }
});

test('a client is its IPv4 address, or its IPv6 /64', () => {
  assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
  assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(clientKey(undefined), null);
});

test('a body from no one known is read briefly and small: the sign-in form, a refused upload, a form with no session (sqlite)', { skip: skips.sqlite, timeout: 60_000 }, async () => {
  const made = await freshStore('sqlite');
  let server: TestServer | null = null;
  try {
    // Node's own request timeout is far off: what answers is the server's budget for anonymous bodies.
    server = await startServer(made.store, tempDir('server-connections-cache'), {
      connections: { headersMs: 60_000, requestMs: 120_000, checkEveryMs: 1_000, maxConnections: 100, perClient: null },
      limits: { anonymous: { maxBytes: 1024 * 1024, withinMs: 300 } },
    });
    const { url } = server;
    const form = 'token=stw_x&next=%2F';
    const post = (path: string, type: string, length: number, extra = ''): string =>
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://127.0.0.1\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n${extra}\r\n`;

    // A sign-in form dripped in: the dashboard's own 408 (node's has no page), the connection closed.
    const signIn = await slowClient(url, post('/sign-in', 'application/x-www-form-urlencoded', form.length + 1000), form, 100).answer;
    assert.match(signIn, /^HTTP\/1\.1 408 /);
    assert.match(signIn, /the form took too long to arrive/);
    assert.match(signIn, /\r\nconnection: close\r\n/i);
    // A sign-in form is a token and a path: a few KiB at most, refused before it is read.
    const large = await slowClient(url, post('/sign-in', 'application/x-www-form-urlencoded', 5000), form, 100).answer;
    assert.match(large, /^HTTP\/1\.1 413 /);

    // An upload with no token, dripped in: its 401 once the budget is spent, not the request timeout's 408.
    const upload = await slowClient(url, post('/api/v1/apps/x/revisions', 'application/json', 500_000), '{"a":1}', 100).answer;
    assert.match(upload, /^HTTP\/1\.1 401 /);
    assert.match(upload, /this request needs a token/);

    // A triage form with no session is refused before its body is read.
    const triage = await slowClient(url, post('/apps/x/triage', 'application/x-www-form-urlencoded', 10_000), 'state=x&', 100).answer;
    assert.match(triage, /^HTTP\/1\.1 403 /);
    assert.match(triage, /not signed in/);
    assert.match(triage, /\r\nconnection: close\r\n/i);
  } finally {
    await server?.close();
    await made.dispose();
  }
});

test('a read-only token writing is refused 403 within the budget of a refused body, not after the whole upload (sqlite)', { skip: skips.sqlite, timeout: 30_000 }, async () => {
  const made = await freshStore('sqlite');
  let server: TestServer | null = null;
  try {
    // Node's own request timeout is far off: what answers is the budget for a body the server will not take.
    server = await startServer(made.store, tempDir('server-connections-cache'), {
      connections: { headersMs: 60_000, requestMs: 120_000, checkEveryMs: 1_000, maxConnections: 100, perClient: null },
      limits: { anonymous: { maxBytes: 64 * 1024, withinMs: 300 } },
    });
    const token = await server.token('dashboard', true);
    const post = (length: number): string =>
      `POST /api/v1/apps/x/revisions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

    // Dripped in: the 403 once the budget's time is spent, not once 60 MB have come or the request timed out.
    const dripped = await slowClient(server.url, post(60_000_000), '{"a":1}', 100).answer;
    assert.match(dripped, /^HTTP\/1\.1 403 /);
    assert.match(dripped, /token dashboard is read-only/);
    assert.match(dripped, /\r\nconnection: close\r\n/i);

    // Sent at full speed: the 403 once the budget's bytes are read, the rest left unread.
    const { port } = new URL(server.url);
    const socket = connect({ port: Number(port), host: '127.0.0.1' });
    let received = '';
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const answer = new Promise<string>((resolve) => {
      socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(received));
    });
    socket.on('connect', () => {
      socket.write(post(60_000_000));
      const more = (): void => {
        while (!socket.destroyed && sent < 60_000_000 && received === '') {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', more);
        }
      };
      more();
    });
    const fast = await answer;
    assert.match(fast, /^HTTP\/1\.1 403 /);
    assert.ok(sent < 60_000_000, `the client sent all ${sent} bytes before its answer`);
  } finally {
    await server?.close();
    await made.dispose();
  }
});
