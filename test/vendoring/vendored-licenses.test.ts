import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { licenseKey, vendoredLicenses } from '../../src/vendoring/vendored-licenses.js';
import { packTar, type TarEntry } from '../support/hostile-tar.js';

const TARBALL_PATH = 'vendor/npm-cache/_cacache/content-v2/sha512/aa/bb';

/** The licence read for `dup@1.0.0` from a tarball with these entries. */
async function licenseOf(entries: readonly TarEntry[]): Promise<string | null | undefined> {
  const data = gzipSync(await packTar(entries));
  const vendored = await vendoredLicenses(
    [{ path: TARBALL_PATH, mode: 0o644, data }],
    [{ ecosystem: 'npm', name: 'dup', version: '1.0.0', source: '', checksum: null, path: TARBALL_PATH }],
  );
  return vendored.get(licenseKey('npm', 'dup', '1.0.0'))?.license;
}

const manifest = (license: string): string => JSON.stringify({ name: 'dup', version: '1.0.0', license });

// What npm 11 installs as node_modules/dup/package.json from each tarball (checked with
// `npm install ./dup.tgz`): the licence must be read from that file.
test('an npm tarball holding package.json twice: the licence is the one npm installs, the last', async () => {
  assert.equal(
    await licenseOf([
      { header: { name: 'package/package.json' }, data: manifest('MIT') },
      { header: { name: 'package/./package.json' }, data: manifest('GPL-3.0-only') },
    ]),
    'GPL-3.0-only',
  );
  assert.equal(
    await licenseOf([
      { header: { name: 'package/./package.json' }, data: manifest('GPL-3.0-only') },
      { header: { name: 'package//package.json' }, data: manifest('ISC') },
    ]),
    'ISC',
  );
});

test('./package/package.json is package/package.json to npm, not the package manifest', async () => {
  assert.equal(
    await licenseOf([
      { header: { name: 'package/package.json' }, data: manifest('MIT') },
      { header: { name: './package/package.json' }, data: manifest('GPL-3.0-only') },
    ]),
    'MIT',
  );
});
