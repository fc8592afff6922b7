import { html, type SafeHtml } from './html.js';
import { page } from './layout.js';

/** `/sign-in`: a token (as `stowage fleet token create` printed it) opens a session. */
export function renderSignInPage(next: string, error: string | null): SafeHtml {
  return page(
    'Sign in',
    null,
    html`<h1>Sign in</h1>${error !== null ? html`<p class="notice error" role="alert">${error}</p>` : ''}<form method="post" action="/sign-in" class="sign-in"><input type="hidden" name="next" value="${next}"><label for="token">Token</label><input id="token" name="token" type="password" autocomplete="current-password" required><button type="submit">Sign in</button></form><p>A token comes from <code>stowage fleet token create NAME</code>; what you change here is recorded under its name.</p>`,
  );
}

/** A page for a refused request: its one-line reason, as text. */
export function renderErrorPage(status: number, message: string): SafeHtml {
  return page(status === 404 ? 'Not found' : 'Refused', null, html`<h1>${status === 404 ? 'Not found' : 'Refused'}</h1><p class="notice error">${message}</p><p><a href="/">Back to the fleet</a></p>`);
}
