import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registryConfigToml, runCargo } from './rust-app.js';
import { publishCrate, type PublishedCrate } from './sparse-registry.js';

/** Crates for a local sparse registry and Rust applications locked against it, for the campaign tests. */

/** A crate with one library file, MIT-licensed, and the given `[dependencies]`. */
export function crate(name: string, version: string, deps: Record<string, string> = {}): PublishedCrate {
  const manifest = [
    '[package]',
    `name = "${name}"`,
    `version = "${version}"`,
    'edition = "2021"',
    'license = "MIT"',
    '',
    '[dependencies]',
    ...Object.entries(deps).map(([dep, req]) => `${dep} = "${req}"`),
    '',
  ].join('\n');
  return publishCrate([
    { path: 'Cargo.toml', data: Buffer.from(manifest) },
    { path: 'src/lib.rs', data: Buffer.from(`pub fn version() -> &'static str { "${version}" }\n`) },
  ]);
}

export interface AppSpec {
  deps: Record<string, string>;
  main: string;
  buildScript?: string;
}

/** An application locked by cargo generate-lockfile against the registry; returns its directory. */
export async function application(dir: string, indexUrl: string, cargoHome: string, spec: AppSpec): Promise<string> {
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, '.cargo'), { recursive: true });
  const name = dir.split('/').pop() as string;
  writeFileSync(
    join(dir, 'Cargo.toml'),
    [
      '[package]',
      `name = "${name}"`,
      'version = "0.1.0"',
      'edition = "2021"',
      'license = "MIT"',
      ...(spec.buildScript !== undefined ? ['build = "build.rs"'] : []),
      '',
      '[dependencies]',
      ...Object.entries(spec.deps).map(([d, r]) => `${d} = "${r}"`),
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'src', 'main.rs'), spec.main);
  if (spec.buildScript !== undefined) writeFileSync(join(dir, 'build.rs'), spec.buildScript);
  writeFileSync(join(dir, '.cargo', 'config.toml'), registryConfigToml(indexUrl));
  await runCargo(['generate-lockfile'], { cwd: dir, cargoHome });
  return dir;
}

export function lockedVersions(lockfile: string, name: string): string[] {
  const text = readFileSync(lockfile, 'utf8');
  return [...text.matchAll(/\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"/g)]
    .filter((m) => m[1] === name)
    .map((m) => m[2] as string)
    .sort();
}
