import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { StowageError } from '../../../src/core/errors.js';
import { parseCargoConfig, readCargoConfig, registryLocation } from '../../../src/ecosystems/cargo/cargo-config.js';
import { crateDownloadUrl, cratePrefix, indexFilePath, SparseIndex } from '../../../src/ecosystems/cargo/registry.js';
import { tempDir } from '../../support/shared.js';
import { publishCrate, SparseRegistry } from '../../support/sparse-registry.js';

const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';

test('index file paths follow the 1, 2, 3 and 4+ letter rules, lowercased', () => {
  assert.equal(indexFilePath('a'), '1/a');
  assert.equal(indexFilePath('ab'), '2/ab');
  assert.equal(indexFilePath('abc'), '3/a/abc');
  assert.equal(indexFilePath('Abc'), '3/a/abc');
  assert.equal(indexFilePath('cargo'), 'ca/rg/cargo');
  assert.equal(indexFilePath('Serde_JSON'), 'se/rd/serde_json');
  assert.equal(indexFilePath('cfg-if'), 'cf/g-/cfg-if');
  // {prefix} keeps the name's case; only the index path and {lowerprefix} lower it.
  assert.equal(cratePrefix('AbCd'), 'Ab/Cd');
  assert.equal(cratePrefix('Abc'), '3/A');
});

test('download URLs: dl without markers gets /{crate}/{version}/download appended', () => {
  assert.equal(crateDownloadUrl('https://crates.io/api/v1/crates', 'serde', '1.0.0', 'x'), 'https://crates.io/api/v1/crates/serde/1.0.0/download');
  // Appended verbatim, as Cargo does: a trailing slash stays.
  assert.equal(crateDownloadUrl('https://r.example/dl/', 'a', '0.1.0', 'x'), 'https://r.example/dl//a/0.1.0/download');
  assert.equal(crateDownloadUrl('https://r.example/dl', 'pre', '1.0.0-rc.1+build.5', 'x'), 'https://r.example/dl/pre/1.0.0-rc.1+build.5/download');
});

test('download URLs: every marker of the dl template is replaced', () => {
  const sum = 'ab'.repeat(32);
  assert.equal(
    crateDownloadUrl('https://r.example/{prefix}/{lowerprefix}/{crate}/{crate}-{version}.crate?sum={sha256-checksum}', 'MyCrate', '2.1.0', sum),
    `https://r.example/My/Cr/my/cr/MyCrate/MyCrate-2.1.0.crate?sum=${sum}`,
  );
  assert.equal(crateDownloadUrl('https://r.example/{lowerprefix}/{crate}', 'Abc', '1.0.0', sum), 'https://r.example/3/a/Abc');
  assert.equal(crateDownloadUrl('https://r.example/{sha256-checksum}', 'x', '1.0.0', sum), `https://r.example/${sum}`);
  assert.equal(crateDownloadUrl('https://r.example/{version}', 'x', '1.0.0', sum), 'https://r.example/1.0.0');
});

function config(text: string) {
  return parseCargoConfig('/app/.cargo/config.toml', text);
}

test('crates.io maps to its sparse index unless the project replaces it', () => {
  const none = config('');
  assert.deepEqual(registryLocation(none, CRATES_IO), { indexUrl: 'https://index.crates.io/', name: 'crates-io' });
  assert.deepEqual(registryLocation(none, 'sparse+https://index.crates.io/'), { indexUrl: 'https://index.crates.io/', name: 'crates-io' });

  const mirrored = config('[source.crates-io]\nreplace-with = "mirror"\n[source.mirror]\nregistry = "sparse+http://127.0.0.1:9/index"\n');
  assert.deepEqual(registryLocation(mirrored, CRATES_IO), { indexUrl: 'http://127.0.0.1:9/index/', name: 'mirror' });

  // A chain of replacements is followed to its end.
  const chained = config(
    '[source.crates-io]\nreplace-with = "a"\n[source.a]\nregistry = "sparse+https://a.example/"\nreplace-with = "b"\n[source.b]\nregistry = "sparse+https://b.example/"\n',
  );
  assert.equal(registryLocation(chained, CRATES_IO).indexUrl, 'https://b.example/');

  // Replaced by the crates.io git index itself: read through the sparse protocol.
  const gitMirror = config('[source.crates-io]\nreplace-with = "m"\n[source.m]\nregistry = "https://github.com/rust-lang/crates.io-index"\n');
  assert.equal(registryLocation(gitMirror, CRATES_IO).indexUrl, 'https://index.crates.io/');
});

