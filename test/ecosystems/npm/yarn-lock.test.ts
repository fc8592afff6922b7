import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseYarnLock } from '../../../src/ecosystems/npm/yarn-lock.js';
import { InputError } from '../../../src/core/errors.js';
import type { DependencyGraph } from '../../../src/core/graph.js';
import { NPM_CORPUS, PROJECT_ROOT, corpusFiles } from '../../support/shared.js';

const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'npm', 'yarn');
const lockfiles = corpusFiles(NPM_CORPUS, '.yarn.lock').filter((f) => basename(f).startsWith('prettier-'));

function manifestOf(lockfile: string): { path: string; text: string } {
  const path = lockfile.replace(/\.yarn\.lock$/, '.package.json');
  return { path, text: readFileSync(path, 'utf8') };
}

/** Blocks of a v1 file, read with plain regexes (not the parser under test). */
function v1Blocks(text: string): { name: string; version: string; resolved: string }[] {
  return text
    .split(/\n\n+/)
    .filter((b) => /^\S.*:$/m.test(b) && !b.startsWith('#'))
    .map((b) => {
      const head = (b.split('\n')[0] ?? '').replace(/^"/, '');
      const key = head.split(/"?, /)[0] ?? '';
      const alias = /^(@?[^@]+)@npm:(@?[^@]+)@/.exec(key);
      const name = alias ? (alias[2] as string) : (/^(@?[^@]+)@/.exec(key)?.[1] as string);
      const version = /\n {2}version "([^"]+)"/.exec(b)?.[1] as string;
      const resolved = (/\n {2}resolved "([^"#]+)/.exec(b)?.[1] ?? '').replace(/^https:\/\/[^/]+/, '');
      return { name, version, resolved };
    });
}

function has(graph: DependencyGraph, name: string, version: string): boolean {
  return graph.packages.some((p) => p.name === name && p.version === version);
}

function sample<T>(items: T[], n: number): T[] {
  const step = Math.max(1, Math.floor(items.length / n));
  return items.filter((_, i) => i % step === 0).slice(0, n);
}

test('every prettier yarn.lock parses, v1 up to 2022 then berry', () => {
  const formats = lockfiles.map((f) => parseYarnLock({ path: f, text: readFileSync(f, 'utf8') }).format);
  assert.equal(lockfiles.length, 10);
  assert.deepEqual(formats.slice(0, 5), Array(5).fill('yarn.lock v1'));
  assert.deepEqual(formats.slice(5), [
    'yarn.lock berry (metadata 6)',
    'yarn.lock berry (metadata 8)',
    'yarn.lock berry (metadata 8)',
    'yarn.lock berry (metadata 8)',
    'yarn.lock berry (metadata 10)',
  ]);
});

for (const file of lockfiles) {
  const text = readFileSync(file, 'utf8');
  const isV1 = text.includes('# yarn lockfile v1');
  const name = basename(file);

  test(`${name}: package count, sampled packages, roots`, () => {
    const bare = parseYarnLock({ path: file, text });
    const withManifest = parseYarnLock({ path: file, text, manifest: manifestOf(file) });
    const manifest = JSON.parse(manifestOf(file).text) as Record<string, Record<string, string> | undefined>;
    const directNames = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.devDependencies ?? {}),
      ...Object.keys(manifest.optionalDependencies ?? {}),
    ]);

    if (isV1) {
      const blocks = v1Blocks(text);
      const distinct = new Set(blocks.map((b) => `${b.name}@${b.version} ${b.resolved}`));
      assert.equal(bare.packages.length, distinct.size);
      // The manifest adds the application itself.
      assert.equal(withManifest.packages.length, distinct.size + 1);
      for (const b of sample(blocks, 10)) assert.ok(has(bare, b.name, b.version), `${b.name}@${b.version}`);

      // Without a manifest, the roots are what nothing depends on; with one, the application.
      assert.ok(bare.roots.length > 10);
      assert.equal(withManifest.roots.length, 1);
      const root = withManifest.roots[0] as string;
      const direct = withManifest.edges.filter((e) => e.from === root);
      const targetName = (id: string) => withManifest.packages.find((p) => p.id === id)?.alias ?? withManifest.packages.find((p) => p.id === id)?.name;
      assert.deepEqual(new Set(direct.map((e) => targetName(e.to))), directNames);
      for (const dev of Object.keys(manifest.devDependencies ?? {})) {
        if (dev in (manifest.dependencies ?? {})) continue;
        assert.ok(direct.some((e) => targetName(e.to) === dev && e.kind === 'dev'), `${dev} is a dev edge`);
      }
    } else {
      const resolutions = new Set([...text.matchAll(/^ {2}resolution: "(.+)"$/gm)].map((m) => m[1]));
      assert.equal(bare.packages.length, resolutions.size);
      assert.equal(withManifest.packages.length, resolutions.size);
      const pairs = [...text.matchAll(/^ {2}version: (\S+)\n {2}resolution: "(@?[^@]+)@npm:/gm)].map((m) => [m[2], m[1]] as const);
      assert.ok(pairs.length > 500);
      for (const [n, v] of sample(pairs, 10)) assert.ok(has(bare, n as string, v as string), `${n}@${v}`);

      assert.deepEqual(withManifest.roots, ['prettier@workspace:.']);
      const direct = withManifest.edges.filter((e) => e.from === 'prettier@workspace:.');
      assert.deepEqual(new Set(direct.map((e) => withManifest.packages.find((p) => p.id === e.to)?.name)), directNames);
      // berry writes no checksum as SRI: it is yarn's archive hash, kept with its cache key.
      assert.ok(bare.packages.filter((p) => p.checksum).every((p) => /^\w+\/[0-9a-f]{128}$/.test(p.checksum as string)));
    }

    // Dev flags follow the manifest: a dev-only tool is dev, a runtime dependency is not.
    const devOnly = withManifest.packages.find((p) => p.name === 'jest');
    assert.equal(devOnly?.flags?.dev, true);
    const runtime = Object.keys(manifest.dependencies ?? {}).find((d) => !d.startsWith('@types/'));
    const runtimePkg = withManifest.packages.find((p) => p.name === runtime && p.source.kind !== 'workspace');
    assert.ok(runtimePkg, `runtime dependency ${runtime}`);
    assert.notEqual(runtimePkg.flags?.dev, true);
    // Without the manifest neither format says what is dev-only (berry's workspace entry merges
    // dependencies and devDependencies): nothing is labelled dev, on the safe side.
    assert.deepEqual(bare.packages.filter((p) => p.flags?.dev === true).map((p) => p.id), []);
    assert.ok(withManifest.packages.filter((p) => p.flags?.dev === true).length > 100, 'the manifest makes the dev tools dev');
  });
}

