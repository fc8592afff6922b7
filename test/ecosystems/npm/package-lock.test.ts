import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import type { LockfileInput } from '../../../src/core/ecosystem.js';
import { InputError } from '../../../src/core/errors.js';
import type { DependencyGraph, EdgeKind } from '../../../src/core/graph.js';
import type { Package } from '../../../src/core/package.js';
import { parsePackageLock } from '../../../src/ecosystems/npm/package-lock.js';
import { isDefaultNpmRegistry, npmSourceFromResolved, parseNpmSpecifier, readResolved, registryTarballVersion } from '../../../src/ecosystems/npm/registry-source.js';
import { NPM_CORPUS, PROJECT_ROOT, corpusFiles } from '../../support/shared.js';

const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'npm', 'package-lock');

function input(path: string, manifestPath?: string): LockfileInput {
  const result: LockfileInput = { path, text: readFileSync(path, 'utf8') };
  if (manifestPath) result.manifest = { path: manifestPath, text: readFileSync(manifestPath, 'utf8') };
  return result;
}

function byId(graph: DependencyGraph, id: string): Package {
  const pkg = graph.packages.find((p) => p.id === id);
  assert.ok(pkg, `${id} is in ${graph.path}`);
  return pkg;
}

/** `name (as the dependent calls it) → edge kind` for every edge out of `id`. */
function dependenciesOf(graph: DependencyGraph, id: string): Map<string, EdgeKind> {
  const packages = new Map(graph.packages.map((p) => [p.id, p]));
  const out = new Map<string, EdgeKind>();
  for (const edge of graph.edges) {
    if (edge.from !== id) continue;
    const to = packages.get(edge.to);
    assert.ok(to, `edge target ${edge.to} is a package`);
    out.set(to.alias ?? to.name, edge.kind);
  }
  return out;
}

function targetsOf(graph: DependencyGraph, id: string): string[] {
  return graph.edges.filter((e) => e.from === id).map((e) => e.to).sort();
}

/**
 * The registry packages of a corpus lockfile, counted without the parser: every registry
 * tarball URL in the text names one package version (`<registry>/<name>/-/<file>-<version>.tgz`).
 */
function registryPairsFromText(text: string): Set<string> {
  const pairs = new Set<string>();
  const re = /"resolved": "https:\/\/registry\.invalid\/((?:@[^/"]+\/)?[^/"]+)\/-\/([^"]+)\.tgz"/g;
  for (const m of text.matchAll(re)) {
    const name = m[1] as string;
    const file = m[2] as string;
    const unscoped = name.slice(name.lastIndexOf('/') + 1);
    assert.ok(file.startsWith(`${unscoped}-`), `tarball ${file} of ${name}`);
    pairs.add(`${name}@${file.slice(unscoped.length + 1)}`);
  }
  return pairs;
}

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** The nested installs of a corpus lockfile, found by walking it without the parser. */
interface NestedInstall {
  parent: string;
  parentVersion: string;
  dep: string;
  nestedVersion: string;
  hoistedVersion: string;
}

function nestedInstalls(doc: Record<string, unknown>): NestedInstall[] {
  const found: NestedInstall[] = [];
  if (doc.lockfileVersion === 1) {
    type V1 = { version: string; requires?: Record<string, string>; dependencies?: Record<string, V1> };
    const top = doc.dependencies as Record<string, V1>;
    for (const [parent, entry] of Object.entries(top)) {
      for (const [dep, nested] of Object.entries(entry.dependencies ?? {})) {
        const hoisted = top[dep];
        if (!entry.requires?.[dep] || !hoisted || hoisted.version === nested.version) continue;
        found.push({ parent, parentVersion: entry.version, dep, nestedVersion: nested.version, hoistedVersion: hoisted.version });
      }
    }
  } else {
    type V2 = { version?: string; name?: string; dependencies?: Record<string, string>; link?: boolean };
    const packages = doc.packages as Record<string, V2>;
    const installs = new Map<string, number>();
    for (const key of Object.keys(packages)) {
      const name = key.slice(key.lastIndexOf('node_modules/') + 13);
      const version = packages[key]?.version;
      installs.set(`${name}@${version}`, (installs.get(`${name}@${version}`) ?? 0) + 1);
    }
    for (const [key, entry] of Object.entries(packages)) {
      const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)\/node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(key);
      if (!m) continue;
      const [, parent, dep] = m as unknown as [string, string, string];
      const parentEntry = packages[`node_modules/${parent}`];
      const hoisted = packages[`node_modules/${dep}`];
      if (!parentEntry?.version || parentEntry.name || !hoisted?.version || !entry.version) continue;
      if (!parentEntry.dependencies?.[dep] || hoisted.version === entry.version) continue;
      // Only a parent installed once: copies elsewhere may legitimately use the hoisted one.
      if (installs.get(`${parent}@${parentEntry.version}`) !== 1) continue;
      found.push({ parent, parentVersion: parentEntry.version, dep, nestedVersion: entry.version, hoistedVersion: hoisted.version });
    }
  }
  return found;
}

describe('jellyfin-web corpus lockfiles', () => {
  const lockfiles = corpusFiles(NPM_CORPUS, '.package-lock.json').filter((f) => basename(f).startsWith('jellyfin-web-'));

  test('all nine are there', () => {
    assert.equal(lockfiles.length, 9);
  });

  for (const lockPath of lockfiles) {
    const manifestPath = lockPath.replace(/\.package-lock\.json$/, '.package.json');
    const text = readFileSync(lockPath, 'utf8');
    const doc = JSON.parse(text) as Record<string, unknown>;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;

    for (const withManifest of [true, false]) {
      describe(`${basename(lockPath)} ${withManifest ? 'with' : 'without'} package.json`, () => {
        const graph = parsePackageLock(input(lockPath, withManifest ? manifestPath : undefined));
        const rootId = graph.roots[0] as string;

        test('format, root and unique ids', () => {
          assert.equal(graph.format, `package-lock.json v${doc.lockfileVersion as number}`);
          assert.equal(graph.ecosystem, 'npm');
          assert.deepEqual(graph.roots, [`jellyfin-web@workspace:.`]);
          assert.equal(byId(graph, rootId).version, doc.version);
          assert.equal(new Set(graph.packages.map((p) => p.id)).size, graph.packages.length);
          const ids = new Set(graph.packages.map((p) => p.id));
          for (const edge of graph.edges) assert.ok(ids.has(edge.from) && ids.has(edge.to), `${edge.from} -> ${edge.to}`);
        });

        test('registry name@version pairs equal the tarball URLs in the file', () => {
          const expected = registryPairsFromText(text);
          const registry = graph.packages.filter((p) => p.source.kind === 'registry');
          const actual = new Set(registry.map((p) => `${p.name}@${p.version}`));
          assert.equal(actual.size, expected.size);
          assert.deepEqual([...actual].sort(), [...expected].sort());
          assert.ok(registry.every((p) => p.source.isDefaultRegistry), 'registry.invalid is the public registry');
        });

        test('a sample of ten pairs taken from the file is in the graph with its integrity', () => {
          const pairs = [...registryPairsFromText(text)].sort();
          const step = Math.floor(pairs.length / 10);
          for (let i = 0; i < 10; i++) {
            const pair = pairs[i * step] as string;
            const at = pair.lastIndexOf('@');
            const name = pair.slice(0, at);
            const version = pair.slice(at + 1);
            const pkg = graph.packages.find((p) => p.name === name && p.version === version && p.source.kind === 'registry');
            assert.ok(pkg, `${pair} in the graph`);
            assert.match(pkg.checksum ?? '', /^sha(1|512)-[A-Za-z0-9+/]+=*$/);
            const tarball = `https://registry.invalid/${name}/-/${name.slice(name.lastIndexOf('/') + 1)}-${version}.tgz`;
            assert.ok(text.includes(`"integrity": "${pkg.checksum}"`) && text.includes(tarball), `${pair}'s integrity is the file's`);
          }
        });

        test("the root's direct dependencies are package.json's", () => {
          const expected = new Map<string, EdgeKind>();
          for (const name of Object.keys(manifest.devDependencies ?? {})) expected.set(name, 'dev');
          for (const name of Object.keys(manifest.dependencies ?? {})) expected.set(name, 'normal');
          for (const name of Object.keys(manifest.optionalDependencies ?? {})) expected.set(name, 'optional');
          const actual = dependenciesOf(graph, rootId);
          if (doc.lockfileVersion === 1 && !withManifest) {
            // Synthesized from the top-level entries: a superset (hoisted transitive ones too).
            for (const [name, kind] of expected) assert.equal(actual.get(name), kind, name);
            assert.ok(actual.size > expected.size);
          } else {
            assert.deepEqual(new Map([...actual].sort()), new Map([...expected].sort()));
          }
        });

        test('eslint is dev-only, react is not', () => {
          const eslint = graph.packages.filter((p) => p.name === 'eslint');
          assert.ok(eslint.length > 0);
          for (const p of eslint) assert.equal(p.flags?.dev, true, p.id);
          const react = graph.packages.filter((p) => p.name === 'react');
          assert.ok(react.length > 0);
          for (const p of react) assert.notEqual(p.flags?.dev, true, p.id);
        });

        test('a dependency installed in a nested node_modules resolves to the nested version', () => {
          const nested = nestedInstalls(doc);
          assert.ok(nested.length > 0, 'the file has nested installs');
          for (const n of nested.slice(0, 25)) {
            const targets = targetsOf(graph, `${n.parent}@${n.parentVersion}`);
            assert.ok(targets.includes(`${n.dep}@${n.nestedVersion}`), `${n.parent} -> ${n.dep}@${n.nestedVersion}`);
            assert.ok(!targets.includes(`${n.dep}@${n.hoistedVersion}`), `${n.parent} -/-> ${n.dep}@${n.hoistedVersion}`);
          }
        });
      });
    }
  }
});

