import { EXIT_OK, StowageError } from '../../core/errors.js';
import { jsonForTerminal, terminalText as t } from '../../core/terminal-text.js';
import { createToken } from '../../server/auth.js';
import { writeStdout } from '../output.js';
import type { FleetFormatOptions, FleetOptions } from './index.js';
import { withFleetStore } from './with-store.js';

/** `stowage fleet token create|revoke|list`: the fleet server's API tokens, kept hashed in the store. */

export interface FleetTokenCreateOptions extends FleetOptions {
  readOnly?: boolean;
}

export async function fleetTokenCreate(name: string, opts: FleetTokenCreateOptions): Promise<number> {
  return withFleetStore(opts, async (store) => {
    const { token, record } = await createToken(store, name, opts.readOnly === true, new Date());
    // The token on standard output alone, so `> token.txt` keeps just it; the advice on standard error.
    writeStdout(`${token}\n`);
    process.stderr.write(`stowage: token ${t(record.name)} created${record.readOnly ? ' (read-only)' : ''}; it is shown once, only its hash is stored\n`);
    return EXIT_OK;
  });
}

export async function fleetTokenRevoke(name: string, opts: FleetOptions): Promise<number> {
  return withFleetStore(opts, async (store) => {
    const revoked = await store.transaction((tx) => tx.revokeToken(name, new Date().toISOString()));
    if (!revoked) throw new StowageError(`no live token named ${JSON.stringify(name)} (see stowage fleet token list)`);
    writeStdout(`revoked: ${t(name)}\n`);
    return EXIT_OK;
  });
}

export async function fleetTokenList(opts: FleetFormatOptions): Promise<number> {
  return withFleetStore(opts, async (store) => {
    const tokens = await store.tokens();
    if (opts.format === 'json') {
      const body = {
        schemaVersion: 1,
        tokens: tokens.map((k) => ({ name: k.name, readOnly: k.readOnly, createdAt: k.createdAt, revokedAt: k.revokedAt })),
      };
      writeStdout(jsonForTerminal(JSON.stringify(body, null, 2) + '\n'));
      return EXIT_OK;
    }
    for (const k of tokens) {
      writeStdout(`${t(k.name)}  ${k.readOnly ? 'read-only ' : 'read-write'}  created ${k.createdAt}${k.revokedAt !== null ? `  revoked ${k.revokedAt}` : ''}\n`);
    }
    if (tokens.length === 0) writeStdout('no tokens yet (stowage fleet token create NAME)\n');
    return EXIT_OK;
  });
}
