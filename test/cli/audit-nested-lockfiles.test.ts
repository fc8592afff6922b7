import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADVISORY_DB_BUNDLE, GHSA_NPM, runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * A directory names one application: lockfiles in its subdirectories (a frontend's
 * package-lock.json under a Cargo project, an example's Cargo.lock, a pnpm member's own
 * lockfile under shared-workspace-lockfile=false) are not audited with it. Before, the audit
 * passed over them in silence; now it says so in every format, the exit code unchanged.
 */

const cacheDir = tempDir('cli-nested-cache');
const DB = ['--db', ADVISORY_DB_BUNDLE];
const CARGO_TOML = '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n';
const CARGO_LOCK = 'version = 4\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n';
// A frontend whose lockfile locks lodash 4.17.20 (GHSA-35jh-r3h4-6jhm and others).
const WEB_LOCK = '{"name":"web","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"web","version":"1.0.0","dependencies":{"lodash":"4.17.20"}},"node_modules/lodash":{"version":"4.17.20","resolved":"https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz","integrity":"sha512-PlhdFcillOINfeV7Ni6oF1TAEayyZBoZ8bcshTHqOYJYlrqzRK5hagpagky5o4HfCzzd1TRkXPMFq6cKk9rGmA=="}}}\n';

test('lockfiles below a directory audited are said NOT audited, in every format, naming each; what package managers install into is not searched', () => {
  const dir = tempTree('nested', {
    'Cargo.toml': CARGO_TOML,
    'Cargo.lock': CARGO_LOCK,
    'web/package.json': '{"name":"web","version":"1.0.0","dependencies":{"lodash":"4.17.20"}}\n',
    'web/package-lock.json': WEB_LOCK,
    'examples/demo/Cargo.lock': CARGO_LOCK,
    // Not the application's: installed or built into, or hidden.
    'node_modules/x/package-lock.json': WEB_LOCK,
    'target/package/app-0.1.0/Cargo.lock': CARGO_LOCK,
    '.git/x/Cargo.lock': CARGO_LOCK,
  });
  const said = `2 lockfiles below the directory given are NOT audited with it (a directory is one application; each is another's, or one its package manager reads only there): ${join(dir, 'examples/demo/Cargo.lock')}, ${join(dir, 'web/package-lock.json')}; audit each by naming it`;
  const human = runCli(['audit', dir, ...DB], { cacheDir });
  // Before: exit 0 and not a word of web/, whose lodash has known advisories.
  assert.equal(human.status, 0, human.stderr);
  assert.ok(human.stdout.includes(`warning: ${said}`), human.stdout);
  const json = runCli(['audit', dir, ...DB, '--format', 'json'], { cacheDir });
  assert.equal(json.status, 0, json.stderr);
  assert.ok((JSON.parse(json.stdout) as { warnings: string[] }).warnings.includes(said), json.stdout);
  // Named, the frontend is audited: its lodash fails.
  const web = runCli(['audit', join(dir, 'web'), '--db', GHSA_NPM], { cacheDir });
  assert.equal(web.status, 1, web.stdout + web.stderr);
  assert.match(web.stdout, /lodash 4\.17\.20/);
});

test('one lockfile below: said in the singular; none below (the lockfile named, or a directory without any): no such warning', () => {
  const dir = tempTree('nested-one', { 'Cargo.toml': CARGO_TOML, 'Cargo.lock': CARGO_LOCK, 'fuzz/Cargo.lock': CARGO_LOCK });
  const r = runCli(['audit', dir, ...DB, '--format', 'json'], { cacheDir });
  assert.equal(r.status, 0, r.stderr);
  const warnings = (JSON.parse(r.stdout) as { warnings: string[] }).warnings;
  assert.ok(warnings.includes(`a lockfile below the directory given is NOT audited with it (a directory is one application; that one is another's, or one its package manager reads only there): ${join(dir, 'fuzz/Cargo.lock')}; audit it by naming it`), warnings.join('\n'));
  const named = runCli(['audit', join(dir, 'Cargo.lock'), ...DB, '--format', 'json'], { cacheDir });
  assert.ok(!(JSON.parse(named.stdout) as { warnings: string[] }).warnings.some((w) => w.includes('below the directory given')), named.stdout);
  const plain = tempTree('nested-none', { 'Cargo.toml': CARGO_TOML, 'Cargo.lock': CARGO_LOCK, 'src/main.rs': 'fn main() {}\n' });
  const none = runCli(['audit', plain, ...DB, '--format', 'json'], { cacheDir });
  assert.ok(!(JSON.parse(none.stdout) as { warnings: string[] }).warnings.some((w) => w.includes('below the directory given')), none.stdout);
});

test('the search for lockfiles below goes three directory levels down and says when it stopped at 2,000 directories', () => {
  const files: Record<string, string> = { 'Cargo.toml': CARGO_TOML, 'Cargo.lock': CARGO_LOCK, 'a/b/c/Cargo.lock': CARGO_LOCK, 'a/b/c/d/Cargo.lock': CARGO_LOCK };
  const deep = tempTree('nested-deep', files);
  const r = runCli(['audit', deep, ...DB, '--format', 'json'], { cacheDir });
  const said = (JSON.parse(r.stdout) as { warnings: string[] }).warnings.filter((w) => w.includes('below the directory given'));
  assert.deepEqual(said, [`a lockfile below the directory given is NOT audited with it (a directory is one application; that one is another's, or one its package manager reads only there): ${join(deep, 'a/b/c/Cargo.lock')}; audit it by naming it`]);
  // 2,001 directories under many/ (read after z/, in name order, level by level): the search stops, and says so.
  const many: Record<string, string> = { 'Cargo.toml': CARGO_TOML, 'Cargo.lock': CARGO_LOCK, 'b/Cargo.lock': CARGO_LOCK };
  for (let i = 0; i <= 2000; i++) many[`a/${String(i).padStart(4, '0')}/x.txt`] = '';
  const wide = tempTree('nested-wide', many);
  const cut = runCli(['audit', wide, ...DB, '--format', 'json'], { cacheDir });
  const cutSaid = (JSON.parse(cut.stdout) as { warnings: string[] }).warnings.filter((w) => w.includes('below the directory given'));
  assert.deepEqual(cutSaid, [
    `a lockfile below the directory given is NOT audited with it (a directory is one application; that one is another's, or one its package manager reads only there): ${join(wide, 'b/Cargo.lock')} (the search stopped after 2000 directories: there may be more); audit it by naming it`,
  ]);
});
