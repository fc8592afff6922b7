import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InputError } from '../../../src/core/errors.js';
import type { LockfileInput } from '../../../src/core/ecosystem.js';
import type { DependencyGraph } from '../../../src/core/graph.js';
import type { Package } from '../../../src/core/package.js';
import { parseCargoLock } from '../../../src/ecosystems/cargo/lockfile.js';
import { matchesMemberGlob, memberManifestPaths } from '../../../src/ecosystems/cargo/workspace-members.js';
import { findLockfiles, readDependencyGraph } from '../../../src/inputs/lockfiles.js';
import { CARGO_CORPUS, PROJECT_ROOT, corpusFiles, tempDir, tempTree } from '../../support/shared.js';

const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'cargo');

function corpusInput(name: string, withManifest = true): LockfileInput {
  const path = join(CARGO_CORPUS, `${name}.Cargo.lock`);
  const manifestPath = join(CARGO_CORPUS, `${name}.Cargo.toml`);
  const input: LockfileInput = { path, text: readFileSync(path, 'utf8') };
  if (withManifest) input.manifest = { path: manifestPath, text: readFileSync(manifestPath, 'utf8') };
  return input;
}

function fixtureInput(name: string, manifest?: string): LockfileInput {
  const path = join(FIXTURES, name);
  const input: LockfileInput = { path, text: readFileSync(path, 'utf8') };
  if (manifest) input.manifest = { path: join(FIXTURES, manifest), text: readFileSync(join(FIXTURES, manifest), 'utf8') };
  return input;
}

function pkg(graph: DependencyGraph, id: string): Package {
  const found = graph.packages.find((p) => p.id === id);
  assert.ok(found, `${id} is in ${basename(graph.path)}`);
  return found;
}

/** Ids of the packages `from` depends on whose name is `name`. */
function depsNamed(graph: DependencyGraph, from: string, name: string): string[] {
  return graph.edges.filter((e) => e.from === from && pkg(graph, e.to).name === name).map((e) => e.to);
}

/** The one package named `name` (asserting there is one). */
function only(graph: DependencyGraph, name: string): string {
  const found = graph.packages.filter((p) => p.name === name);
  assert.equal(found.length, 1, `one ${name} in ${basename(graph.path)}`);
  return (found[0] as Package).id;
}

function rootNames(graph: DependencyGraph): string[] {
  return graph.roots.map((id) => pkg(graph, id).name).sort();
}

/** Counted from the text alone: table headers and dependency-string lines. */
function countLines(text: string, predicate: (line: string) => boolean): number {
  return text.split('\n').filter(predicate).length;
}

test('the corpus holds the 24 lockfiles this suite is about', () => {
  assert.equal(corpusFiles(CARGO_CORPUS, '.Cargo.lock').length, 24);
});

for (const file of corpusFiles(CARGO_CORPUS, '.Cargo.lock')) {
  const name = basename(file, '.Cargo.lock');
  test(`corpus ${name}: every package, every edge, the right format`, () => {
    const input = corpusInput(name);
    const graph = parseCargoLock(input);
    const text = input.text;

    const headers = countLines(text, (l) => l === '[[package]]') + countLines(text, (l) => l === '[root]');
    assert.equal(graph.packages.length, headers);
    // Dependency strings are the only lines that start with a space and a quote.
    assert.equal(graph.edges.length, countLines(text, (l) => l.startsWith(' "')));

    const versionLine = text.split('\n').find((l) => l.startsWith('version = ') && !l.includes('"'));
    const expected = versionLine
      ? `Cargo.lock v${versionLine.slice('version = '.length)}`
      : text.includes('\n[metadata]\n')
        ? 'Cargo.lock v1'
        : 'Cargo.lock v2';
    assert.equal(graph.format, expected);
    assert.equal(graph.ecosystem, 'cargo');
    assert.equal(graph.path, input.path);

    const ids = new Set(graph.packages.map((p) => p.id));
    assert.equal(ids.size, graph.packages.length, 'ids are unique');
    for (const edge of graph.edges) {
      assert.ok(ids.has(edge.from) && ids.has(edge.to), `${edge.from} -> ${edge.to} joins known packages`);
      // Only a member's own edges get a kind, from its manifest (here the root's Cargo.toml).
      if (edge.kind !== 'normal') {
        assert.ok(edge.kind === 'dev' || edge.kind === 'build', edge.kind);
        assert.equal(pkg(graph, edge.from).source.kind, 'workspace', `${edge.from} -> ${edge.to} is ${edge.kind}`);
      }
    }
    for (const p of graph.packages) {
      if (p.source.kind === 'registry') {
        assert.equal(p.source.isDefaultRegistry, true, `${p.id} comes from crates.io`);
        assert.match(p.checksum ?? '', /^[0-9a-f]{64}$/, `${p.id} has its sha256`);
      } else if (p.source.kind === 'git') {
        assert.match(p.source.rev ?? '', /^[0-9a-f]{40}$/, `${p.id} is locked to a commit`);
        assert.ok(!p.source.url?.includes('#'), `${p.id}: the commit is not part of the url`);
        assert.equal(p.checksum, null);
      } else {
        assert.equal(p.source.kind, 'workspace', `${p.id}: every source-less package in the corpus is a member`);
      }
    }
    // Roots are exactly the source-less packages, all of them members.
    const sourceless = countLines(text, (l) => l === '[[package]]' || l === '[root]') - countLines(text, (l) => l.startsWith('source = '));
    assert.equal(graph.roots.length, sourceless);

    // Without the manifest the same packages and roots come out.
    const bare = parseCargoLock(corpusInput(name, false));
    assert.deepEqual(bare.roots, graph.roots);
    assert.equal(bare.edges.length, graph.edges.length);
  });
}

