import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { recordEvent } from '../../src/fleet/events.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { freshStore, storeSkips } from '../support/fleet-stores.js';
import { advisoryDbCheckout, CARGO_CORPUS, PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';

/**
 * `stowage fleet serve` and `fleet token` as a user runs them: the server prints where it
 * listens, a token file seeds the first token only once, and SIGTERM stops it cleanly (exit 0).
 */

const cacheDir = tempDir('fleet-serve-cache');
const RUSTSEC = advisoryDbCheckout();
const skips = await storeSkips();

interface Running {
  url: string;
  stdout: () => string;
  stop(): Promise<number | null>;
}

async function serve(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'stowage.cjs'), 'fleet', 'serve', '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, NO_COLOR: '1', STOWAGE_CACHE_DIR: cacheDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /^stowage fleet server on (http:\/\/127\.0\.0\.1:\d+)\/ /m.exec(out);
      if (m) resolve(m[1] as string);
    });
    void exited.then((code) => reject(new Error(`fleet serve exited ${code}: ${out}${err}`)));
  });
  return {
    url,
    stdout: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

const get = (url: string, token?: string): Promise<number> =>
  fetch(`${url}/api/v1/apps`, { headers: token ? { authorization: `Bearer ${token}` } : {} }).then(async (r) => (await r.arrayBuffer(), r.status));

test('fleet serve: prints its address, seeds the token file once, stops cleanly; fleet token create/list/revoke', { skip: skips.sqlite }, async () => {
  const store = await freshStore('sqlite');
  try {
    const fleet = (...args: string[]) => runCliAsync(['fleet', ...args, '--store', store.store], { cacheDir });
    assert.equal((await fleet('init', '--db', RUSTSEC)).status, 0);
    const seed = `stw_${randomBytes(32).toString('base64url')}`;
    const tokenFile = join(tempDir('fleet-serve-token'), 'seed.token');
    writeFileSync(tokenFile, `${seed}\n`);

    const first = await serve(['--store', store.store, '--token-file', tokenFile]);
    assert.match(first.stdout(), /stored the token of .*seed\.token as "token-file"/);
    assert.equal(await get(first.url, seed), 200);
    assert.equal(await get(first.url), 401);
    assert.equal(await first.stop(), 0, 'SIGTERM: a clean stop');
    assert.match(first.stdout(), /stopping: finishing the requests under way/);

    // Revoked, it does not come back with a restart on the same file.
    assert.equal((await fleet('token', 'revoke', 'token-file')).status, 0);
    const created = await fleet('token', 'create', 'ci');
    assert.equal(created.status, 0);
    assert.match(created.stdout, /^stw_[A-Za-z0-9_-]{43}\n$/, 'the token alone on standard output');
    const again = await serve(['--store', store.store, '--token-file', tokenFile]);
    assert.doesNotMatch(again.stdout(), /stored the token/);
    assert.equal(await get(again.url, seed), 401);
    assert.equal(await get(again.url, created.stdout.trim()), 200);
    assert.equal(await again.stop(), 0);

    const list = JSON.parse((await fleet('token', 'list', '--format', 'json')).stdout) as { tokens: { name: string; readOnly: boolean; revokedAt: string | null }[] };
    assert.deepEqual(
      list.tokens.map((k) => [k.name, k.readOnly, k.revokedAt !== null]),
      [
        ['token-file', false, true],
        ['ci', false, false],
      ],
    );
    assert.doesNotMatch(JSON.stringify(list), new RegExp(created.stdout.trim()), 'a token is never shown again');
    const taken = await fleet('token', 'create', 'ci');
    assert.equal(taken.status, 2);
    assert.match(taken.stderr, /^stowage: a token named "ci" exists already/);
    assert.equal((await fleet('token', 'create', 'bad name')).status, 2);
    for (const bad of [['--listen', 'example.com:80'], ['--listen', '127.0.0.1:99999'], ['--sync-every', '5x']]) {
      const r = await fleet('serve', ...bad);
      assert.equal(r.status, 2, bad.join(' '));
      assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    }
  } finally {
    await store.dispose();
  }
});

test('fleet serve: SIGTERM lets a request under way finish before the store closes (an upload that pauses past 2 s)', { skip: skips.sqlite }, async () => {
  const store = await freshStore('sqlite');
  try {
    const fleet = (...args: string[]) => runCliAsync(['fleet', ...args, '--store', store.store], { cacheDir });
    assert.equal((await fleet('init', '--db', RUSTSEC)).status, 0);
    const token = `stw_${randomBytes(32).toString('base64url')}`;
    const tokenFile = join(tempDir('fleet-serve-drain'), 'seed.token');
    writeFileSync(tokenFile, `${token}\n`);
    const running = await serve(['--store', store.store, '--token-file', tokenFile]);

    // A Cargo.lock pushed as multipart, its body sent in two halves with the stop in between.
    const lockfile = readFileSync(join(CARGO_CORPUS, 'ripgrep-2024-09-01.Cargo.lock'));
    const boundary = 'stowage-drain-test';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="Cargo.lock"\r\ncontent-type: application/octet-stream\r\n\r\n`),
      lockfile,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const url = new URL(`${running.url}/api/v1/apps/drained/revisions`);
    const req = request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) },
    });
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req.once('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.once('error', reject);
    });
    const half = Math.floor(body.length / 2);
    req.write(body.subarray(0, half));
    await sleep(1000); // the server has the request under way
    const stopped = running.stop();
    while (!/stopping: finishing the requests under way/.test(running.stdout())) await sleep(50);
    await sleep(2500); // longer than a stop used to wait before it cut connections and closed the store
    req.end(body.subarray(half));
    const answer = await answered;
    assert.equal(answer.status, 201, answer.text);
    assert.equal((JSON.parse(answer.text) as { apps: { name: string; change: string }[] }).apps[0]?.change, 'added');
    assert.equal(await stopped, 0, 'the stop ends cleanly once the request is answered');
    const shown = await fleet('show', 'drained', '--format', 'json');
    assert.ok(shown.status === 0 || shown.status === 1, shown.stderr);
    assert.equal((JSON.parse(shown.stdout) as { apps: { name: string }[] }).apps[0]?.name, 'drained', 'the upload was stored');
  } finally {
    await store.dispose();
  }
});

test('fleet serve: a client sending its headers a byte a second is answered 408 and cut (node alone waited 60-90 s)', { skip: skips.sqlite, timeout: 50_000 }, async () => {
  const store = await freshStore('sqlite');
  try {
    assert.equal((await runCliAsync(['fleet', 'init', '--db', RUSTSEC, '--store', store.store], { cacheDir })).status, 0);
    const running = await serve(['--store', store.store]);
    try {
      const socket = connect(Number(new URL(running.url).port), '127.0.0.1');
      let received = '';
      let timer: NodeJS.Timeout | undefined;
      socket.on('connect', () => {
        socket.write('GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n');
        timer = setInterval(() => socket.write('X'), 1000);
      });
      socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
      await new Promise<void>((resolve) => {
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(timer);
          resolve();
        });
      });
      assert.match(received, /^HTTP\/1\.1 408 /);
    } finally {
      assert.equal(await running.stop(), 0);
    }
  } finally {
    await store.dispose();
  }
});

test('fleet serve --connections-per-client: past the cap a client\'s new connection is closed unread; a bad value exits 2', { skip: skips.sqlite, timeout: 50_000 }, async () => {
  const store = await freshStore('sqlite');
  try {
    assert.equal((await runCliAsync(['fleet', 'init', '--db', RUSTSEC, '--store', store.store], { cacheDir })).status, 0);
    const bad = await runCliAsync(['fleet', 'serve', '--store', store.store, '--connections-per-client', 'many'], { cacheDir });
    assert.deepEqual([bad.status, bad.stderr], [2, 'stowage: --connections-per-client "many": expected a whole number of connections (0: no cap)\n']);
    const running = await serve(['--store', store.store, '--connections-per-client', '1']);
    try {
      const port = Number(new URL(running.url).port);
      // One connection, its request not finished: the client's one.
      const held = connect(port, '127.0.0.1');
      held.on('error', () => undefined);
      await new Promise((resolve) => held.once('connect', resolve));
      held.write('GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n');
      const status = await fetch(`${running.url}/api/v1/openapi.json`).then(
        (r) => r.status,
        (err: { cause?: { code?: string } }) => err.cause?.code ?? 'failed',
      );
      assert.notEqual(status, 200, 'a second connection of the same client is refused');
      held.destroy();
    } finally {
      assert.equal(await running.stop(), 0);
    }
  } finally {
    await store.dispose();
  }
});

/** A GET of `path` naming `host` as its Host (what a page at that name reaches when the name points at 127.0.0.1): status and body. */
function getAs(url: string, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('fleet serve --public-read on 127.0.0.1: a request naming another Host (a DNS-rebinding page) is refused 403; loopback names are answered', { skip: skips.sqlite }, async () => {
  const store = await freshStore('sqlite');
  try {
    const fleet = (...args: string[]) => runCliAsync(['fleet', ...args, '--store', store.store], { cacheDir });
    assert.equal((await fleet('init', '--db', RUSTSEC)).status, 0);
    const app = tempDir('fleet-serve-rebind');
    writeFileSync(join(app, 'Cargo.lock'), readFileSync(join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.lock')));
    assert.ok([0, 1].includes((await fleet('add', app, '--name', 'secret-app')).status));
    const server = await serve(['--store', store.store, '--public-read']);
    try {
      const port = new URL(server.url).port;
      for (const path of ['/api/v1/apps', '/', '/apps/secret-app']) {
        for (const host of [`rebind.attacker.example:${port}`, `127.0.0.1.attacker.example:${port}`, 'localhost.attacker.example']) {
          const refused = await getAs(server.url, path, host);
          assert.equal(refused.status, 403, `${path} as ${host}`);
          assert.doesNotMatch(refused.body, /secret-app/);
          assert.equal((JSON.parse(refused.body) as { error: string }).error, `Host ${JSON.stringify(host)} refused: this server listens on 127.0.0.1, which only this machine reaches, as 127.0.0.1, [::1], localhost`);
        }
        for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', '[::1]']) {
          const answered = await getAs(server.url, path, host);
          assert.equal(answered.status, 200, `${path} as ${host}`);
          assert.match(answered.body, /secret-app/);
        }
      }
    } finally {
      assert.equal(await server.stop(), 0);
    }
  } finally {
    await store.dispose();
  }
});

test('fleet serve: an event whose webhook post failed is posted again when due, though nothing changes meanwhile (the server had retried only after a change)', { skip: skips.sqlite }, async () => {
  const store = await freshStore('sqlite');
  const received: string[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  try {
    const fleet = (...args: string[]) => runCliAsync(['fleet', ...args, '--store', store.store], { cacheDir });
    const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
    assert.equal((await fleet('init', '--db', RUSTSEC, '--webhook', url)).status, 0);
    // An event a command recorded while the webhook was down: queued, its next attempt now due.
    const opened = await openFleetStore(store.store);
    try {
      const at = new Date(Date.now() - 60_000).toISOString();
      await opened.transaction(async (tx) => recordEvent(tx, await tx.settings(), 'sync', { schemaVersion: 1, queued: 'while the webhook was down' }, at));
    } finally {
      await opened.close();
    }
    const server = await serve(['--store', store.store]);
    try {
      for (let waited = 0; received.length === 0 && waited < 20_000; waited += 250) await sleep(250);
      assert.deepEqual(
        received.map((b) => JSON.parse(b) as unknown),
        [{ schemaVersion: 1, queued: 'while the webhook was down' }],
      );
    } finally {
      assert.equal(await server.stop(), 0);
    }
  } finally {
    await new Promise<void>((resolve) => hook.close(() => resolve()));
    await store.dispose();
  }
});

test('fleet serve --upload-memory: an upload past it waits, is answered 503 with Retry-After, and fleet push sends it again until there is room; a bad value exits 2', { skip: skips.sqlite, timeout: 120_000 }, async () => {
  const store = await freshStore('sqlite');
  try {
    const fleet = (...args: string[]) => runCliAsync(['fleet', ...args, '--store', store.store], { cacheDir });
    assert.equal((await fleet('init', '--db', RUSTSEC)).status, 0);
    for (const bad of ['32', 'lots', '-1']) {
      const r = await fleet('serve', '--upload-memory', bad);
      assert.deepEqual([r.status, r.stderr], [2, `stowage: --upload-memory ${JSON.stringify(bad)}: expected a whole number of MiB, at least 64 (one upload's limit)\n`]);
    }
    const token = `stw_${randomBytes(32).toString('base64url')}`;
    const dir = tempDir('fleet-serve-upload-memory');
    const tokenFile = join(dir, 'seed.token');
    writeFileSync(tokenFile, `${token}\n`);
    const running = await serve(['--store', store.store, '--token-file', tokenFile, '--upload-memory', '64']);
    try {
      const port = Number(new URL(running.url).port);
      // An upload of the largest size, its body never sent: the whole budget is reserved for it.
      const held = connect(port, '127.0.0.1');
      held.on('error', () => undefined);
      await new Promise((resolve) => held.once('connect', resolve));
      held.write(`POST /api/v1/apps/held/revisions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n{`);
      // Its body keeps coming (JSON white space), faster than the 64 KiB/s a body must keep to after
      // its first 10 s: a slow upload the server lets finish, holding the room all the while.
      const trickle = setInterval(() => held.write(' '.repeat(128 * 1024)), 500);
      trickle.unref();
      held.once('close', () => clearInterval(trickle));
      // Not an SBOM: taken before the held upload reserves its room, it is answered 400 at once; after, 503.
      let busy: Response | null = null;
      for (let i = 0; i < 100 && busy === null; i++) {
        const probe = await fetch(`${running.url}/api/v1/apps/probe/revisions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"not":"an sbom"}' });
        if (probe.status === 503) busy = probe;
        else assert.equal(probe.status, 400, await probe.text());
      }
      assert.ok(busy, 'the held upload never took the room');
      assert.equal(busy.headers.get('retry-after'), '5');
      assert.deepEqual(await busy.json(), { error: 'the server holds as many uploads as it takes at once (67108864 bytes); nothing was stored: send it again in 5 seconds' });

      // fleet push is answered 503 too, says so, and waits; once the held upload is gone it is stored.
      const app = join(dir, 'rg.Cargo.lock');
      writeFileSync(app, readFileSync(join(CARGO_CORPUS, 'ripgrep-2024-09-01.Cargo.lock')));
      const pushing = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'stowage.cjs'), 'fleet', 'push', '--server', running.url, '--token-file', tokenFile, '--retry-for', '100', app], {
        env: { ...process.env, NO_COLOR: '1', STOWAGE_CACHE_DIR: cacheDir, CI: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      pushing.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<number | null>((resolve) => pushing.once('close', (code) => resolve(code)));
      await new Promise<void>((resolve) => {
        pushing.stderr.on('data', (c: Buffer) => {
          err += c.toString();
          if (err.includes('\n')) resolve();
        });
        void exited.then(() => resolve());
      });
      assert.match(err, /^stowage: http:\/\/127\.0\.0\.1:\d+: the fleet server refused the push \(503\): the server holds as many uploads as it takes at once \(67108864 bytes\); nothing was stored: send it again in 5 seconds; sending it again in \d+\.\d s \(attempt 2, /);
      held.destroy();
      const status = await exited;
      assert.ok(status === 0 || status === 1, `${status}: ${err}`);
      assert.match(out, /^added: rg sha256:[0-9a-f]{12} \(revision 1\)/);
      assert.equal((await fleet('show', 'held')).status, 2, 'nothing stored of the held upload');
    } finally {
      assert.equal(await running.stop(), 0);
    }
  } finally {
    await store.dispose();
  }
});
