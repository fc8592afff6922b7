import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import type { FleetApps } from '../support/fleet-report.js';
import { advisoryDbCheckout, CARGO_CORPUS, runCli, tempDir } from '../support/shared.js';
import { realRustBinary } from '../support/shipped-artifacts.js';

/**
 * What the fleet's queries refuse: one line naming what is wrong and whose, exit 2, where a
 * typo used to read as an answer ("no application affected") or named no application.
 */

const cacheDir = tempDir('fleet-refusals-cache');
const RUSTSEC = advisoryDbCheckout();
const skips = await storeSkips();

for (const kind of STORE_KINDS) {
  test(`affected NAME@NOTAVERSION and a malformed revision of diff are refused, naming what and whose (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
      const app = join(tempDir('fleet-refusals-app'), 'ripgrep');
      mkdirSync(app);
      copyFileSync(join(CARGO_CORPUS, 'ripgrep-2021-09-01.Cargo.lock'), join(app, 'Cargo.lock'));
      copyFileSync(join(CARGO_CORPUS, 'ripgrep-2021-09-01.Cargo.toml'), join(app, 'Cargo.toml'));
      assert.ok([0, 1].includes(fleet('add', app).status));
      const refused = (args: string[], message: RegExp): void => {
        const r = fleet(...args);
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, message, args.join(' '));
      };

      // A version that is none: refused, where it answered "no application affected" (exit 0).
      refused(['affected', 'regex@notaversion'], /"regex@notaversion": "notaversion" is not a version/);
      refused(['affected', 'regex@1.5.4.1', '--format', 'json'], /"1\.5\.4\.1" is not a version/);
      // Real versions are answered, whether an application locks them or not.
      const answer = (query: string): string[] => {
        const r = fleet('affected', query, '--format', 'json');
        assert.equal(r.status, 0, r.stderr);
        return (JSON.parse(r.stdout) as FleetApps).apps.map((a) => a.name);
      };
      assert.deepEqual(answer('regex@1.5.4'), ['ripgrep']);
      assert.deepEqual(answer('regex@1.5.5'), []);
      assert.deepEqual(answer('no-such-crate@1.0.0'), []);

      // A malformed revision names the application it was given for.
      refused(['diff', 'ripgrep', 'not-a-revision', '0123456789ab'], /revision "not-a-revision" of "ripgrep": expected sha256:HEX/);
      refused(['diff', 'ripgrep', 'abc', '0123456789ab'], /revision "abc" of "ripgrep": give at least 12 hex digits/);
      refused(['show', 'ripgrep', '--revision', 'zz'], /revision "zz" of "ripgrep"/);
      // Commander's usage errors are one line too.
      refused(['affected'], /missing required argument 'query' \(run with --help for usage\)\n$/);
      // A binary without .dep-v0: the fleet takes no partial inventory, and says so (it has no --allow-partial).
      const binary = fleet('add', realRustBinary(), '--name', 'tool');
      assert.equal(binary.status, 2, binary.stderr);
      assert.match(binary.stderr, /a partial inventory; refused \(the fleet keeps complete inventories only; stowage audit --allow-partial audits it, reported as partial\)/);

      // `.` and `..` cannot be addressed by a URL (a browser drops them, %2E%2E too): the server
      // and the dashboard could never show them, so they are no application names.
      const lockfile = join(app, 'Cargo.lock');
      refused(['add', lockfile, '--name', '.'], /--name "\.": an application name cannot be "\." \(a URL cannot address it\)/);
      refused(['add', lockfile, '--name', '..'], /--name "\.\.": an application name cannot be "\.\." \(a URL cannot address it\)/);
      // A lockfile whose stem is `..` names no application either: it is named with --name.
      const dots = join(tempDir('fleet-refusals-dots'), '...Cargo.lock');
      copyFileSync(lockfile, dots);
      const named = fleet('add', dots);
      assert.equal(named.status, 2, named.stderr);
      assert.match(named.stderr, /\.\.\.Cargo\.lock: an application name cannot be "\.\." \(a URL cannot address it\); name it with --name/);
      assert.deepEqual(
        (JSON.parse(fleet('status', '--format', 'json').stdout) as FleetApps).apps.map((a) => a.name),
        ['ripgrep'],
      );
    } finally {
      await store.dispose();
    }
  });
}

for (const kind of STORE_KINDS) {
  test(`a triage reason, decider or package past its length or holding control characters is refused in one line, nothing stored (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
      const lockfile = join(tempDir('fleet-refusals-triage'), 'ripgrep.Cargo.lock');
      copyFileSync(join(CARGO_CORPUS, 'ripgrep-2021-09-01.Cargo.lock'), lockfile);
      assert.ok([0, 1].includes(fleet('add', lockfile).status));
      type Shown = FleetApps & { apps: { triage: unknown[] }[] };
      const shown = (): Shown => JSON.parse(fleet('show', 'ripgrep', '--format', 'json').stdout) as Shown;
      const finding = shown().apps[0]?.findings[0];
      assert.ok(finding !== undefined, 'ripgrep 2021 has a finding to triage');
      const triage = (...args: string[]) => fleet('triage', 'ripgrep', finding.advisory.id, '--state', 'in_triage', ...args);

      const refusals: [string[], RegExp][] = [
        [['--reason', 'x'.repeat(2001), '--by', 'alice'], /^stowage: --reason is longer than 2000 characters\n$/],
        [['--reason', 'fine\x1b[2K\rresult: ok', '--by', 'alice'], /^stowage: --reason must be one line of printable text \(no control, format or line separator characters\)\n$/],
        [['--reason', 'looking', '--by', 'alice\nbob'], /^stowage: --by must be one line of printable text/],
        [['--reason', 'looking', '--by', 'a'.repeat(129)], /^stowage: --by is longer than 128 characters\n$/],
        [['--reason', 'looking', '--by', 'alice', '--package', `${finding.package.name}\u202e@1`], /^stowage: --package must be one line of printable text/],
      ];
      for (const [args, message] of refusals) {
        const r = triage(...args);
        assert.equal(r.status, 2, `${JSON.stringify(args)}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, message, JSON.stringify(args));
      }
      assert.deepEqual(shown().apps[0]?.triage, [], 'nothing stored');
      // At the bounds, printable text of any script is kept as given.
      const reason = 'é'.repeat(1999) + '✓';
      const kept = triage('--reason', reason, '--by', 'b'.repeat(128));
      assert.equal(kept.status, 0, kept.stderr);
      assert.deepEqual((shown().apps[0]?.triage as { reason: string; by: string }[]).map((t) => [t.reason, t.by]), [[reason, 'b'.repeat(128)]]);
    } finally {
      await store.dispose();
    }
  });
}

for (const kind of STORE_KINDS) {
  test(`fleet init --allow-registry: kept with the settings, said when changed, a bad URL refused with nothing changed (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
      const named = fleet('init', '--allow-registry', 'https://npm.corp.example/repository/npm/', '--allow-registry', 'sparse+https://crates.corp.example/index/');
      assert.equal(named.status, 0, named.stderr);
      assert.match(named.stdout, /^ {2}campaign registries: \(the public ones only\) → https:\/\/npm\.corp\.example\/repository\/npm\/, https:\/\/crates\.corp\.example\/index\/$/m);
      // Another setting changed: the registries are kept.
      assert.equal(fleet('init', '--fail-on', 'high').status, 0);
      for (const bad of ['http://user:pw@npm.corp.example/', 'ftp://npm.corp.example/', 'npm.corp.example']) {
        const r = fleet('init', '--allow-registry', bad);
        assert.equal(r.status, 2, `${bad}: ${r.stdout}${r.stderr}`);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /^stowage: --allow-registry "/);
      }
      const emptied = fleet('init', '--allow-registry', '');
      assert.match(emptied.stdout, /campaign registries: https:\/\/npm\.corp\.example\/repository\/npm\/, https:\/\/crates\.corp\.example\/index\/ → \(the public ones only\)/);
    } finally {
      await store.dispose();
    }
  });
}
