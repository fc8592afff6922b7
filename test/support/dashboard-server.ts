/** What the dashboard's tests use to talk to the server (test/support/fleet-server.ts starts it). */

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
