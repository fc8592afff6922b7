import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { advisoryDbCheckout, CARGO_CORPUS, runCli, tempDir } from '../support/shared.js';

/**
 * An application's name is chosen by whoever pushes it (any read-write token): `w $(id);id` and
 * `-x` are names `fleet add` and the server accept. A command the command line tells a person to
 * run with such a name must run that command on that application, and nothing else: pasted into
 * a shell, `stowage fleet history w $(id);id` runs `id` twice.
 */

const cacheDir = tempDir('fleet-hint-cache');
const RUSTSEC = advisoryDbCheckout();
const LOCKFILE = join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.lock');

/** The words a POSIX shell makes of `command`, each ended by a NUL (what else the shell prints comes after them). */
function shellWords(command: string): string[] {
  return execFileSync('sh', ['-c', `set -f; set -- ${command}; printf '%s\\0' "$@"`], { encoding: 'utf8' }).split('\0');
}

test('an unknown revision points at `fleet history NAME` with NAME quoted for the shell, and that command shows the application', () => {
  const store = join(tempDir('fleet-hint'), 'fleet.sqlite');
  // --store first: an operand after `--` is the application's name.
  const fleet = (command: string, ...args: string[]) => runCli(['fleet', command, '--store', store, ...args], { cacheDir });
  assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
  for (const name of ['w $(id);id', "it's", '-x']) {
    assert.notEqual(fleet('add', '--name', name, LOCKFILE).status, 2, name);
    const shown = fleet('show', '--revision', 'sha256:deadbeefdead', '--', name);
    assert.equal(shown.status, 2);
    const hint = /\(see stowage (fleet history .*)\)$/m.exec(shown.stderr)?.[1];
    assert.ok(hint !== undefined, shown.stderr);
    const words = shellWords(hint);
    assert.deepEqual(words.filter((w) => w !== '--'), ['fleet', 'history', name, ''], `${name}: ${hint}`);
    const history = fleet(words[1] as string, ...words.slice(2, -1));
    assert.equal(history.status, 0, `${hint}: ${history.stderr}`);
    assert.match(history.stdout, /added +sha256:/);
  }
});
