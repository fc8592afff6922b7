import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StowageError } from '../../../src/core/errors.js';
import { readImageArchive } from '../../../src/inputs/oci/image.js';
import { SHIPPED_LIMITS, type ShippedLimits } from '../../../src/inputs/shipped-limits.js';
import { gzipBombTar, packTar } from '../../support/hostile-tar.js';
import { realRustBinary, tarFile } from '../../support/shipped-artifacts.js';

/**
 * Layer bombs: an image whose layers expand far past their size. The caps (shipped-limits.ts)
 * are given smaller here so that each is reached in a moment; the CLI test in
 * test/cli/audit-images.test.ts runs a real one against the defaults.
 */

const MiB = 1024 * 1024;
const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

async function image(layer: Buffer): Promise<Buffer> {
  return packTar([tarFile('manifest.json', JSON.stringify([{ RepoTags: ['bomb:1'], Layers: ['l/layer.tar'] }])), tarFile('l/layer.tar', layer)]);
}

const limits = (given: Partial<ShippedLimits>): ShippedLimits => ({ ...SHIPPED_LIMITS, ...given });

async function refusal(archive: Buffer, given: Partial<ShippedLimits>): Promise<string> {
  try {
    await readImageArchive('bomb.tar', archive, limits(given));
  } catch (err) {
    assert.ok(err instanceof StowageError, String(err));
    return err.line;
  }
  assert.fail('the image was read');
}

test('a layer that expands past the byte cap is refused, naming the layer and the cap', async () => {
  const archive = await image(await gzipBombTar([], { name: 'usr/share/zeros', size: 64 * MiB }));
  assert.ok(archive.length < MiB, `the bomb is small: ${archive.length} bytes`);
  assert.match(await refusal(archive, { maxBytes: 16 * MiB }), /^bomb\.tar:l\/layer\.tar: entry "usr\/share\/zeros": the archive expands past 16777216 bytes$/);
});

test('a layer of more entries than the cap is refused', async () => {
  const entries = Array.from({ length: 1500 }, (_, i) => tarFile(`e/${i}`, ''));
  assert.match(await refusal(await image(await packTar(entries)), { maxEntries: 1000 }), /^bomb\.tar:l\/layer\.tar: entry "e\/1000": more than 1000 entries$/);
});

test('a file kept whole (it starts as an ELF binary) past its cap is refused; one that is not kept is only counted', async () => {
  const elfBomb = await image(await gzipBombTar([], { name: 'usr/bin/bomb', size: 32 * MiB, head: ELF }));
  assert.match(await refusal(elfBomb, { maxKeptFileBytes: 8 * MiB }), /^bomb\.tar:l\/layer\.tar: entry "usr\/bin\/bomb": a file read whole \(a binary, a manifest\) larger than 8388608 bytes$/);

  // Four times the cap on one kept file, not held: the image is read, and its real binary found.
  const binary = readFileSync(realRustBinary());
  const layer = await gzipBombTar([tarFile('usr/bin/tool', binary, 0o755)], { name: 'usr/share/zeros', size: 4 * (binary.length + MiB) });
  const read = await readImageArchive('ok.tar', await image(layer), limits({ maxKeptFileBytes: binary.length + MiB }));
  assert.deepEqual(read.graphs.map((g) => g.path), ['ok.tar:usr/bin/tool']);
  assert.deepEqual([read.artifact.name, read.artifact.version], ['bomb', '1']);
});