describe('workspace fixture (v3): git, alias, file:, link, workspace', () => {
  const path = join(FIXTURES, 'workspace-app', 'package-lock.json');
  const graph = parsePackageLock(input(path));
  const root = 'workspace-app@workspace:.';
  const util = '@app/util@workspace:packages/util';

  test('roots are the application and its workspace', () => {
    assert.equal(graph.format, 'package-lock.json v3');
    assert.deepEqual(graph.roots, [root, util]);
    assert.deepEqual(byId(graph, util).source, { kind: 'workspace', url: 'packages/util', isDefaultRegistry: false });
    assert.equal(byId(graph, util).version, '1.0.0');
  });

  test("the root's edges, through links to the workspace and the sibling directory", () => {
    assert.deepEqual(
      new Map([...dependenciesOf(graph, root)].sort()),
      new Map<string, EdgeKind>([
        ['@app/util', 'normal'],
        ['gitdep', 'normal'],
        ['left-pad', 'normal'],
        ['local-tgz', 'normal'],
        ['my-lodash', 'normal'],
        ['sibling', 'normal'],
        ['tap', 'dev'],
        ['with-peer', 'normal'],
      ]),
    );
    assert.ok(targetsOf(graph, root).includes(util));
    assert.ok(!graph.edges.some((e) => e.to.startsWith('fsevents')), 'an uninstalled optional dependency has no edge');
  });

  test('git dependency: url and commit', () => {
    const git = byId(graph, 'gitdep@git+ssh://git@github.com/example/gitdep.git#0123456789abcdef0123456789abcdef01234567');
    assert.deepEqual(git.source, {
      kind: 'git',
      url: 'git+ssh://git@github.com/example/gitdep.git',
      rev: '0123456789abcdef0123456789abcdef01234567',
      isDefaultRegistry: false,
    });
    assert.equal(git.version, '1.0.0');
    // `not-in-lockfile` is declared but not installed: no edge, no crash.
    assert.deepEqual(targetsOf(graph, git.id), ['ms@2.1.3']);
  });

  test('alias: the real name, the alias the dependent uses', () => {
    const lodash = byId(graph, 'my-lodash@npm:lodash@4.17.21');
    assert.equal(lodash.name, 'lodash');
    assert.equal(lodash.alias, 'my-lodash');
    assert.equal(lodash.version, '4.17.21');
    assert.deepEqual(lodash.source, { kind: 'registry', url: 'https://registry.npmjs.org/', isDefaultRegistry: true });
  });

  test('file: tarball and a linked directory beside the project', () => {
    const tgz = byId(graph, 'local-tgz@file:vendor/local-tgz-1.0.0.tgz');
    assert.deepEqual(tgz.source, { kind: 'other', url: 'file:vendor/local-tgz-1.0.0.tgz', isDefaultRegistry: false });
    assert.match(tgz.checksum ?? '', /^sha512-/);
    const sibling = byId(graph, 'sibling@file:../sibling');
    assert.deepEqual(sibling.source, { kind: 'path', url: '../sibling', isDefaultRegistry: false });
    assert.ok(!graph.roots.includes(sibling.id));
    // Outside the project npm installs no devDependencies for it.
    assert.deepEqual(dependenciesOf(graph, sibling.id), new Map([['ms', 'normal']]));
  });

  test('the workspace resolves its own nested copy, and gets dev edges', () => {
    assert.deepEqual(
      new Map([...dependenciesOf(graph, util)].sort()),
      new Map<string, EdgeKind>([
        ['left-pad', 'normal'],
        ['ms', 'normal'],
        ['tap', 'dev'],
      ]),
    );
    assert.ok(targetsOf(graph, util).includes('left-pad@1.1.3'));
    assert.ok(targetsOf(graph, root).includes('left-pad@1.3.0'));
  });

  test('same name@version with two integrities stays two packages', () => {
    const ms = graph.packages.filter((p) => p.name === 'ms');
    assert.deepEqual(ms.map((p) => p.id), ['ms@2.1.3', 'ms@2.1.3#2']);
    assert.notEqual(ms[0]?.checksum, ms[1]?.checksum);
    assert.deepEqual(targetsOf(graph, 'tap@16.3.0'), ['ms@2.1.3#2', 'tap-optional@1.0.0']);
  });

  test('peer edges and flags', () => {
    assert.deepEqual(
      dependenciesOf(graph, 'with-peer@2.0.0'),
      new Map<string, EdgeKind>([
        ['ms', 'normal'],
        ['peer-host', 'peer'],
      ]),
    );
    assert.deepEqual(byId(graph, 'peer-host@3.0.0').flags, { peer: true });
    assert.deepEqual(byId(graph, 'tap@16.3.0').flags, { dev: true });
    // devOptional: npm installs it unless both dev and optional dependencies are omitted.
    assert.deepEqual(byId(graph, 'tap-optional@1.0.0').flags, { devOptional: true });
    assert.equal(byId(graph, 'left-pad@1.3.0').flags, undefined);
  });
});

