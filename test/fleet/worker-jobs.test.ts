/**
 * The worker threads of a fleet command (worker-jobs.ts): jobs posted ahead to each worker so
 * none waits for the main thread, spread over the workers as they are queued (fleet sync posts a
 * round of revisions at once: one worker taking the whole round left the other idle).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { WorkerJobs } from '../../src/fleet/worker-jobs.js';

/** A worker answering each job with its thread's id, in the message shape serveJobs answers with. */
function echoWorker(): Worker {
  return new Worker(
    `const { parentPort, threadId } = require('node:worker_threads');
     parentPort.on('message', (m) => parentPort.postMessage({ id: m.id, result: threadId }));`,
    { eval: true },
  );
}

test('jobs queued at once are spread over the workers, each given up to its share ahead', async () => {
  const workers = [echoWorker(), echoWorker()];
  const jobs = new WorkerJobs<number, number>(workers, 'test', 64, (threadId) => threadId);
  try {
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => jobs.run(i)));
    const byWorker = new Map<number | null, number>();
    for (const threadId of answers) byWorker.set(threadId, (byWorker.get(threadId) ?? 0) + 1);
    assert.deepEqual([...byWorker.keys()].sort(), workers.map((w) => w.threadId).sort());
    assert.deepEqual([...byWorker.values()], [5, 5]);
  } finally {
    await jobs.close();
  }
});
