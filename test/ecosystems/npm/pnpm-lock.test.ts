import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
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
    const packages = (doc.packages as Record<string, Yaml> | undefined) ?? {};
    const importerDirs = new Set(Object.keys(importers));
    /**
     * The package an importer's dependency names, by pnpm's own conventions, read independently:
     * `1.2.3(peer@x)` (`1.2.3_peer@x` in 5.x) is NAME@1.2.3; `link:REL` an importer (`workspace:DIR`) or a linked
     * directory (NAME@link:DIR); `file:DIR` the package that `packages` names at that key;
     * an alias `real@1.0.0` (9.0), `/real@1.0.0` (6.0), `/real/1.0.0` (5.x) the real package.
     */
    const expectedTarget = (dir: string, depName: string, version: string): string => {
      const bare = version.replace(/(.)\(.*$/, '$1');
      // 5.x writes peers as a `_…` suffix; no semver version holds `_`.
      if (/^\d/.test(bare)) return `${depName}@${bare.replace(/_.*$/, '')}`;
      if (bare.startsWith('link:')) {
        const target = posix.normalize(posix.join(dir, bare.slice('link:'.length)));
        return importerDirs.has(target) ? `workspace:${target}` : `${depName}@link:${target}`;
      }
      if (bare.startsWith('file:')) {
        // 6.0 keys the directory as `file:DIR` (peers kept) with a `name`; 9.0 as `NAME@file:DIR`.
        const entry = (packages[version] ?? packages[bare]) as Yaml | undefined;
        if (entry && typeof entry.name === 'string') return `${entry.name}@${bare}`;
        const keys = Object.keys(packages).filter((k) => k.endsWith(`@${bare}`));
        assert.equal(keys.length, 1, `packages has one entry for ${bare}`);
        return keys[0] as string;
      }
      const v5 = /^\/((?:@[^/]+\/)?[^/@]+)\/([^/]+)$/.exec(bare);
      if (v5) return `${v5[1]}@${(v5[2] as string).replace(/_.*$/, '')}`;
      return bare.replace(/^\//, '');
    };
    for (const [dir, importer] of Object.entries(importers)) {
      const expected = new Set<string>();
      for (const [section, kind] of Object.entries(kinds)) {
        for (const [depName, value] of Object.entries((importer[section] as Yaml | undefined) ?? {})) {
          const version = String(typeof value === 'object' && value !== null ? (value as Yaml).version : value);
          expected.add(`${expectedTarget(dir, depName, version)} ${kind}`);
        }
      }
      const actual = new Set(bare.edges.filter((e) => e.from === `workspace:${dir}`).map((e) => `${e.to} ${e.kind}`));
      assert.deepEqual(actual, expected, `importer ${dir}`);
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
  assert.deepEqual(graph.packages.map((p) => p.id), ['workspace:.', 'left-pad@1.3.0', 'react-dom@18.2.0', 'react@18.2.0', 'local-dep@file:local-dep']);
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

test('a resolution is what pnpm fetches by its `type` alone: a `directory` or `commit` without one is the registry package (pnpm 9 installs it)', () => {
  const lock = (resolution: string): string =>
    [
      "lockfileVersion: '9.0'",
      'importers:',
      '  .:',
      '    dependencies:',
      '      lodash:',
      "        specifier: '*'",
      '        version: 4.17.4',
      'packages:',
      '  lodash@4.17.4:',
      `    resolution: {integrity: sha512-x, ${resolution}}`,
      'snapshots:',
      '  lodash@4.17.4: {}',
      '',
    ].join('\n');
  const lodash = (resolution: string): string => {
    const pkg = parsePnpmLock({ path: '/app/pnpm-lock.yaml', text: lock(resolution) }).packages.find((p) => p.name === 'lodash');
    assert.ok(pkg, resolution);
    return `${pkg.id} ${pkg.source.kind}${pkg.source.isDefaultRegistry ? ' public' : ''}`;
  };
  for (const resolution of ['directory: vendor/lodash', 'directory: null', 'directory: ~', 'type: null, directory: vendor/lodash', 'type: ~', 'commit: 0123456789abcdef0123456789abcdef01234567']) {
    assert.equal(lodash(resolution), 'lodash@4.17.4 registry public', resolution);
  }
  assert.equal(lodash('type: directory, directory: vendor/lodash'), 'lodash@4.17.4 path');
  assert.equal(lodash('type: git, repo: https://github.com/lodash/lodash.git, commit: 0123456789abcdef0123456789abcdef01234567'), 'lodash@4.17.4 git');
  for (const resolution of ['type: remoteTarball', 'type: Directory, directory: vendor/lodash', 'type: {}']) {
    assert.throws(
      () => parsePnpmLock({ path: '/app/pnpm-lock.yaml', text: lock(resolution) }),
      (err: unknown) => err instanceof InputError && /package lodash@4\.17\.4: `resolution\.type` .* is not one pnpm fetches/.test(err.message) && err.position?.line === 9,
      resolution,
    );
  }
});

test('a YAML merge key (`<<`), which pnpm expands (pnpm 9 fetches a merged-in tarball), is refused at its line', () => {
  const text = (resolution: string, extra = ''): string =>
    [
      "lockfileVersion: '9.0'",
      'importers:',
      '  .:',
      '    dependencies:',
      '      lodash:',
      '        specifier: 4.17.21',
      '        version: 4.17.21',
      'packages:',
      '  lodash@4.17.21:',
      `    resolution: ${resolution}`,
      'snapshots:',
      '  lodash@4.17.21: {}',
      extra,
    ].join('\n');
  const refused = (lock: string): void =>
    assert.throws(
      () => parsePnpmLock({ path: '/app/pnpm-lock.yaml', text: lock }),
      (err: unknown) => err instanceof InputError && /holds a YAML merge key \(`<<`\)/.test(err.message) && err.position?.line === 10 && !err.line.includes('\n'),
    );
  refused(text('{<<: {tarball: https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz}, integrity: sha512-x}'));
  refused(text('{integrity: sha512-x, <<: [{tarball: https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz}]}'));
  // Through an alias, and `<<` inside a quoted string is no merge key.
  refused(text('&r {integrity: sha512-x, <<: {tarball: x}}', 'x: [*r, *r]'));
  const graph = parsePnpmLock({ path: '/app/pnpm-lock.yaml', text: text("{integrity: 'sha512-<<: x'}") });
  assert.ok(graph.packages.some((p) => p.id === 'lodash@4.17.21'));
});

test('a tarball package whose entry records no version (pnpm 9 installs it): the version its registry URL names, else its locator, never an invented 0.0.0', () => {
  const lock = (tarball: string, version = ''): string =>
    [
      "lockfileVersion: '9.0'",
      'importers:',
      '  .:',
      '    dependencies:',
      '      axios:',
      `        specifier: ${tarball}`,
      `        version: ${tarball}`,
      'packages:',
      `  axios@${tarball}:`,
      `    resolution: {tarball: ${tarball}}`,
      ...(version === '' ? [] : [`    version: ${version}`]),
      'snapshots:',
      `  axios@${tarball}: {}`,
      '',
    ].join('\n');
  const axios = (text: string): string => {
    const pkg = parsePnpmLock({ path: '/app/pnpm-lock.yaml', text }).packages.find((p) => p.name === 'axios');
    assert.ok(pkg);
    return `${pkg.version} ${pkg.source.kind}`;
  };
  const registryTarball = 'https://registry.npmjs.org/axios/-/axios-1.5.0.tgz';
  assert.equal(axios(lock(registryTarball)), '1.5.0 other');
  assert.equal(axios(lock(registryTarball, '1.5.0')), '1.5.0 other');
  assert.equal(axios(lock('https://example.org/axios/archive/v1.5.0.tgz')), 'https://example.org/axios/archive/v1.5.0.tgz other');
  assert.throws(
    () => parsePnpmLock({ path: '/app/pnpm-lock.yaml', text: lock('https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz') }),
    (err: unknown) => err instanceof InputError && /package axios@https:.*: `resolution\.tarball` is a tarball of lodash, not of axios/.test(err.message),
  );
});

/** A 9.0 lockfile whose one package is `key` (also its snapshot), with `entry` as its `packages` fields. */
function oneEntryLock(key: string, entry: string[]): string {
  const at = key.lastIndexOf('@');
  return [
    "lockfileVersion: '9.0'",
    'importers:',
    '  .:',
    '    dependencies:',
    `      ${key.slice(0, at)}:`,
    `        specifier: ${key.slice(at + 1)}`,
    `        version: ${key.slice(at + 1)}`,
    'packages:',
    `  ${key}:`,
    ...entry.map((line) => `    ${line}`),
    'snapshots:',
    `  ${key}: {}`,
    '',
  ].join('\n');
}

test('a registry-shaped key is the package pnpm installs (9.15.9 fetches and names it by the key): an entry `name` or `version` that says otherwise is refused', () => {
  const refused = (entry: string[], message: RegExp): void =>
    assert.throws(
      () => parsePnpmLock({ path: '/app/pnpm-lock.yaml', text: oneEntryLock('lodash@4.17.4', entry) }),
      (err: unknown) => err instanceof InputError && message.test(err.message) && err.position?.line === 9 && !err.line.includes('\n'),
      entry.join(', '),
    );
  // pnpm 9.15.9 installs lodash 4.17.4 from each (cold store); read from the entry, it was 4.17.21 or not-lodash.
  refused(['version: 4.17.21', 'resolution: {integrity: sha512-x}'], /package lodash@4\.17\.4: its `version` is 4\.17\.21, but pnpm installs the version its key names, lodash@4\.17\.4/);
  refused(['name: not-lodash', 'resolution: {integrity: sha512-x}'], /package lodash@4\.17\.4: its `name` is not-lodash, but pnpm installs the package its key names, lodash/);
  // With a tarball too: pnpm's name is still the key's.
  refused(['name: lodash-es', 'version: 4.17.4', 'resolution: {integrity: sha512-x, tarball: https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz}'], /its `name` is lodash-es/);
  // Agreeing with the key (as pnpm 5.4 writes for some entries): read.
  const graph = parsePnpmLock({ path: '/app/pnpm-lock.yaml', text: oneEntryLock('lodash@4.17.4', ['name: lodash', 'version: 4.17.4', 'resolution: {integrity: sha512-x}']) });
  assert.ok(graph.packages.some((p) => p.id === 'lodash@4.17.4' && p.name === 'lodash' && p.version === '4.17.4'));
  // 5.x keys the same way.
  const v5 = [
    'lockfileVersion: 5.4',
    'specifiers:',
    '  lodash: 4.17.4',
    'dependencies:',
    '  lodash: 4.17.4',
    'packages:',
    '  /lodash/4.17.4:',
    '    resolution: {integrity: sha512-x}',
    '    version: 4.17.21',
    '',
  ].join('\n');
  assert.throws(
    () => parsePnpmLock({ path: '/app/pnpm-lock.yaml', text: v5 }),
    (err: unknown) => err instanceof InputError && /package \/lodash\/4\.17\.4: its `version` is 4\.17\.21/.test(err.message),
  );
});

test('a registry-shaped key whose name no npm package can have is refused (with strict-store-pkg-content-check=false, pnpm 9.15.9 installs lodash 4.17.4 for `/lodash@4.17.4`)', () => {
  for (const name of ['/lodash', 'lod%61sh']) {
    assert.throws(
      () => parsePnpmLock({ path: '/app/pnpm-lock.yaml', text: oneEntryLock(`${name}@4.17.4`, ['resolution: {integrity: sha512-x}']) }),
      (err: unknown) =>
        err instanceof InputError &&
        err.message === `package ${name}@4.17.4: the package name "${name}" holds characters that are not URL-safe: no npm package has it, so what is installed under it cannot be audited as it` &&
        err.position?.line === 9,
      name,
    );
  }
});

test('a relative resolution.tarball is the registry URL pnpm resolves it to: another version than the key is refused, the same one read', () => {
  const tarballOf = (key: string, tarball: string): DependencyGraph =>
    parsePnpmLock({ path: '/app/pnpm-lock.yaml', text: oneEntryLock(key, [`resolution: {integrity: sha512-x, tarball: '${tarball}'}`]) });
  // pnpm 9.15.9 fetches https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz for each (cold store).
  for (const tarball of ['lodash/-/lodash-4.17.4.tgz', '/lodash/-/lodash-4.17.4.tgz', '//registry.npmjs.org/lodash/-/lodash-4.17.4.tgz', './x/../lodash/-/lodash-4.17.4.tgz']) {
    assert.throws(
      () => tarballOf('lodash@4.17.21', tarball),
      (err: unknown) => err instanceof InputError && /package lodash@4\.17\.21: the version is 4\.17\.21 but `resolution\.tarball` is the tarball of lodash@4\.17\.4/.test(err.message),
      tarball,
    );
  }
  assert.throws(
    () => tarballOf('lodash-es@4.17.4', '/lodash/-/lodash-4.17.4.tgz'),
    (err: unknown) => err instanceof InputError && /`resolution\.tarball` is a tarball of lodash, not of lodash-es/.test(err.message),
  );
  // As pnpm writes one for a registry tarball at an unusual URL: the key's package, from the configured registry.
  const pkg = tarballOf('lodash@4.17.4', '/lodash/-/lodash-4.17.4.tgz').packages.find((p) => p.name === 'lodash');
  assert.deepEqual([pkg?.version, pkg?.source.kind, pkg?.source.isDefaultRegistry], ['4.17.4', 'registry', true]);
});

test('a dependency marked dev or optional that an importer needs at run time is neither (pnpm 9.15.9 installs it under --prod and --no-optional)', () => {
  const integrity = 'resolution: {integrity: sha512-x}';
  const flagsOf = (text: string): string => {
    const graph = parsePnpmLock({ path: '/app/pnpm-lock.yaml', text });
    const pkg = graph.packages.find((p) => p.name === 'lodash');
    assert.ok(pkg);
    return JSON.stringify(pkg.flags ?? {});
  };
  const v6 = (section: string, marker: string): string =>
    ["lockfileVersion: '6.0'", `${section}:`, '  lodash:', '    specifier: 4.17.4', '    version: 4.17.4', 'packages:', '  /lodash@4.17.4:', `    ${integrity}`, `    ${marker}`, ''].join('\n');
  const v9 = (section: string, marker: string): string =>
    [
      "lockfileVersion: '9.0'",
      'importers:',
      '  .:',
      `    ${section}:`,
      '      lodash:',
      '        specifier: 4.17.4',
      '        version: 4.17.4',
      'packages:',
      '  lodash@4.17.4:',
      `    ${integrity}`,
      'snapshots:',
      '  lodash@4.17.4:',
      `    ${marker}`,
      '',
    ].join('\n');
  // Needed at run time: the marker alone does not leave it out.
  assert.equal(flagsOf(v6('dependencies', 'dev: true')), '{}');
  assert.equal(flagsOf(v6('dependencies', 'optional: true')), '{}');
  assert.equal(flagsOf(v9('dependencies', 'optional: true')), '{}');
  // Where the importers reach it only so, and the marker agrees: left out as before.
  assert.equal(flagsOf(v6('devDependencies', 'dev: true')), '{"dev":true}');
  assert.equal(flagsOf(v6('optionalDependencies', 'optional: true')), '{"optional":true}');
  assert.equal(flagsOf(v9('optionalDependencies', 'optional: true')), '{"optional":true}');
  assert.equal(flagsOf(v9('devDependencies', 'optional: false')), '{"dev":true}');
  // An optional dependency without the marker: kept (pnpm writes the marker on what only optional edges reach).
  assert.equal(flagsOf(v9('optionalDependencies', 'dev: false')), '{}');
});

test('a pnpm-workspace.yaml catalog entry changed after locking makes the lockfile stale, with a warning', () => {
  // pnpm 9.15.9: fixture-args locked at 0.0.8 from `catalog:`, then the default catalog set to
  // 1.2.6 in pnpm-workspace.yaml: install --frozen-lockfile installs 0.0.8, a plain install
  // resolves 1.2.6 and rewrites the lockfile. The audit passed 0.0.8 as in sync.
  const text = [
    'lockfileVersion: \'9.0\'',
    '',
    'settings:',
    '  autoInstallPeers: true',
    '  excludeLinksFromLockfile: false',
    '',
    'catalogs:',
    '  default:',
    '    fixture-args:',
    '      specifier: 0.0.8',
    '      version: 0.0.8',
    '',
    'importers:',
    '',
    '  .:',
    '    dependencies:',
    '      fixture-args:',
    '        specifier: \'catalog:\'',
    '        version: 0.0.8',
    '',
    'packages:',
    '',
    '  fixture-args@0.0.8:',
    '    resolution: {integrity: sha512-SthzEajs/tnTPGU02eKJtauJpw/YrgwDfh/L/KAhNy82SBmi5wiI8Fl/om08+nPLsa44cwE5p0MSjkbAxBsToA==}',
    '',
    'snapshots:',
    '',
    '  fixture-args@0.0.8: {}',
    '',
  ].join('\n');
  const manifest = { path: '/app/package.json', text: JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { 'fixture-args': 'catalog:' } }) };
  const read = (workspace: string): DependencyGraph => parsePnpmLock({ path: '/app/pnpm-lock.yaml', text, manifest, pnpmWorkspace: { path: '/app/pnpm-workspace.yaml', text: workspace } });
  const changed: [string, string][] = [
    ["packages:\n  - '.'\ncatalog:\n  fixture-args: 1.2.6\n", 'fixture-args@1.2.6 (catalog default)'],
    ["packages:\n  - '.'\ncatalogs:\n  default:\n    fixture-args: ^1.2.0\n", 'fixture-args@^1.2.0 (catalog default)'],
    ["packages:\n  - '.'\ncatalog:\n  other: 1.0.0\n", 'fixture-args (gone from catalog default)'],
  ];
  for (const [workspace, label] of changed) {
    const graph = read(workspace);
    assert.ok(graph.packages.some((p) => p.name === 'fixture-args' && p.version === '0.0.8'));
    assert.equal(graph.stale, `${label} from pnpm-workspace.yaml not locked`, workspace);
    // The file that moved is named, not package.json, which did not.
    assert.deepEqual(graph.warnings, [`/app/pnpm-workspace.yaml: ${label} not locked as asked in /app/pnpm-lock.yaml: the lockfile is older than pnpm-workspace.yaml; the audit covers what it locks`]);
  }
  for (const workspace of ["packages:\n  - '.'\ncatalog:\n  fixture-args: 0.0.8\n", "packages:\n  - '.'\ncatalogs:\n  default:\n    fixture-args: '0.0.8'\n  other:\n    x: 1.0.0\n"]) {
    const graph = read(workspace);
    assert.equal(graph.stale, undefined, workspace);
    assert.equal(graph.warnings, undefined);
  }
});

test('a pnpm-lock.yaml older than package.json (a dependency asked for that its importer does not lock so, or in another section) is audited as locked, with a warning, and stale', () => {
  // pnpm 9.15.9: `pnpm install --frozen-lockfile` refuses it (ERR_PNPM_OUTDATED_LOCKFILE), a plain install resolves anew.
  const lock = (specifier: string, overrides = '', section = 'dependencies'): string =>
    [
      "lockfileVersion: '9.0'",
      '',
      overrides,
      'importers:',
      '  .:',
      `    ${section}:`,
      '      minimist:',
      `        specifier: ${specifier}`,
      '        version: 1.2.6',
      '',
      'packages:',
      '  minimist@1.2.6:',
      '    resolution: {integrity: sha512-Jsjnk4bw3YJqYzbdyBiNsPWHPfO++UGG749Cxs6peCu5Xg4nrena6OVxOYxrQTqww0Jmwt+Ref8rggumkTLz9Q==}',
      '',
      'snapshots:',
      '  minimist@1.2.6: {}',
      '',
    ].join('\n');
  const manifest = (deps: Record<string, string>): { path: string; text: string } => ({ path: 'package.json', text: JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }) });

  const changed = parsePnpmLock({ path: 'pnpm-lock.yaml', text: lock('1.2.6'), manifest: manifest({ minimist: '1.2.0', ms: '2.0.0' }) });
  assert.ok(has(changed, 'minimist', '1.2.6'));
  assert.deepEqual(changed.warnings, [
    'package.json: minimist@1.2.0, ms@2.0.0 not locked as asked in pnpm-lock.yaml: the lockfile is older than package.json; the audit covers what it locks',
  ]);
  assert.equal(changed.stale, 'minimist@1.2.0, ms@2.0.0 from package.json not locked');

  const current = parsePnpmLock({ path: 'pnpm-lock.yaml', text: lock('^1.2.0'), manifest: manifest({ minimist: '^1.2.0' }) });
  assert.equal(current.warnings, undefined);
  assert.equal(current.stale, undefined);
  // pnpm locks an override's specifier in place of package.json's.
  const overriddenManifest = { path: 'package.json', text: JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { minimist: '^1.2.0' }, pnpm: { overrides: { minimist: '1.2.6' } } }) };
  const overridden = parsePnpmLock({ path: 'pnpm-lock.yaml', text: lock('1.2.6', 'overrides:\n  minimist: 1.2.6\n'), manifest: overriddenManifest });
  assert.equal(overridden.stale, undefined);

  // The manifest's overrides (pnpm.overrides over resolutions, `$name` the dependency's
  // specifier) must be the lockfile's: pnpm 9.15.9 --frozen-lockfile refuses another
  // (ERR_PNPM_LOCKFILE_CONFIG_MISMATCH), a plain install resolves anew with the manifest's.
  const withOverrides = (deps: Record<string, string>, extra: Record<string, unknown>): { path: string; text: string } => ({
    path: 'package.json',
    text: JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps, ...extra }),
  });
  const overrideLock = lock('1.2.6', 'overrides:\n  minimist: 1.2.6\n');
  const overriding = (extra: Record<string, unknown>, deps = { minimist: '^1.2.0' }): DependencyGraph => parsePnpmLock({ path: 'pnpm-lock.yaml', text: overrideLock, manifest: withOverrides(deps, extra) });
  const newer = overriding({ pnpm: { overrides: { minimist: '1.2.8' } } });
  assert.ok(has(newer, 'minimist', '1.2.6'));
  assert.equal(newer.stale, 'minimist@1.2.8 (an override) from package.json not locked');
  assert.deepEqual(newer.warnings, [
    'package.json: minimist@1.2.8 (an override) not locked as asked in pnpm-lock.yaml: the lockfile is older than package.json; the audit covers what it locks',
  ]);
  assert.equal(overriding({ pnpm: { overrides: { minimist: '1.2.6' } } }).stale, undefined);
  assert.equal(overriding({ resolutions: { minimist: '1.2.6' } }).stale, undefined);
  assert.equal(overriding({ resolutions: { minimist: '1.2.0' }, pnpm: { overrides: { minimist: '1.2.6' } } }).stale, undefined);
  assert.equal(overriding({ resolutions: { minimist: '$minimist' } }, { minimist: '1.2.6' }).stale, undefined);
  // The lockfile's `minimist` override is no longer set either: pnpm 9.15.9 refuses that alone too.
  assert.equal(overriding({ pnpm: { overrides: { 'a>minimist': '1.2.6' } } }).stale, 'a>minimist@1.2.6 (an override), minimist@1.2.6 (an override no longer set) from package.json not locked');

  // 5.x keeps the specifiers in a map of their own.
  const v5 = [
    'lockfileVersion: 5.4',
    '',
    'specifiers:',
    '  minimist: 1.2.6',
    '',
    'dependencies:',
    '  minimist: 1.2.6',
    '',
    'packages:',
    '  /minimist/1.2.6:',
    '    resolution: {integrity: sha512-Jsjnk4bw3YJqYzbdyBiNsPWHPfO++UGG749Cxs6peCu5Xg4nrena6OVxOYxrQTqww0Jmwt+Ref8rggumkTLz9Q==}',
    '    dev: false',
    '',
  ].join('\n');
  assert.equal(parsePnpmLock({ path: 'pnpm-lock.yaml', text: v5, manifest: manifest({ minimist: '1.2.6' }) }).stale, undefined);
  assert.equal(parsePnpmLock({ path: 'pnpm-lock.yaml', text: v5, manifest: manifest({ minimist: '1.2.0' }) }).stale, 'minimist@1.2.0 from package.json not locked');

  // Moved from devDependencies to dependencies since: pnpm 9.15.9 --frozen-lockfile refuses
  // ("dependencies" in the lockfile doesn't match), a plain install installs it as a runtime
  // dependency. Stale, and not dev: --omit dev audits it.
  const moved = parsePnpmLock({ path: 'pnpm-lock.yaml', text: lock('1.2.6', '', 'devDependencies'), manifest: manifest({ minimist: '1.2.6' }) });
  assert.equal(moved.stale, 'minimist@1.2.6 from package.json not locked');
  assert.deepEqual(moved.packages.filter((p) => p.flags !== undefined), []);
  const dev = parsePnpmLock({
    path: 'pnpm-lock.yaml',
    text: lock('1.2.6', '', 'devDependencies'),
    manifest: { path: 'package.json', text: JSON.stringify({ name: 'app', devDependencies: { minimist: '1.2.6' } }) },
  });
  assert.equal(dev.stale, undefined);
  assert.deepEqual(dev.packages.filter((p) => p.flags?.dev === true).map((p) => p.id), ['minimist@1.2.6']);
});