test('prettier 2022 v1: a GitHub dependency resolves to its locked commit', () => {
  const file = join(NPM_CORPUS, 'prettier-2022-01-01.yarn.lock');
  const graph = parseYarnLock({ path: file, text: readFileSync(file, 'utf8') });
  const srcset = graph.packages.find((p) => p.name === 'parse-srcset');
  assert.equal(srcset?.version, '1.0.2');
  assert.equal(srcset?.source.isDefaultRegistry, false);
  const babel = graph.packages.find((p) => p.name === '@babel/core');
  assert.equal(babel?.source.isDefaultRegistry, true);
  assert.match(babel?.checksum ?? '', /^sha512-/);
});

test('prettier 2023 berry: builtin compat patches stand between a dependent and the package', () => {
  const file = join(NPM_CORPUS, 'prettier-2023-01-01.yarn.lock');
  const graph = parseYarnLock({ path: file, text: readFileSync(file, 'utf8'), manifest: manifestOf(file) });
  const patched = graph.packages.find((p) => p.name === 'typescript' && p.source.kind === 'other');
  const base = graph.packages.find((p) => p.name === 'typescript' && p.source.kind === 'registry');
  assert.equal(patched?.version, '4.9.4');
  assert.equal(base?.id, 'typescript@4.9.4');
  // typescript is in the manifest's dependencies (prettier builds with it).
  assert.ok(graph.edges.some((e) => e.from === 'prettier@workspace:.' && e.to === patched?.id && e.kind === 'normal'));
  assert.ok(graph.edges.some((e) => e.from === patched?.id && e.to === base?.id));
  // `resolutions: {trim: 1.0.1}` replaced remark-parse's `trim@0.0.1`.
  assert.ok(graph.edges.some((e) => e.from === 'remark-parse@8.0.3' && e.to === 'trim@1.0.1'));
});

function fixture(name: string): { path: string; text: string } {
  const path = join(FIXTURES, name);
  return { path, text: readFileSync(path, 'utf8') };
}

test('v1 fixture: alias, git dependency, optional and dev flags', () => {
  const graph = parseYarnLock({ ...fixture('v1-small.yarn.lock'), manifest: fixture('v1-small.package.json') });
  assert.deepEqual(graph.roots, ['small-app@2.0.0']);
  // `pad-alias@npm:left-pad@^1.3.0` is left-pad 1.3.0, the same package as `left-pad@^1.3.0`.
  assert.deepEqual(
    graph.packages.map((p) => p.id),
    ['small-app@2.0.0', '@scope/util@1.2.3', 'left-pad@1.3.0', 'srcset@1.0.2', 'fsevents@2.3.3', 'mocha@10.2.0'],
  );
  assert.ok(graph.edges.some((e) => e.from === 'small-app@2.0.0' && e.to === 'left-pad@1.3.0'));
  const srcset = graph.packages.find((p) => p.name === 'srcset');
  assert.deepEqual(srcset?.source, {
    kind: 'git',
    url: 'git+https://github.com/example/srcset.git',
    rev: '54eb9c1cb21db5c62b4d0e275d7249516df6f0ee',
    isDefaultRegistry: false,
  });
  const flags = Object.fromEntries(graph.packages.map((p) => [p.name, p.flags ?? {}]));
  assert.deepEqual(flags['mocha'], { dev: true });
  assert.deepEqual(flags['fsevents'], { optional: true });
  // mocha depends on @scope/util, but the app does too at run time: not dev.
  assert.deepEqual(flags['@scope/util'], {});
});

test('yarn 1: a devDependency named constructor (an npm package; a member every object inherits) is a dev edge from the project, as any other is', () => {
  const entry = (name: string): string[] => [`${name}@^1.0.0:`, '  version "1.0.0"', `  resolved "https://registry.yarnpkg.com/${name}/-/${name}-1.0.0.tgz#bf3902eff65c6923d9ce9cfbd2db54160e34005a"`, ''];
  const text = ['# yarn lockfile v1', '', ...entry('constructor'), ...entry('ctor')].join('\n');
  const manifest = { path: '/app/package.json', text: '{"name":"app","version":"1.0.0","devDependencies":{"constructor":"^1.0.0","ctor":"^1.0.0"}}' };
  const graph = parseYarnLock({ path: '/app/yarn.lock', text, manifest });
  assert.deepEqual(
    graph.edges.map((e) => [e.from, e.to, e.kind]),
    [
      ['app@1.0.0', 'constructor@1.0.0', 'dev'],
      ['app@1.0.0', 'ctor@1.0.0', 'dev'],
    ],
  );
  assert.deepEqual(graph.packages.find((p) => p.name === 'constructor')?.flags, { dev: true });
});

