import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { FleetStore } from '../../src/fleet/store/store.js';
import { dashboardRoutes, type TokenIdentity } from '../../src/server/dashboard/routes.js';

/** The dashboard on a free loopback port over a store, with these tokens. */
export async function startDashboard(
  store: FleetStore,
  tokens: Record<string, TokenIdentity>,
  options: { publicRead?: boolean } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const app = dashboardRoutes({ store, publicRead: options.publicRead ?? false, verifyToken: (t) => Promise.resolve(tokens[t] ?? null) });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/** A small cookie-keeping client, as a browser would send requests (no redirects followed: the test looks at them). */
export class Browser {
  cookie: string | null = null;
  constructor(readonly base: string) {}

  async get(path: string): Promise<Response> {
    return fetch(this.base + path, { redirect: 'manual', headers: this.cookie === null ? {} : { cookie: this.cookie } });
  }

  /** A form post, from this site unless `origin` says otherwise. */
  async post(path: string, fields: Record<string, string>, origin: string | null = this.base): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (origin !== null) headers.origin = origin;
    if (this.cookie !== null) headers.cookie = this.cookie;
    const res = await fetch(this.base + path, { method: 'POST', redirect: 'manual', headers, body: new URLSearchParams(fields).toString() });
    const set = res.headers.get('set-cookie');
    if (set !== null) this.cookie = set.split(';')[0] ?? null;
    return res;
  }
}

/** The anti-forgery token a page's forms carry. */
export function csrfOf(page: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(page);
  if (m === null) throw new Error('no csrf field on the page');
  return m[1] as string;
}
