import { randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Dashboard sessions: signing in with a token opens one, kept in this process's memory (a
 * restart signs everyone out, which is the safe direction). The cookie holds only a random id;
 * the session keeps the token so every request checks it again (a revoked token ends its
 * sessions at once) and a per-session anti-forgery token that every form carries.
 */

export const SESSION_COOKIE = 'stowage_session';
const SESSION_HOURS = 12;

export interface Session {
  id: string;
  token: string;
  csrf: string;
  expiresAt: number;
}

const randomId = (): string => randomBytes(32).toString('base64url');

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  open(token: string, now: number): Session {
    this.sweep(now);
    const session = { id: randomId(), token, csrf: randomId(), expiresAt: now + SESSION_HOURS * 3600_000 };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined, now: number): Session | null {
    if (id === undefined) return null;
    const session = this.sessions.get(id);
    if (session === undefined) return null;
    if (session.expiresAt <= now) {
      this.sessions.delete(id);
      return null;
    }
    return session;
  }

  close(id: string): void {
    this.sessions.delete(id);
  }

  private sweep(now: number): void {
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}

export const SESSION_MAX_AGE_SECONDS = SESSION_HOURS * 3600;

/** Whether a form's anti-forgery token is the session's (compared in constant time). */
export function csrfMatches(session: Session, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