test('berry: a devDependency named constructor that its workspace entry does not lock as asked is named stale, as any other is (yarn install --immutable refuses such a lockfile)', () => {
  const text = [
    '__metadata:',
    '  version: 8',
    '  cacheKey: 10c0',
    '',
    '"app@workspace:.":',
    '  version: 0.0.0-use.local',
    '  resolution: "app@workspace:."',
    '  dependencies:',
    '    constructor: "npm:^1.0.0"',
    '  languageName: unknown',
    '  linkType: soft',
    '',
    '"constructor@npm:^1.0.0":',
    '  version: 1.0.0',
    '  resolution: "constructor@npm:1.0.0"',
    `  checksum: 10c0/${'ab'.repeat(64)}`,
    '  languageName: node',
    '  linkType: hard',
    '',
  ].join('\n');
  const manifest = { path: '/app/package.json', text: '{"name":"app","version":"1.0.0","devDependencies":{"constructor":"^2.0.0"}}' };
  const graph = parseYarnLock({ path: '/app/yarn.lock', text, manifest });
  assert.equal(graph.stale, 'constructor@^2.0.0 from package.json not locked');
});

test('v1 fixture without a manifest: the roots are the entries nothing depends on', () => {
  const graph = parseYarnLock(fixture('v1-small.yarn.lock'));
  assert.deepEqual(graph.roots.sort(), ['mocha@10.2.0', 'srcset@1.0.2']);
});

