import { StowageError } from '../../core/errors.js';
import type { FleetFormatOptions } from './index.js';

// fleet-eval's subcommand (issue 9, second half): declared in ./index.ts, built on its branch.
export function fleetAffected(_query: string, _opts: FleetFormatOptions): Promise<number> {
  return Promise.reject(new StowageError('stowage fleet affected is not built yet'));
}
