import { parentPort, workerData } from 'node:worker_threads';
import { serveSyncJobs, type SyncWorkerSetup } from './sync-pool.js';

/** A `fleet sync` worker thread (sync-pool.ts); the bundle build makes it dist/bundle/sync-worker.cjs. */
if (parentPort !== null) serveSyncJobs(parentPort, workerData as SyncWorkerSetup);
