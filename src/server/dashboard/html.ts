import { pageText } from '../../core/terminal-text.js';

/**
 * The dashboard's one HTML builder. `html` is a tagged template whose interpolations are
 * escaped unless they are SafeHtml (built by `html` itself): an application name, an advisory's
 * text or a version can only ever become text. There is no other way to make SafeHtml, so raw
 * markup exists only where this code wrote it.
 */

const SAFE = Symbol('SafeHtml');

export interface SafeHtml {
  readonly [SAFE]: true;
  readonly text: string;
}

/** What may be interpolated: text (escaped), numbers, SafeHtml, lists of them; null/undefined/false render nothing. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function safe(text: string): SafeHtml {
  return { [SAFE]: true, text };
}

function isSafe(value: unknown): value is SafeHtml {
  return typeof value === 'object' && value !== null && (value as Partial<SafeHtml>)[SAFE] === true;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text for an element's content or a quoted attribute value. Control, format and separator
 * characters in a value from data (a package name from a pushed lockfile, an advisory's text)
 * are shown as the command line shows them (terminal-text.ts): a visible escape. A browser
 * would apply a bidi override (`a\u202egnp.exe` reads as `aexe.png`) and render ESC, BEL or a
 * zero-width space as nothing, so the page would hide what the same text does in a terminal.
 */
export function escapeHtml(text: string): string {
  return pageText(text).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (isSafe(value)) return value.text;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(value as string | number | boolean));
}

/** html`<p>${name}</p>`: every interpolation escaped unless it is SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return safe(out);
}

/** The document as sent: `<!doctype html>` and the page. */
export function documentText(page: SafeHtml): string {
  return `<!doctype html>\n${page.text}`;
}
