import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { load } from 'js-yaml';
import { parsePnpmLock } from '../../../src/ecosystems/npm/pnpm-lock.js';
import { InputError } from '../../../src/core/errors.js';
import type { DependencyGraph } from '../../../src/core/graph.js';
import { NPM_CORPUS, PROJECT_ROOT, corpusFiles } from '../../support/shared.js';

const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'npm', 'pnpm');
const lockfiles = corpusFiles(NPM_CORPUS, '.pnpm-lock.yaml').filter((f) => basename(f).startsWith('vite-'));

type Yaml = Record<string, unknown>;

/** `packages` keys without peer/patch suffixes, as `name@version` where registry-shaped. */
function distinctPackages(doc: Yaml): Set<string> {
  const v5 = String(doc.lockfileVersion).startsWith('5');
  const keys = Object.keys((doc.packages as Yaml | undefined) ?? {});
  return new Set(
    keys.map((key) => {
      if (v5) {
        const m = /^\/((?:@[^/]+\/)?[^/]+)\/([^_]+)/.exec(key);
        return m ? `${m[1]}@${m[2]}` : key;
      }
      return key.replace(/^\//, '').replace(/(.)\(.*$/, '$1');
    }),
  );
}

function has(graph: DependencyGraph, name: string, version: string): boolean {
  return graph.packages.some((p) => p.name === name && p.version === version);
}

test('every vite pnpm-lock.yaml parses, 5.3 to 9.0', () => {
  const formats = lockfiles.map((f) => parsePnpmLock({ path: f, text: readFileSync(f, 'utf8') }).format);
  assert.deepEqual(formats, [
    'pnpm-lock.yaml 5.3',
    'pnpm-lock.yaml 5.4',
    'pnpm-lock.yaml 6.0',
    'pnpm-lock.yaml 6.0',
    'pnpm-lock.yaml 9.0',
    'pnpm-lock.yaml 9.0',
    'pnpm-lock.yaml 9.0',
    'pnpm-lock.yaml 9.0',
  ]);
});

for (const file of lockfiles) {
  const text = readFileSync(file, 'utf8');
  // js-yaml 5 reads the file independently of the parser under test (which uses parseSyml).
  const doc = load(text) as Yaml;
  const importers = (doc.importers as Record<string, Yaml> | undefined) ?? { '.': doc };

  test(`${basename(file)}: package count, sampled packages, importers`, () => {
    const manifestPath = file.replace(/\.pnpm-lock\.yaml$/, '.package.json');
    const manifest = { path: manifestPath, text: readFileSync(manifestPath, 'utf8') };
    const bare = parsePnpmLock({ path: file, text });
    const withManifest = parsePnpmLock({ path: file, text, manifest });
    const rootName = (JSON.parse(manifest.text) as { name: string }).name;
    assert.equal(withManifest.packages.find((p) => p.id === 'workspace:.')?.name, rootName);
    assert.equal(withManifest.packages.length, bare.packages.length);

    const locked = bare.packages.filter((p) => p.source.kind !== 'workspace' && !p.id.includes('@link:'));
    assert.equal(locked.length, distinctPackages(doc).size);
    assert.equal(new Set(bare.packages.map((p) => p.id)).size, bare.packages.length);

    const pairs = [...distinctPackages(doc)].filter((k) => /^@?[^@]+@\d+\.\d+\.\d+[^:]*$/.test(k));
    const step = Math.floor(pairs.length / 10);
    for (let i = 0; i < 10; i++) {
      const key = pairs[i * step] as string;
      const at = key.indexOf('@', 1);
      assert.ok(has(bare, key.slice(0, at), key.slice(at + 1)), key);
    }

    // Roots: one per importer; each importer's direct dependencies are its edges.
    assert.deepEqual(bare.roots, Object.keys(importers).map((dir) => `workspace:${dir}`));
    const kinds: Record<string, string> = { dependencies: 'normal', devDependencies: 'dev', optionalDependencies: 'optional' };
    for (const [dir, importer] of Object.entries(importers)) {
      const edges = bare.edges.filter((e) => e.from === `workspace:${dir}`);
      let deps = 0;
      for (const [section, kind] of Object.entries(kinds)) {
        for (const [depName, value] of Object.entries((importer[section] as Yaml | undefined) ?? {})) {
          deps++;
          const version = String(typeof value === 'object' && value !== null ? (value as Yaml).version : value);
          const matches = (id: string): boolean => {
            const pkg = bare.packages.find((p) => p.id === id);
            if (!pkg) return false;
            if (version.startsWith('link:')) return pkg.source.kind === 'workspace' || pkg.source.kind === 'path';
            if (/^\d/.test(version)) return pkg.name === depName;
            // An alias (`real@1.0.0`, `/real@1.0.0`, `/real/1.0.0`), a file: or tarball key.
            const key = version.replace(/^\//, '').replace(/(.)\(.*$/, '$1');
            return key === pkg.id || key.endsWith(pkg.id) || pkg.id.endsWith(`@${key}`) || key.startsWith(`${pkg.name}@`) || key.startsWith(`${pkg.name}/`);
          };
          assert.ok(edges.some((e) => e.kind === kind && matches(e.to)), `${dir}: ${section} ${depName} ${version}`);
        }
      }
      // Two aliases of one package are one edge.
      assert.ok(edges.length <= deps && edges.length >= deps - 2, dir);
    }
    // vite's own runtime dependencies are not dev; the monorepo's test runner is.
    const vitest = bare.packages.find((p) => p.name === 'vitest' || p.name === 'jest');
    assert.equal(vitest?.flags?.dev, true);
    const viteRuntime = bare.edges.filter((e) => e.from === 'workspace:packages/vite' && e.kind === 'normal' && !e.to.startsWith('workspace:'));
    assert.ok(viteRuntime.length >= 3);
    for (const edge of viteRuntime) assert.equal(bare.packages.find((p) => p.id === edge.to)?.flags?.dev, undefined, edge.to);
  });
}

function fixture(name: string): { path: string; text: string } {
  const path = join(FIXTURES, name);
  return { path, text: readFileSync(path, 'utf8') };
}

test('9.0 fixture: workspace link, alias, patch, git tarball, peer variants merged', () => {
  const graph = parsePnpmLock(fixture('v9-small.pnpm-lock.yaml'));
  assert.deepEqual(graph.roots, ['workspace:.', 'workspace:packages/lib']);
  assert.equal(graph.packages.find((p) => p.id === 'workspace:packages/lib')?.name, 'lib');
  const edgesFrom = (id: string) => graph.edges.filter((e) => e.from === id).map((e) => `${e.to} ${e.kind}`);
  const srcset = graph.packages.find((p) => p.name === 'srcset');
  assert.deepEqual(srcset?.source, {
    kind: 'git',
    url: 'https://github.com/example/srcset.git',
    rev: '54eb9c1cb21db5c62b4d0e275d7249516df6f0ee',
    isDefaultRegistry: false,
  });
  assert.equal(srcset?.version, '1.0.2');
  assert.deepEqual(edgesFrom('workspace:.'), [
    'workspace:packages/lib normal',
    'lodash@4.17.21 normal',
    'left-pad@1.3.0 normal',
    `${srcset?.id} normal`,
    'react-dom@18.2.0 dev',
    'react@18.2.0 dev',
  ]);
  // Two peer variants of react-dom@18.2.0: one package, with both variants' edges.
  assert.equal(graph.packages.filter((p) => p.name === 'react-dom').length, 1);
  assert.deepEqual(edgesFrom('react-dom@18.2.0'), ['react@18.2.0 normal', 'react@18.3.1 normal']);
  // react@18.2.0 is only reached through the root's dev variant of react-dom.
  const flags = Object.fromEntries(graph.packages.map((p) => [p.id, p.flags ?? {}]));
  assert.deepEqual(flags['react@18.2.0'], { dev: true });
  assert.deepEqual(flags['react@18.3.1'], {});
  assert.deepEqual(flags['react-dom@18.2.0'], {});
  assert.match(graph.packages.find((p) => p.name === 'lodash')?.checksum ?? '', /^sha512-v2kDEe57/);
  assert.equal(graph.packages.find((p) => p.name === 'left-pad')?.source.isDefaultRegistry, true);
});

test('6.0 fixture: alias, file: directory, dev flags from the lockfile', () => {
  const graph = parsePnpmLock(fixture('v6-small.pnpm-lock.yaml'));
  assert.deepEqual(graph.packages.map((p) => p.id), ['workspace:.', 'left-pad@1.3.0', 'react-dom@18.2.0', 'react@18.3.1'.replace('3.1', '2.0'), 'local-dep@file:local-dep']);
  const local = graph.packages.find((p) => p.name === 'local-dep');
  assert.deepEqual(local?.source, { kind: 'path', url: 'local-dep', isDefaultRegistry: false });
  assert.deepEqual(local?.flags, { dev: true });
  assert.ok(graph.edges.some((e) => e.from === 'workspace:.' && e.to === 'left-pad@1.3.0' && e.kind === 'normal'));
});

test('5.4 fixture: single project, alias, link outside the workspace, github dependency', () => {
  const graph = parsePnpmLock(fixture('v5-small.pnpm-lock.yaml'));
  assert.equal(graph.format, 'pnpm-lock.yaml 5.4');
  assert.deepEqual(graph.roots, ['workspace:.']);
  assert.deepEqual(graph.packages.map((p) => `${p.name}@${p.version} ${p.source.kind}`), [
    // No package.json beside it: the root importer is named after its directory (test/fixtures/npm/pnpm).
    'pnpm@0.0.0 workspace',
    'left-pad@1.3.0 registry',
    'react-dom@18.2.0 registry',
    'react@18.2.0 registry',
    'srcset@1.0.2 git',
    'local@0.0.0 path',
  ]);
  assert.ok(graph.edges.some((e) => e.from === 'react-dom@18.2.0' && e.to === 'react@18.2.0'));
});

const broken: [string, RegExp, number | null][] = [
  ['broken-truncated.pnpm-lock.yaml', /invalid YAML/, 56],
  ['broken-syntax.pnpm-lock.yaml', /invalid YAML/, 7],
  ['broken-unknown-version.pnpm-lock.yaml', /unsupported pnpm lockfileVersion 7\.0/, null],
  ['broken-wrong-type.pnpm-lock.yaml', /left-pad@1\.3\.0 must be a mapping/, 50],
  ['broken-binary.pnpm-lock.yaml', /binary/, null],
];
for (const [name, message, line] of broken) {
  test(`${name} is an InputError naming the file`, () => {
    const input = fixture(name);
    assert.throws(
      () => parsePnpmLock(input),
      (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.equal(err.file, input.path);
        assert.match(err.message, message);
        assert.equal(err.position?.line ?? null, line);
        return true;
      },
    );
  });
}

test('a resolution.tarball that is another package or version than its entry is refused', () => {
  const lock = (key: string, tarball: string): string =>
    [
      "lockfileVersion: '9.0'",
      'importers:',
      '  .:',
      '    dependencies:',
      `      ${key.slice(0, key.lastIndexOf('@'))}:`,
      "        specifier: ^4.17.0",
      `        version: ${key.slice(key.lastIndexOf('@') + 1)}`,
      'packages:',
      `  ${key}:`,
      `    resolution: {integrity: sha512-x, tarball: '${tarball}'}`,
      'snapshots:',
      `  ${key}: {}`,
      '',
    ].join('\n');
  const refused = (text: string, message: RegExp): void =>
    assert.throws(
      () => parsePnpmLock({ path: '/app/pnpm-lock.yaml', text }),
      (err: unknown) => err instanceof InputError && err.file === '/app/pnpm-lock.yaml' && message.test(err.message) && !err.line.includes('\n'),
    );
  const mirror = 'https://npm.example.org/lodash/-/lodash-4.17.4.tgz';
  refused(lock('lodash@4.17.21', mirror), /package lodash@4\.17\.21: the version is 4\.17\.21 but `resolution\.tarball` is the tarball of lodash@4\.17\.4/);
  refused(lock('lodash-es@4.17.4', mirror), /`resolution\.tarball` is a tarball of lodash, not of lodash-es/);
  refused(lock('lodash@4.17.4', ` ${mirror}`), /`resolution\.tarball` " https:.*" has whitespace around it/);
  // In agreement, and with the scheme in capitals: the mirror's lodash 4.17.4.
  const graph = parsePnpmLock({ path: '/app/pnpm-lock.yaml', text: lock('lodash@4.17.4', mirror.replace('https', 'HTTPS')) });
  assert.ok(graph.packages.some((p) => p.id === 'lodash@4.17.4' && p.source.kind === 'registry'));
});
