import { parentPort, workerData } from 'node:worker_threads';
import { serveAddJobs, type WorkerSetup } from './add-pool.js';

/** A `fleet add` worker thread (add-pool.ts); the bundle build makes it dist/bundle/add-worker.cjs. */
if (parentPort !== null) serveAddJobs(parentPort, workerData as WorkerSetup);