describe('v1 fixture: nested tree, alias, git, file:', () => {
  const lockPath = join(FIXTURES, 'v1-app', 'package-lock.json');
  const manifestPath = join(FIXTURES, 'v1-app', 'package.json');

  test('with package.json: its dependencies are the root edges', () => {
    const graph = parsePackageLock(input(lockPath, manifestPath));
    assert.equal(graph.format, 'package-lock.json v1');
    assert.deepEqual(graph.roots, ['legacy-app@workspace:.']);
    assert.deepEqual(
      new Map([...dependenciesOf(graph, 'legacy-app@workspace:.')].sort()),
      new Map<string, EdgeKind>([
        ['@types/node', 'dev'],
        ['debug', 'normal'],
        ['express-git', 'normal'],
        ['local-lib', 'normal'],
        ['mocha', 'dev'],
        ['old-ms', 'normal'],
      ]),
    );
  });

  test('without package.json: every top-level entry, dev where flagged', () => {
    const graph = parsePackageLock(input(lockPath));
    const deps = dependenciesOf(graph, 'legacy-app@workspace:.');
    assert.equal(deps.size, 7);
    assert.equal(deps.get('mocha'), 'dev');
    assert.equal(deps.get('@types/node'), 'dev');
    assert.equal(deps.get('ms'), 'normal');
  });

  test('requires resolve through the nested dependencies, two levels deep', () => {
    const graph = parsePackageLock(input(lockPath));
    assert.deepEqual(targetsOf(graph, 'debug@2.6.9'), ['ms@2.0.0']);
    assert.deepEqual(targetsOf(graph, 'mocha@9.2.2'), ['debug@4.3.3', 'ms@2.1.3']);
    assert.deepEqual(targetsOf(graph, 'debug@4.3.3'), ['ms@2.1.2']);
    assert.deepEqual(byId(graph, 'debug@4.3.3').flags, { dev: true });
    assert.equal(byId(graph, 'debug@2.6.9').flags, undefined);
  });

  test('alias, git and file: entries', () => {
    const graph = parsePackageLock(input(lockPath));
    const alias = byId(graph, 'old-ms@npm:ms@2.0.0');
    assert.equal(alias.name, 'ms');
    assert.equal(alias.alias, 'old-ms');
    assert.equal(alias.version, '2.0.0');
    const sha = '89abcdef0123456789abcdef0123456789abcdef';
    const git = byId(graph, `express-git@git+https://github.com/example/express-git.git#${sha}`);
    assert.deepEqual(git.source, { kind: 'git', url: 'git+https://github.com/example/express-git.git', rev: sha, isDefaultRegistry: false });
    assert.equal(git.version, sha);
    assert.deepEqual(targetsOf(graph, git.id), ['debug@2.6.9', 'ms@2.1.3']);
    const local = byId(graph, 'local-lib@file:../local-lib');
    assert.deepEqual(local.source, { kind: 'path', url: '../local-lib', isDefaultRegistry: false });
    assert.deepEqual(targetsOf(graph, local.id), ['ms@2.1.3']);
  });
});

describe('npm-shrinkwrap.json', () => {
  test('v2 without "resolved": the default registry', () => {
    const graph = parsePackageLock(input(join(FIXTURES, 'shrinkwrap', 'npm-shrinkwrap.json')));
    assert.equal(graph.format, 'npm-shrinkwrap.json v2');
    assert.deepEqual(graph.packages.map((p) => p.id), ['cli-tool@workspace:.', 'chalk@4.1.2', 'has-flag@4.0.0', 'supports-color@7.2.0']);
    for (const p of graph.packages.slice(1)) {
      assert.deepEqual(p.source, { kind: 'registry', url: 'https://registry.npmjs.org/', isDefaultRegistry: true });
    }
    assert.deepEqual(targetsOf(graph, 'supports-color@7.2.0'), ['has-flag@4.0.0']);
  });
});

describe('lockfiles of early npm releases', () => {
  test('npm 5.0 wrote registry tarball URLs as versions: they are registry packages at that version', () => {
    const dir = join(FIXTURES, 'npm5-url-versions');
    const graph = parsePackageLock(input(join(dir, 'package-lock.json'), join(dir, 'package.json')));
    assert.equal(graph.format, 'package-lock.json v1');
    const handlebars = byId(graph, 'handlebars@4.0.10');
    assert.equal(handlebars.source.kind, 'registry');
    assert.equal(handlebars.source.isDefaultRegistry, true);
    assert.deepEqual(handlebars.flags, { dev: true });
    assert.equal(byId(graph, '@types/node@8.0.53').source.kind, 'registry');
    assert.equal(byId(graph, 'async@1.5.2').checksum, 'sha1-7GphrlZIDAw8skHJVhjiCJL5Zyo=');
    assert.deepEqual(targetsOf(graph, 'handlebars@4.0.10').sort(), ['async@1.5.2', 'minimist@0.0.10']);
    // A tarball URL that is not a registry's stays what it is: fetched by URL, not matched by name.
    const leftPad = graph.packages.find((p) => p.name === 'left-pad');
    assert.equal(leftPad?.source.kind, 'other');
  });

  test("a tarball URL is read as a version only for the package's own path on the registry", () => {
    assert.equal(registryTarballVersion('handlebars', 'https://registry.npmjs.org/handlebars/-/handlebars-4.0.10.tgz'), '4.0.10');
    assert.equal(registryTarballVersion('@types/node', 'https://registry.npmjs.org/@types/node/-/node-8.0.53.tgz'), '8.0.53');
    assert.equal(registryTarballVersion('@types/node', 'https://registry.npmjs.org/@types%2fnode/-/node-8.0.53.tgz'), '8.0.53');
    assert.equal(registryTarballVersion('foo', 'https://registry.npmjs.org/other/-/foo-1.0.0.tgz'), null);
    assert.equal(registryTarballVersion('foo', 'https://files.example.org/foo-1.0.0.tgz'), null);
    assert.equal(registryTarballVersion('foo', 'https://registry.npmjs.org/foo/-/foo-latest.tgz'), null);
  });

  test('npm 4 shrinkwraps have no lockfileVersion: read in the v1 form', () => {
    const dir = join(FIXTURES, 'npm4-shrinkwrap');
    const graph = parsePackageLock(input(join(dir, 'npm-shrinkwrap.json'), join(dir, 'package.json')));
    assert.equal(graph.format, 'npm-shrinkwrap.json (npm 4 or older, no lockfileVersion)');
    assert.deepEqual(
      graph.packages.map((p) => p.id).sort(),
      ['@pnpm/logger@1.0.0', 'minimist@0.0.8', 'minimist@1.2.0', 'mkdirp@0.5.1', 'old-cli@workspace:.'],
    );
    assert.ok(graph.packages.filter((p) => p.source.kind === 'registry').every((p) => p.source.isDefaultRegistry));
    // npm 4 recorded no `requires`: only the root's edges (from package.json) are known.
    assert.deepEqual(targetsOf(graph, 'mkdirp@0.5.1'), []);
    assert.deepEqual(targetsOf(graph, 'old-cli@workspace:.').sort(), ['@pnpm/logger@1.0.0', 'minimist@1.2.0', 'mkdirp@0.5.1']);
  });
});

