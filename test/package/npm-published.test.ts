import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GHSA_NPM, runCli, tempDir, tempTree } from '../support/shared.js';
import { publishedTarballWarning } from '../../src/package/npm-published.js';

/**
 * `npm pack cowsay`, unpacked and locked, packaged and rebuilt: rpmbuild failed in %build, where
 * `npm ci` ran its `prepare` script (`rollup -c`) without the rollup.config.js the published
 * tarball leaves out; http-server's and markdownlint-cli's %check found no tests. `package rpm`
 * now says so when it makes the SRPM, for a source holding only what `files` publishes.
 */

const COWSAY = {
  name: 'cowsay',
  version: '1.6.0',
  license: 'MIT',
  bin: { cowsay: './cli.js' },
  files: ['index.js', 'index.d.ts', 'cli.js', 'build/', 'cows/', 'lib/'],
  scripts: { prepare: 'rollup -c', test: 'tape test/**/*.js' },
};
const PUBLISHED = ['LICENSE', 'README.md', 'cli.js', 'cows/cow.cow', 'build/cowsay.umd.js', 'index.d.ts', 'index.js', 'lib/cows.js', 'package-lock.json', 'package.json'];

test('a source holding only what "files" publishes is said to be a published tarball, naming the scripts the build runs', () => {
  const warning = publishedTarballWarning(PUBLISHED, COWSAY, false);
  assert.match(warning ?? '', /only what package\.json's "files" publishes.*%build runs its script prepare \("rollup -c"\) and %check runs its script test \("tape test\/\*\*\/\*\.js"\).*package its source checkout$/);
  // Only a test script: rpmbuild --without check builds it.
  const tests = publishedTarballWarning(['markdownlint.js', 'package.json', 'README.md', 'LICENSE'], { files: ['markdownlint.js'], scripts: { test: 'ava' } }, false);
  assert.match(tests ?? '', /%check runs its script test \("ava"\).*or build with `rpmbuild --without check`$/);
  // Every script of the application's own that an install runs, in order (json-server's prepublish).
  const jsonServer = publishedTarballWarning(['lib/cli/bin.js', 'public/index.html', 'package.json'], { files: ['lib', 'public'], scripts: { prepare: 'husky install', prepublish: 'npm test && npm run build', test: 'jest' } }, false);
  assert.match(jsonServer ?? '', /%build runs its scripts prepublish \("npm test && npm run build"\), prepare \("husky install"\) and %check runs its script test \("jest"\).*source checkout$/);
  // Globs in "files", one component at a time.
  assert.notEqual(publishedTarballWarning(['dist/a.js', 'dist/sub/b.js', 'package.json'], { files: ['dist/**/*.js'], scripts: { test: 'jest' } }, false), null);
});

test('a source checkout is not: a file "files" leaves out, a git checkout, no "files", nothing the build runs', () => {
  assert.equal(publishedTarballWarning([...PUBLISHED, 'rollup.config.js'], COWSAY, false), null);
  assert.equal(publishedTarballWarning([...PUBLISHED, 'test/cowsay.js'], COWSAY, false), null);
  assert.equal(publishedTarballWarning(PUBLISHED, COWSAY, true), null);
  assert.equal(publishedTarballWarning(PUBLISHED, { ...COWSAY, files: undefined }, false), null);
  assert.equal(publishedTarballWarning(PUBLISHED, { ...COWSAY, scripts: { test: 'echo "Error: no test specified" && exit 1' } }, false), null);
  assert.equal(publishedTarballWarning(PUBLISHED, { ...COWSAY, files: ['!lib', 'index.js'] }, false), null);
});

test('package rpm warns about an unpacked published tarball before rpmbuild would fail on it', () => {
  const lock = { name: 'cowsay', version: '1.6.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'cowsay', version: '1.6.0', license: 'MIT', bin: { cowsay: 'cli.js' } } } };
  const files: Record<string, string> = { 'package-lock.json': JSON.stringify(lock), 'package.json': JSON.stringify(COWSAY) };
  for (const path of PUBLISHED) files[path] ??= '// published\n';
  const dir = tempTree('npm-published', files);
  const run = runCli(['package', 'rpm', dir, '--db', GHSA_NPM, '--no-fetch', '-o', tempDir('npm-published-rpm')], { cacheDir: tempDir('npm-published-cache') });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /warning: the application holds only what package\.json's "files" publishes.*%build runs its script prepare \("rollup -c"\)/);

  // Its source checkout, with the rollup config: no warning.
  const checkout = tempTree('npm-checkout', { ...files, 'rollup.config.js': 'export default {};\n' });
  const clean = runCli(['package', 'rpm', checkout, '--db', GHSA_NPM, '--no-fetch', '-o', tempDir('npm-checkout-rpm')], { cacheDir: tempDir('npm-checkout-cache') });
  assert.equal(clean.status, 0, clean.stderr);
  assert.doesNotMatch(clean.stderr, /published/);
});

test('a "files" entry of many wildcards is not recognised, and answers at once on a long path', () => {
  const long = `${'a'.repeat(5000)}.js`;
  assert.equal(publishedTarballWarning([long, 'package.json'], { files: ['*a*a*a*a*a*a*a*a*b'], scripts: { test: 'x' } }, false), null);
  assert.equal(publishedTarballWarning([long, 'package.json'], { files: ['****************b'], scripts: { test: 'x' } }, false), null);
});
