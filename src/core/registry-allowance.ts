import { StowageError } from './errors.js';

/**
 * The registries a campaign may reach. A campaigned application's `.npmrc` and
 * `.cargo/config.toml` (and its Cargo.lock's sources) name the registry the fix planner asks for
 * versions and the package manager updates the lockfile from: left open, an application points
 * the worker at an address only the worker reaches (169.254.169.254's cloud credentials, the
 * fleet's PostgreSQL on 127.0.0.1:5432, an internal admin page) and reads the answer back in
 * its campaign's log. So a campaign reaches the public registries and those the operator names
 * (`stowage fleet init --allow-registry URL`), nothing else, redirects included.
 */

/** The public registries: npm's (and yarn's name for it), crates.io's sparse index, git index and downloads. */
export const PUBLIC_REGISTRIES: readonly string[] = [
  'https://registry.npmjs.org/',
  'https://registry.yarnpkg.com/',
  'https://index.crates.io/',
  'https://github.com/rust-lang/crates.io-index',
  'https://static.crates.io/',
];

interface AllowedPrefix {
  origin: string;
  /** The path a URL must start with: the whole path, or a directory (ending in `/`). */
  path: string;
}

function prefixOf(url: URL): AllowedPrefix {
  return { origin: url.origin, path: url.pathname };
}

/** `value` as an operator names a registry: an http(s) URL without credentials (a settings file is not where a secret is kept). */
export function parseAllowedRegistry(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new StowageError(`--allow-registry ${JSON.stringify(value)}: not a URL (https://HOST/PATH/)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new StowageError(`--allow-registry ${JSON.stringify(value)}: expected an http:// or https:// URL`);
  if (url.username !== '' || url.password !== '') throw new StowageError(`--allow-registry ${JSON.stringify(value)}: a URL with credentials; name the registry without them`);
  if (url.search !== '' || url.hash !== '') throw new StowageError(`--allow-registry ${JSON.stringify(value)}: a registry URL has no query or fragment`);
  return url.href;
}

export class RegistryAllowance {
  private readonly prefixes: AllowedPrefix[];

  /** `named`: the operator's registries (parseAllowedRegistry's), beside the public ones. */
  constructor(readonly named: readonly string[]) {
    this.prefixes = [...PUBLIC_REGISTRIES, ...named].map((r) => prefixOf(new URL(r)));
  }

  /** Whether `url` is one of the allowed registries or under one (its credentials, query and fragment aside). */
  allows(url: string): boolean {
    if (!URL.canParse(url)) return false;
    const parsed = new URL(url);
    // A git index is also reached as `…/crates.io-index.git`, and a directory without its slash.
    return this.prefixes.some((p) => p.origin === parsed.origin && (parsed.pathname === p.path || parsed.pathname.startsWith(p.path.endsWith('/') ? p.path : `${p.path}/`) || parsed.pathname === `${p.path}.git` || `${parsed.pathname}/` === p.path));
  }

  /**
   * Throws, in one line starting with `where` (the setting's file, as the application's owner
   * knows it), when `url` is not allowed. The file is in the message: a campaign records messages.
   */
  check(url: string, what: string, where?: string): void {
    if (this.allows(url)) return;
    throw new StowageError(`${where !== undefined ? `${where}: ` : ''}${what} ${shown(url)} is not a registry this fleet allows (the public registries and those named by stowage fleet init --allow-registry URL)`);
  }
}

/** A URL as an error quotes it: without credentials, query or fragment (which may hold a token). */
function shown(url: string): string {
  if (!URL.canParse(url)) return JSON.stringify(url);
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}
