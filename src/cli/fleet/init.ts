import { StowageError } from '../../core/errors.js';
import type { FleetDatabaseOptions } from './index.js';

export function fleetInit(_opts: FleetDatabaseOptions): Promise<number> {
  return Promise.reject(new StowageError('stowage fleet init is not built yet'));
}
