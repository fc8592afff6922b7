import { StowageError } from '../../core/errors.js';
import type { FleetOptions } from './index.js';

// fleet-eval's subcommand (issue 9, second half): declared in ./index.ts, built on its branch.
export function fleetExport(_app: string, _opts: FleetOptions): Promise<number> {
  return Promise.reject(new StowageError('stowage fleet export is not built yet'));
}