describe('broken lockfiles give an InputError naming the file', () => {
  const cases: Array<[file: string, message: RegExp, position?: { line: number; column?: number }]> = [
    ['truncated.package-lock.json', /invalid JSON: unexpected end of input/, { line: 25, column: 15 }],
    ['bare-word.package-lock.json', /invalid JSON: unexpected "u"/, { line: 4, column: 15 }],
    ['binary.package-lock.json', /binary/],
    ['lockfile-version-99.package-lock.json', /unsupported lockfileVersion 99/, { line: 4, column: 3 }],
    ['lockfile-version-string.package-lock.json', /"lockfileVersion" must be a number, found string "2"/, { line: 4, column: 3 }],
    ['no-lockfile-version.package-lock.json', /no "lockfileVersion" and no "dependencies": not an npm lockfile/],
    ['packages-array.package-lock.json', /"packages" must be an object, found an array/, { line: 5, column: 3 }],
    ['top-level-array.package-lock.json', /expected a JSON object/, { line: 1, column: 1 }],
    ['missing-version.package-lock.json', /"node_modules\/has-flag": missing "version" for a registry package/, { line: 24, column: 5 }],
    ['version-number.package-lock.json', /"node_modules\/chalk": "version" must be a string, found number 4/, { line: 17, column: 5 }],
  ];
  for (const [file, message, position] of cases) {
    test(file, () => {
      const path = join(FIXTURES, 'broken', file);
      assert.throws(
        () => parsePackageLock(input(path)),
        (err: unknown) => {
          assert.ok(err instanceof InputError, `an InputError, not ${String(err)}`);
          assert.equal(err.file, path);
          assert.match(err.message, message);
          assert.deepEqual(err.position, position);
          assert.ok(!err.line.includes('\n'), 'one line');
          return true;
        },
      );
    });
  }

  test('a broken package.json beside a v1 lockfile names package.json', () => {
    const lockPath = join(FIXTURES, 'v1-app', 'package-lock.json');
    const bad: LockfileInput = { ...input(lockPath), manifest: { path: '/app/package.json', text: '{\n  "name": "x",\n}\n' } };
    assert.throws(
      () => parsePackageLock(bad),
      (err: unknown) => err instanceof InputError && err.file === '/app/package.json' && err.position?.line === 3,
    );
  });
});

describe('registry-source', () => {
  test('resolved URLs', () => {
    assert.deepEqual(npmSourceFromResolved('https://registry.npmjs.org/@babel/core/-/core-7.24.0.tgz'), {
      kind: 'registry',
      url: 'https://registry.npmjs.org/',
      isDefaultRegistry: true,
    });
    assert.deepEqual(npmSourceFromResolved('https://npm.example.com/api/npm/remote/lodash/-/lodash-4.17.21.tgz'), {
      kind: 'registry',
      url: 'https://npm.example.com/api/npm/remote/',
      isDefaultRegistry: false,
    });
    assert.deepEqual(npmSourceFromResolved('https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz').isDefaultRegistry, true);
    assert.deepEqual(npmSourceFromResolved('https://codeload.github.com/a/b/tar.gz/abc').kind, 'other');
    assert.deepEqual(npmSourceFromResolved(undefined), { kind: 'registry', url: 'https://registry.npmjs.org/', isDefaultRegistry: true });
    assert.deepEqual(npmSourceFromResolved('git+ssh://git@github.com/a/b.git#abc123'), {
      kind: 'git',
      url: 'git+ssh://git@github.com/a/b.git',
      rev: 'abc123',
      isDefaultRegistry: false,
    });
    assert.equal(isDefaultNpmRegistry('https://registry.invalid/'), true);
    assert.equal(isDefaultNpmRegistry('https://registry.npmjs.org.evil.com/'), false);
  });

  test('specifiers', () => {
    assert.deepEqual(parseNpmSpecifier('npm:@scope/pkg@^1.2.0'), { type: 'alias', name: '@scope/pkg', range: '^1.2.0' });
    assert.deepEqual(parseNpmSpecifier('^1.2.0'), { type: 'range', range: '^1.2.0' });
    assert.deepEqual(parseNpmSpecifier('latest'), { type: 'range', range: 'latest' });
    assert.deepEqual(parseNpmSpecifier('github:user/repo#v1'), { type: 'git', url: 'github:user/repo', committish: 'v1' });
    assert.deepEqual(parseNpmSpecifier('user/repo'), { type: 'git', url: 'github:user/repo' });
    assert.deepEqual(parseNpmSpecifier('file:../lib'), { type: 'file', path: '../lib' });
    assert.deepEqual(parseNpmSpecifier('link:../lib'), { type: 'link', path: '../lib' });
    assert.deepEqual(parseNpmSpecifier('workspace:^'), { type: 'workspace', range: '^' });
    assert.deepEqual(parseNpmSpecifier('patch:lodash@npm%3A4.17.21#~/.yarn/patches/lodash.patch::version=4.17.21'), {
      type: 'patch',
      name: 'lodash',
      range: 'npm:4.17.21',
      patch: '~/.yarn/patches/lodash.patch::version=4.17.21',
    });
    assert.deepEqual(parseNpmSpecifier('https://example.com/x.tgz'), { type: 'tarball', url: 'https://example.com/x.tgz' });
  });
});

