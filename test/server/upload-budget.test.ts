import assert from 'node:assert/strict';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { DEFAULT_UPLOAD_BUDGET, UploadBudget, type Reservation } from '../../src/server/upload-budget.js';
import { freshStore, STORE_KINDS, storeSkips } from '../support/fleet-stores.js';
import { api, startServer, type TestServer } from '../support/fleet-server.js';
import { advisoryDbCheckout, runCliAsync, tempDir } from '../support/shared.js';

/**
 * The server holds at most a budget of upload bytes at once, across requests: an upload reserves
 * its declared size before its body is read (a chunked one, each chunk as it comes); one that does
 * not fit waits a while for room, then is answered 503 with Retry-After, nothing of it held or
 * stored. The hold is observed through the budget's own state (UploadBudget.until), never by timing.
 */

const cacheDir = tempDir('server-upload-budget-cache');
const RUSTSEC = advisoryDbCheckout();
const skips = await storeSkips();
const KIB = 1024;

/** A CycloneDX SBOM of one crate, padded with trailing white space to `size` bytes. */
function sbom(version: string, size = 0): Buffer {
  const text = JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [{ type: 'library', name: 'smallvec', version, purl: `pkg:cargo/smallvec@${version}` }] });
  return Buffer.from(text.padEnd(size, ' '));
}

const SBOM_TYPE = { 'content-type': 'application/json' };

/** An upload whose Content-Length is sent with the first half of its body, the rest when `finish` is called; `answer` is its answer. */
function heldUpload(server: TestServer, token: string, app: string, body: Buffer): { req: ClientRequest; finish(): void; answer: Promise<{ status: number; text: string }> } {
  const half = Math.floor(body.length / 2);
  const req = request(`${server.url}/api/v1/apps/${app}/revisions`, {
    method: 'POST',
    agent: false,
    headers: { authorization: `Bearer ${token}`, ...SBOM_TYPE, 'content-length': String(body.length) },
  });
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on('response', (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
  });
  req.write(body.subarray(0, half));
  return { req, finish: () => req.end(body.subarray(half)), answer };
}

/** A body sent without a length (chunked), 4 KiB a chunk. */
function chunked(bytes: Buffer): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 4 * KIB) controller.enqueue(bytes.subarray(i, i + 4 * KIB));
      controller.close();
    },
  });
}

/** Half an upload's body held until the test sends the rest: however slow the machine, not cut as too slow (see the last test). */
const PATIENT = { bodyWithinMs: 600_000 };

const BUSY = /^the server holds as many uploads as it takes at once \(102400 bytes\); nothing was stored: send it again in 7 seconds$/;

test('the budget grants what fits, first come first served; a reservation growing comes before the queue; what is released is given to those waiting', async () => {
  const budget = new UploadBudget({ ...DEFAULT_UPLOAD_BUDGET, bytes: 100, waitMs: 60_000, retryAfterSeconds: 1 });
  const a = (await budget.reserve(20)) as Reservation;
  const b = (await budget.reserve(30)) as Reservation;
  assert.deepEqual(budget.state, { held: 50, waiting: 0 });
  // 80 does not fit: it waits; 10 would fit but comes after it.
  const c = budget.reserve(80);
  const d = budget.reserve(10);
  await budget.until((s) => s.waiting === 2);
  assert.equal(budget.state.held, 50);
  // b's body comes in chunks: room now, then none; it waits before the queue.
  assert.equal(await b.grow(40), true);
  const grown = b.grow(20);
  await budget.until((s) => s.waiting === 3);
  a.release();
  a.release();
  assert.equal(await grown, true);
  assert.deepEqual(budget.state, { held: 90, waiting: 2 });
  b.release();
  const [third, fourth] = [await c, await d];
  assert.ok(third && fourth);
  assert.deepEqual(budget.state, { held: 90, waiting: 0 });
  third.release();
  fourth.release();
  assert.deepEqual(budget.state, { held: 0, waiting: 0 });
  // Larger than the whole budget: refused at once, however long it may wait.
  assert.equal(await budget.reserve(101), null);
  assert.deepEqual(budget.state, { held: 0, waiting: 0 });
});

test('a reservation that cannot fit within the wait is refused, nothing held; those queued behind it are served once it gives up', async () => {
  const budget = new UploadBudget({ ...DEFAULT_UPLOAD_BUDGET, bytes: 100, waitMs: 20, retryAfterSeconds: 1 });
  const held = (await budget.reserve(60)) as Reservation;
  const large = budget.reserve(50);
  const small = budget.reserve(40);
  assert.equal(await large, null);
  const granted = await small;
  assert.ok(granted);
  assert.deepEqual(budget.state, { held: 100, waiting: 0 });
  assert.equal(await held.grow(1), false, 'a growth that does not fit in time is refused');
  held.release();
  granted.release();
  assert.deepEqual(budget.state, { held: 0, waiting: 0 });
});

