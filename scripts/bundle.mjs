// Bundles the CLI (tsc's output in dist/src) into dist/bundle:
// - stowage.cjs: the whole CLI as one CommonJS module, written inside node's module wrapper (a
//   function expression the launcher runs, not a file to `require`). One file to read and compile instead of a
//   few dozen modules, which is most of a warm audit's start-up on node 20; commands and
//   lockfile parsers are still initialized only when used (esbuild's lazy module wrappers).
// - audit.cjs: the CLI with the audit command alone (src/cli/audit-main.ts), what `stowage
//   audit ...` runs: less than half the code to read and load from the code cache.
// - launcher.cjs: what bin/stowage.cjs runs; it loads a bundle through V8's code cache
//   (src/cli/launcher.ts).
// - add-worker.cjs: a worker thread of `fleet add` (src/fleet/add-pool.ts).
// - sync-worker.cjs: a worker thread of `fleet sync` (src/fleet/sync-pool.ts).
// - checkpoint-worker.cjs: the thread checkpointing a SQLite store's WAL after a bulk commit (src/fleet/store/checkpoint.ts).
// Tests import dist/src directly; the `stowage` command runs the bundle.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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

/**
 * node:zlib, as stowage's own modules import it, loaded on first use: the Rust binary reader
 * (.dep-v0) imports it, and so every audit loaded it at start-up (milliseconds) to read
 * lockfiles. The module's exports are read when first used, from the real module.
 */
const lazyZlib = {
  name: 'lazy-zlib',
  setup(b) {
    b.onResolve({ filter: /^(node:)?zlib$/ }, (args) =>
      /[\\/]dist[\\/]src[\\/]/.test(args.importer) ? { path: 'node:zlib', namespace: 'lazy-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
      const names = Object.getOwnPropertyNames(createRequire(import.meta.url)(args.path));
      const id = JSON.stringify(args.path);
      const getters = names.map((n) => `Object.defineProperty(exports, ${JSON.stringify(n)}, { enumerable: true, get: () => load()[${JSON.stringify(n)}] });`);
      return { contents: [`'use strict';`, `let real;`, `const load = () => (real ??= require(${id}));`, ...getters].join('\n'), loader: 'js' };
    });
  },
};

/**
 * pg decides at load whether it runs on Cloudflare Workers; after `navigator` (absent on node
 * 20) it tries `typeof Response`, which on node 20 loads undici, fetch's implementation: 150 ms
 * of every command on a PostgreSQL store (`fleet affected` answers in about a second). stowage
 * runs on node only: that test is false here. The build fails if pg's source no longer has it.
 */
const pgWithoutCloudflareProbe = {
  name: 'pg-without-cloudflare-probe',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (args) => {
      const probe = "typeof Response === 'function'";
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(probe)) throw new Error(`${args.path}: no longer has ${probe}: look at pgWithoutCloudflareProbe again`);
      return { contents: source.replace(probe, 'false'), loader: 'js' };
    });
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

const cli = {
  ...common,
  // zstd-napi and lzma-native load their addons relative to their own files; ae-cvss-calculator is large and only
  // needed for CVSS v4 vectors. better-sqlite3's JavaScript is bundled (its addon is loaded by
  // path, see src/advisories/advisory-index.ts). pg is bundled (loaded only for a postgres://
  // fleet store); its optional native binding, pg-native, is not installed.
  external: ['ae-cvss-calculator', 'lzma-native', 'zstd-napi', 'pg-native'],
  plugins: [lazyChildProcessForCommander, lazyZlib, pgWithoutCloudflareProbe],
};
const bundles = [
  { entry: 'dist/src/cli/main.js', outfile: 'dist/bundle/stowage.cjs' },
  { entry: 'dist/src/cli/audit-main.js', outfile: 'dist/bundle/audit.cjs' },
  // A worker thread of `fleet add` (src/fleet/add-pool.ts starts it from beside the bundle).
  { entry: 'dist/src/fleet/add-worker.js', outfile: 'dist/bundle/add-worker.cjs' },
  // A worker thread of `fleet sync` (src/fleet/sync-pool.ts starts it from beside the bundle).
  { entry: 'dist/src/fleet/sync-worker.js', outfile: 'dist/bundle/sync-worker.cjs' },
  // The thread that checkpoints a SQLite fleet store's WAL after a bulk commit (src/fleet/store/checkpoint.ts).
  { entry: 'dist/src/fleet/store/checkpoint-worker.js', outfile: 'dist/bundle/checkpoint-worker.cjs' },
];
/**
 * What the launcher runs (src/cli/launcher.ts) is the CommonJS wrapper node puts around a module
 * with the bundle inside: written into the file, so that the launcher compiles the file's text as
 * it was read. Wrapped at run time, the text was one string joined from three, which V8 copies
 * whole (800 kB, fresh memory) before it can look the script up in its cache.
 */
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAPPER_TAIL = '\n});';
const launched = new Set(['dist/bundle/stowage.cjs', 'dist/bundle/audit.cjs']);
for (const { entry, outfile } of bundles) {
  const wrapped = launched.has(outfile) ? { banner: { js: WRAPPER_HEAD + cli.banner.js }, footer: { js: WRAPPER_TAIL } } : {};
  await build({ ...cli, ...wrapped, entryPoints: [entry], outfile });
}
await build({ ...common, entryPoints: ['dist/src/cli/launcher.js'], outfile: 'dist/bundle/launcher.cjs' });

// The launcher runs a bundle as a vm.Script, which has no loader for import(): every module
// must be reached by require. Fail the build rather than a user's run.
for (const { outfile } of bundles) {
  const dynamicImport = /\bimport\(\s*["'`]/.exec(readFileSync(outfile, 'utf8'));
  if (dynamicImport) throw new Error(`${outfile} keeps a dynamic import (${dynamicImport[0]}...): use require for it`);
}
