import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { fakeServer, pushSetup } from '../support/push-server.js';
import { runCliAsync } from '../support/shared.js';

/**
 * `fleet push` is a CI step with nobody to press retry (CI=true, no stdin): a server busy with
 * other uploads (503), rate limiting (429), restarting (connection refused, or 502 and 504 from a
 * proxy in front of it) or cutting the
 * connection is tried again, after its Retry-After and a backoff with jitter, one stderr line per
 * wait, within --retry-for; past it, or refused for good (any other 4xx or 5xx), exit 2 in one
 * line naming the server and the last answer.
 */

const STORED = JSON.stringify({ apps: [{ name: 'rg', change: 'added', revision: `sha256:${'0'.repeat(64)}`, seq: 1, findings: [] }] });

function stored(res: ServerResponse): void {
  res.writeHead(201, { 'content-type': 'application/json' });
  res.end(STORED);
}

function refused(res: ServerResponse, status: number, error: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ error }));
}

const push = (url: string, extra: string[] = []): Promise<{ status: number; stdout: string; stderr: string }> => {
  const { app, tokenFile, cacheDir } = pushSetup();
  return runCliAsync(['fleet', 'push', '--server', url, '--token-file', tokenFile, ...extra, app], { cacheDir, env: { CI: 'true' } });
};

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

/** The wait each of the stderr lines announces, in seconds. */
function waits(stderr: string): number[] {
  return lines(stderr)
    .map((l) => /; sending it again in (\d+\.\d) s \(attempt \d+, /.exec(l)?.[1])
    .filter((s) => s !== undefined)
    .map(Number);
}

test('fleet push sends a push answered 503 again after its Retry-After, and exits as the answer that stored it', async () => {
  const server = await fakeServer((res) => (server.requests() === 1 ? refused(res, 503, 'busy: 3 uploads held', { 'retry-after': '1' }) : stored(res)));
  try {
    const run = await push(server.url);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^added: rg sha256:0{12} \(revision 1\), 0 findings$/m);
    assert.equal(server.requests(), 2);
    assert.equal(lines(run.stderr).length, 1, run.stderr);
    assert.match(run.stderr, /^stowage: http:\/\/127\.0\.0\.1:\d+: the fleet server refused the push \(503\): busy: 3 uploads held; sending it again in \d+\.\d s \(attempt 2, \d+\.\d s left of --retry-for 300\)\n$/);
    const [wait] = waits(run.stderr);
    assert.ok(wait !== undefined && wait >= 1 && wait <= 1.5, `waited ${wait} s: at least the Retry-After, at most its backoff's jitter more`);
  } finally {
    await server.close();
  }
});

