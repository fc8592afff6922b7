import type { Ecosystem } from '../../core/package.js';
import { html, type HtmlValue, type SafeHtml } from './html.js';

/** The frame every dashboard page shares, and the addresses pages link to (each name one path segment). */

export interface Viewer {
  /** The signed-in token's name; null when reading without a session (--public-read). */
  name: string | null;
  /** The session's anti-forgery token, put in every form; null without a session. */
  csrf: string | null;
  /** Whether the session may change the store (triage). */
  canWrite: boolean;
}

export const STYLESHEET_PATH = '/static/dashboard.css';

export const appPath = (name: string): string => `/apps/${encodeURIComponent(name)}`;
export const advisoryPath = (id: string): string => `/advisories/${encodeURIComponent(id)}`;
export const packagePath = (ecosystem: Ecosystem | string, name: string): string => `/packages/${encodeURIComponent(ecosystem)}/${encodeURIComponent(name)}`;

/** The hidden field that carries the session's anti-forgery token. */
export function csrfField(viewer: Viewer): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${viewer.csrf ?? ''}">`;
}

export function page(title: string, viewer: Viewer | null, main: HtmlValue): SafeHtml {
  const account =
    viewer === null
      ? html``
      : viewer.name === null
        ? html`<a href="/sign-in">Sign in</a>`
        : html`<span class="who">${viewer.name}${viewer.canWrite ? '' : ' (read-only)'}</span><form method="post" action="/sign-out" class="inline">${csrfField(viewer)}<button type="submit">Sign out</button></form>`;
  return html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} · stowage fleet</title><link rel="stylesheet" href="${STYLESHEET_PATH}"><link rel="icon" href="data:,"></head><body><header><a class="home" href="/">stowage fleet</a><form method="get" action="/" class="search" role="search"><label for="q" class="visually-hidden">Search applications, packages, advisory ids</label><input id="q" name="q" type="search" placeholder="application, package or advisory id"><button type="submit">Search</button></form><nav>${account}</nav></header><main>${main}</main></body></html>`;
}

/** A short form of a revision digest, as the command line prints it. */
export const shortDigest = (digest: string): string => digest.slice(0, 19);
