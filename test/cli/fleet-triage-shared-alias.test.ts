import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { fleetPageData, parseFleetView } from '../../src/server/dashboard/fleet-page.js';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import { runCli, tempDir } from '../support/shared.js';

/**
 * A decision is keyed on the alias group of the advisory triaged, and covers every finding that
 * shares an id with it: an advisory listing two CVEs (RUSTSEC-2099-0101: CVE-2099-1001 and
 * CVE-2099-1002) shares one with another advisory about another crate (RUSTSEC-2099-0102:
 * CVE-2099-1002), whose finding the decision then settles too. `fleet triage` said it governed
 * the one finding carrying the id asked for while status showed both ignored; it now names what
 * it covers (the message, the event and the API's answer), so the widening is seen when decided.
 */

function advisory(db: string, id: string, crate: string, aliases: string[]): void {
  mkdirSync(join(db, 'crates', crate), { recursive: true });
  const toml = ['[advisory]', `id = "${id}"`, `package = "${crate}"`, `date = "${new Date().toISOString().slice(0, 10)}"`, `aliases = ${JSON.stringify(aliases)}`, 'categories = ["memory-corruption"]', '', '[versions]', 'patched = [">= 99.0.0"]'];
  writeFileSync(join(db, 'crates', crate, `${id}.md`), `\`\`\`toml\n${toml.join('\n')}\n\`\`\`\n\n# ${crate} is made up to be vulnerable\n\nMade up.\n`);
}

function app(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Cargo.toml'), '[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\nbar = "1"\nbaz = "1"\n');
  const registry = ['source = "registry+https://github.com/rust-lang/crates.io-index"', `checksum = "${'0'.repeat(64)}"`];
  const lock = ['version = 3', '', '[[package]]', 'name = "app"', 'version = "0.1.0"', 'dependencies = ["bar", "baz"]', ''];
  for (const crate of ['bar', 'baz']) lock.push('[[package]]', `name = "${crate}"`, 'version = "1.0.0"', ...registry, '');
  writeFileSync(join(dir, 'Cargo.lock'), lock.join('\n'));
  return dir;
}

const skips = await storeSkips();

for (const kind of STORE_KINDS) {
  test(`a triage decision says every finding it settles, those sharing another of its ids included (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const cacheDir = tempDir('fleet-triage-alias-cache');
      const db = tempDir('fleet-triage-alias-db');
      advisory(db, 'RUSTSEC-2099-0101', 'bar', ['CVE-2099-1001', 'CVE-2099-1002']);
      advisory(db, 'RUSTSEC-2099-0102', 'baz', ['CVE-2099-1002']);
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      assert.equal(fleet('init', '--db', db).status, 0);
      assert.equal(fleet('add', app(join(tempDir('fleet-triage-alias-app'), 'app'))).status, 1);
      const decided = fleet('triage', '--all', 'RUSTSEC-2099-0101', '--state', 'not_affected', '--justification', 'code_not_reachable', '--reason', 'the parser is unused');
      assert.equal(decided.status, 0, decided.stderr);
      const status = JSON.parse(fleet('status', '--format', 'json').stdout) as { apps: { findings: { advisory: { id: string }; ignored: unknown }[]; triage: { advisory: string }[] }[] };
      const settled = status.apps.flatMap((a) => a.findings.filter((f) => f.ignored !== null).map((f) => f.advisory.id));
      assert.deepEqual(settled, ['RUSTSEC-2099-0101', 'RUSTSEC-2099-0102'], 'what the decision covers, as status applies it');
      assert.match(decided.stdout, new RegExp(`it governs ${settled.length} current findings`), 'the decision says what it settles');

      // The dashboard's fleet page counts as status applies the decision: nothing open, nothing failing
      // (it read only the findings whose own id the decision named, and showed baz's as failing).
      const opened = await openFleetStore(store.store);
      try {
        const page = await fleetPageData(opened, parseFleetView(() => undefined), new Date());
        assert.deepEqual(
          page.rows.map((r) => ({ name: r.name, failing: r.failing, open: Object.values(r.open).reduce((a, b) => a + b, 0) })),
          [{ name: 'app', failing: 0, open: 0 }],
        );
      } finally {
        await opened.close();
      }
    } finally {
      await store.dispose();
    }
  });
}
