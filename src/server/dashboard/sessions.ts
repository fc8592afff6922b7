import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FleetStore } from '../../fleet/store/store.js';
import type { TokenIdentity } from '../auth.js';

/**
 * Dashboard sessions: signing in with a token opens one, kept in the fleet's store, so a
 * restart signs no one out and every `serve` process over one store knows it. The cookie holds
 * a random id; the store keeps only its SHA-256 (a copy of the store opens no session) and the
 * id of the token signed in with, so every request checks the token again: revoking it ends its
 * sessions at once. Each session has an anti-forgery token that every form carries, derived from
 * the session id (a keyed hash), so it is stored nowhere. Sessions expire after SESSION_HOURS;
 * signing out deletes the session; expired ones are deleted as new ones open.
 */

export const SESSION_COOKIE = 'stowage_session';
const SESSION_HOURS = 12;
export const SESSION_MAX_AGE_SECONDS = SESSION_HOURS * 3600;

/** A session id as the cookie carries it: 32 random bytes, base64url. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export interface Session {
  id: string;
  /** The form token of this session. */
  csrf: string;
  /** Who signed in: the token, as checked on this request. */
  token: TokenIdentity;
  expiresAt: string;
}

const sessionHash = (id: string): string => `sha256:${createHash('sha256').update(id, 'utf8').digest('hex')}`;
const csrfOf = (id: string): string => createHash('sha256').update(`stowage-dashboard-form\0${id}`, 'utf8').digest('base64url');

export class SessionStore {
  constructor(private readonly store: FleetStore) {}

  /** Opens a session for a verified token. */
  async open(token: TokenIdentity, now: Date): Promise<Session> {
    const id = randomBytes(32).toString('base64url');
    const at = now.toISOString();
    const expiresAt = new Date(now.getTime() + SESSION_MAX_AGE_SECONDS * 1000).toISOString();
    await this.store.transaction(async (tx) => {
      await tx.deleteExpiredSessions(at);
      await tx.addSession({ hash: sessionHash(id), tokenId: token.id, at, expiresAt });
    });
    return { id, csrf: csrfOf(id), token, expiresAt };
  }

  /** The session of this cookie value: unexpired, its token live; else null. */
  async get(id: string | undefined, now: Date): Promise<Session | null> {
    if (id === undefined || !SESSION_ID.test(id)) return null;
    const record = await this.store.sessionByHash(sessionHash(id), now.toISOString());
    if (record === null) return null;
    return { id, csrf: csrfOf(id), token: { id: record.token.id, name: record.token.name, readOnly: record.token.readOnly }, expiresAt: record.expiresAt };
  }

  /** Signs out: the session is deleted from the store. */
  async close(id: string): Promise<void> {
    await this.store.transaction((tx) => tx.deleteSession(sessionHash(id)));
  }
}

/** Whether a form's anti-forgery token is the session's (compared in constant time). */
export function csrfMatches(session: Session, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
