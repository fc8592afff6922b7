import { isPostgresUrl, storeLocation } from '../fleet/store/open-store.js';
import type { FleetStore } from '../fleet/store/store.js';
import type { StoreGate } from './app-job.js';
import { StoreJobQueue, type JobQueue } from './job-queue.js';

/**
 * The job queue of the store STORE names: pg-boss on a PostgreSQL fleet (loaded only then), the
 * store's own table on SQLite.
 */
export async function openJobQueue(given: string | undefined, store: FleetStore, gate: StoreGate): Promise<JobQueue> {
  const url = storeLocation(given);
  if (isPostgresUrl(url)) {
    const { PgBossJobQueue } = await import('./pg-boss-queue.js');
    return PgBossJobQueue.open(url, store.location);
  }
  return new StoreJobQueue(store, gate);
}
