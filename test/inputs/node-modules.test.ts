import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { nodeModulesGraphs } from '../../src/inputs/node-modules.js';

const manifest = (name: string, version: string): Buffer => Buffer.from(JSON.stringify({ name, version }));

test("a pnpm virtual store (packages behind symbolic links stowage does not follow) is refused, not passed over while the tree's other packages are audited", () => {
  // What pnpm 9 installs: the package in .pnpm, a symbolic link (not read) at node_modules/lodash.
  const tree = new Map([
    ['usr/lib/node_modules/ms/package.json', manifest('ms', '2.1.3')],
    ['app/package.json', manifest('app', '1.0.0')],
    ['app/node_modules/.pnpm/lodash@4.17.4/node_modules/lodash/package.json', manifest('lodash', '4.17.4')],
  ]);
  for (const [path, store] of [
    ['app/node_modules/.pnpm/lodash@4.17.4/node_modules/lodash/package.json', 'image.tar:app/node_modules/.pnpm'],
    ['node_modules/.pnpm/@types+node@20.0.0/node_modules/@types/node/package.json', 'image.tar:node_modules/.pnpm'],
  ] as const) {
    const files = new Map([...tree].filter(([p]) => !p.includes('.pnpm')));
    files.set(path, manifest('x', '1.0.0'));
    assert.throws(
      () => nodeModulesGraphs(files, 'image.tar'),
      (err: unknown) => err instanceof InputError && err.file === store && /a pnpm virtual store: .*audit the pnpm-lock\.yaml/.test(err.message) && !err.line.includes('\n'),
    );
  }
  // Other dot-directories are still no packages (.bin, .cache), and npm's tree is read as before.
  const npmTree = new Map([
    ['node_modules/ms/package.json', manifest('ms', '2.1.3')],
    ['node_modules/.cache/x/node_modules/y/package.json', manifest('y', '1.0.0')],
  ]);
  assert.deepEqual(
    nodeModulesGraphs(npmTree, 'image.tar').flatMap((g) => g.packages.map((p) => `${p.name}@${p.version}`)),
    ['root@', 'ms@2.1.3'],
  );
});

test("npm's install-strategy=linked store (node_modules/.store, npm 11; yarn's pnpm linker too) is refused, not passed over while another application is audited", () => {
  // What npm 11 installs with --install-strategy=linked: the package in .store, a symbolic link (not read) at node_modules/lodash.
  for (const [path, store] of [
    ['app2/node_modules/.store/lodash@4.17.4-5hR_1gL4e5FOPt_zlsztwg/node_modules/lodash/package.json', 'image.tar:app2/node_modules/.store'],
    ['node_modules/.store/@babel-traverse-npm-7.0.0-0a1b2c3d4e/node_modules/@babel/traverse/package.json', 'image.tar:node_modules/.store'],
  ] as const) {
    const files = new Map([
      ['app1/node_modules/ms/package.json', manifest('ms', '2.1.3')],
      ['app2/package.json', manifest('app2', '1.0.0')],
      [path, manifest('lodash', '4.17.4')],
    ]);
    assert.throws(
      () => nodeModulesGraphs(files, 'image.tar'),
      (err: unknown) =>
        err instanceof InputError && err.file === store && /a virtual store \(npm's install-strategy=linked, yarn's pnpm linker\): .*audit the package-lock\.json or yarn\.lock/.test(err.message) && !err.line.includes('\n'),
      path,
    );
  }
});

test("bun's isolated install (node_modules/.bun, bun install --linker isolated) is refused, not passed over while another application is audited", () => {
  // What bun 1.4.5 installs with --linker isolated: each package in .bun/NAME@VERSION (a scope's slash as +), a symbolic link (not read) in its place.
  for (const [path, store] of [
    ['app2/node_modules/.bun/fixture-ms@1.0.0/node_modules/fixture-ms/package.json', 'image.tar:app2/node_modules/.bun'],
    ['node_modules/.bun/@fixture+color@1.0.0/node_modules/@fixture/color/package.json', 'image.tar:node_modules/.bun'],
  ] as const) {
    const files = new Map([
      ['app1/node_modules/ms/package.json', manifest('ms', '2.1.3')],
      ['app2/package.json', manifest('app2', '1.0.0')],
      [path, manifest('fixture-ms', '1.0.0')],
    ]);
    assert.throws(
      () => nodeModulesGraphs(files, 'image.tar'),
      (err: unknown) => err instanceof InputError && err.file === store && /bun's isolated install: .*audit the bun\.lock they were installed from/.test(err.message) && !err.line.includes('\n'),
      path,
    );
  }
});

test("a package's own lib/node_modules holds installed packages: each read, its dependencies resolved from its own directory up, as node resolves them; fixtures naming no package passed over", () => {
  const tree = new Map([
    ['node_modules/foo/package.json', manifest('foo', '1.0.0')],
    ['node_modules/foo/lib/node_modules/bar/package.json', Buffer.from(JSON.stringify({ name: 'bar', version: '2.0.0', dependencies: { baz: '*' } }))],
    // From foo/lib/node_modules/bar, node finds foo's own baz before the root's.
    ['node_modules/foo/node_modules/baz/package.json', manifest('baz', '1.0.0')],
    ['node_modules/baz/package.json', manifest('baz', '3.0.0')],
    // A package's own files, not installed packages: no node_modules holds them.
    ['node_modules/foo/lib/package.json', manifest('not-installed', '1.0.0')],
    // resolve 1.1.7's test fixtures, as published: no package npm packs, none an advisory names.
    ['node_modules/resolve/package.json', manifest('resolve', '1.1.7')],
    ['node_modules/resolve/test/subdirs/node_modules/a/package.json', Buffer.from('{}')],
    ['node_modules/resolve/test/resolver/biz/node_modules/garply/package.json', Buffer.from('{"main":"./lib"}')],
    ['node_modules/resolve/test/fixtures/node_modules/broken/package.json', Buffer.from('{"name": ')],
    ['node_modules/resolve/test/fixtures/node_modules/minimist/package.json', manifest('minimist', 'latest')],
  ]);
  const [graph] = nodeModulesGraphs(tree, 'image.tar');
  assert.deepEqual(graph?.packages.map((p) => `${p.name}@${p.version}`).sort(), ['bar@2.0.0', 'baz@1.0.0', 'baz@3.0.0', 'foo@1.0.0', 'resolve@1.1.7', 'root@']);
  assert.deepEqual(
    graph?.edges.filter((e) => e.from === 'node_modules/foo/lib/node_modules/bar').map((e) => e.to),
    ['node_modules/foo/node_modules/baz'],
  );
  // Passed over, but said: before, not a word (a minimist vendored there without its version, which
  // node loads from foo's lib, went unaudited while the audit passed).
  assert.deepEqual(graph?.warnings, [
    "image.tar: 4 package.json files in a node_modules among an installed package's own files name no package at a semver version, so they are NOT audited (test fixtures, or a copy vendored without its version, which node loads all the same): " +
      'node_modules/resolve/test/fixtures/node_modules/broken/package.json, node_modules/resolve/test/fixtures/node_modules/minimist/package.json, node_modules/resolve/test/resolver/biz/node_modules/garply/package.json, node_modules/resolve/test/subdirs/node_modules/a/package.json',
  ]);
});