test('ripgrep 2017: v1 with a [root] table and [metadata] checksums', () => {
  const graph = parseCargoLock(corpusInput('ripgrep-2017-09-01'));
  assert.equal(graph.format, 'Cargo.lock v1');
  assert.equal(graph.packages.length, 43);
  const root = graph.packages[0];
  assert.equal(root?.id, 'ripgrep@0.6.0');
  assert.equal(root?.source.kind, 'workspace');
  assert.ok(graph.roots.includes('ripgrep@0.6.0'));
  assert.deepEqual(rootNames(graph), ['globset', 'grep', 'ignore', 'ripgrep', 'termcolor', 'wincolor']);
  assert.equal(pkg(graph, 'libc@0.2.29').checksum, '8a014d9226c2cc402676fbe9ea2e15dd5222cd1dd57f576b5b283178c944a264');
  assert.equal(pkg(graph, 'aho-corasick@0.6.3').checksum, '500909c4f87a9e52355b26626d890833e9e1d53ac566db76c36faa984b889699');
  // Two versions of simd: each dependent gets the one its string names.
  assert.deepEqual(depsNamed(graph, 'regex@0.2.2', 'simd'), ['simd@0.1.1']);
  assert.deepEqual(depsNamed(graph, 'bytecount@0.1.7', 'simd'), ['simd@0.2.0']);
  // `grep 0.1.6` (no source) is the path package.
  assert.deepEqual(depsNamed(graph, 'ripgrep@0.6.0', 'grep'), ['grep@0.1.6']);
});

test('ripgrep: the root is ripgrep, with its workspace crates, from 2017 to 2026', () => {
  for (const file of corpusFiles(CARGO_CORPUS, '.Cargo.lock').filter((f) => basename(f).startsWith('ripgrep-'))) {
    const graph = parseCargoLock(corpusInput(basename(file, '.Cargo.lock')));
    assert.ok(rootNames(graph).includes('ripgrep'), `${basename(file)} has ripgrep as a root`);
  }
  const latest = parseCargoLock(corpusInput('ripgrep-2026-08-04'));
  assert.equal(latest.format, 'Cargo.lock v4');
  assert.deepEqual(rootNames(latest), [
    'globset', 'grep', 'grep-cli', 'grep-index', 'grep-matcher', 'grep-pcre2', 'grep-printer', 'grep-regex',
    'grep-searcher', 'ignore', 'ripgrep',
  ]);
  assert.equal(pkg(latest, 'ripgrep@15.2.0').source.kind, 'workspace');
});

test('kanidm 2026-08-20: v4, 774 packages, roots are the workspace members', () => {
  const input = corpusInput('kanidm-2026-08-20');
  const graph = parseCargoLock(input);
  assert.equal(graph.format, 'Cargo.lock v4');
  assert.equal(graph.packages.length, 774);
  // The manifest lists 33 member directories; the lockfile names 33 source-less crates.
  const manifest = input.manifest?.text ?? '';
  const members = manifest.slice(manifest.indexOf('members = ['), manifest.indexOf(']', manifest.indexOf('members = [')));
  assert.equal(countLines(members, (l) => l.trim().startsWith('"')), 33);
  assert.equal(graph.roots.length, 33);
  for (const member of ['kanidm_proto', 'daemon', 'kanidm_tools', 'orca', 'kanidmd_core', 'kanidmd_lib', 'pam_kanidm', 'nss_kanidm']) {
    assert.ok(rootNames(graph).includes(member), `${member} is a root`);
  }
  // base64 at three versions; each dependent resolves to the version it names.
  assert.deepEqual(depsNamed(graph, only(graph, 'compact_jwt'), 'base64'), ['base64@0.22.1']);
  assert.deepEqual(depsNamed(graph, only(graph, 'kanidm_proto'), 'base64'), ['base64@0.23.1']);
  assert.deepEqual(depsNamed(graph, only(graph, 'webauthn-rs-core'), 'base64'), ['base64@0.21.7']);
  // Semver build metadata stays part of the version and the id.
  assert.equal(pkg(graph, 'wasi@0.11.1+wasi-snapshot-preview1').version, '0.11.1+wasi-snapshot-preview1');
});

test('kanidm 2022-08-01: one crate version from crates.io and from git, told apart by source', () => {
  const graph = parseCargoLock(corpusInput('kanidm-2022-08-01'));
  const gitId =
    'base64urlsafedata@0.1.1 (git+https://github.com/kanidm/webauthn-rs.git?rev=7a8e6c6b351ab7544f08cf8ba48424baacee1360#7a8e6c6b351ab7544f08cf8ba48424baacee1360)';
  const fromGit = pkg(graph, gitId);
  assert.deepEqual(fromGit.source, {
    kind: 'git',
    url: 'https://github.com/kanidm/webauthn-rs.git?rev=7a8e6c6b351ab7544f08cf8ba48424baacee1360',
    rev: '7a8e6c6b351ab7544f08cf8ba48424baacee1360',
    isDefaultRegistry: false,
  });
  const fromCratesIo = pkg(graph, 'base64urlsafedata@0.1.1');
  assert.equal(fromCratesIo.source.isDefaultRegistry, true);
  assert.equal(fromCratesIo.checksum?.length, 64);
  assert.deepEqual(depsNamed(graph, only(graph, 'compact_jwt'), 'base64urlsafedata'), ['base64urlsafedata@0.1.1']);
  assert.deepEqual(depsNamed(graph, only(graph, 'kanidm_proto'), 'base64urlsafedata'), ['base64urlsafedata@0.1.1']);
  assert.deepEqual(depsNamed(graph, only(graph, 'webauthn-rs-core'), 'base64urlsafedata'), [gitId]);
});

test('kanidm 2020-08-01 is v2: no version key, inline checksums, shortened dependency strings', () => {
  const graph = parseCargoLock(corpusInput('kanidm-2020-08-01'));
  assert.equal(graph.format, 'Cargo.lock v2');
  assert.deepEqual(rootNames(graph), ['kanidm', 'kanidm_client', 'kanidm_proto', 'kanidm_tools', 'kanidm_unix_int', 'nss_kanidm', 'pam_kanidm']);
  const libnss = graph.packages.find((p) => p.name === 'libnss');
  assert.equal(libnss?.source.kind, 'git');
  assert.equal(libnss?.source.url, 'https://github.com/csnewman/libnss-rs.git?rev=eab2d93d2438652773699b0807d558ce75b1e748');
});