test('berry fixture: workspaces, alias, patch: and git dependencies', () => {
  const graph = parseYarnLock({ ...fixture('berry-small.yarn.lock'), manifest: fixture('berry-small.package.json') });
  assert.equal(graph.format, 'yarn.lock berry (metadata 8)');
  assert.deepEqual(graph.roots, ['app@workspace:.', 'lib@workspace:packages/lib']);
  const byName = (n: string) => graph.packages.filter((p) => p.name === n);
  const edgesFrom = (id: string) => graph.edges.filter((e) => e.from === id).map((e) => `${e.to} ${e.kind}`);
  const [lodashBase, lodashPatched] = [byName('lodash').find((p) => p.source.kind === 'registry'), byName('lodash').find((p) => p.source.kind === 'other')];
  assert.equal(lodashPatched?.version, '4.17.21');
  assert.match(lodashPatched?.source.url ?? '', /^patch:lodash@npm%3A4\.17\.21#~\/\.yarn\/patches\//);
  assert.equal(lodashPatched?.source.isDefaultRegistry, false);
  assert.deepEqual(edgesFrom(lodashPatched?.id ?? ''), [`${lodashBase?.id} normal`]);
  const srcset = byName('srcset')[0];
  assert.equal(srcset?.source.kind, 'git');
  assert.equal(srcset?.source.rev, '54eb9c1cb21db5c62b4d0e275d7249516df6f0ee');
  assert.deepEqual(edgesFrom('app@workspace:.').sort(), [
    'left-pad@1.3.0 normal',
    'lib@workspace:packages/lib normal',
    `${lodashPatched?.id} normal`,
    `${srcset?.id} normal`,
    `${byName('typescript').find((p) => p.source.kind === 'other')?.id} dev`,
  ].sort());
  assert.deepEqual(edgesFrom('lib@workspace:packages/lib'), ['left-pad@1.3.0 normal']);
  assert.equal(byName('typescript').every((p) => p.flags?.dev === true), true);
  assert.equal(byName('left-pad')[0]?.checksum?.startsWith('10c0/'), true);
});

const broken: [string, RegExp, number | null][] = [
  ['broken-v1-truncated.yarn.lock', /yarn 1's parser fails here \(a string that does not end/, 22],
  ['broken-v1-wrong-type.yarn.lock', /`version` must be a string/, 10],
  ['broken-v1-missing-entry.yarn.lock', /left-pad@\^1\.3\.0 has no entry/, 8],
  ['broken-berry-truncated.yarn.lock', /invalid YAML/, 45],
  ['broken-berry-syntax.yarn.lock', /invalid YAML/, 6],
  ['broken-berry-wrong-type.yarn.lock', /`dependencies` must be a mapping/, 8],
  ['broken-berry-unknown-version.yarn.lock', /unsupported yarn lockfile metadata version "99"/, null],
  ['broken-binary.yarn.lock', /binary/, null],
];
for (const [name, message, line] of broken) {
  test(`${name} is an InputError naming the file`, () => {
    const input = fixture(name);
    assert.throws(
      () => parseYarnLock(input),
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

test('a manifest that is not JSON is an InputError naming the manifest', () => {
  const manifest = { path: '/app/package.json', text: '{"name": ' };
  assert.throws(() => parseYarnLock({ ...fixture('v1-small.yarn.lock'), manifest }), (err: unknown) => err instanceof InputError && err.file === manifest.path);
});

test('yarn before 1.0 keyed some entries by bare name: dependencies resolve to them', () => {
  const text = [
    '# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.',
    '# yarn lockfile v1',
    '',
    '',
    'detect-indent:',
    '  version "4.0.0"',
    '  resolved "https://registry.yarnpkg.com/detect-indent/-/detect-indent-4.0.0.tgz#f76d064352cdf43a1cb6ce619c4ee3a9475de208"',
    '  dependencies:',
    '    repeating "^2.0.0"',
    '',
    'repeating@^2.0.0:',
    '  version "2.0.1"',
    '  resolved "https://registry.yarnpkg.com/repeating/-/repeating-2.0.1.tgz#5214c53a926d3552707527fbab415dbc08d06dda"',
    '',
  ].join('\n');
  const manifest = { path: '/app/package.json', text: '{"name":"app","version":"0.16.0","dependencies":{"detect-indent":"^4.0.0"}}' };
  const graph = parseYarnLock({ path: '/app/yarn.lock', text, manifest });
  assert.deepEqual(graph.packages.map((p) => p.id), ['app@0.16.0', 'detect-indent@4.0.0', 'repeating@2.0.1']);
  assert.deepEqual(
    graph.edges.map((e) => `${e.from} -> ${e.to}`),
    ['detect-indent@4.0.0 -> repeating@2.0.1', 'app@0.16.0 -> detect-indent@4.0.0'],
  );
});

test('a yarn.lock of nothing but comments is an empty v1 lockfile', () => {
  const graph = parseYarnLock({ path: '/app/yarn.lock', text: '# intentionally left empty\n', manifest: { path: '/app/package.json', text: '{"name":"app","version":"1.0.0"}' } });
  assert.equal(graph.format, 'yarn.lock v1');
  assert.deepEqual(graph.packages.map((p) => p.id), ['app@1.0.0']);
});

test('an empty yarn.lock (no bytes, or only whitespace) is refused like every other empty lockfile', () => {
  // yarn 1 reads one as locking nothing: `yarn install` then installs whatever the registry has.
  for (const text of ['', '\n', '  \n\t\r\n', '\uFEFF']) {
    assert.throws(
      () => parseYarnLock({ path: '/app/yarn.lock', text }),
      (err: unknown) =>
        err instanceof InputError &&
        err.line === '/app/yarn.lock: the file is empty (yarn writes at least its "# yarn lockfile v1" header, even for a project without dependencies)',
      JSON.stringify(text),
    );
  }
});

test('a package.json newer than its yarn.lock: audited as locked, with a warning naming what is not locked', () => {
  const text = [
    '# yarn lockfile v1',
    '',
    'log4js@^2.3.9:',
    '  version "2.11.0"',
    '  resolved "https://registry.yarnpkg.com/log4js/-/log4js-2.11.0.tgz#bf3902eff65c6923d9ce9cfbd2db54160e34005a"',
    '',
  ].join('\n');
  const manifest = { path: '/app/package.json', text: '{"name":"app","version":"1.0.0","dependencies":{"log4js":"^2.5.3","ms":"^2.1.3"}}' };
  const graph = parseYarnLock({ path: '/app/yarn.lock', text, manifest });
  assert.deepEqual(graph.packages.map((p) => p.id), ['app@1.0.0', 'log4js@2.11.0']);
  assert.deepEqual(graph.warnings, [
    '/app/package.json: log4js@^2.5.3, ms@^2.1.3 not locked as asked in /app/yarn.lock: the lockfile is older than package.json; the audit covers what it locks',
  ]);
  // Audited as locked, but an install that keeps this lockfile fails: vendoring refuses it.
  assert.equal(graph.stale, 'log4js@^2.5.3, ms@^2.1.3 from package.json not locked');
});

test("yarn 1: a package.json resolution the locked versions do not satisfy is refused, naming both (yarn 1 installs the resolution's, even with --frozen-lockfile)", () => {
  // yarn 1.22.22: mkdirp@0.5.6 locked with minimist 1.2.8, then `"resolutions": {"minimist": "0.0.8"}`
  // added: `yarn install --frozen-lockfile` installs minimist 0.0.8 and leaves yarn.lock as it is.
  const text = [
    '# yarn lockfile v1',
    '',
    'minimist@^1.2.6:',
    '  version "1.2.8"',
    '  resolved "https://registry.yarnpkg.com/minimist/-/minimist-1.2.8.tgz#c1a464e7693302e082a075cee0c057741ac4772c"',
    '',
  ].join('\n');
  const read = (resolutions: Record<string, string> | undefined): DependencyGraph =>
    parseYarnLock({ path: '/app/yarn.lock', text, manifest: { path: '/app/package.json', text: JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { minimist: '^1.2.6' }, resolutions }) } });
  for (const key of ['minimist', '**/minimist']) {
    assert.throws(
      () => read({ [key]: '0.0.8' }),
      (err: unknown) =>
        err instanceof InputError &&
        err.line === '/app/package.json: "resolutions" asks for minimist@0.0.8, which yarn 1 installs (from the registry, even with --frozen-lockfile) in place of the 1.2.8 /app/yarn.lock locks; run yarn install to lock what is installed',
      key,
    );
  }
  // Resolutions the locked versions satisfy, or under a parent only, are read as locked.
  const kept: (Record<string, string> | undefined)[] = [undefined, { minimist: '1.2.8' }, { minimist: '^1.2.0' }, { 'mkdirp/minimist': '0.0.8' }];
  for (const resolutions of kept) {
    assert.ok(has(read(resolutions), 'minimist', '1.2.8'), JSON.stringify(resolutions));
  }
});

test('yarn 1: a resolution below a parent (`parent/name`, `**/parent/name`, `parent/**/name`) is checked on the packages under that parent', () => {
  // yarn 1.22.22: fixture-mkdirp@0.5.1 locked with the fixture-args@0.0.8 it pins, then each key
  // below added with "1.2.6": `yarn install --frozen-lockfile` installs fixture-args 1.2.6 and
  // leaves yarn.lock as it is. The audit checked 0.0.8 and passed.
  const text = [
    '# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.',
    '# yarn lockfile v1',
    '',
    '',
    'fixture-args@0.0.8:',
    '  version "0.0.8"',
    '  resolved "https://registry.yarnpkg.com/fixture-args/-/fixture-args-0.0.8.tgz#ef198508bf9d724f7262c5dfb512a0ea992f3d73"',
    '  integrity sha512-SthzEajs/tnTPGU02eKJtauJpw/YrgwDfh/L/KAhNy82SBmi5wiI8Fl/om08+nPLsa44cwE5p0MSjkbAxBsToA==',
    '',
    'fixture-mkdirp@0.5.1:',
    '  version "0.5.1"',
    '  resolved "https://registry.yarnpkg.com/fixture-mkdirp/-/fixture-mkdirp-0.5.1.tgz#44c1b8e92c2f1c8dcd6b6b20688da8fe0cc0553e"',
    '  integrity sha512-zjp7la6RjCbZS+UQbeH4yfbdRTCDWd2wpZ7/wgevyL3o6fnCdGv5vSV3OjkRE2qRBVUK6FOiQ57nK6yzT7f5Vw==',
    '  dependencies:',
    '    fixture-args "0.0.8"',
    '',
  ].join('\n');
  const read = (resolutions: Record<string, string>, dependencies: Record<string, string> = { 'fixture-mkdirp': '0.5.1' }): DependencyGraph =>
    parseYarnLock({ path: '/app/yarn.lock', text, manifest: { path: '/app/package.json', text: JSON.stringify({ name: 'app', version: '1.0.0', dependencies, resolutions }) } });
  for (const key of ['fixture-mkdirp/fixture-args', '**/fixture-mkdirp/fixture-args', 'fixture-mkdirp/**/fixture-args', '*/fixture-args']) {
    assert.throws(
      () => read({ [key]: '1.2.6' }),
      (err: unknown) =>
        err instanceof InputError &&
        err.line ===
          `/app/package.json: "resolutions" asks for fixture-args@1.2.6 below ${JSON.stringify(key.slice(0, -'/fixture-args'.length))}, which yarn 1 installs (from the registry, even with --frozen-lockfile) in place of the 0.0.8 /app/yarn.lock locks; run yarn install to lock what is installed`,
      key,
    );
  }
  // What yarn installs as locked: the resolution holds for 0.0.8, or names a parent that
  // fixture-args is not below (a direct dependency is not below itself, nor a nested one below
  // `other`).
  const kept: Record<string, string>[] = [{ 'fixture-mkdirp/fixture-args': '0.0.8' }, { 'other/fixture-args': '1.2.6' }, { 'fixture-args/fixture-mkdirp': '0.5.2' }];
  for (const resolutions of kept) {
    assert.ok(has(read(resolutions), 'fixture-args', '0.0.8'), JSON.stringify(resolutions));
  }
});

test('a package.json newer than its berry yarn.lock: audited as locked, with a warning naming what is not locked, and stale', () => {
  // yarn 4.9.2: fsevents changed from 2.3.2 to 2.3.3 in package.json after locking; `yarn install
  // --immutable` refuses (YN0028, the lockfile would change) and a plain install resolves anew.
  const text = (fsevents: string): string =>
    [
      '__metadata:',
      '  version: 8',
      '  cacheKey: 10c0',
      '',
      '"app@workspace:.":',
      '  version: 0.0.0-use.local',
      '  resolution: "app@workspace:."',
      '  dependencies:',
      `    fsevents: "${fsevents}"`,
      '    ms: "npm:^2.1.3"',
      '  languageName: unknown',
      '  linkType: soft',
      '',
      '"fsevents@npm:2.3.2":',
      '  version: 2.3.2',
      '  resolution: "fsevents@npm:2.3.2"',
      `  checksum: 10c0/${'ab'.repeat(64)}`,
      '  languageName: node',
      '  linkType: hard',
      '',
      '"ms@npm:^2.1.3":',
      '  version: 2.1.3',
      '  resolution: "ms@npm:2.1.3"',
      `  checksum: 10c0/${'cd'.repeat(64)}`,
      '  languageName: node',
      '  linkType: hard',
      '',
    ].join('\n');
  const manifest = (deps: Record<string, string>, dev: Record<string, string> = {}): { path: string; text: string } => ({
    path: '/app/package.json',
    text: JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps, devDependencies: dev }),
  });
  const changed = parseYarnLock({ path: '/app/yarn.lock', text: text('npm:2.3.2'), manifest: manifest({ fsevents: '2.3.3' }, { ms: '^2.1.3', left: '1.0.0' }) });
  assert.ok(has(changed, 'fsevents', '2.3.2'));
  assert.deepEqual(changed.warnings, [
    '/app/package.json: left@1.0.0, fsevents@2.3.3 not locked as asked in /app/yarn.lock: the lockfile is older than package.json; the audit covers what it locks',
  ]);
  assert.equal(changed.stale, 'left@1.0.0, fsevents@2.3.3 from package.json not locked');
  // In sync: the ranges as yarn 4 writes them (`npm:`), as yarn 2 and 3 write them (bare), or `npm:` in package.json.
  for (const [locked, asked] of [
    ['npm:2.3.2', '2.3.2'],
    ['2.3.2', '2.3.2'],
    ['npm:2.3.2', 'npm:2.3.2'],
  ]) {
    const current = parseYarnLock({ path: '/app/yarn.lock', text: text(locked as string), manifest: manifest({ fsevents: asked as string }, { ms: '^2.1.3' }) });
    assert.equal(current.stale, undefined, `${locked} for ${asked}`);
    assert.equal(current.warnings, undefined);
  }
});

test('a v1 entry whose resolved tarball is another version or package is refused (yarn 1 installs the tarball)', () => {
  const entry = (key: string, version: string, resolved: string): string =>
    ['# yarn lockfile v1', '', '', `"${key}":`, `  version "${version}"`, `  resolved "${resolved}"`, ''].join('\n');
  const refused = (text: string, message: RegExp): void =>
    assert.throws(
      () => parseYarnLock({ path: '/app/yarn.lock', text }),
      (err: unknown) => err instanceof InputError && err.position?.line === 4 && message.test(err.message) && !err.line.includes('\n'),
    );
  const lodash4 = 'https://registry.yarnpkg.com/lodash/-/lodash-4.17.4.tgz#c8e3ba7fac13c0b2dfc7b33f4de14f8b4e7d7ba9';
  refused(entry('lodash@^4.17.0', '4.17.21', lodash4), /entry lodash@\^4\.17\.0: `version` is 4\.17\.21 but `resolved` is the tarball of lodash@4\.17\.4; yarn installs the tarball/);
  refused(entry('lodash-es@^4.17.0', '4.17.4', lodash4), /`resolved` is a tarball of lodash, not of lodash-es/);
  refused(entry('underscore@npm:lodash-es@^4.17.0', '4.17.4', lodash4), /`resolved` is a tarball of lodash, not of lodash-es/);
  refused(entry('lodash@^4.17.0', '4.17.4', `${lodash4} `), /has whitespace around it/);
  // An alias whose tarball is its target's, and a scheme in capitals: what yarn installs.
  const alias = parseYarnLock({ path: '/app/yarn.lock', text: entry('underscore@npm:lodash@^4.17.0', '4.17.4', lodash4.replace('https', 'HTTPS')) });
  assert.deepEqual(alias.packages.map((p) => [p.id, p.alias, p.source.kind, p.source.isDefaultRegistry]), [['lodash@4.17.4', 'underscore', 'registry', true]]);
});

test('a registry package under a name no npm package can have is refused, v1 and berry: the registry decodes its tarball URL (lod%61sh is lodash)', () => {
  const unnamed = /the package name "lod%61sh" holds characters that are not URL-safe: no npm package has it, so what is installed under it cannot be audited as it$/;
  const refused = (text: string, line: number): void =>
    assert.throws(
      () => parseYarnLock({ path: '/app/yarn.lock', text }),
      (err: unknown) => err instanceof InputError && err.position?.line === line && unnamed.test(err.message) && !err.line.includes('\n'),
    );
  const tarball = 'https://registry.yarnpkg.com/lod%61sh/-/lod%61sh-4.17.4.tgz#c8e3ba7fac13c0b2dfc7b33f4de14f8b4e7d7ba9';
  refused(['# yarn lockfile v1', '', '', '"lodash@npm:lod%61sh@^4.17.0":', '  version "4.17.4"', `  resolved "${tarball}"`, ''].join('\n'), 4);
  const berry = ['__metadata:', '  version: 8', '  cacheKey: 10c0', '', '"lodash@npm:lod%61sh@4.17.4":', '  version: 4.17.4', '  resolution: "lod%61sh@npm:4.17.4"', '  languageName: node', '  linkType: hard', ''];
  refused(berry.join('\n'), 5);
});

test('a v1 key given twice in one block is the last one given, as yarn 1 reads it (yarn 1.22 installs the second version)', () => {
  const lodash = (version: string): string => `https://registry.yarnpkg.com/lodash/-/lodash-${version}.tgz`;
  const text = [
    '# yarn lockfile v1',
    '',
    '',
    'lodash@^4.17.0:',
    '  version "4.17.21"',
    `  resolved "${lodash('4.17.21')}"`,
    '  dependencies:',
    '    ms "^1.0.0"',
    '  "version" "4.17.4"',
    `  resolved "${lodash('4.17.4')}"`,
    '  dependencies:',
    '    ms "^2.0.0"',
    '    ms "^2.1.0"',
    '',
    'ms@^1.0.0:',
    '  version "1.0.0"',
    '  resolved "https://registry.yarnpkg.com/ms/-/ms-1.0.0.tgz"',
    '',
    'ms@^2.1.0, ms@^2.0.0:',
    '  version "2.0.0"',
    '  resolved "https://registry.yarnpkg.com/ms/-/ms-2.0.0.tgz"',
    '',
    'ms@^2.1.0:',
    '  version "2.1.3"',
    '  resolved "https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz"',
    '',
  ].join('\n');
  const graph = parseYarnLock({ path: '/app/yarn.lock', text });
  assert.deepEqual(
    graph.packages.map((p) => p.id),
    ['lodash@4.17.4', 'ms@1.0.0', 'ms@2.0.0', 'ms@2.1.3'],
  );
  // The last `dependencies` block, and in it the last range for ms, which the last `ms@^2.1.0` block locks.
  assert.deepEqual(graph.edges.map((e) => `${e.from} -> ${e.to}`), ['lodash@4.17.4 -> ms@2.1.3']);
  // An entry whose every key a later entry takes is not installed.
  const replaced = parseYarnLock({ path: '/app/yarn.lock', text: text.replace('ms@^2.1.0, ms@^2.0.0:', 'ms@^2.1.0:') });
  assert.deepEqual(replaced.packages.map((p) => p.id), ['lodash@4.17.4', 'ms@1.0.0', 'ms@2.1.3']);
});

/** A berry lockfile of an app that depends on lodash by `range`, locked at `version` from `resolution` (its entry on line 13). */
function berryLodashLock(range: string, resolution: string, version: string): string {
  return [
    '__metadata:',
    '  version: 8',
    '  cacheKey: 10c0',
    '',
    '"app@workspace:.":',
    '  version: 0.0.0-use.local',
    '  resolution: "app@workspace:."',
    '  dependencies:',
    `    lodash: "${range}"`,
    '  languageName: unknown',
    '  linkType: soft',
    '',
    `"lodash@${range}":`,
    `  version: ${version}`,
    `  resolution: "${resolution}"`,
    '  checksum: 10c0/843eae40',
    '  languageName: node',
    '  linkType: hard',
    '',
  ].join('\n');
}

test('a berry npm: entry installs the version its resolution names (yarn 4.9 installs 4.17.4 whatever `version` says), or its __archiveUrl', () => {
  const lock = (resolution: string, version: string): string => berryLodashLock('npm:4.17.4', resolution, version);
  const refused = (text: string, message: RegExp): void =>
    assert.throws(
      () => parseYarnLock({ path: '/app/yarn.lock', text }),
      (err: unknown) => err instanceof InputError && err.position?.line === 13 && message.test(err.message) && !err.line.includes('\n'),
    );
  const archive = (url: string): string => `lodash@npm:4.17.4::__archiveUrl=${encodeURIComponent(url)}`;
  refused(lock('lodash@npm:4.17.4', '4.17.21'), /entry lodash@npm:4\.17\.4: `version` is 4\.17\.21 but the resolution is lodash@4\.17\.4; yarn installs the resolution/);
  refused(lock(archive('https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz'), '4.17.4'), /`__archiveUrl` is the tarball of lodash@4\.17\.21, not of lodash@4\.17\.4; yarn installs the archive/);
  refused(lock(archive('https://registry.npmjs.org/lodash-es/-/lodash-es-4.17.4.tgz'), '4.17.4'), /`__archiveUrl` is the tarball of lodash-es@4\.17\.4, not of lodash@4\.17\.4/);
  refused(lock(archive(' https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz'), '4.17.4'), /`__archiveUrl` " https:.*" has whitespace around it/);
  const sourceOf = (text: string): string => {
    const pkg = parseYarnLock({ path: '/app/yarn.lock', text }).packages.find((p) => p.name === 'lodash');
    assert.ok(pkg);
    return `${pkg.id} ${pkg.source.kind} ${pkg.source.url}`;
  };
  assert.equal(sourceOf(lock('lodash@npm:4.17.4', '4.17.4')), 'lodash@4.17.4 registry https://registry.npmjs.org/');
  assert.equal(sourceOf(lock(archive('https://npm.example.org/lodash/-/lodash-4.17.4.tgz'), '4.17.4')), 'lodash@4.17.4 registry https://npm.example.org/');
  assert.equal(sourceOf(lock(archive('https://example.org/lodash.tgz'), '4.17.4')), 'lodash@4.17.4 other https://example.org/lodash.tgz');
});

test('a berry URL resolution that is a registry tarball is that tarball (yarn 4.9.2 --immutable installs lodash 4.17.4 under `version: 4.17.21`): another version or package is refused', () => {
  const lock = (url: string, version: string): string => berryLodashLock(url, `lodash@${url}`, version);
  const refused = (text: string, message: RegExp): void =>
    assert.throws(
      () => parseYarnLock({ path: '/app/yarn.lock', text }),
      (err: unknown) => err instanceof InputError && err.position?.line === 13 && message.test(err.message) && !err.line.includes('\n'),
    );
  const lodash4 = 'https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz';
  refused(lock(lodash4, '4.17.21'), /the resolution is the tarball of lodash@4\.17\.4, not of lodash@4\.17\.21; yarn installs the tarball$/);
  refused(lock('https://registry.npmjs.org/lodash-es/-/lodash-es-4.17.4.tgz', '4.17.4'), /the resolution is the tarball of lodash-es@4\.17\.4, not of lodash@4\.17\.4/);
  // The same version, and a tarball off any registry: matched by the version recorded, as before.
  for (const url of [lodash4, 'https://example.org/lodash.tgz']) {
    const pkg = parseYarnLock({ path: '/app/yarn.lock', text: lock(url, '4.17.4') }).packages.find((p) => p.name === 'lodash');
    assert.deepEqual([pkg?.version, pkg?.source.kind, pkg?.source.url], ['4.17.4', 'other', url]);
  }
});

test('a v1 registry entry without `resolved` is refused: yarn 1 resolves its range at install time (1.22.22 --frozen-lockfile installed lodash 4.17.20 for one recording 4.17.99)', () => {
  const lock = (key: string, fields: string[]): string => ['# yarn lockfile v1', '', '', `${key}:`, ...fields.map((f) => `  ${f}`), ''].join('\n');
  for (const key of ['"lodash@<=4.17.20 || 4.17.99"', 'lodash@^4.17.0', 'lodash@latest', '"my-lodash@npm:lodash@^4.17.0"', 'lodash']) {
    assert.throws(
      () => parseYarnLock({ path: '/app/yarn.lock', text: lock(key, ['version "4.17.99"']) }),
      (err: unknown) =>
        err instanceof InputError &&
        err.file === '/app/yarn.lock' &&
        err.position?.line === 4 &&
        /has no `resolved`: yarn 1 does not install it from the lockfile, it resolves ".*" against the registry at install time, so version 4\.17\.99 is not what it installs/.test(err.message),
      key,
    );
  }
  // With `resolved`, yarn installs the tarball; a path, URL or git key is not resolved against the registry.
  const pinned = parseYarnLock({ path: '/app/yarn.lock', text: lock('lodash@^4.17.0', ['version "4.17.4"', 'resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.4.tgz"']) });
  assert.deepEqual(pinned.packages.map((p) => p.id), ['lodash@4.17.4']);
  for (const key of ['"local@file:./local"', '"tool@https://example.org/tool-1.0.0.tgz"', '"dep@git+https://example.org/dep.git#0123456789abcdef0123456789abcdef01234567"']) {
    const graph = parseYarnLock({ path: '/app/yarn.lock', text: lock(key, ['version "1.0.0"']) });
    assert.equal(graph.packages.length, 1, key);
  }
});

test('a berry patch: of a registry package is the version it patches: a `version` that says otherwise is refused (yarn 4.9.2 installs lodash 4.17.4, patched)', () => {
  const patch = 'lodash@patch:lodash@npm%3A4.17.4#~/.yarn/patches/lodash-npm-4.17.4.patch';
  const lock = (version: string): string => berryLodashLock(patch.slice('lodash@'.length), `${patch}::version=4.17.4&hash=db467e`, version);
  assert.throws(
    () => parseYarnLock({ path: '/app/yarn.lock', text: lock('4.17.21') }),
    (err: unknown) =>
      err instanceof InputError &&
      err.position?.line === 13 &&
      /entry lodash@patch:lodash@npm%3A4\.17\.4#.*: `version` is 4\.17\.21 but the resolution patches lodash@4\.17\.4; yarn installs that version, patched/.test(err.message),
  );
  const graph = parseYarnLock({ path: '/app/yarn.lock', text: lock('4.17.4') });
  assert.ok(graph.packages.some((p) => p.name === 'lodash' && p.version === '4.17.4'));
});

test('a v1 file yarn 1 cannot read itself is refused at the place it fails (yarn 1.22.22 then installs without it: lodash 4.18.1 where it locked 4.17.4, --frozen-lockfile or not)', () => {
  const resolved = '  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.4.tgz#78203a4d1c328ae1d86dca6460e369b57f4055ae"';
  const lock = (...lines: string[]): string => ['# yarn lockfile v1', '', '', ...lines, ''].join('\n');
  const refused: [string, string, RegExp, number, number][] = [
    ['a tab after a value', lock('lodash@^4.17.0:', '  version "4.17.4"\t', resolved), /yarn 1's parser fails here \(a tab\)/, 5, 19],
    ['a comment indented by an odd number of spaces', lock('lodash@^4.17.0:', '   # pinned', '  version "4.17.4"', resolved), /an indentation of an odd number of spaces/, 5, 1],
    ['an unquoted range', lock('ms@^2.1.0:', '  version "2.1.3"', '  resolved "https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz"', '  dependencies:', '    lodash ^4.17.0'), /a value of a type it does not read/, 8, 12],
    ['an unquoted version', lock('lodash@^4.17.0:', '  version 4.17.4', resolved), /a value of a type it does not read/, 5, 17],
    ['an escape yarn reads as the end of the string', lock('lodash@^4.17.0:', '  version "4.17.4"', resolved, '  integrity "a\\\\\\"b"'), /a value of a type it does not read/, 7, 13],
  ];
  for (const [what, text, message, line, column] of refused) {
    assert.throws(
      () => parseYarnLock({ path: '/app/yarn.lock', text }),
      (err: unknown) => err instanceof InputError && message.test(err.message) && /installs without this lockfile's entries/.test(err.message) && err.position?.line === line && err.position.column === column,
      what,
    );
  }
  // What yarn writes, with comments and blank lines where it reads them: read.
  const graph = parseYarnLock({ path: '/app/yarn.lock', text: lock('# a comment', 'lodash@^4.17.0, "lodash@>= 4":', '  version "4.17.4"', resolved, '', '  ', '# another') });
  assert.deepEqual(graph.packages.map((p) => p.id), ['lodash@4.17.4']);
});

test('berry: a `resolutions` key naming a descriptor (`debug@2.6.9`) replaces that descriptor only', () => {
  // Made by yarn 4.18 (`yarn install --mode=update-lockfile`): the app asks for debug 2.6.9,
  // the resolution makes it 2.6.8, and the lockfile keeps the app's `debug: "npm:2.6.9"` with
  // only a `debug@npm:2.6.8` entry; a second debug (4.4.3, through an alias) is locked too.
  const graph = parseYarnLock({
    ...fixture('berry-descriptor-resolution.yarn.lock'),
    manifest: fixture('berry-descriptor-resolution.package.json'),
  });
  assert.deepEqual(
    graph.edges.filter((e) => e.from === 'resolution-app@workspace:.').map((e) => e.to).sort(),
    ['debug@2.6.8', 'debug@4.4.3'],
  );
  assert.ok(graph.edges.some((e) => e.from === 'debug@2.6.8' && e.to === 'ms@2.0.0'));
});

test('berry workspaces: a member’s devDependencies are dev, as its manifest says', () => {
  // Made by yarn 4.18 (`yarn install --mode=update-lockfile`): the lockfile merges
  // packages/lib's devDependency is-number into its `dependencies`, and `yarn workspaces
  // focus --all --production` leaves is-number out; ms, which lib needs at run time, stays.
  const dir = join(FIXTURES, 'workspace-berry');
  const read = (path: string): { path: string; text: string } => ({ path, text: readFileSync(path, 'utf8') });
  const graph = parseYarnLock({
    ...read(join(dir, 'yarn.lock')),
    manifest: read(join(dir, 'package.json')),
    members: [read(join(dir, 'packages', 'lib', 'package.json'))],
  });
  const flags = new Map(graph.packages.map((p) => [p.name, p.flags ?? {}]));
  assert.deepEqual(flags.get('is-number'), { dev: true });
  assert.deepEqual(flags.get('left-pad'), { dev: true });
  assert.deepEqual(flags.get('ms'), {});
});

test('yarn 1: an entry keyed by a bare name stands for the root’s dependencies only, and before their `name@range` entry', () => {
  // Checked with yarn 1.22.22 --frozen-lockfile: mkdirp 0.5.1's `minimist "0.0.8"` beside only a
  // bare `minimist` entry at 1.2.8 installs the registry's minimist 0.0.8 (the audit checked
  // 1.2.8 and passed); the root's `minimist: ^1.2.0` with a bare entry at 0.0.8 and one keyed
  // `minimist@^1.2.0` at 1.2.8 installs 0.0.8.
  const header = '# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n';
  const minimist = (key: string, version: string): string =>
    `${key}:\n  version "${version}"\n  resolved "https://registry.yarnpkg.com/minimist/-/minimist-${version}.tgz"\n\n`;
  const mkdirp =
    'mkdirp@0.5.1:\n  version "0.5.1"\n  resolved "https://registry.yarnpkg.com/mkdirp/-/mkdirp-0.5.1.tgz"\n  dependencies:\n    minimist "0.0.8"\n';
  const app = (deps: Record<string, string>): { path: string; text: string } => ({ path: '/app/package.json', text: JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }) });
  assert.throws(
    () => parseYarnLock({ path: '/app/yarn.lock', text: header + minimist('minimist', '1.2.8') + mkdirp, manifest: app({ mkdirp: '0.5.1' }) }),
    (err: unknown) => err instanceof InputError && err.message.includes('dependency minimist@0.0.8 has no entry in the lockfile'),
  );
  const graph = parseYarnLock({ path: '/app/yarn.lock', text: header + minimist('minimist', '0.0.8') + minimist('minimist@^1.2.0', '1.2.8'), manifest: app({ minimist: '^1.2.0' }) });
  assert.deepEqual(graph.edges.map((e) => `${e.from} -> ${e.to}`), ['app@1.0.0 -> minimist@0.0.8']);
});
