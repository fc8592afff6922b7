/**
 * Credentials carried by URLs (`https://user:token@host/repo.git`, `?access_token=...`) are
 * needed by git or a registry, and by nothing else: reports, SARIF logs, errors, warnings,
 * cache state files and vendor manifests (shipped inside an SRPM) show the URL redacted.
 *
 * The form follows npm's (`@npmcli/redact`: `***` in place of the secret) and git's (which
 * drops the whole user-info part, as a token is often the user name: `https://TOKEN@github.com`):
 * the whole user-info becomes `***`, so the reader still sees that credentials were given.
 * `ssh://git@host` keeps its user name: SSH puts no password in a URL, and the name is not secret.
 */

/** `scheme://userinfo@`: the user-info runs to the authority's last `@` (WHATWG URL, curl). */
const USER_INFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)@/gi;

/** Query parameters that carry secrets (GitLab `private_token`, `access_token`, S3 `X-Amz-Signature`, `sig`...). */
const SECRET_PARAMETER = /([?&;][^=&#\s]*?(?:token|secret|password|passwd|pwd|auth|key|sig|signature|credential|session)[^=&#\s]*=)([^&;#\s'"]+)/gi;

/** `text` (a URL, or a message quoting URLs) with every credential replaced by `***`. */
export function redactCredentials(text: string): string {
  // Each pattern needs its `://` or its `=`: most texts (every line of a fleet's listing) have
  // neither, and are given back without running either pattern over them.
  if (!text.includes('://') && !text.includes('=')) return text;
  return text
    .replace(USER_INFO, (whole, scheme: string, userInfo: string) =>
      /ssh/i.test(scheme) && !userInfo.includes(':') ? whole : `${scheme}***@`,
    )
    .replace(SECRET_PARAMETER, (_whole, name: string) => `${name}***`);
}

/**
 * `url` without its user-info, for a URL that is still used but must not carry credentials
 * (git's form, and npm's: its cache keys leave user-info out).
 */
export function withoutUserInfo(url: string): string {
  return url.replace(USER_INFO, (whole, scheme: string, userInfo: string) =>
    /ssh/i.test(scheme) && !userInfo.includes(':') ? whole : scheme,
  );
}
