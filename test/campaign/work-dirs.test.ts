import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeWorkDir, sweepAbandonedWorkDirs } from '../../src/campaign/work-dirs.js';
import { tempDir } from '../support/shared.js';

/** A process id that was used and is gone (a finished child's). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  assert.equal(child.status, 0);
  return child.pid as number;
}

test('a worker removes the work directories of dead workers, and only those', async () => {
  const root = tempDir('work-dirs');
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const dead = deadPid();
    const abandoned = join(root, `stowage-campaign-${dead}-AbC123`);
    mkdirSync(join(abandoned, 'work', 'target'), { recursive: true });
    writeFileSync(join(abandoned, 'work', 'target', 'big.o'), 'x');
    const mine = makeWorkDir(root);
    const othersLive = join(root, `stowage-campaign-${live.pid as number}-xyz789`);
    mkdirSync(othersLive);
    // Not a work directory: a file of that name, another prefix, a name mkdtemp never makes.
    writeFileSync(join(root, `stowage-campaign-${dead}-file00`), 'kept');
    mkdirSync(join(root, `stowage-add-${dead}-AbC123`));
    mkdirSync(join(root, `stowage-campaign-${dead}-AbC123-extra`));
    mkdirSync(join(root, `stowage-campaign-0${dead}-AbC123`));

    assert.match(mine, new RegExp(`stowage-campaign-${process.pid}-[A-Za-z0-9]{6}$`));
    assert.deepEqual(sweepAbandonedWorkDirs(root), [abandoned]);
    assert.equal(existsSync(abandoned), false);
    assert.deepEqual(readdirSync(root).sort(), [
      `stowage-add-${dead}-AbC123`,
      `stowage-campaign-${dead}-AbC123-extra`,
      `stowage-campaign-${dead}-file00`,
      `stowage-campaign-${live.pid as number}-xyz789`,
      `stowage-campaign-0${dead}-AbC123`,
      mine.slice(root.length + 1),
    ].sort());
    assert.deepEqual(sweepAbandonedWorkDirs(join(root, 'missing')), [], 'a root that does not exist is nothing to sweep');
  } finally {
    live.kill();
  }
});