describe('entries whose key, name, resolved and version disagree: read as npm installs them, or refused', () => {
  const LODASH_4 = 'https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz';
  const PATH = '/app/package-lock.json';

  /** A v3 lockfile with these installed entries beside the root. */
  function v3(packages: Record<string, unknown>, lockfileVersion: number | null = 3, extra: Record<string, unknown> = {}): LockfileInput {
    const doc: Record<string, unknown> = { name: 'app', version: '1.0.0', ...extra, packages: { '': { name: 'app', version: '1.0.0' }, ...packages } };
    if (lockfileVersion !== null) doc.lockfileVersion = lockfileVersion;
    return { path: PATH, text: JSON.stringify(doc, null, 2) };
  }

  /** A v1 lockfile with this nested tree. */
  function v1(dependencies: Record<string, unknown>): LockfileInput {
    return { path: PATH, text: JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 1, requires: true, dependencies }, null, 2) };
  }

  function refused(lock: LockfileInput, message: RegExp): void {
    assert.throws(
      () => parsePackageLock(lock),
      (err: unknown) => {
        assert.ok(err instanceof InputError, `an InputError, not ${String(err)}`);
        assert.equal(err.file, PATH);
        assert.match(err.message, message);
        assert.ok(!err.line.includes('\n'), 'one line');
        return true;
      },
    );
  }

  function registryIds(lock: LockfileInput): string[] {
    return parsePackageLock(lock)
      .packages.filter((p) => p.source.kind === 'registry')
      .map((p) => `${p.id} ${p.source.isDefaultRegistry ? 'public' : 'other'}`);
  }

  test('a version the resolved tarball contradicts: npm installs the tarball, so it is refused', () => {
    refused(
      v3({ 'node_modules/lodash': { version: '4.17.21', resolved: LODASH_4 } }),
      /"node_modules\/lodash": "version" is 4\.17\.21 but "resolved" is the tarball of lodash@4\.17\.4; npm installs the tarball/,
    );
    refused(
      v3({ 'node_modules/@types/node': { version: '20.0.0', resolved: 'https://registry.npmjs.org/@types/node/-/node-8.0.53.tgz' } }),
      /"version" is 20\.0\.0 but "resolved" is the tarball of @types\/node@8\.0\.53/,
    );
    refused(
      v3({ 'node_modules/lodash': { version: '4.17.4', resolved: 'https://registry.npmjs.org/lodash/-/underscore-1.8.3.tgz' } }),
      /"resolved" is not a tarball of lodash@4\.17\.4/,
    );
    refused(v1({ lodash: { version: '4.17.21', resolved: LODASH_4 } }), /dependency "lodash": "version" is 4\.17\.21 but "resolved" is the tarball of lodash@4\.17\.4/);
    refused(v1({ lodash: { version: ' 4.17.4', resolved: LODASH_4 } }), /dependency "lodash": "version" is {2}4\.17\.4 but/);
  });

  test('an optional or peer entry without "version" but with "resolved" is installed (npm 11 ci, a `*` dependency): the tarball\'s version is audited', () => {
    assert.deepEqual(registryIds(v3({ 'node_modules/lodash': { resolved: LODASH_4 } })), ['lodash@4.17.4 public']);
    // npm drops an entry with neither (nothing to fetch): that one is not installed.
    assert.deepEqual(registryIds(v3({ 'node_modules/lodash': { optional: true } })), []);
    assert.deepEqual(registryIds(v3({ 'node_modules/lodash': { peer: true, integrity: 'sha512-x' } })), []);
    for (const flag of ['optional', 'peer', 'devOptional', 'dev']) {
      assert.deepEqual(registryIds(v3({ 'node_modules/lodash': { resolved: LODASH_4, [flag]: true } })), ['lodash@4.17.4 public'], flag);
    }
    assert.deepEqual(registryIds(v3({ 'node_modules/@types/node': { resolved: 'https://registry.npmjs.org/@types/node/-/node-8.0.53.tgz', optional: true } })), [
      '@types/node@8.0.53 public',
    ]);
    refused(
      v3({ 'node_modules/lodash': { resolved: 'https://registry.npmjs.org/lodash/-/underscore-1.8.3.tgz', optional: true } }),
      /"node_modules\/lodash": missing "version", and "resolved" is not a tarball of a version of lodash .*; npm installs it/,
    );
    refused(v3({ 'node_modules/lodash': { resolved: 'https://registry.npmjs.org/underscore/-/underscore-1.8.3.tgz', optional: true } }), /missing "version", and "resolved" is not a tarball of a version of lodash/);
  });

  test("an entry's fields and dependency maps are checked in order: the first that is wrong is named", () => {
    refused(v3({ 'node_modules/lodash': { resolved: 1, name: 2, version: 3, integrity: 4 } }), /"node_modules\/lodash": "resolved" must be a string, found number 1/);
    refused(v3({ 'node_modules/lodash': { name: 2, version: 3, integrity: 4 } }), /"node_modules\/lodash": "name" must be a string, found number 2/);
    refused(v3({ 'node_modules/lodash': { version: 3, integrity: 4 } }), /"node_modules\/lodash": "version" must be a string, found number 3/);
    refused(v3({ 'node_modules/lodash': { version: '4.17.4', integrity: 4 } }), /"node_modules\/lodash": "integrity" must be a string, found number 4/);
    // optionalDependencies, dependencies, peerDependencies, then devDependencies (read for project members only).
    const maps = { devDependencies: 4, peerDependencies: 3, dependencies: [], optionalDependencies: 'x' };
    refused(v3({ 'node_modules/lodash': { version: '4.17.4', ...maps } }), /"node_modules\/lodash": "optionalDependencies" must be an object, found string "x"/);
    refused(v3({ 'node_modules/lodash': { version: '4.17.4', ...maps, optionalDependencies: {} } }), /"dependencies" must be an object, found an array/);
    refused(v3({ 'node_modules/lodash': { version: '4.17.4', ...maps, optionalDependencies: {}, dependencies: {} } }), /"peerDependencies" must be an object, found number 3/);
    assert.deepEqual(registryIds(v3({ 'node_modules/lodash': { version: '4.17.4', devDependencies: 4 } })), ['lodash@4.17.4 public']);
    refused(v3({ 'packages/lib': { name: 'lib', version: '1.0.0', devDependencies: 4 } }), /"packages\/lib": "devDependencies" must be an object, found number 4/);
  });

  test('one name@version under three integrities is three packages; a fourth copy joins the one whose integrity it has', () => {
    const sri = (c: string): string => `sha512-${c.repeat(86)}==`;
    const graph = parsePackageLock(
      v3({
        'node_modules/lodash': { version: '4.17.4', integrity: sri('a') },
        'node_modules/a/node_modules/lodash': { version: '4.17.4', integrity: sri('b') },
        'node_modules/b/node_modules/lodash': { version: '4.17.4', integrity: sri('c') },
        'node_modules/c/node_modules/lodash': { version: '4.17.4', integrity: sri('b') },
        'node_modules/d/node_modules/lodash': { version: '4.17.4' },
      }),
    );
    assert.deepEqual(
      graph.packages.map((p) => `${p.id} ${p.checksum ?? '-'}`),
      ['app@workspace:. -', `lodash@4.17.4 ${sri('a')}`, `lodash@4.17.4#2 ${sri('b')}`, `lodash@4.17.4#3 ${sri('c')}`],
    );
  });

  test('a name the resolved tarball contradicts (name field, key, its letter case): refused', () => {
    refused(
      v3({ 'node_modules/lodash': { name: 'lodash-es', version: '4.17.4', resolved: LODASH_4 } }),
      /"node_modules\/lodash": "resolved" is a tarball of lodash, not of lodash-es \(https:\/\/registry\.npmjs\.org\/lodash\/-\/lodash-4\.17\.4\.tgz\); npm installs the tarball/,
    );
    refused(v3({ 'node_modules/Lodash': { version: '4.17.4', resolved: LODASH_4 } }), /"node_modules\/Lodash": "resolved" is a tarball of lodash, not of Lodash/);
    refused(v3({ 'node_modules/is-number': { version: '4.17.4', resolved: LODASH_4 } }), /a tarball of lodash, not of is-number/);
    refused(v1({ 'lodash-es': { version: 'npm:lodash-es@4.17.4', resolved: LODASH_4 } }), /dependency "lodash-es": "resolved" is a tarball of lodash, not of lodash-es/);
    refused(v1({ Lodash: { version: '4.17.4', resolved: LODASH_4 } }), /dependency "Lodash": "resolved" is a tarball of lodash, not of Lodash/);
  });

  test('a URL npm resolves to another package before fetching it is read as it resolves', () => {
    // The URL parser npm fetches with resolves `..` and reads `\` as `/`: this is is-number's tarball.
    refused(
      v3({ 'node_modules/lodash': { version: '4.17.4', resolved: 'https://registry.npmjs.org/lodash/-/../../is-number/-/is-number-7.0.0.tgz' } }),
      /"resolved" is a tarball of is-number, not of lodash/,
    );
    refused(
      v3({ 'node_modules/lodash': { version: '4.17.4', resolved: 'https://registry.npmjs.org/lodash/-/..\\..\\is-number/-/is-number-7.0.0.tgz' } }),
      /"resolved" is a tarball of is-number, not of lodash/,
    );
    // The registry decodes escapes: `%6codash` is lodash's path, and `%6dinimist` minimist's.
    assert.deepEqual(registryIds(v3({ 'node_modules/lodash': { version: '4.17.4', resolved: 'https://registry.npmjs.org/%6codash/-/lodash-4.17.4.tgz' } })), ['lodash@4.17.4 public']);
    refused(v3({ 'node_modules/lodash': { version: '4.17.4', resolved: 'https://registry.npmjs.org/%6dinimist/-/minimist-1.2.5.tgz' } }), /a tarball of minimist, not of lodash/);
  });

  test('a registry package under a name no npm package can have is refused: the registry decodes its tarball URL (npm 11 ci installs lodash 4.17.4 for "lod%61sh")', () => {
    const encoded = 'https://registry.npmjs.org/lod%61sh/-/lod%61sh-4.17.4.tgz';
    const unnamed = (name: string): RegExp => new RegExp(`the package name "${name}" holds characters that are not URL-safe: no npm package has it, so what is installed under it cannot be audited as it$`);
    refused(v3({ 'node_modules/lodash': { name: 'lod%61sh', version: '4.17.4', resolved: encoded } }), new RegExp(`^"node_modules/lodash": ${unnamed('lod%61sh').source}`));
    refused(v3({ 'node_modules/lod%61sh': { version: '4.17.4', resolved: encoded } }), unnamed('lod%61sh'));
    refused(v3({ 'node_modules/lodash': { name: 'lod%61sh', version: '4.17.4' } }), unnamed('lod%61sh'));
    refused(v1({ lodash: { version: 'npm:lod%61sh@4.17.4', resolved: encoded } }), new RegExp(`^dependency "lodash": ${unnamed('lod%61sh').source}`));
    refused(v1({ 'lod%61sh': { version: '4.17.4', resolved: encoded } }), unnamed('lod%61sh'));
    // Names old packages still have (capitals, `~'!()*`) and a scope's slash written %2f are names.
    assert.deepEqual(registryIds(v3({ 'node_modules/JSONStream': { version: '1.3.5' }, "node_modules/@s/it's": { version: '1.0.0' } })), ['JSONStream@1.3.5 public', "@s/it's@1.0.0 public"]);
  });

  test("an alias (key and name differ, the tarball is the name's) is the package it names", () => {
    assert.deepEqual(registryIds(v3({ 'node_modules/underscore': { name: 'lodash', version: '4.17.4', resolved: LODASH_4 } })), ['underscore@npm:lodash@4.17.4 public']);
    assert.deepEqual(registryIds(v1({ underscore: { version: 'npm:lodash@4.17.4', resolved: LODASH_4 } })), ['underscore@npm:lodash@4.17.4 public']);
    // A scope's slash written %2f, as old lockfiles do.
    assert.deepEqual(
      registryIds(v3({ 'node_modules/@types/node': { version: '8.0.53', resolved: 'https://registry.npmjs.org/@types%2fnode/-/node-8.0.53.tgz' } })),
      ['@types/node@8.0.53 public'],
    );
  });

  test('keys npm would install elsewhere than they spell are refused', () => {
    const entry = { version: '4.17.4', resolved: LODASH_4 };
    const cases: Array<[string, RegExp]> = [
      ['node_modules/lodash/', /"node_modules\/lodash\/": not a location in normal form: npm installs it at "node_modules\/lodash"/],
      ['node_modules//lodash', /npm installs it at "node_modules\/lodash"/],
      ['node_modules/./lodash', /npm installs it at "node_modules\/lodash"/],
      ['node_modules/is-number/../lodash', /npm installs it at "node_modules\/lodash"/],
      ['node_modules\\lodash', /a location with "\\"/],
      ['/srv/app/node_modules/lodash', /an absolute location/],
      ['node_modules/a/lodash', /not a package directory/],
      ['node_modules/@scope', /not a package directory/],
      ['node_modules/@scope/..', /npm installs it at "node_modules"/],
      ['node_modules/lodash/node_modules/', /npm installs it at "node_modules\/lodash\/node_modules"/],
      ['node_modules/lodash/node_modules//a', /npm installs it at "node_modules\/lodash\/node_modules\/a"/],
    ];
    for (const [key, message] of cases) refused(v3({ [key]: entry }), message);
    refused(v1({ 'lodash/': entry }), /dependency "lodash\/": "lodash\/" is not a package name/);
    refused(v1({ '..': entry }), /dependency "\.\.": "\.\." is not a package name/);
    refused(v1({ a: { version: '1.0.0', dependencies: { 'x/../lodash': entry } } }), /dependency "a > x\/\.\.\/lodash": .* is not a package name/);
  });

  test('whitespace or control characters in resolved, or a bare path, are refused', () => {
    const at = (resolved: string): LockfileInput => v3({ 'node_modules/lodash': { version: '4.17.4', resolved } });
    refused(at(` ${LODASH_4}`), /"node_modules\/lodash": "resolved" " https:.*" has whitespace around it, so npm reads it as a directory in the project/);
    refused(at(`${LODASH_4} `), /has whitespace around it/);
    refused(at(`${LODASH_4}\n`), /has whitespace around it/);
    refused(at('https://registry.npmjs.org/lo\tdash/-/lodash-4.17.4.tgz'), /holds control characters/);
    refused(at('https://registry.npmjs.org/lo dash/-/lodash-4.17.4.tgz'), /is not a URL: it holds whitespace/);
    refused(at('lodash-4.17.4.tgz'), /"resolved" "lodash-4\.17\.4\.tgz" is neither a URL nor a git or file: specifier/);
    refused(at('registry.npmjs.org/lodash/-/lodash-4.17.4.tgz'), /is neither a URL nor a git or file: specifier/);
    refused(v1({ lodash: { version: '4.17.4', resolved: `\t${LODASH_4}` } }), /dependency "lodash": "resolved" .* has whitespace around it/);
  });

  test('a scheme or host in upper case is the URL npm fetches', () => {
    for (const resolved of ['HTTPS://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz', 'Https://REGISTRY.npmjs.org/lodash/-/lodash-4.17.4.tgz']) {
      assert.deepEqual(registryIds(v3({ 'node_modules/lodash': { version: '4.17.4', resolved } })), ['lodash@4.17.4 public'], resolved);
      assert.deepEqual(registryIds(v1({ lodash: { version: '4.17.4', resolved } })), ['lodash@4.17.4 public'], resolved);
    }
    // npm 5 wrote the tarball URL as the version; its scheme too is read in any case.
    assert.deepEqual(registryIds(v1({ lodash: { version: 'HTTPS://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz' } })), ['lodash@4.17.4 public']);
    const git = parsePackageLock(v3({ 'node_modules/dep': { version: '1.0.0', resolved: 'GIT+SSH://git@github.com/a/dep.git#abc123' } }));
    assert.deepEqual(git.packages[1]?.source, { kind: 'git', url: 'git+ssh://git@github.com/a/dep.git', rev: 'abc123', isDefaultRegistry: false });
  });

  test('"packages" is what npm installs from whenever the file has it, whatever lockfileVersion says', () => {
    const tree = { lodash: { version: '4.17.21', resolved: 'https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz' } };
    const packages = { 'node_modules/lodash': { version: '4.17.4', resolved: LODASH_4 } };
    const v1WithPackages = parsePackageLock(v3(packages, 1, { dependencies: tree }));
    assert.equal(v1WithPackages.format, 'package-lock.json v1');
    assert.deepEqual(v1WithPackages.packages.map((p) => p.id), ['app@workspace:.', 'lodash@4.17.4']);
    assert.deepEqual(registryIds(v3(packages, 1)), ['lodash@4.17.4 public']);
    assert.deepEqual(registryIds(v3(packages, null, { dependencies: tree })), ['lodash@4.17.4 public']);
    // And a v3 file with the v1 tree only is installed from the tree.
    const treeOnly: LockfileInput = { path: PATH, text: JSON.stringify({ name: 'app', lockfileVersion: 3, dependencies: { lodash: { version: '4.17.4', resolved: LODASH_4 } } }) };
    assert.deepEqual(registryIds(treeOnly), ['lodash@4.17.4 public']);
  });

  test('every resolved URL of the corpus reads as the URL parser has it (the fast path agrees)', () => {
    let count = 0;
    for (const path of corpusFiles(NPM_CORPUS, '.package-lock.json')) {
      for (const m of readFileSync(path, 'utf8').matchAll(/"resolved": "(https?:[^"]*)"/g)) {
        const url = m[1] as string;
        assert.deepEqual(readResolved(url), { value: new URL(url).href }, url);
        count++;
      }
    }
    assert.ok(count > 10_000, `${count} URLs`);
    assert.deepEqual(readResolved('https://registry.npmjs.org:443/lodash/-/lodash-4.17.4.tgz'), { value: LODASH_4 });
    assert.deepEqual(readResolved('https://registry.npmjs.org/lodash/-/./lodash-4.17.4.tgz'), { value: LODASH_4 });
    assert.deepEqual(readResolved('https://registry.npmjs.org/%2E%2E/lodash/-/lodash-4.17.4.tgz'), { value: LODASH_4 });
  });
});

