import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, tempDir } from '../support/shared.js';

const cacheDir = tempDir('package-help');

test('stowage package --help lists rpm with a one-line summary; rpm --help keeps the whole description', () => {
  const r = runCli(['package', '--help'], { cacheDir });
  assert.equal(r.status, 0);
  const commands = r.stdout.slice(r.stdout.indexOf('\nCommands:\n'));
  assert.match(commands, /^ {2}rpm \[options\] \[path\] +\S.*\n {2}help \[command\] /m);
  const own = runCli(['package', 'rpm', '--help'], { cacheDir });
  assert.match(own.stdout.replace(/\s+/g, ' '), /Write an RPM spec and its sources into DIR: NAME\.spec;/);
});

test('package rpm --help shows how to rebuild without %check, which a published npm tarball\'s missing tests fail', () => {
  // http-server and markdownlint-cli, packaged from `npm pack`: %check found no test files.
  const own = runCli(['package', 'rpm', '--help'], { cacheDir });
  assert.match(own.stdout, /^ {2}rpmbuild --rebuild --without check rpm\/NAME-VERSION-1\.src\.rpm +the same without %check/m);
});
