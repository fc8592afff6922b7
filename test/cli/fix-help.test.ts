/**
 * The --help of `stowage fix` and `stowage fleet campaign start` teaches what the README says a
 * user must know before running them: what --apply runs for workspace members, aliases and
 * file: directories, what an override writes; what a campaign makes, and how a candidate
 * becomes current or is undone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, tempDir } from '../support/shared.js';

const cacheDir = tempDir('fix-help');
/** The help as one line: commander wraps it at the terminal's width. */
const help = (args: string[]): string => {
  const run = runCli([...args, '--help'], { cacheDir });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.replace(/\s+/g, ' ');
};

test('fix --help says what --apply runs for a workspace member, an alias, a file: directory, and what an override writes', () => {
  const text = help(['fix']);
  for (const taught of [
    '-w MEMBER',
    '--include-workspace-root',
    'ALIAS@npm:NAME@NEW',
    '"foo": "npm:bar@^1.0.0" becomes "foo": "npm:bar@^1.0.1"',
    'file: directory',
    '"NAME@OLD": "NEW"',
    '"foo@OLD": "npm:bar@NEW"',
    '--ignore-scripts',
    'those a policy or --ignore accepts marked so',
  ]) {
    assert.ok(text.includes(taught), `fix --help names ${taught}`);
  }
});

test('fleet campaign start --help says a candidate is made current by fleet promote, undone by fleet rollback, and a failed test leaves none', () => {
  const text = help(['fleet', 'campaign', 'start']);
  for (const taught of ['stowage fleet promote APP REVISION', 'stowage fleet rollback APP', 'fails a step (its tests included) ends failed, with no candidate', '--allow-registry']) {
    assert.ok(text.includes(taught), `campaign start --help names ${taught}`);
  }
});