test('git, alternative registries, sparse crates.io and an out-of-tree path dependency', () => {
  const graph = parseCargoLock(fixtureInput('sources.Cargo.lock', 'sources.Cargo.toml'));
  assert.equal(graph.format, 'Cargo.lock v3');
  assert.deepEqual(pkg(graph, 'corp-auth@2.3.0').source, {
    kind: 'registry',
    url: 'https://git.corp.example/crates-index.git',
    isDefaultRegistry: false,
  });
  assert.deepEqual(pkg(graph, 'log@0.4.33').source, { kind: 'registry', url: 'sparse+https://index.crates.io/', isDefaultRegistry: true });
  assert.deepEqual(pkg(graph, 'serde@1.0.210').source, {
    kind: 'registry',
    url: 'https://github.com/rust-lang/crates.io-index',
    isDefaultRegistry: true,
  });
  const corpSerde = pkg(graph, 'serde@1.0.210 (sparse+https://cargo.corp.example/index/)');
  assert.deepEqual(corpSerde.source, { kind: 'registry', url: 'sparse+https://cargo.corp.example/index/', isDefaultRegistry: false });
  assert.equal(corpSerde.checksum, '2'.repeat(64));
  assert.deepEqual(depsNamed(graph, 'app@0.1.0', 'serde'), ['serde@1.0.210']);
  assert.deepEqual(depsNamed(graph, 'app-core@0.1.0', 'serde'), [corpSerde.id]);
  assert.deepEqual(pkg(graph, 'tokio-util@0.7.12').source, {
    kind: 'git',
    url: 'https://github.com/tokio-rs/tokio.git?branch=tokio-util-0.7.x',
    rev: '0123456789abcdef0123456789abcdef01234567',
    isDefaultRegistry: false,
  });
  // The manifest puts zlib-shim outside the workspace: a path dependency, not a root.
  assert.deepEqual(pkg(graph, 'zlib-shim@1.3.1').source, { kind: 'path', url: '../third_party/zlib', isDefaultRegistry: false });
  assert.deepEqual(graph.roots, ['app@0.1.0', 'app-core@0.1.0']);
  // Without the manifest every source-less package is a root.
  const bare = parseCargoLock(fixtureInput('sources.Cargo.lock'));
  assert.deepEqual(bare.roots, ['app@0.1.0', 'app-core@0.1.0', 'zlib-shim@1.3.1']);
  assert.equal(pkg(bare, 'zlib-shim@1.3.1').source.kind, 'workspace');
});

test('v2 written by a newer Cargo: `branch=master` on the package, not in the dependency string', () => {
  const graph = parseCargoLock(fixtureInput('git-master.v2.Cargo.lock'));
  assert.equal(graph.format, 'Cargo.lock v2');
  const gitRand = 'rand@0.8.5 (git+https://github.com/rust-random/rand?branch=master#937320cbfeebd4352a23086d9c6e68f067f74644)';
  assert.deepEqual(
    graph.edges.map((e) => e.to),
    [gitRand, 'rand@0.8.5'],
  );
  assert.equal(pkg(graph, gitRand).source.rev, '937320cbfeebd4352a23086d9c6e68f067f74644');
});

test('v1 [metadata]: `<none>` is no checksum, a key for a missing package is ignored', () => {
  const graph = parseCargoLock(fixtureInput('v1-metadata.Cargo.lock'));
  assert.equal(graph.format, 'Cargo.lock v1');
  assert.equal(pkg(graph, 'libc@0.2.29').checksum, '8a014d9226c2cc402676fbe9ea2e15dd5222cd1dd57f576b5b283178c944a264');
  assert.equal(pkg(graph, 'openssl-sys@0.9.17').checksum, null);
  assert.equal(graph.packages.length, 4);
  assert.deepEqual(graph.roots, ['tool@0.2.0', 'helper@0.1.0']);
});

test('without a version key, the encoding of dependency strings tells v1 from v2', () => {
  const v2 = '[[package]]\nname = "a"\nversion = "0.1.0"\ndependencies = [\n "b",\n]\n\n[[package]]\nname = "b"\nversion = "0.2.0"\n';
  assert.equal(parseCargoLock({ path: 'Cargo.lock', text: v2 }).format, 'Cargo.lock v2');
  const v1 = v2.replace(' "b",', ' "b 0.2.0",');
  assert.equal(parseCargoLock({ path: 'Cargo.lock', text: v1 }).format, 'Cargo.lock v1');
  // v1 files carry the full `name version (source)` even for a unique crate.
  const v1Registry =
    '[[package]]\nname = "a"\nversion = "0.1.0"\ndependencies = [\n "b 0.2.0 (registry+https://github.com/rust-lang/crates.io-index)",\n]\n\n' +
    '[[package]]\nname = "b"\nversion = "0.2.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n\n';
  assert.equal(parseCargoLock({ path: 'Cargo.lock', text: v1Registry }).format, 'Cargo.lock v1');
  const v2Registry = v1Registry.replace('"b 0.2.0 (registry+https://github.com/rust-lang/crates.io-index)"', '"b 0.2.0"');
  assert.equal(parseCargoLock({ path: 'Cargo.lock', text: v2Registry }).format, 'Cargo.lock v2');
});

