import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Package, PackageSource } from '../../src/core/package.js';
import { gitLocation, parsePurl, purlOf } from '../../src/core/purl.js';

const CRATES_IO: PackageSource = { kind: 'registry', url: 'https://github.com/rust-lang/crates.io-index', isDefaultRegistry: true };
const NPMJS: PackageSource = { kind: 'registry', url: 'https://registry.npmjs.org/', isDefaultRegistry: true };

function pkg(ecosystem: 'cargo' | 'npm', name: string, version: string, source: PackageSource): Package {
  return { id: `${name}@${version}`, ecosystem, name, version, source, checksum: null };
}

test('crates: pkg:cargo/NAME@VERSION, build metadata encoded, other registries and git named by qualifier', () => {
  assert.equal(purlOf(pkg('cargo', 'rand', '0.7.2', CRATES_IO)), 'pkg:cargo/rand@0.7.2');
  assert.equal(purlOf(pkg('cargo', 'wasi', '0.11.0+wasi-snapshot-preview1', CRATES_IO)), 'pkg:cargo/wasi@0.11.0%2Bwasi-snapshot-preview1');
  // Crate names keep their case (the cargo purl type is case-sensitive).
  assert.equal(purlOf(pkg('cargo', 'Inflector', '0.11.4', CRATES_IO)), 'pkg:cargo/Inflector@0.11.4');
  assert.equal(
    purlOf(pkg('cargo', 'serde', '1.0.1', { kind: 'registry', url: 'sparse+https://crates.example.com/index/', isDefaultRegistry: false })),
    'pkg:cargo/serde@1.0.1?repository_url=https://crates.example.com/index/',
  );
  // crates.io over the sparse protocol is still crates.io.
  assert.equal(purlOf(pkg('cargo', 'serde', '1.0.1', { kind: 'registry', url: 'sparse+https://index.crates.io/', isDefaultRegistry: true })), 'pkg:cargo/serde@1.0.1');
  const git: PackageSource = { kind: 'git', url: 'https://github.com/rust-lang/regex?branch=main', rev: '0123abcd', isDefaultRegistry: false };
  assert.equal(purlOf(pkg('cargo', 'regex', '1.11.0', git)), 'pkg:cargo/regex@1.11.0?vcs_url=git%2Bhttps://github.com/rust-lang/regex%400123abcd');
  assert.equal(gitLocation(git), 'git+https://github.com/rust-lang/regex@0123abcd');
});

test('npm: the scope is the namespace with its @ encoded, names lower-cased, sources as qualifiers', () => {
  assert.equal(purlOf(pkg('npm', '@angular/animation', '12.3.1', NPMJS)), 'pkg:npm/%40angular/animation@12.3.1');
  assert.equal(purlOf(pkg('npm', 'foobar', '12.3.1', NPMJS)), 'pkg:npm/foobar@12.3.1');
  assert.equal(purlOf(pkg('npm', 'JSONStream', '1.3.5', NPMJS)), 'pkg:npm/jsonstream@1.3.5');
  assert.equal(purlOf(pkg('npm', 'foobar', '1.2.3-alpha.1+build.456', NPMJS)), 'pkg:npm/foobar@1.2.3-alpha.1%2Bbuild.456');
  assert.equal(
    purlOf(pkg('npm', '@corp/ui', '2.0.0', { kind: 'registry', url: 'https://npm.corp.example/', isDefaultRegistry: false })),
    'pkg:npm/%40corp/ui@2.0.0?repository_url=https://npm.corp.example/',
  );
  // The test corpus' placeholder host is the public registry: no qualifier.
  assert.equal(purlOf(pkg('npm', 'abbrev', '1.1.1', { kind: 'registry', url: 'https://registry.invalid/', isDefaultRegistry: true })), 'pkg:npm/abbrev@1.1.1');
  const shorthand: PackageSource = { kind: 'git', url: 'github:eligrey/FileSaver.js', rev: 'b5e61ec', isDefaultRegistry: false };
  assert.equal(gitLocation(shorthand), 'git+https://github.com/eligrey/FileSaver.js.git@b5e61ec');
  assert.equal(purlOf(pkg('npm', 'file-saver', '2.0.5', shorthand)), 'pkg:npm/file-saver@2.0.5?vcs_url=git%2Bhttps://github.com/eligrey/FileSaver.js.git%40b5e61ec');
  const ssh: PackageSource = { kind: 'git', url: 'git+ssh://git@github.com/user/repo.git', rev: 'abc', isDefaultRegistry: false };
  assert.equal(gitLocation(ssh), 'git+ssh://git@github.com/user/repo.git@abc');
  const tarball: PackageSource = {
    kind: 'other',
    url: 'https://github.com/eligrey/classList.js/archive/1.2.20180112.tar.gz',
    isDefaultRegistry: false,
  };
  assert.equal(
    purlOf(pkg('npm', 'classlist.js', '1.2.20180112', tarball)),
    'pkg:npm/classlist.js@1.2.20180112?download_url=https://github.com/eligrey/classList.js/archive/1.2.20180112.tar.gz',
  );
});

