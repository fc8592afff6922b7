import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import { appNameProblem } from '../../src/fleet/add.js';
import { checkMultipartParts, ENTRY_FIELD } from '../../src/server/upload.js';

/** A multipart body as a client sends it: its bytes and its Content-Type (with the boundary). */
async function encoded(documents: number, withEntry: boolean): Promise<{ body: Uint8Array; type: string }> {
  const form = new FormData();
  for (let i = 0; i < documents; i += 1) form.append('file', new Blob(['x']), `doc-${i}`);
  if (withEntry) form.append(ENTRY_FIELD, '.');
  const response = new Response(form);
  return { body: new Uint8Array(await response.arrayBuffer()), type: response.headers.get('content-type') ?? '' };
}

test('checkMultipartParts: an upload of at most 1000 documents and its entry field passes; one part more is refused before parsing', async () => {
  const most = await encoded(1000, true);
  assert.doesNotThrow(() => checkMultipartParts(most.body, most.type));
  const over = await encoded(1001, true);
  assert.throws(() => checkMultipartParts(over.body, over.type), (err: unknown) => err instanceof StowageError && /more than 1000 documents/.test(err.message));
  // A quoted boundary is the same boundary.
  const quoted = over.type.replace(/boundary=(.*)$/, 'boundary="$1"');
  assert.throws(() => checkMultipartParts(over.body, quoted), StowageError);
  // No boundary: the parser refuses the body, not this count.
  assert.doesNotThrow(() => checkMultipartParts(over.body, 'multipart/form-data'));
});

test('an application name reads as itself: no bidi override, zero-width or control character', () => {
  for (const name of ['invoice\u202egnp.exe', 'web\u200bapp', 'a\u2066b', 'a\nb', 'a\u0085b', 'a\u2028b']) {
    assert.match(appNameProblem(name) ?? '', /must be printable/, JSON.stringify(name));
  }
  for (const name of ['web', 'Zürich-api', '漢字', 'a b', '<script>']) assert.equal(appNameProblem(name), null, name);
});
