/**
 * An npm application packaged from its published tarball (`npm pack NAME`, unpacked) instead of
 * its source checkout. The spec's `npm ci` runs the root's `prepare` script and `%check` its
 * `test` script, and a published tarball seldom carries their inputs: cowsay 1.6.0's `prepare`
 * (`rollup -c`) found no rollup.config.js, json-server 0.17.4's `prepublish` no src/, and
 * markdownlint-cli 0.48.0's `ava` no test files, each only in rpmbuild, after the SRPM was made.
 * Said when `package rpm` runs, before that: the source is recognised as holding nothing beyond
 * what package.json's `files` publishes (and the files npm always adds), with no git checkout.
 */

/** Files npm publishes whatever `files` says, and files a packager adds beside them. */
const ALWAYS = /^(?:package\.json|package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|\.npmrc|(?:README|LICEN[CS]E|COPYING|CHANGELOG|CHANGES|HISTORY|NOTICE|AUTHORS)(?:[-._].*)?)$/i;

/** A `files` entry as a test of a path: the entry itself, anything under it; `*` within one component, `**` any directories. */
function entryMatcher(entry: string): RegExp | null {
  const clean = entry.replace(/^\.\//, '').replace(/\/+$/, '');
  // Untrusted: many wildcards in one entry would make the test backtrack for a long time; such an entry is not recognised.
  if (clean === '' || clean.startsWith('!') || clean.includes('..') || (clean.match(/\*+/g)?.length ?? 0) > 4) return null;
  const parts = clean.split('/').map((part) => (part === '**' ? null : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*+/g, '[^/]*')));
  // `**` is any number of directories, none included.
  const pattern = parts.map((part, i) => (part !== null ? part + (i < parts.length - 1 ? '/' : '') : i < parts.length - 1 ? '(?:.*/)?' : '.*')).join('');
  return new RegExp(`^${pattern}(?:/.*)?$`);
}

/**
 * The application's own scripts an install runs (npm ci, yarn, pnpm install), in their order:
 * json-server 0.17.4's `prepublish` (`npm test && npm run build`) failed on its missing src/.
 */
const ROOT_INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare'];

/** The warning to give, or null when the source is not (recognisably) a published tarball. */
export function publishedTarballWarning(paths: readonly string[], manifest: unknown, fromGit: boolean): string | null {
  if (fromGit || typeof manifest !== 'object' || manifest === null) return null;
  const pkg = manifest as Record<string, unknown>;
  if (!Array.isArray(pkg.files) || pkg.files.length === 0) return null;
  const matchers = pkg.files.map((f) => (typeof f === 'string' ? entryMatcher(f) : null));
  if (matchers.some((m) => m === null)) return null;
  const published = (path: string): boolean => (!path.includes('/') && ALWAYS.test(path)) || matchers.some((m) => m?.test(path) === true);
  if (paths.length === 0 || !paths.every(published)) return null;
  const scripts = typeof pkg.scripts === 'object' && pkg.scripts !== null ? (pkg.scripts as Record<string, unknown>) : {};
  const named = (names: readonly string[]): string[] =>
    names.flatMap((name) => {
      const script = scripts[name];
      return typeof script === 'string' && !script.includes('Error: no test specified') ? [`${name} (${JSON.stringify(script)})`] : [];
    });
  const build = named(ROOT_INSTALL_SCRIPTS);
  const check = named(['test']);
  const runs = [...(build.length > 0 ? [`%build runs its ${build.length === 1 ? 'script' : 'scripts'} ${build.join(', ')}`] : []), ...(check.length > 0 ? [`%check runs its script ${check.join('')}`] : [])];
  if (runs.length === 0) return null;
  return (
    `the application holds only what package.json's "files" publishes, as npm's published tarball does: ${runs.join(' and ')}, ` +
    'whose inputs (sources, configs, tests) a published tarball seldom carries; package its source checkout' +
    (build.length === 0 ? ', or build with `rpmbuild --without check`' : '')
  );
}
