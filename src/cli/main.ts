import { AUDIT_COMMAND } from './audit-main.js';
import { runCommands, type Commands } from './program.js';

/** Every command: the whole CLI (dist/bundle/stowage.cjs). */
const COMMANDS: Commands = new Map([
  AUDIT_COMMAND,
  ['vendor', async () => (await import('./vendor.js')).registerVendor],
  ['package', async () => (await import('./package.js')).registerPackage],
  ['sbom', async () => (await import('./sbom.js')).registerSbom],
  ['fix', async () => (await import('./fix.js')).registerFix],
  ['db', async () => (await import('./db/db.js')).registerDb],
  ['fleet', async () => (await import('./fleet/index.js')).registerFleet],
]);

export function run(argv: string[]): Promise<number> {
  return runCommands(COMMANDS, argv);
}

/** What the launcher asks after a run, to keep its code cache whole (src/core/code-kinds.ts). */
export { codeKinds } from '../core/code-kinds.js';
