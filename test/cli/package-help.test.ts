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
