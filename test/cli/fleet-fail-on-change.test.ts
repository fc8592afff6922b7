import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import { runCli, tempDir } from '../support/shared.js';

/**
 * `fleet init --fail-on LEVEL` on an existing fleet: each application's findings were judged
 * with the level it had, and kept so. Without evaluating them again, a fleet moved from
 * `critical` to `low` went on saying ok (status and sync, exit 0) about a low vulnerability that
 * `stowage audit --severity-threshold low` of the same lockfile fails, and no sync changed it.
 */

const ID = 'RUSTSEC-2099-0043';

function lowAdvisoryDb(root: string): string {
  mkdirSync(join(root, 'crates', 'bar'), { recursive: true });
  const toml = [
    '[advisory]',
    `id = "${ID}"`,
    'package = "bar"',
    `date = "${new Date().toISOString().slice(0, 10)}"`,
    'categories = ["memory-corruption"]',
    // 2.0: low.
    'cvss = "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:L"',
    '',
    '[versions]',
    'patched = [">= 99.0.0"]',
  ].join('\n');
  writeFileSync(join(root, 'crates', 'bar', `${ID}.md`), `\`\`\`toml\n${toml}\n\`\`\`\n\n# bar is made up to be a little vulnerable\n\nA made-up advisory.\n`);
  return root;
}

function app(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Cargo.toml'), '[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\nbar = "1"\n');
  const lock = ['version = 3', '', '[[package]]', 'name = "app"', 'version = "0.1.0"', 'dependencies = ["bar"]', '', '[[package]]', 'name = "bar"', 'version = "1.0.0"'];
  lock.push('source = "registry+https://github.com/rust-lang/crates.io-index"', `checksum = "${'0'.repeat(64)}"`, '');
  writeFileSync(join(dir, 'Cargo.lock'), lock.join('\n'));
  return dir;
}

const skips = await storeSkips();

for (const kind of STORE_KINDS) {
  test(`a changed --fail-on is applied to the findings already kept, as stowage audit judges them (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const cacheDir = tempDir('fleet-fail-on-cache');
      const db = lowAdvisoryDb(tempDir('fleet-fail-on-db'));
      const dir = app(join(tempDir('fleet-fail-on-app'), 'app'));
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      const audit = (level: string): number => runCli(['audit', dir, '--db', db, '--severity-threshold', level], { cacheDir }).status;
      const failing = (): boolean[] => {
        const r = fleet('status', '--format', 'json');
        return (JSON.parse(r.stdout) as { apps: { findings: { failsPolicy: boolean }[] }[] }).apps.flatMap((a) => a.findings.map((f) => f.failsPolicy));
      };

      assert.equal(fleet('init', '--db', db, '--fail-on', 'critical').status, 0);
      assert.equal(fleet('add', dir).status, 0);
      assert.equal(audit('critical'), 0);
      assert.deepEqual(failing(), [false]);

      for (const [level, exit] of [['low', 1], ['critical', 0]] as const) {
        const init = fleet('init', '--fail-on', level);
        assert.equal(init.status, 0, init.stderr);
        assert.equal(audit(level), exit, `stowage audit --severity-threshold ${level}`);
        const sync = fleet('sync');
        assert.equal(sync.status, exit, `sync under ${level}: ${sync.stdout}${sync.stderr}`);
        assert.equal(fleet('status').status, exit, `status under ${level}`);
        assert.equal(fleet('status', '--summary').status, exit, `status --summary under ${level}`);
        assert.deepEqual(failing(), [exit === 1], level);
        assert.match(init.stdout, /the next fleet sync evaluates 1 application again with the new fail-on/);
      }
    } finally {
      await store.dispose();
    }
  });
}