describe('a v1 tree thousands of levels deep', () => {
  /** `p1` holds `p2` … holds `p<depth-1>`, which holds lodash; each requires the next. */
  function deepTree(depth: number): LockfileInput {
    let text = JSON.stringify({ lodash: { version: '4.17.4', resolved: 'https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz' } });
    for (let i = depth - 1; i >= 1; i--) {
      const next = i === depth - 1 ? 'lodash' : `p${i + 1}`;
      text = `{"p${i}":{"version":"1.0.0","resolved":"https://registry.npmjs.org/p${i}/-/p${i}-1.0.0.tgz","requires":{"${next}":"*"},"dependencies":${text}}}`;
    }
    return { path: '/deep/package-lock.json', text: `{"name":"deep","version":"1.0.0","lockfileVersion":1,"requires":true,"dependencies":${text}}` };
  }

  for (const depth of [5_000, 20_000]) {
    test(`${depth} levels: every package and edge, no stack overflow`, () => {
      const graph = parsePackageLock(deepTree(depth));
      assert.equal(graph.packages.length, depth + 1);
      assert.equal(graph.edges.length, depth);
      assert.deepEqual(targetsOf(graph, `p${depth - 1}@1.0.0`), ['lodash@4.17.4']);
    });
  }

  test('an error deep inside names the entry by a shortened path', () => {
    const text = deepTree(5_000).text.replace('"version":"4.17.4"', '"version":4');
    assert.throws(
      () => parsePackageLock({ path: '/deep/package-lock.json', text }),
      (err: unknown) =>
        err instanceof InputError &&
        err.message === 'dependency "p1 > p2 > p3 > … 4994 more … > p4998 > p4999 > lodash": "version" must be a string, found number 4',
    );
  });
});

