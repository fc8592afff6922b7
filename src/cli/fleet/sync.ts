import { StowageError } from '../../core/errors.js';
import type { FleetDatabaseOptions, FleetFormatOptions } from './index.js';

// fleet-eval's subcommand (issue 9, second half): declared in ./index.ts, built on its branch.
export function fleetSync(_opts: FleetDatabaseOptions & FleetFormatOptions): Promise<number> {
  return Promise.reject(new StowageError('stowage fleet sync is not built yet'));
}
