import { StowageError } from '../../core/errors.js';
import type { FleetFormatOptions } from './index.js';

export function fleetSnapshot(_name: string, _opts: FleetFormatOptions): Promise<number> {
  return Promise.reject(new StowageError('stowage fleet snapshot is not built yet'));
}