test('packages that nothing outside the checkout identifies have no purl', () => {
  assert.equal(purlOf(pkg('cargo', 'grep-cli', '0.1.12', { kind: 'workspace', url: null, isDefaultRegistry: false })), null);
  assert.equal(purlOf(pkg('cargo', 'local', '0.1.0', { kind: 'path', url: '../local', isDefaultRegistry: false })), null);
  assert.equal(purlOf(pkg('npm', 'vendored', '1.0.0', { kind: 'other', url: 'file:vendor/vendored-1.0.0.tgz', isDefaultRegistry: false })), null);
});

test('every purl decodes back to the package it names', () => {
  const packages = [
    pkg('npm', '@scope/some.pkg_name~x', '1.0.0-rc.1+exp.sha.5114f85', NPMJS),
    pkg('cargo', 'tikv-jemalloc-sys', '0.7.1+5.3.1-0-g81034ce1f1373e37dc865038e1bc8eeecf559ce8', CRATES_IO),
  ];
  for (const p of packages) {
    const purl = purlOf(p) as string;
    assert.match(purl, /^pkg:[a-z]+\/[A-Za-z0-9.\-_~%:/]+@[A-Za-z0-9.\-_~%:]+$/, purl);
    const body = purl.slice(purl.indexOf('/') + 1);
    const at = body.lastIndexOf('@');
    assert.equal(decodeURIComponent(body.slice(0, at)), p.name.toLowerCase());
    assert.equal(decodeURIComponent(body.slice(at + 1)), p.version);
  }
});

test('parsePurl reads back what purlOf writes: scope, encoded +, qualifiers with / and @', () => {
  const cases: [Package, { type: string; namespace: string[]; name: string; version: string; qualifiers: [string, string][] }][] = [
    [pkg('npm', '@babel/core', '7.0.0', NPMJS), { type: 'npm', namespace: ['@babel'], name: 'core', version: '7.0.0', qualifiers: [] }],
    [pkg('cargo', 'wasi', '0.11.0+wasi-snapshot-preview1', CRATES_IO), { type: 'cargo', namespace: [], name: 'wasi', version: '0.11.0+wasi-snapshot-preview1', qualifiers: [] }],
    [
      pkg('cargo', 'serde', '1.0.1', { kind: 'git', url: 'ssh://git@github.com/serde-rs/serde', rev: 'abc123', isDefaultRegistry: false }),
      { type: 'cargo', namespace: [], name: 'serde', version: '1.0.1', qualifiers: [['vcs_url', 'git+ssh://git@github.com/serde-rs/serde@abc123']] },
    ],
  ];
  for (const [input, expected] of cases) {
    const written = purlOf(input) as string;
    const read = parsePurl(written);
    assert.ok('purl' in read, written);
    assert.deepEqual({ ...read.purl, qualifiers: [...read.purl.qualifiers] }, expected, written);
  }
});

test('parsePurl follows the specification: scheme slashes, type case, subpath, empty qualifiers; refuses what is not a purl', () => {
  const read = parsePurl('pkg://NPM/%40Scope/Name@1.0.0?repository_url=&checksum=sha1:ab#dist/x.js');
  assert.ok('purl' in read);
  assert.deepEqual({ ...read.purl, qualifiers: [...read.purl.qualifiers] }, { type: 'npm', namespace: ['@Scope'], name: 'Name', version: '1.0.0', qualifiers: [['checksum', 'sha1:ab']] });
  const noVersion = parsePurl('pkg:npm/@scope/name');
  assert.ok('purl' in noVersion);
  assert.equal(noVersion.purl.version, null);
  assert.deepEqual(noVersion.purl.namespace, ['@scope']);
  for (const [bad, reason] of [
    ['npm/x@1', 'does not start with pkg:'],
    ['pkg:x', 'no type/name'],
    ['pkg:1npm/x@1', 'type 1npm is not valid'],
    ['pkg:cargo/x@', 'empty version after @'],
    ['pkg:cargo/x@1%', 'the version has bad percent-encoding'],
    ['pkg:cargo/a%2Fb@1', 'segment a/b holds an encoded /'],
    ['pkg:cargo/x@1?a=1&a=2', 'qualifier a appears twice'],
  ]) {
    assert.deepEqual(parsePurl(bad as string), { error: reason }, bad);
  }
});

test('an SBOM is published: user-info in a lockfile source URL is left out of every purl and VCS location', () => {
  const git: PackageSource = { kind: 'git', url: 'git+https://ci:s3cret@git.corp.example/tools/dep.git?branch=main', rev: '0123abcd', isDefaultRegistry: false };
  assert.equal(gitLocation(git), 'git+https://git.corp.example/tools/dep.git@0123abcd');
  assert.equal(purlOf(pkg('cargo', 'dep', '0.1.0', git)), 'pkg:cargo/dep@0.1.0?vcs_url=git%2Bhttps://git.corp.example/tools/dep.git%400123abcd');
  const registry: PackageSource = { kind: 'registry', url: 'sparse+https://t0ken@crates.corp.example/index/', isDefaultRegistry: false };
  assert.equal(purlOf(pkg('cargo', 'serde', '1.0.1', registry)), 'pkg:cargo/serde@1.0.1?repository_url=https://crates.corp.example/index/');
  const tarball: PackageSource = { kind: 'other', url: 'https://u:s3cret@files.corp.example/x-1.0.0.tgz', isDefaultRegistry: false };
  assert.equal(purlOf(pkg('npm', 'x', '1.0.0', tarball)), 'pkg:npm/x@1.0.0?download_url=https://files.corp.example/x-1.0.0.tgz');
});