/** Asserts an InputError naming `file` whose message matches `message` (and line when given). */
function assertInputError(run: () => unknown, file: string, message: RegExp, line?: number): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof InputError, `an InputError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.match(err.message, message);
    assert.ok(!err.message.includes('\n'), 'one line');
    if (line !== undefined) assert.equal(err.position?.line, line);
    assert.ok(err.line.startsWith(file), `"${err.line}" starts with the file name`);
    return true;
  });
}

const BROKEN: [file: string, message: RegExp, line: number | undefined][] = [
  ['truncated.Cargo.lock', /invalid TOML: unfinished string/, 16],
  ['float-version.Cargo.lock', /\[\[package\]\] entry 2 \(libc\): `version` must be a non-empty string, found a float/, 10],
  ['numeric-name.Cargo.lock', /\[\[package\]\] entry 2: `name` must be a non-empty string, found an integer/, 7],
  ['duplicate-key.Cargo.lock', /invalid TOML: .*redefine/, 13],
  ['duplicate-package.Cargo.lock', /package cfg-if 1\.0\.0 \(registry\+https:\/\/github\.com\/rust-lang\/crates\.io-index\) is listed twice/, 16],
  ['missing-dependency.Cargo.lock', /package app 0\.1\.0: dependency "serde 1\.0\.210" names no package in the lockfile \(it has serde 1\.0\.209\)/, 8],
  ['missing-version.Cargo.lock', /\[\[package\]\] entry 2 \(itoa\): missing `version`/, 10],
  ['future-version.Cargo.lock', /unsupported Cargo\.lock version 99: .*newer Cargo/, 1],
  ['package-not-array.Cargo.lock', /`package` must be an array of tables/, 2],
  ['garbage.Cargo.lock', /invalid TOML/, 1],
];

for (const [file, message, line] of BROKEN) {
  test(`broken fixture ${file} is an InputError naming the file`, () => {
    const path = join(FIXTURES, file);
    assert.ok(existsSync(path));
    assertInputError(() => parseCargoLock(fixtureInput(file)), path, message, line);
  });
}

test('shape errors in small inline lockfiles', () => {
  const cases: [text: string, message: RegExp][] = [
    ['', /no \[\[package\]\] entries/],
    ['version = "3"\n[[package]]\nname = "a"\nversion = "1.0.0"\n', /`version` must be an integer, found a string/],
    ['version = 2\n[[package]]\nname = "a"\nversion = "1.0.0"\n', /unsupported Cargo\.lock version 2: no Cargo writes it/],
    ['version = 3\n[[package]]\nname = "a"\nversion = "1.0.0"\ndependencies = "b"\n', /`dependencies` must be an array of strings, found a string/],
    ['version = 3\n[[package]]\nname = "a"\nversion = "1.0.0"\ndependencies = [1]\n', /`dependencies` must be an array of strings; found an integer/],
    ['version = 3\n[[package]]\nname = "a"\nversion = "1.0.0"\nsource = 7\n', /`source` must be a non-empty string, found an integer/],
    ['version = 3\n[[package]]\nname = "a"\nversion = "1.0.0"\nchecksum = "abc"\n', /`checksum` must be a sha256 hex digest, found "abc"/],
    ['version = 3\npackage = [1]\n', /item 1 is an integer/],
    ['version = 3\n[[package]]\nname = "a"\nversion = "1.0.0"\ndependencies = ["b 1.0 registry"]\n[[package]]\nname = "b"\nversion = "1.0.0"\n', /dependency "b 1\.0 registry" is malformed/],
    [
      'version = 3\n[[package]]\nname = "a"\nversion = "1.0.0"\ndependencies = ["b"]\n[[package]]\nname = "b"\nversion = "1.0.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n[[package]]\nname = "b"\nversion = "2.0.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n',
      /dependency "b" is ambiguous: the lockfile has b at versions 1\.0\.0, 2\.0\.0/,
    ],
    ['[[package]]\nname = "a"\nversion = "1.0.0"\n[metadata]\n"checksum a 1.0.0 (registry+x)" = 5\n', /\[metadata\] "checksum a 1\.0\.0 \(registry\+x\)" must be a sha256 hex digest or "<none>", found an integer/],
  ];
  for (const [text, message] of cases) {
    assertInputError(() => parseCargoLock({ path: '/app/Cargo.lock', text }), '/app/Cargo.lock', message);
  }
});

test('versions and names at the edges of what Cargo accepts: plain ones are not the only valid ones, nor every plain-looking one valid', () => {
  const lock = (name: string, version: string): LockfileInput => ({
    path: '/app/Cargo.lock',
    text: `version = 4\n[[package]]\nname = ${JSON.stringify(name)}\nversion = ${JSON.stringify(version)}\n`,
  });
  for (const [name, version] of [
    ['a', '18446744073709551615.0.0'],
    ['a', '1.0.0-alpha.1+build.5'],
    ['a', '0.0.0'],
    ['caf\u00e9', '1.2.3'],
    ['_x-y', '1.2.3'],
  ] as const) {
    const [pkg] = parseCargoLock(lock(name, version)).packages;
    assert.deepEqual([pkg?.name, pkg?.version], [name, version]);
  }
  for (const version of ['18446744073709551616.0.0', '01.2.3', '1.2.03', '1.2.3.']) {
    assertInputError(() => parseCargoLock(lock('a', version)), '/app/Cargo.lock', /is not a SemVer version, as Cargo requires/);
  }
  for (const name of ['9a', '-a', 'a.b']) {
    assertInputError(() => parseCargoLock(lock(name, '1.0.0')), '/app/Cargo.lock', /is not a package name Cargo accepts/);
  }
});

test('a manifest that is not TOML is an InputError naming the manifest', () => {
  const input = fixtureInput('sources.Cargo.lock');
  input.manifest = { path: '/app/Cargo.toml', text: '[workspace\nmembers = []\n' };
  assertInputError(() => parseCargoLock(input), '/app/Cargo.toml', /invalid TOML/, 1);
});

describe('dependency kinds from the workspace manifests', () => {
  const DEV_KINDS = join(FIXTURES, 'dev-kinds');

  async function graphOf(dir: string): Promise<DependencyGraph> {
    const [location] = findLockfiles(dir);
    assert.ok(location);
    return readDependencyGraph(location);
  }

  const kindOf = (graph: DependencyGraph, from: string, to: string): string | undefined =>
    graph.edges.find((e) => e.from === from && e.to === to)?.kind;

  test("a member's dev- and build-dependencies become dev and build edges; what only they bring in is dev", async () => {
    const graph = await graphOf(DEV_KINDS);
    assert.equal(kindOf(graph, 'app@0.1.0', 'fnv@1.0.7'), 'normal');
    assert.equal(kindOf(graph, 'app@0.1.0', 'itoa@1.0.1'), 'normal', 'a target-specific dependency is a normal one');
    assert.equal(kindOf(graph, 'app@0.1.0', 'cfg-if@1.0.0'), 'build');
    assert.equal(kindOf(graph, 'app@0.1.0', 'itertools@0.10.5'), 'dev');
    assert.equal(kindOf(graph, 'app@0.1.0', 'hex@0.4.3'), 'dev', 'workspace = true with a renamed workspace dependency');
    assert.equal(kindOf(graph, 'app@0.1.0', 'testutil@0.1.0'), 'dev');
    assert.equal(kindOf(graph, 'itertools@0.10.5', 'either@1.6.1'), 'normal', "a dependency's own edges stay normal");
    const dev = graph.packages.filter((p) => p.flags?.dev).map((p) => p.id).sort();
    assert.deepEqual(dev, ['either@1.6.1', 'hex@0.4.3', 'itertools@0.10.5']);
    // testutil is a workspace member (a root), so its normal dependency fnv is not dev either way.
    assert.deepEqual(graph.roots.sort(), ['app@0.1.0', 'testutil@0.1.0']);
  });

  test('without the members on disk nothing is guessed: every edge stays normal', async () => {
    const dir = tempDir('cargo-no-members');
    copyFileSync(join(DEV_KINDS, 'Cargo.lock'), join(dir, 'Cargo.lock'));
    copyFileSync(join(DEV_KINDS, 'Cargo.toml'), join(dir, 'Cargo.toml'));
    const graph = await graphOf(dir);
    assert.ok(graph.edges.every((e) => e.kind === 'normal'));
    assert.ok(graph.packages.every((p) => p.flags === undefined));
  });

  test("a member manifest stowage cannot read leaves that member's edges normal, with a warning", async () => {
    const dir = tempDir('cargo-bad-member');
    cpSync(DEV_KINDS, dir, { recursive: true });
    writeFileSync(join(dir, 'crates', 'app', 'Cargo.toml'), '[package]\nname = "app"\nversion = {{version}}\n');
    const graph = await graphOf(dir);
    assert.ok(graph.edges.every((e) => e.kind === 'normal'));
    assert.equal(graph.warnings?.length, 1);
    assert.match(graph.warnings?.[0] ?? '', /crates\/app\/Cargo\.toml:3:\d+: invalid TOML: .*; its dependencies are taken as normal ones$/);
  });

  test('an excluded directory is not a member, and two manifests of one name are trusted for nothing', async () => {
    const dir = tempDir('cargo-excluded');
    cpSync(DEV_KINDS, dir, { recursive: true });
    // An old copy of the app under an excluded directory (trailing slash and all), which
    // declares its normal dependencies as dev ones: it must not decide anything.
    writeFileSync(join(dir, 'Cargo.toml'), readFileSync(join(DEV_KINDS, 'Cargo.toml'), 'utf8').replace('members = ["crates/*"]', 'members = ["crates/*"]\nexclude = ["crates/old-app/"]'));
    mkdirSync(join(dir, 'crates', 'old-app'));
    writeFileSync(join(dir, 'crates', 'old-app', 'Cargo.toml'), '[package]\nname = "app"\nversion = "0.0.1"\n\n[dev-dependencies]\nitoa = "1"\nfnv = "1"\n');
    const excluded = await graphOf(dir);
    assert.deepEqual(excluded.packages.filter((p) => p.flags?.dev).map((p) => p.id).sort(), ['either@1.6.1', 'hex@0.4.3', 'itertools@0.10.5']);
    assert.equal(excluded.warnings, undefined);

    // Not excluded: two manifests name `app`; neither decides, every edge of app stays normal.
    writeFileSync(join(dir, 'Cargo.toml'), readFileSync(join(DEV_KINDS, 'Cargo.toml'), 'utf8'));
    const twice = await graphOf(dir);
    assert.ok(twice.edges.every((e) => e.kind === 'normal'));
    assert.deepEqual(twice.packages.filter((p) => p.flags?.dev), []);
    assert.match(twice.warnings?.[0] ?? '', /a second manifest for package app; the dependencies of app are taken as normal ones/);
  });

  test("a path package outside the workspace with a member's name is not that member: its edges keep their kinds (normal)", async () => {
    // Cargo 1.95 builds this workspace --locked: the member `c` 0.1.0 (crates/fake), whose
    // smallvec is a dev-dependency, and the path dependency `c` 0.2.0 (../c) of the member `a`,
    // whose smallvec is a normal one. The member's kinds used to be taken for both entries of
    // the name: smallvec, which `a` ships through ../c, was dev-only and left out by --omit dev.
    const crate = (name: string, version: string, deps: string): string => `[package]\nname = "${name}"\nversion = "${version}"\nedition = "2021"\n\n${deps}\n`;
    const lock = (entries: string[]): string => ['version = 4', ...entries].join('\n\n') + '\n';
    const entry = (name: string, version: string, deps: string[], source = ''): string =>
      [`[[package]]\nname = "${name}"\nversion = "${version}"${source}`, ...(deps.length === 0 ? [] : [`dependencies = [\n${deps.map((d) => ` "${d}",\n`).join('')}]`])].join('\n');
    const smallvec = entry('smallvec', '1.6.0', [], '\nsource = "registry+https://github.com/rust-lang/crates.io-index"');
    const root = tempTree('cargo-member-name-shared', {
      'ws/Cargo.toml': '[workspace]\nmembers = ["crates/a", "crates/fake"]\nresolver = "2"\n',
      'ws/crates/a/Cargo.toml': crate('a', '0.1.0', '[dependencies]\nc = { path = "../../../c" }'),
      'ws/crates/fake/Cargo.toml': crate('c', '0.1.0', '[dev-dependencies]\nsmallvec = "1"'),
      'c/Cargo.toml': crate('c', '0.2.0', '[dependencies]\nsmallvec = "1"'),
      'ws/Cargo.lock': lock([entry('a', '0.1.0', ['c 0.2.0']), entry('c', '0.1.0', ['smallvec']), entry('c', '0.2.0', ['smallvec']), smallvec]),
    });
    const graph = await graphOf(join(root, 'ws'));
    assert.equal(kindOf(graph, 'c@0.2.0', 'smallvec@1.6.0'), 'normal');
    assert.deepEqual(graph.packages.filter((p) => p.flags?.dev).map((p) => p.id), []);

    // The member absent from the lockfile, the outside `c` alone of its name: its version is not the member's.
    writeFileSync(join(root, 'ws', 'Cargo.lock'), lock([entry('a', '0.1.0', ['c']), entry('c', '0.2.0', ['smallvec']), smallvec]));
    const stale = await graphOf(join(root, 'ws'));
    assert.equal(kindOf(stale, 'c@0.2.0', 'smallvec@1.6.0'), 'normal');
    assert.deepEqual(stale.packages.filter((p) => p.flags?.dev).map((p) => p.id), []);
  });

  test("ripgrep: the root's dev-dependencies are dev edges, yet no crate is dev (members use them normally)", async () => {
    const graph = await graphOf(join(CARGO_CORPUS, 'ripgrep-2026-08-04.Cargo.lock'));
    const root = graph.packages.find((p) => p.name === 'ripgrep');
    assert.ok(root);
    const devTargets = graph.edges.filter((e) => e.from === root.id && e.kind === 'dev').map((e) => e.to.split('@')[0]).sort();
    assert.deepEqual(devTargets, ['serde', 'serde_derive', 'walkdir']);
    assert.deepEqual(graph.packages.filter((p) => p.flags?.dev), []);
  });

  test('member globs: `*`, `**`, literal paths and exclude, as Cargo reads them', () => {
    const dir = tempDir('cargo-members');
    const manifest = (path: string): void => {
      mkdirSync(join(dir, path), { recursive: true });
      writeFileSync(join(dir, path, 'Cargo.toml'), `[package]\nname = "${path.replace(/\W/g, '-')}"\nversion = "0.1.0"\n`);
    };
    for (const p of ['crates/a', 'crates/b', 'tools/deep/x', 'tools/y', 'skip/me', 'target/debug']) manifest(p);
    mkdirSync(join(dir, 'crates', 'not-a-crate'));
    const root = join(dir, 'Cargo.toml');
    // `exclude` takes out what a glob names (tools/deep/x), not a member written as its path
    // (skip/me), as cargo's is_excluded: cargo 1.95 lists crates/hex as a member for
    // `members = ["crates/hex", ...]`, `exclude = ["crates/hex"]`, and none for `crates/*`.
    const text = '[workspace]\nmembers = ["crates/*", "tools/**", "skip/me", "missing/*"]\nexclude = ["skip", "tools/deep"]\n';
    writeFileSync(root, text);
    const found = memberManifestPaths(root, text).map((p) => p.slice(dir.length + 1));
    assert.deepEqual(found, ['crates/a/Cargo.toml', 'crates/b/Cargo.toml', 'skip/me/Cargo.toml', 'tools/y/Cargo.toml']);
    assert.deepEqual(memberManifestPaths(root, 'not toml ['), []);
  });

  test('a path is a member when a glob names it: the same reading for expanding and for matching', () => {
    assert.ok(matchesMemberGlob('crates/*', 'crates/a'));
    assert.ok(!matchesMemberGlob('crates/*', 'crates/a/b'));
    assert.ok(matchesMemberGlob('tools/**', 'tools'));
    assert.ok(matchesMemberGlob('tools/**', 'tools/deep/x'));
    assert.ok(matchesMemberGlob('**/x', 'tools/deep/x'));
    assert.ok(matchesMemberGlob('lib-[ab]?', 'lib-a1'));
    assert.ok(!matchesMemberGlob('lib-[ab]?', 'lib-c1'));
    assert.ok(matchesMemberGlob('./server/core/', 'server/core'));
    assert.ok(!matchesMemberGlob('server', 'server/core'));
  });

  test('many `**` match as one (the glob crate reads consecutive ones so): each segment is tried once against each part of the path', () => {
    // Tried every way of sharing 24 directories among 40 `**` (some 10^17): a path dependency of
    // the root manifest checked against this member glob never finished.
    const glob = `crates/${'**/'.repeat(40)}x`;
    const deep = `crates/${'d/'.repeat(24)}`;
    assert.ok(matchesMemberGlob(glob, `${deep}x`));
    assert.ok(!matchesMemberGlob(glob, `${deep}y`));
    assert.ok(!matchesMemberGlob(`crates/${'**/*/'.repeat(20)}x`, `${deep}y`));
    assert.ok(matchesMemberGlob(`crates/${'**/*/'.repeat(20)}x`, `${deep}x`));
    assert.ok(!matchesMemberGlob(`crates/${'**/*/'.repeat(20)}x`, `crates/${'d/'.repeat(19)}x`));
  });
});