test('alternative registries: sparse ones by URL, git indexes only through a sparse mirror', () => {
  const cfg = config(
    [
      '[registries.company]',
      'index = "sparse+https://cargo.company.example/index/"',
      '[registries.legacy]',
      'index = "https://git.company.example/index.git"',
      '[source.legacy-mirror]',
      'registry = "sparse+https://mirror.company.example/"',
      '[source.legacy]',
      'registry = "https://git.company.example/index"',
      'replace-with = "legacy-mirror"',
    ].join('\n'),
  );
  assert.deepEqual(registryLocation(cfg, 'sparse+https://cargo.company.example/index/'), {
    indexUrl: 'https://cargo.company.example/index/',
    name: 'company',
  });
  assert.deepEqual(registryLocation(cfg, 'registry+https://git.company.example/index.git'), {
    indexUrl: 'https://mirror.company.example/',
    name: 'legacy-mirror',
  });
  // A sparse registry the configuration does not know is still fetched from its URL.
  assert.equal(registryLocation(cfg, 'sparse+https://other.example/idx').indexUrl, 'https://other.example/idx/');
  assert.throws(
    () => registryLocation(cfg, 'registry+https://unknown.example/index'),
    (err: unknown) => err instanceof StowageError && /is a git index: stowage reads sparse indexes only/.test(err.message),
  );
});

test('local-registry, directory, git and missing replacements are refused clearly', () => {
  const cases: [string, RegExp][] = [
    ['[source.crates-io]\nreplace-with = "v"\n[source.v]\ndirectory = "vendor"\n', /replaced with the directory source `v`/],
    ['[source.crates-io]\nreplace-with = "v"\n[source.v]\nlocal-registry = "/srv/reg"\n', /replaced with the local-registry source `v`/],
    ['[source.crates-io]\nreplace-with = "g"\n[source.g]\ngit = "https://x.example/r"\n', /git source `g`/],
    ['[source.crates-io]\nreplace-with = "nowhere"\n', /`nowhere`, which \[source\] does not define/],
    ['[source.crates-io]\nreplace-with = "a"\n[source.a]\nregistry = "sparse+https://a/"\nreplace-with = "crates-io"\n', /replacement of `crates-io` loops through `crates-io`/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => registryLocation(config(text), CRATES_IO),
      (err: unknown) => err instanceof StowageError && err.file === '/app/.cargo/config.toml' && pattern.test(err.message),
      text,
    );
  }
});

test('a malformed config file is an error naming the file and position', () => {
  assert.throws(
    () => config('[source.crates-io\nreplace-with = 1'),
    (err: unknown) => err instanceof StowageError && err.file === '/app/.cargo/config.toml' && err.position !== undefined,
  );
  assert.throws(
    () => config('[source.crates-io]\nreplace-with = 1\n'),
    (err: unknown) => err instanceof StowageError && /source\.crates-io\.replace-with must be a string/.test(err.message),
  );
});