test('fleet push sends again after 429 and after a connection cut mid-request; a Retry-After date past the bound ends it at once', async () => {
  let answers: ((res: ServerResponse) => void)[] = [];
  const server = await fakeServer((res) => (answers.shift() ?? stored)(res));
  try {
    answers = [(res) => refused(res, 429, 'slow down'), (res) => res.socket?.destroy()];
    const run = await push(server.url);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(server.requests(), 3);
    const said = lines(run.stderr);
    assert.equal(said.length, 2, run.stderr);
    assert.match(said[0] ?? '', /: the fleet server refused the push \(429\): slow down; sending it again in /);
    assert.match(said[1] ?? '', /: cannot reach the fleet server: other side closed; sending it again in .* \(attempt 3, /);
    // No Retry-After: the backoff's, from 0.5 to 1 s after the first failure, 1 to 2 s after the second.
    const [first, second] = waits(run.stderr);
    assert.ok(first !== undefined && first >= 0.5 && first <= 1, `${first}`);
    assert.ok(second !== undefined && second >= 1 && second <= 2, `${second}`);

    // An HTTP date an hour away: past --retry-for, so no wait at all.
    const later = new Date(Date.now() + 3_600_000).toUTCString();
    answers = [(res) => refused(res, 503, 'maintenance', { 'retry-after': later })];
    const before = server.requests();
    const gaveUp = await push(server.url, ['--retry-for', '600']);
    assert.equal(gaveUp.status, 2);
    assert.equal(server.requests(), before + 1);
    assert.equal(lines(gaveUp.stderr).length, 1, gaveUp.stderr);
    const asked = /^stowage: http:\/\/127\.0\.0\.1:\d+: the fleet server refused the push \(503\): maintenance; gave up after 1 attempt \(--retry-for 600\): it asks to be sent again in (\d+)\.\d s, past the bound\n$/.exec(gaveUp.stderr);
    assert.ok(asked, gaveUp.stderr);
    assert.ok(Number(asked[1]) > 3000 && Number(asked[1]) <= 3600, `the date read as ${asked[1]} s away`);
  } finally {
    await server.close();
  }
});

test('fleet push sends again a push a proxy answers 502 or 504 while the server behind it restarts', async () => {
  const gateway = (res: ServerResponse, status: number): void => {
    res.writeHead(status, { 'content-type': 'text/html' });
    res.end(`<html><body><h1>${status}</h1>nginx</body></html>`);
  };
  let answers: ((res: ServerResponse) => void)[] = [(res) => gateway(res, 502), (res) => gateway(res, 504)];
  const server = await fakeServer((res) => (answers.shift() ?? stored)(res));
  try {
    const run = await push(server.url);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^added: rg sha256:0{12} \(revision 1\), 0 findings$/m);
    assert.equal(server.requests(), 3);
    const said = lines(run.stderr);
    assert.equal(said.length, 2, run.stderr);
    assert.match(said[0] ?? '', /: the fleet server refused the push \(502\): HTTP 502; sending it again in .* \(attempt 2, /);
    assert.match(said[1] ?? '', /: the fleet server refused the push \(504\): HTTP 504; sending it again in .* \(attempt 3, /);

    // Still a gateway error when --retry-for has passed: exit 2 naming it.
    answers = [(res) => gateway(res, 502)];
    const once = await push(server.url, ['--retry-for', '0']);
    assert.equal(once.status, 2);
    assert.match(once.stderr, /^stowage: http:\/\/127\.0\.0\.1:\d+: the fleet server refused the push \(502\): HTTP 502; gave up after 1 attempt \(--retry-for 0\)\n$/);
  } finally {
    await server.close();
  }
});

test('fleet push gives up once --retry-for has passed: exit 2, the server and its last answer in one line after one line per wait', async () => {
  const server = await fakeServer((res) => refused(res, 503, 'busy', { 'retry-after': '1' }));
  try {
    const run = await push(server.url, ['--retry-for', '4']);
    assert.equal(run.status, 2);
    assert.equal(run.stdout, '');
    const said = lines(run.stderr);
    // Given up when the bound has passed, or when what is left of it is shorter than the Retry-After.
    const last = /^stowage: http:\/\/127\.0\.0\.1:\d+: the fleet server refused the push \(503\): busy; gave up after (\d+) attempts \(--retry-for 4\)(?:: it asks to be sent again in 1\.0 s, past the bound)?$/.exec(said.at(-1) ?? '');
    assert.ok(last, run.stderr);
    const attempts = Number(last[1]);
    assert.ok(attempts >= 2, run.stderr);
    assert.equal(server.requests(), attempts);
    assert.equal(waits(run.stderr).length, attempts - 1, 'one line per wait');
    assert.ok(waits(run.stderr).every((w) => w >= 1), 'never sooner than Retry-After');
    // (Each shown to a tenth of a second.)
    assert.ok(waits(run.stderr).reduce((a, b) => a + b, 0) <= 4 + 0.05 * attempts, 'the waits fit within --retry-for');

    // --retry-for 0: one attempt.
    const once = await push(server.url, ['--retry-for', '0']);
    assert.equal(once.status, 2);
    assert.equal(server.requests(), attempts + 1);
    assert.match(once.stderr, /^stowage: http:\/\/127\.0\.0\.1:\d+: the fleet server refused the push \(503\): busy; gave up after 1 attempt \(--retry-for 0\)\n$/);

    const bad = await push(server.url, ['--retry-for', '5m']);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, 'stowage: --retry-for "5m": expected a whole number of seconds, 0 (no retry) to 86400\n');
    assert.equal(server.requests(), attempts + 1, 'nothing sent');
  } finally {
    await server.close();
  }
});

test('fleet push never sends again a push refused for good: 400, 401, 413 and a 500 are final', async () => {
  let status = 400;
  const server = await fakeServer((res) => refused(res, status, `refused ${status}`, { 'retry-after': '1' }));
  try {
    for (const given of [400, 401, 413, 500]) {
      status = given;
      const before = server.requests();
      const run = await push(server.url);
      assert.equal(run.status, 2);
      assert.equal(server.requests(), before + 1, `${given}: sent once`);
      assert.match(run.stderr, new RegExp(`^stowage: http://127\\.0\\.0\\.1:\\d+: the fleet server refused the push \\(${given}\\): refused ${given}\\n$`));
    }
  } finally {
    await server.close();
  }
});

test('fleet push tries a server refusing connections again within --retry-for, then names it and the refusal', async () => {
  // A port nothing listens on: taken, then given back.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const run = await push(`http://127.0.0.1:${port}/`, ['--retry-for', '2']);
  assert.equal(run.status, 2);
  const said = lines(run.stderr);
  assert.ok(said.length >= 2, run.stderr);
  for (const line of said.slice(0, -1)) assert.match(line, new RegExp(`^stowage: http://127\\.0\\.0\\.1:${port}: cannot reach the fleet server: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}; sending it again in `));
  assert.match(said.at(-1) ?? '', new RegExp(`^stowage: http://127\\.0\\.0\\.1:${port}: cannot reach the fleet server: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}; gave up after ${said.length} attempts \\(--retry-for 2\\)$`));
});
