import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { tarBytes } from '../../src/core/archive.js';
import { jsonContainers, MAX_JSON_CONTAINERS } from '../../src/server/upload.js';
import { freshStore, STORE_KINDS, storeSkips } from '../support/fleet-stores.js';
import { api, startServer } from '../support/fleet-server.js';
import { advisoryDbCheckout, runCliAsync, tempDir } from '../support/shared.js';

/**
 * What an upload's archives may expand to: 32 times their own size (at least 16 MiB), where a
 * local read allows the general caps (16 GiB a layer, 4 GiB a vendor archive). Each archive here
 * is a few dozen KiB of gzip holding 40 MiB of zeros (1,000 times): the server answers 413 and
 * names the cap before it has inflated more than the cap; nothing is stored.
 */

const cacheDir = tempDir('server-upload-limits-cache');
const RUSTSEC = advisoryDbCheckout();
const skips = await storeSkips();

const ZEROS = { path: 'zeros', mode: 0o644 as const, data: Buffer.alloc(40 * 1024 * 1024) };

function form(name: string, bytes: Buffer): FormData {
  const body = new FormData();
  body.append('document', new Blob([bytes]), name);
  return body;
}

test('an upload whose archive expands past 32 times its size is refused 413: a vendor archive, an image layer (sqlite)', { skip: skips.sqlite, timeout: 120_000 }, async () => {
  const made = await freshStore('sqlite');
  assert.equal((await runCliAsync(['fleet', 'init', '--db', RUSTSEC, '--store', made.store], { cacheDir })).status, 0);
  const server = await startServer(made.store, cacheDir);
  try {
    const token = await server.token('ci');
    const vendor = gzipSync(tarBytes([ZEROS], 0));
    const pushedVendor = await api(server, 'POST', '/apps/bomb/revisions', { token, body: form('bomb-vendor.tar.gz', vendor) });
    assert.equal(pushedVendor.status, 413, JSON.stringify(pushedVendor.body));
    assert.match(pushedVendor.body.error ?? '', /^bomb-vendor\.tar\.gz: entry "zeros": the archive expands past 16777216 bytes \(an upload's archive may expand to 32 times its size, at least 16 MiB\)$/);

    const layer = gzipSync(tarBytes([ZEROS], 0));
    const manifest = Buffer.from(JSON.stringify([{ Config: 'config.json', RepoTags: ['bomb:1'], Layers: ['layer.tar.gz'] }]));
    const image = tarBytes([{ path: 'manifest.json', mode: 0o644, data: manifest }, { path: 'config.json', mode: 0o644, data: Buffer.from('{}') }, { path: 'layer.tar.gz', mode: 0o644, data: layer }], 0);
    const pushedImage = await api(server, 'POST', '/apps/bomb/revisions', { token, body: form('bomb.tar', image) });
    assert.equal(pushedImage.status, 413, JSON.stringify(pushedImage.body));
    assert.match(pushedImage.body.error ?? '', /^bomb\.tar:layer\.tar\.gz: entry "zeros": the archive expands past 16777216 bytes \(an upload's archive/);
    assert.equal((await api(server, 'GET', '/apps/bomb', { token })).status, 404, 'nothing stored');
  } finally {
    await server.close();
    await made.dispose();
  }
});

for (const kind of STORE_KINDS) {
  test(`an upload whose JSON opens more than a million objects and arrays is refused 413 before it is parsed; nothing stored (${kind})`, { skip: skips[kind], timeout: 120_000 }, async () => {
    const made = await freshStore(kind);
    assert.equal((await runCliAsync(['fleet', 'init', '--db', RUSTSEC, '--store', made.store], { cacheDir })).status, 0);
    const server = await startServer(made.store, cacheDir);
    try {
      const token = await server.token('ci');
      // 3 MiB here; 64 MiB of it (22 million objects) took a server out of memory.
      const components = `${'{},'.repeat(MAX_JSON_CONTAINERS)}{}`;
      const sbom = `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[${components}]}`;
      const pushed = await api(server, 'POST', '/apps/bomb/revisions', { token, body: sbom, headers: { 'content-type': 'application/json' } });
      assert.equal(pushed.status, 413, JSON.stringify(pushed.body));
      assert.match(pushed.body.error ?? '', /^bom\.cdx\.json: the upload's JSON documents open more than 1000000 objects and arrays \(a JSON bomb/);
      // In a lockfile of a multipart upload as well, counted over all its documents.
      const half = `{"packages":{${Array.from({ length: MAX_JSON_CONTAINERS / 2 }, (_, i) => `"${i}":{}`).join(',')}}}`;
      const body = new FormData();
      body.append('document', new Blob([half]), 'package-lock.json');
      body.append('document', new Blob([half]), 'sub/package-lock.json');
      const multipart = await api(server, 'POST', '/apps/bomb/revisions', { token, body });
      assert.equal(multipart.status, 413, JSON.stringify(multipart.body));
      assert.match(multipart.body.error ?? '', /^sub\/package-lock\.json: the upload's JSON documents open more than 1000000/);
      assert.equal((await api(server, 'GET', '/apps/bomb', { token })).status, 404, 'nothing stored');
    } finally {
      await server.close();
      await made.dispose();
    }
  });
}

test('jsonContainers counts the objects and arrays a JSON text opens, not braces inside strings; UTF-16 alike; not JSON: 0', () => {
  const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');
  assert.equal(jsonContainers(utf8('{"a":[1,{"b":"{[\\"}],"c":"\\"{"}'), 100), 3);
  assert.equal(jsonContainers(utf8('\ufeff \n[[],{}]'), 100), 3);
  assert.equal(jsonContainers(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('[{"x":"{"},[]]', 'utf16le')]), 100), 3);
  assert.equal(jsonContainers(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('[{}]', 'utf16le').swap16()]), 100), 2);
  assert.equal(jsonContainers(utf8('[[[[[[[[[['), 3), 4, 'stops counting past the limit');
  assert.equal(jsonContainers(utf8('# a Cargo.lock {[{['), 100), 0);
});