for (const kind of STORE_KINDS) {
  test(`uploads that do not fit the bytes held are answered 503 with Retry-After, nothing held or stored; smaller ones are taken meanwhile; a waiting one is taken when room comes (${kind})`, { skip: skips[kind], timeout: 180_000 }, async () => {
    const made = await freshStore(kind);
    assert.equal((await runCliAsync(['fleet', 'init', '--db', RUSTSEC, '--store', made.store], { cacheDir })).status, 0);
    const limits = { uploadBytes: 64 * KIB };
    let server = await startServer(made.store, cacheDir, { limits, uploads: { bytes: 100 * KIB, waitMs: 0, retryAfterSeconds: 7, ...PATIENT } });
    try {
      const token = await server.token('ci');
      const budget = server.deps.uploads;
      const held = heldUpload(server, token, 'held', sbom('0.6.0', 60 * KIB));
      await budget.until((s) => s.held === 60 * KIB);
      assert.equal((await api(server, 'GET', '/openapi.json', { token })).status, 200, 'reads are answered meanwhile');

      // 50 KiB more does not fit: 503, nothing of it held, nothing stored.
      const refused = await api(server, 'POST', '/apps/refused/revisions', { token, body: sbom('1.0.0', 50 * KIB), headers: SBOM_TYPE });
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.headers.get('retry-after'), '7');
      assert.match(refused.body.error ?? '', BUSY);
      assert.deepEqual(budget.state, { held: 60 * KIB, waiting: 0 });
      assert.equal((await api(server, 'GET', '/apps/refused', { token })).status, 404);

      // Sent without a length, it is refused when its chunks pass what is left.
      const streamed = await fetch(`${server.url}/api/v1/apps/streamed/revisions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...SBOM_TYPE },
        body: chunked(sbom('1.0.0', 50 * KIB)),
        duplex: 'half',
      } as RequestInit);
      assert.equal(streamed.status, 503);
      assert.equal(streamed.headers.get('retry-after'), '7');
      assert.match(((await streamed.json()) as { error: string }).error, BUSY);
      assert.deepEqual(budget.state, { held: 60 * KIB, waiting: 0 });
      assert.equal((await api(server, 'GET', '/apps/streamed', { token })).status, 404);

      // Over an upload's own limit: 413 as ever, whatever is held.
      const large = await api(server, 'POST', '/apps/large/revisions', { token, body: sbom('1.0.0', 65 * KIB), headers: SBOM_TYPE });
      assert.equal(large.status, 413);

      // A budget of bytes, not of requests: what fits is taken while the held upload is held.
      const small = await api(server, 'POST', '/apps/small/revisions', { token, body: sbom('1.0.0'), headers: SBOM_TYPE });
      assert.equal(small.status, 201, JSON.stringify(small.body));
      const chunkedSmall = await fetch(`${server.url}/api/v1/apps/chunked-small/revisions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...SBOM_TYPE },
        body: chunked(sbom('1.0.0', 30 * KIB)),
        duplex: 'half',
      } as RequestInit);
      assert.equal(chunkedSmall.status, 201, await chunkedSmall.text());

      held.finish();
      const answer = await held.answer;
      assert.equal(answer.status, 201, answer.text);
      assert.deepEqual(budget.state, { held: 0, waiting: 0 }, 'given back once answered');
      assert.equal((await api(server, 'GET', '/apps/held', { token })).status, 200);

      // A client gone mid-body gives its bytes back.
      const gone = heldUpload(server, token, 'gone', sbom('0.6.0', 60 * KIB));
      gone.answer.catch(() => undefined);
      await budget.until((s) => s.held === 60 * KIB);
      gone.req.destroy();
      await budget.until((s) => s.held === 0);
      assert.equal((await api(server, 'GET', '/apps/gone', { token })).status, 404);
      await server.close();

      // With a wait: the upload that does not fit is taken once the held one is answered.
      server = await startServer(made.store, cacheDir, { limits, uploads: { bytes: 100 * KIB, waitMs: 600_000, retryAfterSeconds: 7, ...PATIENT } });
      const patient = server.deps.uploads;
      const first = heldUpload(server, token, 'first', sbom('0.6.0', 60 * KIB));
      await patient.until((s) => s.held === 60 * KIB);
      const second = api(server, 'POST', '/apps/second/revisions', { token, body: sbom('1.0.0', 50 * KIB), headers: SBOM_TYPE });
      await patient.until((s) => s.waiting === 1);
      assert.equal(patient.state.held, 60 * KIB, 'the waiting upload holds nothing');
      first.finish();
      assert.equal((await first.answer).status, 201);
      assert.equal((await second).status, 201);
      assert.deepEqual(patient.state, { held: 0, waiting: 0 });
    } finally {
      await server.close();
      await made.dispose();
    }
  });
}

for (const kind of STORE_KINDS) {
  test(`an upload whose body comes slower than the minimum rate is answered 408 and gives its reservation back; others are taken (${kind})`, { skip: skips[kind], timeout: 120_000 }, async () => {
    const made = await freshStore(kind);
    assert.equal((await runCliAsync(['fleet', 'init', '--db', RUSTSEC, '--store', made.store], { cacheDir })).status, 0);
    // Room for one upload of 60 KiB; a body has 1 s, plus 1 s per 16 KiB received.
    const server = await startServer(made.store, cacheDir, { limits: { uploadBytes: 64 * KIB }, uploads: { bytes: 100 * KIB, waitMs: 0, retryAfterSeconds: 7, bodyWithinMs: 1_000, bodyBytesPerSecond: 16 * KIB } });
    try {
      const token = await server.token('ci');
      const budget = server.deps.uploads;
      // Sends 30 KiB of 60 and no more: a client dripping its body, or gone silent.
      const slow = heldUpload(server, token, 'slow', sbom('0.6.0', 60 * KIB));
      await budget.until((s) => s.held === 60 * KIB);
      const answer = await slow.answer;
      assert.equal(answer.status, 408, answer.text);
      assert.deepEqual(JSON.parse(answer.text), { error: "the upload's body came slower than 16 KiB/s after its first 1 s; nothing was stored" });
      await budget.until((s) => s.held === 0);
      slow.req.destroy();
      assert.equal((await api(server, 'GET', '/apps/slow', { token })).status, 404);

      // What it held is free: an upload as large is taken.
      const next = await api(server, 'POST', '/apps/next/revisions', { token, body: sbom('1.0.0', 60 * KIB), headers: SBOM_TYPE });
      assert.equal(next.status, 201, JSON.stringify(next.body));
    } finally {
      await server.close();
      await made.dispose();
    }
  });
}
