import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANALYSIS_STATES, JUSTIFICATIONS } from '../../src/sbom/cyclonedx-vex.js';
import { runCli, tempDir } from '../support/shared.js';

const cacheDir = tempDir('fleet-help');
const SUBCOMMANDS = ['init', 'add', 'status', 'show', 'history', 'snapshot', 'diff', 'sync', 'affected', 'triage', 'export', 'promote', 'rollback'];

test('stowage fleet --help lists every subcommand, with examples and exit codes', () => {
  const r = runCli(['fleet', '--help'], { cacheDir });
  assert.equal(r.status, 0);
  for (const sub of SUBCOMMANDS) assert.match(r.stdout, new RegExp(`^  ${sub} `, 'm'), sub);
  assert.match(r.stdout, /Examples:\n {2}stowage fleet init --db/);
  assert.match(r.stdout, /Exit codes: 0 done, 1 a finding fails/);
});

test('each fleet subcommand --help teaches: every option described, examples, exit codes', () => {
  for (const sub of SUBCOMMANDS) {
    const r = runCli(['fleet', sub, '--help'], { cacheDir });
    assert.equal(r.status, 0, sub);
    assert.match(r.stdout, /\n {2}--store <store> +the fleet store/, `${sub}: --store`);
    assert.match(r.stdout, new RegExp(`Examples:\\n {2}stowage fleet ${sub}`), `${sub}: examples`);
    assert.match(r.stdout, /Exit codes: 0 /, `${sub}: exit codes`);
  }
});

test('fleet triage --help lists every state and every justification the parser accepts', () => {
  const r = runCli(['fleet', 'triage', '--help'], { cacheDir });
  assert.equal(r.status, 0);
  const words = new Set(r.stdout.split(/[\s,:()"]+/));
  for (const value of [...ANALYSIS_STATES, ...JUSTIFICATIONS]) assert.ok(words.has(value), value);
});

test('fleet campaign start --help says plainly what --sandbox none lets a hostile application do', () => {
  const r = runCli(['fleet', 'campaign', 'start', '--help'], { cacheDir });
  assert.equal(r.status, 0);
  const text = r.stdout.replace(/\s+/g, ' ');
  assert.match(text, /--sandbox none runs each application's build scripts \(build\.rs, proc macros, npm install scripts\) and tests unconfined: as the worker's user, with its files \(the fleet store's included\) and the network/);
  assert.match(text, /use it only when every application's code is trusted/);
});
