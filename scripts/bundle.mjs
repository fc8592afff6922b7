// Bundles the CLI (tsc's output in dist/src) into dist/bundle:
// - stowage.cjs: the whole CLI as one CommonJS file. One file to read and compile instead of a
//   few dozen modules, which is most of a warm audit's start-up on node 20; commands and
//   lockfile parsers are still initialized only when used (esbuild's lazy module wrappers).
// - launcher.cjs: what bin/stowage.cjs runs; it loads stowage.cjs through V8's code cache
//   (src/cli/launcher.ts).
// - add-worker.cjs: a worker thread of `fleet add` (src/fleet/add-pool.ts).
// Tests import dist/src directly; the `stowage` command runs the bundle.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** commander's eager `require('node:child_process')` becomes a lazy one (scripts/shims). */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    const shim = fileURLToPath(new URL('./shims/lazy-child-process.cjs', import.meta.url));
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: shim } : undefined,
    );
  },
};

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // The sources are ES modules: `import.meta.url` becomes the bundle file's own URL.
  define: { 'import.meta.url': '__stowageModuleUrl' },
  banner: { js: "const __stowageModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
  minifyWhitespace: true,
  minifySyntax: true,
};

await build({
  ...common,
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/bundle/stowage.cjs',
  // zstd-napi and lzma-native load their addons relative to their own files; ae-cvss-calculator is large and only
  // needed for CVSS v4 vectors. better-sqlite3's JavaScript is bundled (its addon is loaded by
  // path, see src/advisories/advisory-index.ts). pg is bundled (loaded only for a postgres://
  // fleet store); its optional native binding, pg-native, is not installed.
  external: ['ae-cvss-calculator', 'lzma-native', 'zstd-napi', 'pg-native'],
  plugins: [lazyChildProcessForCommander],
});
await build({ ...common, entryPoints: ['dist/src/cli/launcher.js'], outfile: 'dist/bundle/launcher.cjs' });
// A worker thread of `fleet add` (src/fleet/add-pool.ts starts it from beside the bundle).
await build({
  ...common,
  entryPoints: ['dist/src/fleet/add-worker.js'],
  outfile: 'dist/bundle/add-worker.cjs',
  external: ['ae-cvss-calculator', 'lzma-native', 'zstd-napi', 'pg-native'],
  plugins: [lazyChildProcessForCommander],
});

// The launcher runs the bundle as a vm.Script, which has no loader for import(): every module
// must be reached by require. Fail the build rather than a user's run.
const dynamicImport = /\bimport\(\s*["'`]/.exec(readFileSync('dist/bundle/stowage.cjs', 'utf8'));
if (dynamicImport) throw new Error(`dist/bundle/stowage.cjs keeps a dynamic import (${dynamicImport[0]}...): use require for it`);
