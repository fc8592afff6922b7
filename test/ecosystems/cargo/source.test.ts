import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../../src/core/errors.js';
import type { Package } from '../../../src/core/package.js';
import { crateNameProblem } from '../../../src/ecosystems/cargo/crate-name.js';
import { parseCargoConfig, registryLocation } from '../../../src/ecosystems/cargo/cargo-config.js';
import { parseCargoLock } from '../../../src/ecosystems/cargo/lockfile.js';
import { CargoSourceError, parseCargoSourceId } from '../../../src/ecosystems/cargo/source.js';
import { vendorConfigToml } from '../../../src/vendoring/cargo.js';
import { readCycloneDx } from '../../../src/inputs/cyclonedx-reader.js';
import { purlOf } from '../../../src/core/purl.js';

const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';

test('Cargo\'s canonical URL: one source under many spellings, exactly where cargo 1.95 says so', () => {
  const same: [a: string, b: string][] = [
    [CRATES_IO, 'registry+HTTP://GitHub.com/Rust-Lang/crates.io-index.GIT/'],
    [CRATES_IO, 'registry+https://github.com/rust-lang/crates.io-index/%2e'],
    [CRATES_IO, 'registry+https://ｇｉｔｈｕｂ.com/rust-lang/crates.io-index'],
    ['registry+https://gitlab.com/a/index', 'registry+https://GITLAB.com:443/a/index.git/'],
    ['sparse+https://cargo.example/index/', 'sparse+HTTPS://cargo.example/index'],
    ['git+https://github.com/rust-lang/regex?branch=main#0123', 'git+https://github.com/Rust-Lang/regex.git?branch=main#4567'],
    ['git+https://github.com/rust-lang/regex?ref=main', 'git+https://github.com/rust-lang/regex?branch=main'],
  ];
  for (const [a, b] of same) assert.equal(parseCargoSourceId(a).key, parseCargoSourceId(b).key, `${a} = ${b}`);
  const different: [a: string, b: string][] = [
    // Only github.com paths lose their case; a non-special URL keeps its host's case.
    ['registry+https://gitlab.com/a/index', 'registry+https://gitlab.com/A/index'],
    ['registry+https://gitlab.com/a/index', 'registry+http://gitlab.com/a/index'],
    ['sparse+https://index.crates.io/', 'sparse+https://INDEX.crates.io/'],
    // One trailing slash is dropped, and never the root's.
    ['sparse+https://index.crates.io/', 'sparse+https://index.crates.io'],
    [CRATES_IO, 'registry+https://github.com/rust-lang/crates.io-index//'],
    [CRATES_IO, 'registry+https://github.com/rust-lang/crates.io-index?'],
    [CRATES_IO, 'sparse+https://index.crates.io/'],
    ['git+https://github.com/rust-lang/regex?branch=main', 'git+https://github.com/rust-lang/regex?tag=main'],
  ];
  for (const [a, b] of different) assert.notEqual(parseCargoSourceId(a).key, parseCargoSourceId(b).key, `${a} != ${b}`);
});

test('crates.io to Cargo, crates.io\'s index host, or another registry', () => {
  const cases: [source: string, isCratesIo: boolean, servesCratesIo: boolean][] = [
    [CRATES_IO, true, true],
    ['registry+git://github.com/rust-lang/crates.io-index.git', true, true],
    ['sparse+https://index.crates.io/', true, true],
    ['sparse+https://index.crates.io//', true, true],
    ['sparse+https://index.crates.io', false, true],
    ['sparse+https://Index.Crates.IO./', false, true],
    ['registry+ssh://git@github.com/rust-lang/crates.io-index.git', false, true],
    ['registry+https://index.crates.io/', false, false],
    ['sparse+https://github.com/rust-lang/crates.io-index', false, false],
    ['sparse+https://index.crates.io/?x', false, false],
    ['registry+https://www.github.com/rust-lang/crates.io-index', false, false],
    ['git+https://github.com/rust-lang/crates.io-index', false, false],
  ];
  for (const [source, isCratesIo, servesCratesIo] of cases) {
    const id = parseCargoSourceId(source);
    assert.deepEqual([id.isCratesIo, id.servesCratesIo], [isCratesIo, servesCratesIo], source);
  }
});

test('source strings Cargo refuses to read', () => {
  for (const source of ['registry', 'Registry+https://x/', 'local-registry+file:///x', 'directory+file:///x', 'registry+', 'registry+//x', 'git+https://[x/', 'sparse+https:x/']) {
    assert.throws(() => parseCargoSourceId(source), CargoSourceError, source);
  }
});