test("workspace members carry the licence their manifests state, inherited from [workspace.package] when they say so; crates none", () => {
  const lock = [
    'version = 3',
    '[[package]]\nname = "app"\nversion = "1.0.0"\ndependencies = ["lib", "serde"]',
    '[[package]]\nname = "lib"\nversion = "0.2.0"',
    '[[package]]\nname = "tool"\nversion = "0.1.0"',
    '[[package]]\nname = "serde"\nversion = "1.0.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "0000000000000000000000000000000000000000000000000000000000000000"',
  ].join('\n\n');
  const root = '[workspace]\nmembers = ["lib", "tool"]\n[workspace.package]\nlicense = "MIT OR Apache-2.0"\n[package]\nname = "app"\nversion = "1.0.0"\nlicense = "GPL-3.0-only"\n';
  const graph = parseCargoLock({
    path: '/w/Cargo.lock',
    text: lock,
    manifest: { path: '/w/Cargo.toml', text: root },
    members: [
      { path: '/w/lib/Cargo.toml', text: '[package]\nname = "lib"\nversion = "0.2.0"\nlicense.workspace = true\n' },
      { path: '/w/tool/Cargo.toml', text: '[package]\nname = "tool"\nversion = "0.1.0"\nlicense-file = "LICENSE"\n' },
    ],
  });
  const licences = Object.fromEntries(graph.packages.map((p) => [p.name, p.license ?? null]));
  assert.deepEqual(licences, { app: 'GPL-3.0-only', lib: 'MIT OR Apache-2.0', tool: null, serde: null });
});

