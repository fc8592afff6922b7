// Bundles the CLI (tsc's output in dist/src) into dist/bundle: one file to load instead of a
// few dozen modules, which is most of a warm audit's start-up on node 20 (no compile cache).
// Tests import dist/src directly; the `stowage` command runs the bundle.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/src/cli/main.js'],
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Native and CommonJS-only packages stay in node_modules.
  external: ['better-sqlite3', 'ae-cvss-calculator', 'zstd-napi'],
  // CommonJS dependencies (yauzl, @yarnpkg/parsers) call require(): give them one.
  banner: { js: "import { createRequire as __stowageRequire } from 'node:module'; const require = __stowageRequire(import.meta.url);" },
  logLevel: 'warning',
  minifyWhitespace: true,
  minifySyntax: true,
});