test('package names: Cargo\'s rule (XID characters, `-`, `_`, no leading digit), nothing more', () => {
  for (const name of ['serde', 'serde_json', 'tokio-util', '_private', 'Inflector', 'café', 'a1', 'foo::bar']) {
    assert.equal(crateNameProblem(name), null, name);
  }
  const refused: [name: string, problem: RegExp][] = [
    ['', /empty/],
    ['1foo', /starts with a digit/],
    ['-foo', /starts with `-`/],
    ['fo o', /holds U\+0020/],
    ['foo.bar', /holds `\.`/],
    ['foo/bar', /holds `\/`/],
    ['foo\nbar', /holds U\+000A/],
    ['foo::', /empty `::` part/],
    ['foo:bar', /holds `:`/],
    ['ser\u001b[2Kde', /holds U\+001B/],
  ];
  for (const [name, problem] of refused) assert.match(crateNameProblem(name) ?? 'accepted', problem, JSON.stringify(name));
});

function lock(text: string): ReturnType<typeof parseCargoLock> {
  return parseCargoLock({ path: '/app/Cargo.lock', text });
}

test('a lockfile entry with a name Cargo never accepts is refused, the name shown escaped', () => {
  for (const name of ['fo o', '1foo', 'foo.bar', 'foo\nbar', 'foo\u001b[2K']) {
    const text = `version = 4\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n\n[[package]]\nname = ${JSON.stringify(name)}\nversion = "1.0.0"\nsource = "${CRATES_IO}"\n`;
    assert.throws(
      () => lock(text),
      (err: unknown) =>
        err instanceof InputError &&
        err.line.startsWith(`/app/Cargo.lock:7: [[package]] entry 2: \`name\` ${JSON.stringify(name)} is not a package name Cargo accepts: `) &&
        !err.line.includes('\n') &&
        !err.line.includes('\u001b'),
      JSON.stringify(name),
    );
  }
  // The v1 [root] entry too.
  assert.throws(() => lock('[root]\nname = "my app"\nversion = "0.1.0"\n'), /\[root\]: `name` "my app" is not a package name Cargo accepts/);
});

test('dependency strings name a source the way Cargo compares it', () => {
  const text = [
    '[root]',
    'name = "tool"',
    'version = "0.2.0"',
    'dependencies = [',
    ' "libc 0.2.29 (registry+https://github.com/rust-lang/crates.io-index.git)",',
    ']',
    '',
    '[[package]]',
    'name = "libc"',
    'version = "0.2.29"',
    `source = "${CRATES_IO}"`,
    '',
    '[metadata]',
    '"checksum libc 0.2.29 (registry+HTTPS://github.com/rust-lang/crates.io-index)" = "8a014d9226c2cc402676fbe9ea2e15dd5222cd1dd57f576b5b283178c944a264"',
    '',
  ].join('\n');
  const graph = lock(text);
  assert.deepEqual(graph.edges, [{ from: 'tool@0.2.0', to: 'libc@0.2.29', kind: 'normal' }]);
  assert.equal(graph.packages.find((p) => p.name === 'libc')?.checksum, '8a014d9226c2cc402676fbe9ea2e15dd5222cd1dd57f576b5b283178c944a264');
});

test('one crate from two sources keeps two ids, however crates.io is spelled', () => {
  const text = [
    'version = 3',
    '[[package]]',
    'name = "rsa"',
    'version = "0.9.10"',
    'source = "registry+https://github.com/Rust-Lang/crates.io-index"',
    '[[package]]',
    'name = "rsa"',
    'version = "0.9.10"',
    'source = "registry+https://corp.example/index"',
    '',
  ].join('\n');
  const ids = lock(text).packages.map((p) => [p.id, p.source.isDefaultRegistry]);
  assert.deepEqual(ids, [
    ['rsa@0.9.10', true],
    ['rsa@0.9.10 (registry+https://corp.example/index)', false],
  ]);
});

test('SBOM purls: crates.io however spelled has no repository_url', () => {
  const text = `version = 4\n[[package]]\nname = "rsa"\nversion = "0.9.10"\nsource = "registry+HTTPS://GitHub.com/rust-lang/crates.io-index.git"\n`;
  const rsa = lock(text).packages[0] as Package;
  assert.equal(purlOf(rsa), 'pkg:cargo/rsa@0.9.10');
});

test('vendored .cargo/config.toml: crates.io spellings are [source.crates-io]; one table per source', () => {
  const toml = vendorConfigToml([
    CRATES_IO,
    'registry+https://github.com/rust-lang/crates.io-index.git',
    'sparse+https://index.crates.io/',
    'sparse+https://corp.example/index/',
    'sparse+https://corp.example/index',
    'sparse+https://INDEX.crates.io/',
  ]);
  assert.equal(
    toml,
    [
      '[source.crates-io]',
      'replace-with = "vendored-sources"',
      '',
      '[source."sparse+https://INDEX.crates.io/"]',
      'registry = "sparse+https://INDEX.crates.io/"',
      'replace-with = "vendored-sources"',
      '',
      '[source."sparse+https://corp.example/index/"]',
      'registry = "sparse+https://corp.example/index/"',
      'replace-with = "vendored-sources"',
      '',
      '[source.vendored-sources]',
      'directory = "vendor"',
      '',
    ].join('\n'),
  );
});

