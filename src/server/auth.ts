import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StowageError, systemErrorReason } from '../core/errors.js';
import type { FleetStore, TokenRecord } from '../fleet/store/store.js';

/**
 * The fleet server's API tokens. A token is 32 random bytes (`stw_` + base64url); the store
 * keeps only its SHA-256, so a copy of the store gives no one access. A plain hash is enough:
 * the token has 256 bits of entropy, nothing to guess, so a slow password hash would only cost
 * every request time.
 */

/** Who made a request: what every change records (history and triage `by`). */
export interface TokenIdentity {
  id: number;
  name: string;
  readOnly: boolean;
}

const TOKEN_PREFIX = 'stw_';
/** The shape of a token: anything else is refused before the store is asked. */
const TOKEN_SHAPE = /^stw_[A-Za-z0-9_-]{43}$/;

export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** The token's owner, or null: unknown, revoked, or not a token at all. */
export async function verifyToken(store: FleetStore, token: string): Promise<TokenIdentity | null> {
  if (!TOKEN_SHAPE.test(token)) return null;
  const record = await store.tokenByHash(tokenHash(token));
  return record === null ? null : { id: record.id, name: record.name, readOnly: record.readOnly };
}

/** Letters, digits, `.`, `_`, `-`, `@`, at most 64: a name that reads safely in history and logs. */
export function tokenNameProblem(name: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(name)) return 'a token name is 1 to 64 letters, digits, ".", "_", "-" or "@", starting with a letter or digit';
  return null;
}

/** Creates a token named NAME; the token itself is returned once and never stored. */
export async function createToken(store: FleetStore, name: string, readOnly: boolean, now: Date): Promise<{ token: string; record: TokenRecord }> {
  const problem = tokenNameProblem(name);
  if (problem !== null) throw new StowageError(`token name ${JSON.stringify(name)}: ${problem}`);
  const token = newToken();
  const record = await store.transaction((tx) => tx.addToken({ name, hash: tokenHash(token), readOnly, at: now.toISOString() }));
  if (record === null) throw new StowageError(`a token named ${JSON.stringify(name)} exists already: revoke it first (stowage fleet token revoke ${name})`);
  return { token, record };
}

/** A token as a file holds it: its first line, trimmed. */
export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new StowageError(`cannot read the token file: ${systemErrorReason(err)}`, file);
  }
  const token = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
  if (!TOKEN_SHAPE.test(token)) throw new StowageError('not a stowage token (expected stw_ and 43 base64url characters on the first line; see stowage fleet token create)', file);
  return token;
}

/** The name a token from --token-file gets when it seeds a new server's store. */
export const SEEDED_TOKEN_NAME = 'token-file';

/**
 * `serve --token-file`: on a first start (the store has never had a token) the file's token is
 * stored, read-write, as `token-file`. Later starts store nothing, so a revoked token does not
 * come back by restarting the server. Returns whether it was stored.
 */
export async function seedToken(store: FleetStore, token: string, now: Date): Promise<boolean> {
  return store.transaction(async (tx) => {
    if ((await tx.tokens()).length > 0) return false;
    return (await tx.addToken({ name: SEEDED_TOKEN_NAME, hash: tokenHash(token), readOnly: false, at: now.toISOString() })) !== null;
  });
}
