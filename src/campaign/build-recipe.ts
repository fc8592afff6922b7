import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StowageError } from '../core/errors.js';
import type { Ecosystem } from '../core/package.js';

/**
 * How a candidate is built and tested in its build directory (the application's source with
 * the vendor archive laid over it, as the source RPM's %prep does), offline, with the same
 * commands as the RPM spec's %build and %check: each ecosystem's commands, the environment
 * they see, and the toolchain directories they must read.
 */

export interface BuildRecipe {
  build: [string, ...string[]];
  test: [string, ...string[]];
  /** The whole environment of both commands, for the build directory `dir`. */
  env: Record<string, string>;
  /** Toolchain directories outside the system, bound read-only into the sandbox. */
  readOnly: string[];
}

/** `name` on the PATH of `env`, resolved to its full path; null when absent. */
function onPath(name: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * Cargo: the build reads no user configuration and writes no user cache (a CARGO_HOME of the
 * build directory's own). A rustup-managed cargo (`~/.cargo/bin/cargo`, a proxy) needs its
 * toolchains: RUSTUP_HOME is bound read-only, the rest of the home directory stays out.
 */
function cargoRecipe(dir: string, env: NodeJS.ProcessEnv): BuildRecipe {
  const cargo = onPath('cargo', env);
  if (cargo === null) throw new StowageError('cannot build a Rust application: cargo is not on PATH');
  const readOnly = [dirname(cargo)];
  const recipeEnv: Record<string, string> = {
    PATH: `${dirname(cargo)}:${SYSTEM_PATH}`,
    HOME: dir,
    LANG: 'C.UTF-8',
    CARGO_HOME: join(dir, '.cargo-home'),
    CARGO_TARGET_DIR: join(dir, 'target'),
    CARGO_TERM_COLOR: 'never',
    CARGO_TERM_PROGRESS_WHEN: 'never',
  };
  const real = realpathSync(cargo);
  const rustupHome = env.RUSTUP_HOME ?? (env.HOME !== undefined ? join(env.HOME, '.rustup') : undefined);
  if (real.endsWith('/rustup') && rustupHome !== undefined && existsSync(rustupHome)) {
    readOnly.push(rustupHome);
    recipeEnv.RUSTUP_HOME = rustupHome;
    if (env.RUSTUP_TOOLCHAIN !== undefined) recipeEnv.RUSTUP_TOOLCHAIN = env.RUSTUP_TOOLCHAIN;
  }
  if (env.SOURCE_DATE_EPOCH !== undefined) recipeEnv.SOURCE_DATE_EPOCH = env.SOURCE_DATE_EPOCH;
  return {
    build: ['cargo', 'build', '--release', '--offline', '--frozen'],
    test: ['cargo', 'test', '--release', '--offline', '--frozen'],
    env: recipeEnv,
    readOnly,
  };
}

export function buildRecipe(ecosystem: Ecosystem, dir: string, env: NodeJS.ProcessEnv): BuildRecipe {
  switch (ecosystem) {
    case 'cargo':
      return cargoRecipe(dir, env);
    case 'npm':
      throw new StowageError('campaigns build Rust applications only so far: an npm application is planned, changed, audited and vendored, not built');
  }
}
