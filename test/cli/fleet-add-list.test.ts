import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshStore } from '../support/fleet-stores.js';
import type { FleetApps } from '../support/fleet-report.js';
import { advisoryDbCheckout, CARGO_CORPUS, runCli, tempDir } from '../support/shared.js';

/**
 * `fleet add --from-file` of thousands: one line that cannot be an application (a lockfile's
 * name used as a directory, a loop of links, a name longer than the file system takes) is
 * reported with its path, and every other application is added (exit 2 at the end). Such a line
 * used to stop the whole add before anything was read ("cannot stat: not a directory").
 */

const cacheDir = tempDir('fleet-add-list-cache');

test('fleet add --from-file: a path that cannot even be looked at is one failure; the others are added', async () => {
  const store = await freshStore('sqlite');
  try {
    const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
    assert.equal(fleet('init', '--db', advisoryDbCheckout()).status, 0);
    const root = tempDir('fleet-add-list');
    const good = join(root, 'ripgrep');
    mkdirSync(good);
    copyFileSync(join(CARGO_CORPUS, 'ripgrep-2021-09-01.Cargo.lock'), join(good, 'Cargo.lock'));
    const other = join(root, 'other.Cargo.lock');
    copyFileSync(join(CARGO_CORPUS, 'ripgrep-2021-09-01.Cargo.lock'), other);
    const loop = join(root, 'loop');
    symlinkSync(loop, loop);
    const bad = [join(other, 'Cargo.lock'), join(loop, 'Cargo.lock'), join(root, `${'x'.repeat(300)}.Cargo.lock`)];
    writeFileSync(join(root, 'list.txt'), [good, ...bad, other].join('\n') + '\n');

    const r = fleet('add', '--from-file', join(root, 'list.txt'));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stdout, /^added: ripgrep /m);
    assert.match(r.stdout, /^added: other /m);
    assert.match(r.stdout, /summary: 2 added, 0 changed, 0 unchanged, 3 not added/);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('stowage: ') && !l.startsWith('stowage: warning:'));
    // One line for each bad path, naming it, then the list of those not added.
    for (const path of bad) assert.ok(errors.some((l) => l.startsWith(`stowage: ${path}: `)), `${path} named: ${r.stderr}`);
    assert.match(errors.at(-1) ?? '', /^stowage: 3 of 5 applications not added: /);
    assert.equal(errors.length, 4, r.stderr);

    const status = fleet('status', '--format', 'json');
    assert.deepEqual((JSON.parse(status.stdout) as FleetApps).apps.map((a) => a.name), ['other', 'ripgrep']);
  } finally {
    await store.dispose();
  }
});
