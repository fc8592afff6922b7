import { openFleetStore } from '../../fleet/store/open-store.js';
import type { FleetStore } from '../../fleet/store/store.js';
import type { FleetOptions } from './index.js';

/** Runs a subcommand with the store --store names, closed afterwards whatever happens. */
export async function withFleetStore<T>(opts: FleetOptions, work: (store: FleetStore) => Promise<T>): Promise<T> {
  const store = await openFleetStore(opts.store);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
