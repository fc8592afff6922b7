import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runTool } from '../../src/core/run-tool.js';
import { ended, pidIn, running } from '../support/processes.js';
import { tempDir } from '../support/shared.js';

/** A tool that hangs, having started a child of its own that hangs too (its pid written to `pidFile`). */
const hung = (pidFile: string): string[] => ['-c', `sleep 600 & echo $! > '${pidFile}'; sleep 600`];

test('a tool past its time limit is killed with everything it started, and the error says which and why', async () => {
  const dir = tempDir('run-tool');
  const pidFile = join(dir, 'child.pid');
  const run = runTool('sh', hung(pidFile), { cwd: dir, limits: { timeLimitMs: 1500 } });
  const child = await pidIn(pidFile);
  assert.ok(running(child));
  await assert.rejects(run, (err: Error) => {
    assert.equal(err.message, `sh ${hung(pidFile).join(' ')}: did not finish within 1.5 s (killed)`);
    return true;
  });
  assert.ok(await ended(child), 'the child the tool started is killed too');
});

test('aborting the signal kills a running tool; a tool within its limit answers as before', async () => {
  const dir = tempDir('run-tool');
  const pidFile = join(dir, 'child.pid');
  const controller = new AbortController();
  const run = runTool('sh', hung(pidFile), { cwd: dir, limits: { signal: controller.signal, timeLimitMs: 600_000 } });
  const child = await pidIn(pidFile);
  controller.abort();
  await assert.rejects(run, /: cancelled$/);
  assert.ok(await ended(child));
  const quick = await runTool('sh', ['-c', 'echo out; echo err >&2; exit 3'], { cwd: dir, limits: { timeLimitMs: 600_000 } });
  assert.deepEqual([quick.status, quick.stdout.toString(), quick.stderr], [3, 'out\n', 'err\n']);
});
