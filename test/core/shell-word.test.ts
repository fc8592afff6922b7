import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { shellOperand, shellWord } from '../../src/core/shell-word.js';

test('a path is one POSIX shell word: plain ones as they are, others single-quoted, a leading dash made a path', () => {
  assert.equal(shellWord('/srv/apps/rg/deps.tar.zst'), '/srv/apps/rg/deps.tar.zst');
  assert.equal(shellWord('out dir/deps.tar.zst'), "'out dir/deps.tar.zst'");
  assert.equal(shellWord("it's"), "'it'\\''s'");
  assert.equal(shellWord('-rf'), './-rf');
  assert.equal(shellWord(''), "''");
  for (const path of ['a b', "it's", '$(id)', '`id`', 'a;b|c&d', '*.zst', '~/x', 'a\\b', '-n x', '"q"', '!x']) {
    assert.equal(execFileSync('sh', ['-c', `printf '[%s]' ${shellWord(path)}`], { encoding: 'utf8' }), `[${path.startsWith('-') ? `./${path}` : path}]`, path);
  }
});

test('a name is the last operand: quoted as a path is, after `--` when it starts with a dash, never made a path', () => {
  assert.equal(shellOperand('web'), 'web');
  assert.equal(shellOperand('w $(id);id'), "'w $(id);id'");
  assert.equal(shellOperand('-x'), '-- -x');
  assert.equal(shellOperand("-it's"), "-- '-it'\\''s'");
});
