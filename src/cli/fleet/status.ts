import { StowageError } from '../../core/errors.js';
import type { FleetFormatOptions } from './index.js';

export function fleetStatus(_opts: FleetFormatOptions): Promise<number> {
  return Promise.reject(new StowageError('stowage fleet status is not built yet'));
}