test('.cargo/config.toml registries match the lockfile\'s source the way Cargo compares them', () => {
  const config = parseCargoConfig(
    '/app/.cargo/config.toml',
    [
      '[source.corp]',
      'registry = "https://Git.Corp.example/crates-index.git/"',
      'replace-with = "corp-sparse"',
      '[source.corp-sparse]',
      'registry = "sparse+https://cargo.corp.example/index/"',
      '[source.crates-io]',
      'replace-with = "mirror"',
      '[source.mirror]',
      'registry = "sparse+https://mirror.example/"',
    ].join('\n'),
  );
  assert.deepEqual(registryLocation(config, 'registry+https://git.corp.example/crates-index'), { indexUrl: 'https://cargo.corp.example/index/', name: 'corp-sparse' });
  assert.deepEqual(registryLocation(config, 'registry+HTTP://GitHub.com/rust-lang/crates.io-index/'), { indexUrl: 'https://mirror.example/', name: 'mirror' });
  // Cargo does not apply [source.crates-io] to a spelling it calls another registry; stowage
  // fetches it from where Cargo would: crates.io's index host.
  assert.deepEqual(registryLocation(config, 'sparse+https://INDEX.crates.io/'), { indexUrl: 'https://INDEX.crates.io/', name: 'sparse+https://INDEX.crates.io/' });
  assert.deepEqual(registryLocation(config, 'registry+ssh://git@github.com/rust-lang/crates.io-index'), {
    indexUrl: 'https://index.crates.io/',
    name: 'registry+ssh://git@github.com/rust-lang/crates.io-index',
  });
});

test('dependency strings and v1 checksum keys with a source Cargo cannot read are refused', () => {
  const dep = `version = 3\n[[package]]\nname = "a"\nversion = "1.0.0"\ndependencies = ["b 1.0.0 (Registry+https://x/)"]\n[[package]]\nname = "b"\nversion = "1.0.0"\nsource = "registry+https://x/"\n`;
  assert.throws(() => lock(dep), /package a 1\.0\.0: dependency "b 1\.0\.0 \(Registry\+https:\/\/x\/\)" is malformed: its source "Registry\+https:\/\/x\/" has the source protocol `Registry`/);
  const metadata = `[[package]]\nname = "a"\nversion = "1.0.0"\n\n[metadata]\n"checksum zz 1.0.0 (registry+not a url)" = "<none>"\n`;
  assert.throws(
    () => lock(metadata),
    (err: unknown) =>
      err instanceof InputError &&
      err.line === '/app/Cargo.lock:5: [metadata] "checksum zz 1.0.0 (registry+not a url)" is malformed: its source "registry+not a url" has an invalid URL `not a url`',
  );
  // A well-formed key naming no package is ignored, as Cargo ignores it.
  assert.equal(lock(metadata.replace('registry+not a url', CRATES_IO)).packages.length, 1);
});

test('path+file:// sources, which Cargo reads though it never writes them, are path packages', () => {
  const text = `version = 4\n[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = ["bar"]\n[[package]]\nname = "bar"\nversion = "0.1.0"\nsource = "path+file:///work/bar"\n`;
  const bar = lock(text).packages.find((p) => p.name === 'bar');
  assert.deepEqual(bar?.source, { kind: 'path', url: '/work/bar', isDefaultRegistry: false });
  assert.throws(() => lock(text.replace('path+file:///work/bar', 'path+https://example.com/bar')), /`source` "path\+https:\/\/example\.com\/bar" is a path source whose URL is not a local `file:` URL/);
});

test('SBOM input: a cargo purl whose repository_url is crates.io in any spelling is crates.io\'s crate', () => {
  const sbom = (repository: string): boolean => {
    const purl = `pkg:cargo/rsa@0.9.10?repository_url=${encodeURIComponent(repository)}`;
    const text = JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [{ type: 'library', name: 'rsa', version: '0.9.10', purl }] });
    const [graph] = readCycloneDx('/app/sbom.json', text);
    return graph?.packages[0]?.source.isDefaultRegistry ?? false;
  };
  for (const url of ['https://github.com/rust-lang/crates.io-index', 'https://github.com/rust-lang/crates.io-index.git', 'HTTPS://GitHub.com/Rust-Lang/crates.io-index/', 'https://index.crates.io/', 'https://INDEX.crates.io', 'https://crates.io', 'https://crates.io/']) {
    assert.equal(sbom(url), true, url);
  }
  for (const url of ['https://crates.example.com/index/', 'https://index.crates.io/sub/', 'https://github.com/rust-lang/crates.io-index2', 'https://crates.io/x']) {
    assert.equal(sbom(url), false, url);
  }
});
