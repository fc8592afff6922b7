import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT, runCli, tempDir } from '../support/shared.js';

/** README "Store": --store, else $STOWAGE_FLEET_STORE, else $XDG_DATA_HOME/stowage/fleet.sqlite, else ~/.local/share/stowage/fleet.sqlite. */

/** A database of one OSV record: all `fleet init` needs. */
function osvDatabase(): string {
  const dir = join(tempDir('fleet-store-location-db'), 'osv');
  mkdirSync(dir);
  const record = {
    id: 'GHSA-aaaa-bbbb-cccc',
    modified: '2026-01-01T00:00:00Z',
    summary: 'test advisory',
    affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.3.0' }] }] }],
  };
  writeFileSync(join(dir, 'GHSA-aaaa-bbbb-cccc.json'), JSON.stringify(record));
  return dir;
}

const OSV = osvDatabase();

function init(env: NodeJS.ProcessEnv): { status: number; stderr: string; stdout: string } {
  return runCli(['fleet', 'init', '--db', OSV, '--no-fetch'], { cacheDir: join(tempDir('fleet-store-location-cache'), 'cache'), env });
}

test('without --store, the fleet is kept under $XDG_DATA_HOME, or ~/.local/share when it is unset or not absolute', () => {
  const root = tempDir('fleet-store-location');
  const xdg = init({ HOME: join(root, 'home-a'), XDG_DATA_HOME: join(root, 'data') });
  assert.equal(xdg.status, 0, xdg.stderr);
  assert.ok(existsSync(join(root, 'data', 'stowage', 'fleet.sqlite')), 'the store under $XDG_DATA_HOME');
  assert.ok(!existsSync(join(root, 'home-a', '.local')), 'nothing under HOME');

  // The XDG base directory specification: a relative path is invalid and ignored.
  const relative = init({ HOME: join(root, 'home-b'), XDG_DATA_HOME: 'data' });
  assert.equal(relative.status, 0, relative.stderr);
  assert.ok(existsSync(join(root, 'home-b', '.local', 'share', 'stowage', 'fleet.sqlite')), 'the store under ~/.local/share');
  assert.ok(!existsSync(join(PROJECT_ROOT, 'data')), 'no store made relative to the working directory');

  const unset = init({ HOME: join(root, 'home-c'), XDG_DATA_HOME: undefined });
  assert.equal(unset.status, 0, unset.stderr);
  assert.ok(existsSync(join(root, 'home-c', '.local', 'share', 'stowage', 'fleet.sqlite')));
});

test('$STOWAGE_FLEET_STORE names the store when --store is not given, and --store wins over it', () => {
  const root = tempDir('fleet-store-env');
  const env = { HOME: join(root, 'home'), XDG_DATA_HOME: join(root, 'data'), STOWAGE_FLEET_STORE: join(root, 'from-env.sqlite') };
  const first = init(env);
  assert.equal(first.status, 0, first.stderr);
  assert.ok(existsSync(join(root, 'from-env.sqlite')));
  assert.ok(!existsSync(join(root, 'data', 'stowage')), 'the default is not used');

  const given = runCli(['fleet', 'init', '--store', join(root, 'given.sqlite'), '--db', OSV, '--no-fetch'], { cacheDir: join(root, 'cache'), env });
  assert.equal(given.status, 0, given.stderr);
  assert.ok(existsSync(join(root, 'given.sqlite')));
  // The fleet named by the variable is the one `status` reads: init made it, with no application.
  const status = runCli(['fleet', 'status', '--format', 'json'], { cacheDir: join(root, 'cache'), env });
  assert.equal(status.status, 0, status.stderr);
  assert.deepEqual((JSON.parse(status.stdout) as { apps: unknown[] }).apps, []);
});
