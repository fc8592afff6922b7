import type { AdvisoryDatabase } from '../advisories/database.js';
import type { FetchPolicy } from '../advisories/source.js';
import { closeDatabases, openFleetDatabases } from '../fleet/evaluate.js';
import { requireSettings } from '../fleet/lookup.js';
import type { FleetSettings, FleetStore } from '../fleet/store/store.js';

/**
 * The fleet's advisory databases as the server keeps them: opened on the first upload, shared by
 * every upload after it, and replaced after a sync (which may move them). A replaced set is
 * closed once the uploads still using it are done.
 */
export class FleetDatabases {
  private current: Promise<OpenSet> | null = null;

  constructor(
    private readonly store: FleetStore,
    readonly options: { cacheRoot: string; fetch: FetchPolicy },
  ) {}

  /** `work` with the fleet's settings and open databases. */
  async use<T>(work: (databases: AdvisoryDatabase[], settings: FleetSettings) => Promise<T>): Promise<T> {
    const opening = (this.current ??= this.open());
    let set: OpenSet;
    try {
      set = await opening;
    } catch (err) {
      // Not kept: the next upload tries again (a database may have become readable).
      if (this.current === opening) this.current = null;
      throw err;
    }
    set.users++;
    try {
      return await work(set.databases, set.settings);
    } finally {
      set.users--;
      if (set.stale && set.users === 0) closeDatabases(set.databases);
    }
  }

  /** The next upload opens the databases afresh (after a sync or a settings change). */
  reopen(): void {
    const old = this.current;
    this.current = null;
    void old?.then(
      (set) => {
        set.stale = true;
        if (set.users === 0) closeDatabases(set.databases);
      },
      () => undefined,
    );
  }

  close(): void {
    this.reopen();
  }

  private async open(): Promise<OpenSet> {
    const settings = await requireSettings(this.store);
    return { settings, databases: await openFleetDatabases(settings, this.options), users: 0, stale: false };
  }
}

interface OpenSet {
  settings: FleetSettings;
  databases: AdvisoryDatabase[];
  users: number;
  stale: boolean;
}
