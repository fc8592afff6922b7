import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ArchiveFile } from '../../src/core/untrusted-tar.js';
import type { VendoredPackage } from '../../src/inputs/vendor-layout.js';
import { licenseKey, licenseSources, vendoredLicenses } from '../../src/vendoring/vendored-licenses.js';
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

test('the files licences are read from: each crate\'s Cargo.toml, each npm tarball, and a pnpm index then the package.json it names', async () => {
  const pkgJson = Buffer.from(JSON.stringify({ name: 'left-pad', version: '1.3.0', license: 'WTFPL' }));
  const digest = createHash('sha512').update(pkgJson).digest();
  const hex = digest.toString('hex');
  const index = `vendor/pnpm-store/v3/files/00/${'1'.repeat(126)}-index.json`;
  const stored = `vendor/pnpm-store/v3/files/${hex.slice(0, 2)}/${hex.slice(2)}`;
  const tarball = gzipSync(await packTar([{ header: { name: 'package/package.json' }, data: manifest('MIT') }]));
  const archive: ArchiveFile[] = [
    { path: 'vendor/fnv-1.0.7/Cargo.toml', mode: 0o644, data: Buffer.from('[package]\nname = "fnv"\nversion = "1.0.7"\nlicense = "Apache-2.0 / MIT"\n') },
    { path: 'vendor/fnv-1.0.7/lib.rs', mode: 0o644, data: Buffer.from('// not read') },
    { path: TARBALL_PATH, mode: 0o644, data: tarball },
    { path: index, mode: 0o644, data: Buffer.from(JSON.stringify({ files: { 'package.json': { integrity: `sha512-${digest.toString('base64')}`, mode: 0o644 } } })) },
    { path: stored, mode: 0o644, data: pkgJson },
    { path: `vendor/pnpm-store/v3/files/ff/${'2'.repeat(126)}`, mode: 0o644, data: Buffer.from('// another stored file, not read') },
  ];
  const packages: VendoredPackage[] = [
    { ecosystem: 'cargo', name: 'fnv', version: '1.0.7', source: '', checksum: null, path: 'vendor/fnv-1.0.7' },
    { ecosystem: 'npm', name: 'dup', version: '1.0.0', source: '', checksum: null, path: TARBALL_PATH },
    { ecosystem: 'npm', name: 'left-pad', version: '1.3.0', source: '', checksum: null, path: index },
  ];
  const asked: string[][] = [];
  const read = (paths: ReadonlySet<string>): Promise<ArchiveFile[]> => {
    asked.push([...paths].sort());
    return Promise.resolve(archive.filter((f) => paths.has(f.path)));
  };
  const files = await licenseSources(packages, read);
  assert.deepEqual(asked, [[index, TARBALL_PATH, 'vendor/fnv-1.0.7/Cargo.toml'].sort(), [stored]]);
  const licenses = await vendoredLicenses(files, packages);
  const fromAll = await vendoredLicenses(archive, packages);
  assert.deepEqual([...licenses.values()].map((l) => l.license), ['Apache-2.0 OR MIT', 'MIT', 'WTFPL']);
  assert.deepEqual(licenses, fromAll, 'the same licences as from the whole archive');
});