test("each package carries the licence its lockfile entry states (the root's is the application's), legacy objects read; none where none is", () => {
  const lock = {
    name: 'web',
    version: '1.0.0',
    lockfileVersion: 3,
    packages: {
      '': { name: 'web', version: '1.0.0', license: 'GPL-2.0-or-later', dependencies: { a: '^1.0.0', b: '^2.0.0', c: '^3.0.0' } },
      'node_modules/a': { version: '1.0.0', resolved: 'https://registry.npmjs.org/a/-/a-1.0.0.tgz', integrity: 'sha512-AAAA', license: 'MIT' },
      'node_modules/b': { version: '2.0.0', resolved: 'https://registry.npmjs.org/b/-/b-2.0.0.tgz', integrity: 'sha512-BBBB', license: { type: 'ISC' } },
      'node_modules/c': { version: '3.0.0', resolved: 'https://registry.npmjs.org/c/-/c-3.0.0.tgz', integrity: 'sha512-CCCC' },
    },
  };
  const graph = parsePackageLock({ path: '/web/package-lock.json', text: JSON.stringify(lock) });
  assert.deepEqual(Object.fromEntries(graph.packages.map((p) => [p.name, p.license ?? null])), { web: 'GPL-2.0-or-later', a: 'MIT', b: 'ISC', c: null });
});

test('a package-lock.json older than package.json (a registry dependency it lacks or locks at a version the range refuses) is read as locked, with a warning, and stale', () => {
  // npm 11: `npm ci` refuses it ("lock file's minimist@1.2.6 does not satisfy minimist@1.2.0"), `npm install` resolves anew;
  // a range the locked version still satisfies is in sync (npm ci installs it).
  const lock = JSON.stringify({
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'app', version: '1.0.0', dependencies: { minimist: '1.2.6', a: 'npm:ms@2.0.0', lib: 'file:lib' } },
      'node_modules/minimist': {
        version: '1.2.6',
        resolved: 'https://registry.npmjs.org/minimist/-/minimist-1.2.6.tgz',
        integrity: 'sha512-Jsjnk4bw3YJqYzbdyBiNsPWHPfO++UGG749Cxs6peCu5Xg4nrena6OVxOYxrQTqww0Jmwt+Ref8rggumkTLz9Q==',
      },
      'node_modules/a': { name: 'ms', version: '2.0.0', resolved: 'https://registry.npmjs.org/ms/-/ms-2.0.0.tgz' },
      'node_modules/lib': { resolved: 'lib', link: true },
      lib: { version: '1.0.0' },
    },
  });
  const read = (deps: Record<string, string>, devDeps: Record<string, string> = {}): DependencyGraph =>
    parsePackageLock({ path: 'package-lock.json', text: lock, manifest: { path: 'package.json', text: JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps, devDependencies: devDeps }) } });

  for (const deps of [{ minimist: '1.2.6', a: 'npm:ms@2.0.0', lib: 'file:lib' }, { minimist: '^1.2.0', a: 'npm:ms@^2.0.0', lib: 'file:lib' }]) {
    const current = read(deps);
    assert.equal(current.stale, undefined, JSON.stringify(deps));
    assert.equal(current.warnings, undefined);
  }
  const changed = read({ minimist: '1.2.0', a: 'npm:ms@2.1.0', lib: 'file:lib' }, { lodash: '^4.17.0' });
  assert.ok(changed.packages.some((p) => p.name === 'minimist' && p.version === '1.2.6'));
  assert.deepEqual(changed.warnings, [
    'package.json: minimist@1.2.0, a@npm:ms@2.1.0, lodash@^4.17.0 not locked as asked in package-lock.json: the lockfile is older than package.json; the audit covers what it locks',
  ]);
  assert.equal(changed.stale, 'minimist@1.2.0, a@npm:ms@2.1.0, lodash@^4.17.0 from package.json not locked');
});

test("one range in many applications' package.json is judged against each lockfile's own locked version, and a specifier that is no range is not judged", () => {
  // A bulk add reads the same package.json ranges for every application of one code base: each
  // lockfile is still compared with what it locks itself, whichever was read before it.
  const read = (locked: string, spec: string): DependencyGraph =>
    parsePackageLock({
      path: 'package-lock.json',
      text: JSON.stringify({
        name: 'app',
        lockfileVersion: 3,
        packages: {
          '': { name: 'app', dependencies: { minimist: spec } },
          'node_modules/minimist': { version: locked, resolved: `https://registry.npmjs.org/minimist/-/minimist-${locked}.tgz` },
        },
      }),
      manifest: { path: 'package.json', text: JSON.stringify({ name: 'app', dependencies: { minimist: spec } }) },
    });
  for (let round = 0; round < 3; round++) {
    assert.equal(read('1.2.6', '^1.2.0').stale, undefined);
    assert.equal(read('0.0.8', '^1.2.0').stale, 'minimist@^1.2.0 from package.json not locked');
    assert.equal(read('1.2.6', ' >=1.2.0  <2 ').stale, undefined);
    assert.equal(read('0.0.8', ' >=1.2.0  <2 ').stale, 'minimist@ >=1.2.0  <2  from package.json not locked');
    assert.equal(read('0.0.8', 'latest').stale, undefined);
    assert.equal(read('0.0.8', '>=x.y.z!').stale, undefined);
  }
});