test('a Cargo.lock edited by hand (CRLF, comments, escapes, other spacing, keys in another order) reads as the one Cargo wrote', () => {
  const input = corpusInput('kanidm-2026-08-20');
  const written = parseCargoLock(input);
  const variants: [what: string, edit: (text: string) => string][] = [
    ['CRLF line ends', (t) => t.replaceAll('\n', '\r\n')],
    ['a comment after each name', (t) => t.replace(/^(name = "[^"]*")$/gm, '$1 # the crate')],
    ['names spelt with escapes', (t) => t.replace(/^name = "k/gm, 'name = "\\u006b')],
    ['literal strings and tight spacing', (t) => t.replace(/^version = "([^"]*)"$/gm, "version='$1'")],
    ['dependencies on one line', (t) => t.replace(/\[\n((?: "[^"\n]*",\n)+)\]/g, (_all, items: string) => `[${items.replaceAll('\n', '')}]`)],
    ['checksum before name', (t) => t.replace(/^(name = "[^"]*"\nversion = "[^"]*"\nsource = "[^"]*")\n(checksum = "[^"]*")$/gm, '$2\n$1')],
    ['an indented header and a tab', (t) => t.replace('[[package]]', ' [[package]]\t')],
  ];
  for (const [what, edit] of variants) {
    const text = edit(input.text);
    assert.notEqual(text, input.text, what);
    const graph = parseCargoLock({ ...input, text });
    assert.deepEqual(graph.packages.map((p) => [p.id, p.source, p.checksum, p.license]), written.packages.map((p) => [p.id, p.source, p.checksum, p.license]), what);
    assert.deepEqual(graph.edges, written.edges, what);
    assert.deepEqual(graph.roots, written.roots, what);
    assert.equal(graph.format, written.format, what);
  }
});

test('a key given twice in a Cargo.lock Cargo wrote otherwise is refused where it is, as invalid TOML', () => {
  const input = corpusInput('kanidm-2026-08-20');
  const lines = input.text.split('\n');
  const at = lines.findIndex((l) => l.startsWith('checksum = '));
  lines.splice(at + 1, 0, lines[at] as string);
  assertInputError(() => parseCargoLock({ ...input, text: lines.join('\n') }), input.path, /invalid TOML: .*redefine/, at + 2);
});

describe('a lockfile older than its manifest: what cargo build (without --locked) would resolve anew is named in a warning', () => {
  const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';
  /** A v4 lockfile of `app` and these crates, every one a dependency of app. */
  const lock = (crates: readonly [name: string, version: string, source: string][]): string =>
    [
      'version = 4',
      '',
      '[[package]]',
      'name = "app"',
      'version = "0.1.0"',
      'dependencies = [',
      ...crates.map(([name, version]) => ` "${name} ${version}",`),
      ']',
      ...crates.flatMap(([name, version, source]) => ['', '[[package]]', `name = "${name}"`, `version = "${version}"`, `source = "${source}"`]),
      '',
    ].join('\n');
  const parse = (lockText: string, manifest: string): string[] =>
    (parseCargoLock({ path: 'Cargo.lock', text: lockText, manifest: { path: 'Cargo.toml', text: `[package]\nname = "app"\nversion = "0.1.0"\n\n${manifest}` } }).warnings ?? []).filter((w) => w.startsWith('Cargo.toml: '));
  const SUFFIX = ', which Cargo.lock does not lock as declared: the lockfile is older than the manifest; cargo build without --locked resolves them anew (--locked refuses), and the audit covers only what the lockfile locks';

  test('a crates.io dependency locked from another registry (hiding crates.io\'s crate from the audit), one not locked, one locked outside its requirement', () => {
    const text = lock([
      ['hex', '0.4.3', 'registry+https://example.org/index'],
      ['itoa', '1.0.0', CRATES_IO],
    ]);
    assert.deepEqual(parse(text, '[dependencies]\nhex = "0.4"\nitoa = ">=1.0.1"\nfnv = { version = "1", optional = true }\n'), [
      `Cargo.toml: app declares hex (from crates.io, locked from registry+https://example.org/index), itoa 1.0.0 (outside the requirement ">=1.0.1"), fnv (not locked)${SUFFIX}`,
    ]);
  });

  test('another registry\'s dependency locked only from crates.io: cargo build fetches it from that registry, which the audit did not see', () => {
    // Checked with cargo 1.95: app -> hex locked from crates.io, then declared `{ version = "0.4", registry = "foo" }`
    // ([registries.foo] a local sparse index); `cargo build --locked` refuses, `cargo build` builds hex from `foo`
    // and rewrites its source in Cargo.lock.
    const text = lock([
      ['hex', '0.4.3', CRATES_IO],
      ['itoa', '1.0.1', 'sparse+https://index.crates.io/'],
      ['fnv', '1.0.7', 'registry+https://example.org/index'],
    ]);
    const manifest = '[dependencies]\nhex = { version = "0.4", registry = "foo" }\nitoa = { version = "1", registry-index = "https://example.org/index" }\nfnv = { version = "1", registry = "foo" }\n';
    assert.deepEqual(parse(text, manifest), [
      `Cargo.toml: app declares hex (from registry foo, locked from ${CRATES_IO}), itoa (from registry https://example.org/index, locked from sparse+https://index.crates.io/)${SUFFIX}`,
    ]);
  });

  test('as Cargo writes it: every table (optional, dev, build, other targets), renames, workspace inheritance, patches and other sources lock as declared', () => {
    const text = lock([
      ['hex', '0.4.3', CRATES_IO],
      ['itoa', '1.0.1', CRATES_IO],
      ['fnv', '1.0.7', CRATES_IO],
      ['cfg-if', '1.0.0', 'git+https://example.org/cfg-if?branch=main#0123456789abcdef0123456789abcdef01234567'],
      ['either', '1.6.1', 'sparse+https://index.crates.io/'],
      ['itertools', '0.10.3', 'registry+https://example.org/index'],
    ]);
    const manifest = [
      '[dependencies]',
      'hexadecimal = { package = "hex", version = "0.4", optional = true }',
      'either = { workspace = true }',
      'itertools = { version = "0.10", registry = "mine" }',
      'local = { path = "local" }',
      '[target.\'cfg(windows)\'.dev-dependencies]',
      'itoa = "1"',
      '[build-dependencies]',
      'fnv = "1.0"',
      'cfg_if = { package = "cfg-if", version = "1" }',
      '[workspace.dependencies]',
      'either = "1.5"',
      '[patch.crates-io]',
      'cfg-if = { git = "https://example.org/cfg-if", branch = "main" }',
      '',
    ].join('\n');
    assert.deepEqual(parse(text, manifest), []);
  });

  test("a path package's own dependencies, found on disk from the manifests' path entries (transitively, inside the application's directory): cargo resolves them into the same lockfile", async () => {
    // Checked with cargo 1.95: app -> c (path) with hex added to c's manifest after locking;
    // `cargo metadata --locked` refuses, `cargo tree` (no --locked) resolves and builds hex.
    const root = tempTree('cargo-path-package-stale', {
      'app/Cargo.toml': '[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\nc = { path = "c" }\n',
      'app/c/Cargo.toml': '[package]\nname = "c"\nversion = "0.1.0"\n\n[dependencies]\nfnv = "1"\nhex = "0.4"\nd = { path = "../d" }\noutside = { path = "../../outside" }\n\n[dev-dependencies]\neither = "1"\n',
      // Outside the application's directory: not read (its path could name any file).
      'outside/Cargo.toml': '[package]\nname = "outside"\nversion = "0.1.0"\n\n[dependencies]\nryu = "1"\n',
      'app/d/Cargo.toml': '[package]\nname = "d"\nversion = "0.2.0"\n\n[build-dependencies]\nitoa = "1"\n',
      'app/Cargo.lock': [
        'version = 4',
        '',
        '[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "c",\n]',
        '',
        '[[package]]\nname = "c"\nversion = "0.1.0"\ndependencies = [\n "d",\n "fnv",\n "outside",\n]',
        '',
        '[[package]]\nname = "d"\nversion = "0.2.0"',
        '',
        '[[package]]\nname = "outside"\nversion = "0.1.0"',
        '',
        `[[package]]\nname = "fnv"\nversion = "1.0.7"\nsource = "${CRATES_IO}"`,
        '',
      ].join('\n'),
    });
    const [location] = findLockfiles(join(root, 'app'));
    assert.ok(location);
    const graph = await readDependencyGraph(location);
    // Not c's dev-dependency: Cargo resolves those for workspace members only.
    assert.deepEqual(graph.warnings?.filter((w) => w.includes('does not lock as declared')), [
      `${join(root, 'app', 'c', 'Cargo.toml')}: c declares hex (not locked), which ${location.path} does not lock as declared: the lockfile is older than the manifest; cargo build without --locked resolves them anew (--locked refuses), and the audit covers only what the lockfile locks`,
      `${join(root, 'app', 'd', 'Cargo.toml')}: d declares itoa (not locked), which ${location.path} does not lock as declared: the lockfile is older than the manifest; cargo build without --locked resolves them anew (--locked refuses), and the audit covers only what the lockfile locks`,
    ]);
  });

  test('a git dependency locked from crates.io or from another reference: cargo build fetches the declared repository and builds what it depends on', () => {
    // Checked with cargo 1.95: hex locked from crates.io, then declared as `{ git = "file:///…/hexgit" }` (a fork
    // depending on fnv); `cargo metadata --locked` refuses, `cargo tree` builds the git hex and fnv. Likewise
    // for `tag = "v1"` over a lockfile of `?branch=master`.
    const text = lock([
      ['hex', '0.4.3', CRATES_IO],
      ['itoa', '1.0.1', 'git+https://github.com/dtolnay/itoa?branch=master#0123456789abcdef0123456789abcdef01234567'],
    ]);
    assert.deepEqual(parse(text, '[dependencies]\nhex = { git = "https://example.org/hex" }\nitoa = { git = "https://github.com/dtolnay/itoa", tag = "v1" }\n'), [
      `Cargo.toml: app declares hex (from git https://example.org/hex, locked from ${CRATES_IO}), itoa (from git https://github.com/dtolnay/itoa tag v1, locked from git+https://github.com/dtolnay/itoa?branch=master#0123456789abcdef0123456789abcdef01234567)${SUFFIX}`,
    ]);
    // The repository as Cargo compares it (github.com's case, `.git`), and the reference as v1/v2 lockfiles spell the default branch.
    assert.deepEqual(parse(text, '[dependencies]\nitoa = { git = "https://GitHub.com/DTolnay/itoa.git", branch = "master" }\n'), []);
    assert.deepEqual(parse(text, '[dependencies]\nitoa = { git = "https://github.com/dtolnay/itoa" }\n'), []);
  });

  test('a [patch] the lockfile neither locks nor lists as unused: cargo build applies it and builds what the patched crate depends on', () => {
    // Checked with cargo 1.95: app -> hex (crates.io) locked, then `[patch.crates-io] hex = { path = "hexfork" }`
    // (a fork depending on fnv) added; `cargo metadata --locked` refuses, `cargo tree` builds hexfork and fnv.
    const text = lock([['hex', '0.4.3', CRATES_IO]]);
    const patches = '[dependencies]\nhex = "0.4"\n\n[patch.crates-io]\nhex = { path = "hexfork" }\nitoa = { git = "https://example.org/itoa" }\n';
    assert.deepEqual(parse(text, patches), [
      'Cargo.toml: declares [patch.crates-io] hex (path "hexfork"), [patch.crates-io] itoa (git "https://example.org/itoa"), which Cargo.lock does not record as applied or unused: the lockfile is older than the manifest; cargo build without --locked applies them and resolves their dependencies anew (--locked refuses), and the audit covers only what the lockfile locks',
    ]);
    // As cargo writes the lockfile once the patches are resolved: hex from the path, itoa unused.
    const resolved = [
      'version = 4',
      '',
      '[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "hex",\n]',
      '',
      '[[package]]\nname = "hex"\nversion = "0.4.3"',
      '',
      '[[patch.unused]]\nname = "itoa"\nversion = "1.0.1"',
      '',
    ].join('\n');
    assert.deepEqual(parse(resolved, patches), []);
  });

  test('a [replace] whose package the lockfile locks without naming the replacement: cargo build applies it', () => {
    // Checked with cargo 1.95: `[replace] "hex:0.4.3" = { path = "hexfork" }` added over a lockfile of crates.io's hex;
    // `cargo metadata --locked` refuses, `cargo tree` builds hexfork and its fnv. An unused [replace] leaves no trace.
    const text = lock([['hex', '0.4.3', CRATES_IO]]);
    const replace = '[dependencies]\nhex = "0.4"\n\n[replace]\n"hex:0.4.3" = { path = "hexfork" }\n"itoa:1.0.1" = { path = "itoafork" }\n';
    assert.deepEqual(parse(text, replace), [
      'Cargo.toml: declares [replace] "hex:0.4.3" (hex 0.4.3 locked without it), which Cargo.lock does not record as applied or unused: the lockfile is older than the manifest; cargo build without --locked applies them and resolves their dependencies anew (--locked refuses), and the audit covers only what the lockfile locks',
    ]);
    // As cargo writes it once applied.
    const applied = [
      'version = 4',
      '',
      '[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "hex 0.4.3 (registry+https://github.com/rust-lang/crates.io-index)",\n]',
      '',
      '[[package]]\nname = "hex"\nversion = "0.4.3"',
      '',
      `[[package]]\nname = "hex"\nversion = "0.4.3"\nsource = "${CRATES_IO}"\nreplace = "hex 0.4.3"`,
      '',
    ].join('\n');
    assert.deepEqual(parse(applied, replace), []);
  });

  test('[[patch.unused]] of a shape cargo refuses is refused', () => {
    const text = `${lock([['hex', '0.4.3', CRATES_IO]])}\n[[patch.unused]]\nversion = "1.0.1"\n`;
    assertInputError(() => parse(text, ''), 'Cargo.lock', /\[\[patch\.unused\]\] entry 1 must have a `name` and a `version` string/);
  });

  test('a workspace member the lockfile does not hold at all', () => {
    const input: LockfileInput = {
      path: 'Cargo.lock',
      text: lock([]),
      manifest: { path: 'Cargo.toml', text: '[workspace]\nmembers = ["cli"]\n' },
      members: [{ path: 'cli/Cargo.toml', text: '[package]\nname = "cli"\nversion = "0.1.0"\n\n[dependencies]\nhex = "0.4"\n' }],
    };
    assert.deepEqual(parseCargoLock(input).warnings, [
      'cli/Cargo.toml: package cli is not in Cargo.lock: the lockfile is older than its manifest; cargo build without --locked resolves its dependencies anew, and the audit covers only what the lockfile locks',
    ]);
  });
});
