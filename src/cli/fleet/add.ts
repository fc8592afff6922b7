import { StowageError } from '../../core/errors.js';
import type { FleetDatabaseOptions, FleetFormatOptions } from './index.js';

export function fleetAdd(_paths: string[], _opts: FleetDatabaseOptions & FleetFormatOptions): Promise<number> {
  return Promise.reject(new StowageError('stowage fleet add is not built yet'));
}
