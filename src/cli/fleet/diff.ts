import { StowageError } from '../../core/errors.js';
import type { FleetFormatOptions } from './index.js';

export function fleetDiff(_args: string[], _opts: FleetFormatOptions): Promise<number> {
  return Promise.reject(new StowageError('stowage fleet diff is not built yet'));
}
