import assert from 'node:assert/strict';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { freshStore, STORE_KINDS, storeSkips } from '../support/fleet-stores.js';
import { api, startServer, type TestServer } from '../support/fleet-server.js';
import { advisoryDbCheckout, runCliAsync, tempDir } from '../support/shared.js';

/**
 * Uploads are buffered whole and parsed on the server's one thread: the server takes
 * `uploadsAtOnce` of them at once (here 1) and answers one more 503 with Retry-After, nothing
 * stored, while reads go on being answered. A slot is held by an upload whose body is still
 * coming (a held-open request), and given back when it ends, however it ends.
 */

const cacheDir = tempDir('server-upload-slots-cache');
const RUSTSEC = advisoryDbCheckout();
const skips = await storeSkips();

const sbom = (version: string): string =>
  JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [{ type: 'library', name: 'smallvec', version, purl: `pkg:cargo/smallvec@${version}` }] });

/** An upload of `body` whose first half is sent now and the rest when `finish` is called; `answer` is its answer. */
function heldUpload(server: TestServer, token: string, app: string, body: string): { req: ClientRequest; finish(): void; answer: Promise<{ status: number; text: string }> } {
  const bytes = Buffer.from(body);
  const half = Math.floor(bytes.length / 2);
  const req = request(`${server.url}/api/v1/apps/${app}/revisions`, {
    method: 'POST',
    // A connection of its own: never one the server is closing after its keep-alive.
    agent: false,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(bytes.length) },
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
  req.write(bytes.subarray(0, half));
  return { req, finish: () => req.end(bytes.subarray(half)), answer };
}

/** The answers to uploads of `body` sent one after another until one is answered `status` (at most `tries`). */
async function uploadUntil(server: TestServer, token: string, body: string, status: (s: number) => boolean, stop = (): boolean => false, tries = 100): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < tries && !stop(); i += 1) {
    const pushed = await api(server, 'POST', '/apps/probe/revisions', { token, body, headers: { 'content-type': 'application/json' } });
    seen.push(pushed.status);
    if (status(pushed.status)) {
      if (pushed.status === 503) {
        assert.equal(pushed.headers.get('retry-after'), '10');
        assert.match((pushed.body as { error?: string }).error ?? '', /^the server is processing 1 uploads, as many as it takes at once; nothing was stored: send it again in 10 seconds$/);
      }
      return seen;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return seen;
}

/**
 * A held upload once it holds the only slot: an upload sent after it is answered 503. The held one
 * may itself come second (a probe took the slot while its token was checked): then it is
 * answered 503 and sent again.
 */
async function holdSlot(server: TestServer, token: string, app: string, body: string): Promise<ReturnType<typeof heldUpload>> {
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const held = heldUpload(server, token, app, body);
    let answered = false;
    held.answer.then(
      () => (answered = true),
      () => (answered = true),
    );
    // Not an SBOM: taken, it is refused 400; refused for the held upload, 503. Nothing stored either way.
    const seen = await uploadUntil(server, token, '{"not":"an sbom"}', (s) => s === 503, () => answered);
    if (seen.at(-1) === 503) return held;
    assert.ok(answered, `uploads while another holds the only slot: answered ${seen.join(', ')}`);
  }
  assert.fail('the held upload never held the slot');
}

for (const kind of STORE_KINDS) {
  test(`uploads past the bound at once are answered 503 with Retry-After; reads are answered meanwhile; the held upload is stored, the refused ones not; a slot comes back when its client goes (${kind})`, { skip: skips[kind], timeout: 120_000 }, async () => {
    const made = await freshStore(kind);
    assert.equal((await runCliAsync(['fleet', 'init', '--db', RUSTSEC, '--store', made.store], { cacheDir })).status, 0);
    const server = await startServer(made.store, cacheDir, { limits: { uploadsAtOnce: 1 } });
    try {
      const token = await server.token('ci');
      const held = await holdSlot(server, token, 'held', sbom('0.6.0'));
      // Reads are answered while the upload holds its slot.
      assert.equal((await api(server, 'GET', '/openapi.json', { token })).status, 200);
      assert.equal((await api(server, 'GET', '/apps/probe', { token })).status, 404, 'nothing stored of the refused uploads');
      assert.equal((await api(server, 'GET', '/apps/held', { token })).status, 404, 'nor of the held one yet');
      // A 503'd SBOM, valid this time: still nothing stored.
      const refused = await api(server, 'POST', '/apps/refused/revisions', { token, body: sbom('1.0.0'), headers: { 'content-type': 'application/json' } });
      assert.equal(refused.status, 503);
      assert.equal((await api(server, 'GET', '/apps/refused', { token })).status, 404);

      held.finish();
      const answer = await held.answer;
      assert.equal(answer.status, 201, answer.text);
      assert.equal((await api(server, 'GET', '/apps/held', { token })).status, 200, 'the held upload is stored');
      // Its slot is free again: the next upload is taken (and stored).
      const next = await api(server, 'POST', '/apps/next/revisions', { token, body: sbom('1.0.0'), headers: { 'content-type': 'application/json' } });
      assert.equal(next.status, 201, JSON.stringify(next.body));

      // A client that goes away mid-body gives its slot back.
      const gone = await holdSlot(server, token, 'gone', sbom('0.6.0'));
      gone.req.destroy();
      const after = await uploadUntil(server, token, '{"not":"an sbom"}', (s) => s !== 503);
      assert.equal(after.at(-1), 400, `after the client went: ${after.join(', ')}`);
      assert.equal((await api(server, 'GET', '/apps/gone', { token })).status, 404, 'nothing stored of the upload whose client went');
    } finally {
      await server.close();
      await made.dispose();
    }
  });
}
