import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { subcommandOptions } from '../../src/cli/program.js';
import { runCli, tempDir } from '../support/shared.js';

/*
 * Commander hands a parent command every option it declares wherever it stands on the line:
 * `stowage vendor verify A --db X` gave --db to `vendor`, and verify ran as if it had not been
 * given. An option only the parent takes is refused; one both declare reaches the subcommand.
 */

const cacheDir = tempDir('cli-subcommand-options-cache');

test('vendor verify refuses the options of vendor it does not use: one line, exit 2', () => {
  for (const args of [
    ['vendor', 'verify', 'missing.tar.zst', '--db', 'X'],
    ['vendor', '--ignore', 'RUSTSEC-2023-0071=x', 'verify', 'missing.tar.zst'],
  ]) {
    const r = runCli(args, { cacheDir });
    assert.equal(r.status, 2);
    const option = args.includes('--db') ? '--db' : '--ignore';
    assert.equal(r.stderr, `stowage: vendor verify does not take ${option}: it is an option of vendor alone (run with --help for usage)\n`);
    assert.equal(r.stdout, '');
  }
});

test('an option both declare reaches the subcommand, wherever it stands', () => {
  const seen: object[] = [];
  const program = new Command('p').exitOverride();
  const parent = program.command('vendor').option('-j, --jobs <n>').option('--cache-dir <dir>').option('--db <db>');
  parent
    .command('verify')
    .argument('<a>')
    .option('-j, --jobs <n>')
    .option('--cache-dir <dir>')
    .action((_a: string, opts: { jobs?: string; cacheDir?: string }, command: Command) => {
      seen.push(subcommandOptions(command, opts));
    });
  program.parse(['vendor', 'verify', 'A', '--jobs', '3', '--cache-dir', 'C'], { from: 'user' });
  assert.deepEqual(seen, [{ jobs: '3', cacheDir: 'C' }]);
});
