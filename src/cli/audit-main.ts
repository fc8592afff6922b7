import { runCommands, type Register } from './program.js';

/**
 * `stowage audit ...` alone: the CLI with the audit command and nothing else, bundled on its own
 * (dist/bundle/audit.cjs). A warm audit takes about as long as node parsing the lockfile, and
 * V8's start-up work grows with the whole bundle's code, not only with what runs: the code cache
 * holds every function of the bundle's top level, and the vendoring, packaging, fleet and server
 * code is more than half the bundle. The launcher picks this one when the command line names
 * `audit` first, the same rule by which the whole CLI registers that command alone, so help,
 * errors and reports are the same from either bundle.
 */
export const AUDIT_COMMAND: [string, () => Promise<Register>] = ['audit', async () => (await import('./audit.js')).registerAudit];

export function run(argv: string[]): Promise<number> {
  return runCommands(new Map([AUDIT_COMMAND]), argv);
}

/** What the launcher asks after a run, to keep its code cache whole (src/core/code-kinds.ts). */
export { codeKinds } from '../core/code-kinds.js';