test('the legacy .cargo/config wins over .cargo/config.toml, as in Cargo', () => {
  const dir = tempDir('cargo-config');
  assert.equal(readCargoConfig(dir).path, null);
  mkdirSync(join(dir, '.cargo'));
  writeFileSync(join(dir, '.cargo', 'config.toml'), '[source.crates-io]\nreplace-with = "a"\n[source.a]\nregistry = "sparse+https://a.example/"\n');
  assert.equal(registryLocation(readCargoConfig(dir), CRATES_IO).indexUrl, 'https://a.example/');
  writeFileSync(join(dir, '.cargo', 'config'), '[source.crates-io]\nreplace-with = "b"\n[source.b]\nregistry = "sparse+https://b.example/"\n');
  assert.equal(registryLocation(readCargoConfig(dir), CRATES_IO).indexUrl, 'https://b.example/');
});

// The sparse client against a real HTTP server.

const sample = publishCrate([
  { path: 'Cargo.toml', data: Buffer.from('[package]\nname = "Mixed-Case"\nversion = "0.2.0"\n') },
  { path: 'src/lib.rs', data: Buffer.from('') },
]);
const older = publishCrate([
  { path: 'Cargo.toml', data: Buffer.from('[package]\nname = "Mixed-Case"\nversion = "0.1.0"\n') },
  { path: 'src/lib.rs', data: Buffer.from('// old\n') },
]);
let registry: SparseRegistry;

before(async () => {
  registry = await SparseRegistry.start([sample, older], { dl: '/dl/{lowerprefix}/{crate}/{version}/{sha256-checksum}' });
});
after(() => registry.close());

test('the sparse index client reads config.json, entries and their cksum, each file once', async () => {
  const index = new SparseIndex(registry.indexUrl, 'test', { backoffMs: 1 });
  const [a, b] = await Promise.all([index.entry('Mixed-Case', '0.2.0'), index.entry('mixed-case', '0.1.0')]);
  assert.equal(a.cksum, sample.cksum);
  assert.equal(b.cksum, older.cksum);
  assert.equal(
    await index.downloadUrl('Mixed-Case', '0.2.0', a.cksum),
    `${registry.origin}/dl/mi/xe/Mixed-Case/0.2.0/${sample.cksum}`,
  );
  await index.downloadUrl('Mixed-Case', '0.1.0', b.cksum);
  const paths = registry.requests.map((r) => r.path);
  assert.deepEqual(paths.filter((p) => p === '/index/mi/xe/mixed-case').length, 1, paths.join(' '));
  assert.deepEqual(paths.filter((p) => p === '/index/config.json').length, 1, paths.join(' '));
  const bytes = Buffer.from(await (await fetch(`${registry.origin}/dl/mi/xe/Mixed-Case/0.2.0/${sample.cksum}`)).arrayBuffer());
  assert.ok(bytes.equals(sample.bytes), 'the templated URL serves the crate');
});

test('the sparse index client retries server errors and names what is missing', async () => {
  registry.failNext('/index/mi/xe/mixed-case', 503, 2);
  const index = new SparseIndex(registry.indexUrl, 'test', { backoffMs: 1 });
  assert.equal((await index.entry('Mixed-Case', '0.2.0')).cksum, sample.cksum);
  const statuses = registry.requests.filter((r) => r.path === '/index/mi/xe/mixed-case').map((r) => r.status);
  assert.deepEqual(statuses.slice(-3), [503, 503, 200]);

  await assert.rejects(index.entry('Mixed-Case', '9.9.9'), /Mixed-Case 9\.9\.9: registry `test` .* lists no version 9\.9\.9 of Mixed-Case/);
  await assert.rejects(index.entry('absent', '1.0.0'), /absent 1\.0\.0: registry `test` .* has no crate named absent/);

  registry.failNext('/index/ab/se/absent-too', 500, 10);
  await assert.rejects(
    new SparseIndex(registry.indexUrl, 'test', { backoffMs: 1, attempts: 3 }).entry('absent-too', '1.0.0'),
    /cannot fetch .*\/index\/ab\/se\/absent-too after 3 attempts: HTTP 500/,
  );
  await assert.rejects(new SparseIndex(`${registry.origin}/nothing/`, 'bogus', { backoffMs: 1 }).config(), /not found: .* is not a sparse index/);
});
