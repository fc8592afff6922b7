import { evaluationTime } from '../../core/clock.js';
import { resolve } from 'node:path';
import { checkOutputPath, writeFileAtomically } from '../../core/atomic-write.js';
import { EXIT_OK } from '../../core/errors.js';
import { exportApplication, type ExportFormat } from '../../fleet/export.js';
import { outputFile, writeStdout } from '../output.js';
import type { FleetOptions } from './index.js';
import { withFleetStore } from './with-store.js';

export interface FleetExportOptions extends FleetOptions {
  format: ExportFormat;
  revision?: string;
  output?: string;
}

export async function fleetExport(name: string, opts: FleetExportOptions): Promise<number> {
  const output = outputFile(opts.output);
  // Checked before the store is opened: a bad --output is refused before any work.
  if (output !== undefined) checkOutputPath(resolve(output));
  return withFleetStore(opts, async (store) => {
    const text = await exportApplication(store, name, opts.format, { ...(opts.revision !== undefined ? { revision: opts.revision } : {}), now: evaluationTime() });
    if (output === undefined) writeStdout(text);
    else writeFileAtomically(resolve(output), Buffer.from(text, 'utf8'));
    return EXIT_OK;
  });
}