test("package.json's overrides that the installed versions do not satisfy make a package-lock.json stale, with a warning", () => {
  // npm 11.19: mkdirp@0.5.1 locked with its minimist@0.0.8, then `"overrides": {"minimist": "1.2.6"}`
  // added: `npm ci` refuses ("lock file's minimist@0.0.8 does not satisfy minimist@1.2.6"), `npm
  // install` installs minimist 1.2.6. The audit passed 0.0.8 as if it were what npm installs.
  const lock = JSON.stringify({
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'app', version: '1.0.0', dependencies: { mkdirp: '0.5.1' } },
      'node_modules/minimist': { version: '0.0.8', resolved: 'https://registry.npmjs.org/minimist/-/minimist-0.0.8.tgz' },
      'node_modules/mkdirp': { version: '0.5.1', resolved: 'https://registry.npmjs.org/mkdirp/-/mkdirp-0.5.1.tgz', dependencies: { minimist: '0.0.8' } },
    },
  });
  const read = (extra: Record<string, unknown>): DependencyGraph =>
    parsePackageLock({ path: 'package-lock.json', text: lock, manifest: { path: 'package.json', text: JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { mkdirp: '0.5.1' }, ...extra }) } });

  const overridden = read({ overrides: { minimist: '1.2.6' } });
  assert.ok(overridden.packages.some((p) => p.name === 'minimist' && p.version === '0.0.8'));
  assert.deepEqual(overridden.warnings, [
    'package.json: minimist@1.2.6 (an override) not locked as asked in package-lock.json: the lockfile is older than package.json; the audit covers what it locks',
  ]);
  assert.equal(overridden.stale, 'minimist@1.2.6 (an override) from package.json not locked');
  assert.equal(read({ overrides: { minimist: { '.': '^1.2.6' } } }).stale, 'minimist@^1.2.6 (an override) from package.json not locked');
  assert.equal(read({ overrides: { minimist: '$minimist' }, devDependencies: { minimist: '1.2.6' } }).stale, 'minimist@1.2.6, minimist@$minimist (an override) from package.json not locked');
  // Overrides under a parent, or keyed by a range, hold where npm applies them (npm 11.19, the
  // same with fixture-mkdirp@0.5.1 and the fixture-args@0.0.8 it pins: each refused by `npm ci`,
  // 1.2.6 installed by `npm install`; the audit passed 0.0.8).
  const refused: [Record<string, unknown>, string][] = [
    [{ mkdirp: { minimist: '1.2.6' } }, 'minimist@1.2.6 (an override of mkdirp > minimist)'],
    [{ 'mkdirp@0.5.1': { minimist: '1.2.6' } }, 'minimist@1.2.6 (an override of mkdirp@0.5.1 > minimist)'],
    [{ 'minimist@0.0.8': '1.2.6' }, 'minimist@1.2.6 (an override of minimist@0.0.8)'],
    [{ 'minimist@<1': '1.2.6' }, 'minimist@1.2.6 (an override of minimist@<1)'],
  ];
  for (const [overrides, label] of refused) {
    const graph = read({ overrides });
    assert.equal(graph.stale, `${label} from package.json not locked`, JSON.stringify(overrides));
    assert.deepEqual(graph.warnings, [`package.json: ${label} not locked as asked in package-lock.json: the lockfile is older than package.json; the audit covers what it locks`]);
  }
  // Overrides the locked versions satisfy are in sync (npm ci installs them), and so are those
  // whose parent key is another version or whose key range misses the dependency's.
  const kept = [
    { overrides: { minimist: '0.0.8' } },
    { overrides: { minimist: '~0.0.1', mkdirp: { '.': '0.5.1' } } },
    {},
    { overrides: { mkdirp: { minimist: '0.0.8' } } },
    { overrides: { 'mkdirp@0.5.2': { minimist: '1.2.6' } } },
    { overrides: { mkdirp: { '.': '0.5.1', minimist: '^0.0.8' } } },
    { overrides: { 'minimist@>=1': '1.2.6' } },
  ];
  for (const extra of kept) {
    const current = read(extra);
    assert.equal(current.stale, undefined, JSON.stringify(extra));
    assert.equal(current.warnings, undefined);
  }
});

describe('optional peer dependencies (npm 11 lockfile)', () => {
  // Made by `npm install --package-lock-only` (npm 11.19): ws, a dev dependency, names
  // bufferutil as an optional peer (peerDependenciesMeta); the app depends on bufferutil as
  // an optional dependency. npm's peerOptional edge is optional too, so `npm ci
  // --omit=optional` installs neither bufferutil nor its dependency node-gyp-build.
  const dir = join(FIXTURES, 'peer-optional');
  const graph = parsePackageLock(input(join(dir, 'package-lock.json'), join(dir, 'package.json')));

  test('what only optional dependencies and optional peers reach is optional', () => {
    assert.deepEqual(byId(graph, 'bufferutil@4.0.8').flags, { optional: true });
    assert.deepEqual(byId(graph, 'node-gyp-build@4.8.4').flags, { optional: true });
    assert.deepEqual(byId(graph, 'ws@8.18.0').flags, { dev: true });
    assert.equal(byId(graph, 'ms@2.1.3').flags, undefined);
  });

  test('the optional peer stays a peer edge in the graph', () => {
    assert.equal(dependenciesOf(graph, 'ws@8.18.0').get('bufferutil'), 'peer');
  });
});

/*
 * Without `resolved`, npm ci fetches `name@version`, the version read as a specifier (arborist's
 * reify: `${node.package.name}@${node.version}`). Checked with npm 11.19.1 on an entry
 * `node_modules/left-pad` with no `resolved`: `"version": "npm:minimist@1.2.0"` and
 * `"version": "https://registry.npmjs.org/minimist/-/minimist-1.2.0.tgz"` install minimist 1.2.0
 * at node_modules/left-pad, `"version": "^1.2.0"` the newest left-pad (1.3.0). stowage audited
 * left-pad and passed.
 */
test('an entry without "resolved" whose "version" is a specifier, not a version, is refused: npm installs what the specifier names', () => {
  const lockWithVersion = (version: string, resolved?: string): LockfileInput => ({
    path: '/app/package-lock.json',
    text: JSON.stringify({
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      packages: {
        '': { name: 'app', version: '1.0.0', dependencies: { 'left-pad': '*' } },
        'node_modules/left-pad': { version, ...(resolved === undefined ? {} : { resolved }) },
      },
    }),
  });
  for (const version of ['npm:minimist@1.2.0', 'https://registry.npmjs.org/minimist/-/minimist-1.2.0.tgz', '^1.2.0', 'latest']) {
    assert.throws(
      () => parsePackageLock(lockWithVersion(version)),
      (err: unknown) =>
        err instanceof InputError &&
        err.message ===
          `"node_modules/left-pad": "version" ${JSON.stringify(version)} is not a version, and the entry has no "resolved": npm installs ${JSON.stringify(`left-pad@${version}`)}, whatever that specifier names when it runs`,
      version,
    );
  }
  // A version, with or without `resolved` (lockfiles written with omit-lockfile-registry-resolved have none).
  for (const [version, resolved] of [['1.3.0', undefined], ['1.3.0-rc.1+b', undefined], ['v1.3.0', undefined], ['1.3.0', 'https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz']] as const) {
    const graph = parsePackageLock(lockWithVersion(version, resolved));
    assert.deepEqual(graph.packages.map((p) => `${p.name}@${p.version}`), ['app@1.0.0', `left-pad@${version}`]);
  }
});

/*
 * A v1 entry's "version" may be a tarball URL (npm 5.0 wrote them); without `resolved`, npm 11 ci
 * fetches it. Checked with npm 11.19.1: `"left-pad": {"version":
 * "https://registry.npmjs.org/minimist/-/minimist-1.2.0.tgz"}` installs minimist 1.2.0 at
 * node_modules/left-pad. stowage audited it as left-pad, versioned by the URL, and passed.
 */
test("a v1 entry whose version is another package's registry tarball is refused, as a \"resolved\" of one is", () => {
  const text = JSON.stringify({
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 1,
    dependencies: { 'left-pad': { version: 'https://registry.npmjs.org/minimist/-/minimist-1.2.0.tgz' } },
  });
  assert.throws(
    () => parsePackageLock({ path: '/app/package-lock.json', text }),
    (err: unknown) =>
      err instanceof InputError &&
      err.message === 'dependency "left-pad": "version" is a tarball of minimist, not of left-pad (https://registry.npmjs.org/minimist/-/minimist-1.2.0.tgz); npm installs the tarball',
  );
  // Its own tarball is that version of it.
  const own = parsePackageLock({ path: '/app/package-lock.json', text: text.replaceAll('minimist', 'left-pad') });
  assert.deepEqual(own.packages.map((p) => `${p.name}@${p.version}`), ['app@1.0.0', 'left-pad@1.2.0']);
});
