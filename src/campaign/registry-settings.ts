import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { DependencyGraph } from '../core/graph.js';
import { readTextInput } from '../core/input-files.js';
import type { RegistryAllowance } from '../core/registry-allowance.js';
import { isTomlTable } from '../core/toml-values.js';
import { readCargoConfig, readCargoFetchConfig } from '../ecosystems/cargo/cargo-config.js';
import { readNpmrcProxies, readNpmrcRegistries } from '../ecosystems/npm/registry.js';

/**
 * Where a campaigned application's settings send its package manager: every registry and proxy
 * its `.npmrc`, its `.cargo/config.toml` (and those above it, and the worker's CARGO_HOME, as
 * Cargo merges them) and its Cargo.lock's sources name. Checked before the fix planner or the
 * package manager runs: the lockfile update runs with the network, and asks whatever these
 * settings name (the planner's own requests are checked again, with their redirects, in http.ts).
 */
export function checkRegistrySettings(graph: DependencyGraph, allowance: RegistryAllowance, env: NodeJS.ProcessEnv, root: string): void {
  const projectDir = dirname(graph.path);
  // Files as the application's owner knows them: from its root (one outside it, CARGO_HOME's, as it is).
  const named = (file: string | null): string | undefined => {
    if (file === null) return undefined;
    const inside = relative(root, file);
    return inside.startsWith('..') ? file : inside;
  };
  switch (graph.ecosystem) {
    case 'npm': {
      const npmrc = join(projectDir, '.npmrc');
      if (!existsSync(npmrc)) return;
      const text = readTextInput(npmrc);
      const config = readNpmrcRegistries(npmrc, text, env);
      allowance.check(config.registry, 'registry', named(npmrc));
      for (const [scope, url] of config.scopes) allowance.check(url, `${scope}:registry`, named(npmrc));
      for (const { key, url } of readNpmrcProxies(npmrc, text, env)) allowance.check(url, key, named(npmrc));
      return;
    }
    case 'cargo': {
      const config = readCargoFetchConfig(projectDir);
      const where = named(config.path);
      for (const source of config.sources.values()) if (source.registry !== undefined) allowance.check(withoutKind(source.registry), `[source.${source.name}] registry`, where);
      for (const [name, index] of config.registries) allowance.check(withoutKind(index), `[registries.${name}] index`, where);
      const own = readCargoConfig(projectDir);
      const http = own.settings.http;
      if (isTomlTable(http) && typeof http.proxy === 'string' && http.proxy !== '') allowance.check(proxyUrl(http.proxy), '[http] proxy', named(own.path));
      for (const pkg of graph.packages) {
        if (pkg.source.kind === 'registry' && pkg.source.url !== null) allowance.check(withoutKind(pkg.source.url), `${pkg.name} ${pkg.version}: source`, named(graph.path));
      }
      return;
    }
  }
}

/** A Cargo registry URL without its `sparse+` / `registry+` kind. */
function withoutKind(url: string): string {
  return url.replace(/^(?:sparse|registry)\+/, '');
}

/** Cargo's proxy setting is libcurl's: `host:port` without a scheme is an http proxy. */
function proxyUrl(value: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
}
