import { StowageError } from '../../core/errors.js';
import type { FleetFormatOptions } from './index.js';

export function fleetShow(_app: string, _opts: FleetFormatOptions): Promise<number> {
  return Promise.reject(new StowageError('stowage fleet show is not built yet'));
}
