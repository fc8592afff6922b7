import { fleetDatabaseSources, jsonRename, shownDatabaseNames, type JsonRename } from '../fleet/database-names.js';
import type { FleetStore } from '../fleet/store/store.js';

/**
 * What the server calls the fleet's advisory databases: a database on the server's disk by the
 * last component of its path, never by the path (src/fleet/database-names.ts, which webhooks
 * use too), in every answer, event and dashboard page.
 */

export { shownDatabaseName, type JsonRename } from '../fleet/database-names.js';

export class DatabaseNames {
  private kept: { generation: string; rename: JsonRename } | null = null;

  constructor(private readonly store: FleetStore) {}

  /** The renaming for the store as it is now (kept while the store's generation holds). */
  async rename(): Promise<JsonRename> {
    const generation = await this.store.generation();
    if (generation !== null && this.kept?.generation === generation) return this.kept.rename;
    const rename = jsonRename(shownDatabaseNames(await this.sources()));
    this.kept = generation === null ? null : { generation, rename };
    return rename;
  }

  /** Every local source and its shown name, for the dashboard. */
  async names(): Promise<Map<string, string>> {
    return shownDatabaseNames(await this.sources());
  }

  private async sources(): Promise<string[]> {
    return fleetDatabaseSources(await this.store.settings(), await this.store.databases());
  }
}
