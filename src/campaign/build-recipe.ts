import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StowageError } from '../core/errors.js';
import type { Ecosystem } from '../core/package.js';
import { cargoBuildCommands, npmBuildScripts, type CargoBuildSelection, type NpmPackageManager } from '../package/rpm-spec.js';
import { programOnPath } from '../core/program-path.js';

/**
 * How a candidate is built and tested in its build directory (the application's source with
 * the vendor archive laid over it, as the source RPM's %prep does), offline, with the same
 * commands as the RPM spec's %build and %check: each ecosystem's commands, the environment
 * they see, and the toolchain directories they must read.
 */

export interface BuildRecipe {
  build: [string, ...string[]];
  /** null: the application defines no tests. */
  test: [string, ...string[]] | null;
  /** The whole environment of both commands, for the build directory `dir`. */
  env: Record<string, string>;
  /** Toolchain directories outside the system, bound read-only into the sandbox. */
  readOnly: string[];
}

const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * What the recipe depends on: the application's ecosystem, package manager and whether it has
 * tests; Cargo: the package and features its build names (application-manifest.ts).
 */
export interface BuildTarget extends CargoBuildSelection {
  ecosystem: Ecosystem;
  /** npm-world applications: the package manager of the lockfile. */
  packageManager: NpmPackageManager | null;
  hasTests: boolean;
}

/** `dir`, unless it lies in the system directories the sandbox binds anyway. */
function outsideSystem(dir: string): string[] {
  return /^\/(?:usr|bin|sbin|lib|lib64|etc|opt)(?:\/|$)/.test(dir) ? [] : [dir];
}

/**
 * Cargo: the build reads no user configuration and writes no user cache (a CARGO_HOME of the
 * build directory's own). A rustup-managed cargo (`~/.cargo/bin/cargo`, a proxy) needs its
 * toolchains: RUSTUP_HOME is bound read-only, the rest of the home directory stays out.
 */
function cargoRecipe(target: BuildTarget, dir: string, env: NodeJS.ProcessEnv): BuildRecipe {
  const cargo = programOnPath('cargo', env.PATH);
  if (cargo === null) throw new StowageError('cannot build a Rust application: cargo is not on PATH');
  const readOnly = outsideSystem(dirname(cargo));
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
  // The spec's own commands: a plain `cargo build` builds a workspace's default-members, which
  // may leave the application out, and no binary whose required-features are off by default.
  const { build, test } = cargoBuildCommands(target);
  return {
    build,
    test,
    env: recipeEnv,
    readOnly,
  };
}

const PACKAGE_MANAGER_COMMAND: Record<NpmPackageManager, string> = { npm: 'npm', 'yarn-classic': 'yarn', 'yarn-berry': 'yarn', pnpm: 'pnpm' };

/**
 * npm, yarn, pnpm: the RPM spec's own %build and %check scripts (offline, from the vendored
 * layout, a HOME of the build directory's own), run by `sh -e` as rpmbuild runs them. node and
 * the package manager are read where they are installed, with what their installation holds.
 */
function npmRecipe(target: BuildTarget, dir: string, env: NodeJS.ProcessEnv): BuildRecipe {
  const manager = target.packageManager ?? 'npm';
  const readOnly: string[] = [];
  const pathDirs: string[] = [];
  for (const tool of ['node', PACKAGE_MANAGER_COMMAND[manager]]) {
    const found = programOnPath(tool, env.PATH);
    if (found === null) throw new StowageError(`cannot build the application: ${tool} is not on PATH`);
    pathDirs.push(dirname(found));
    // A tool installed under a prefix of its own (nvm, a tarball) reads its whole prefix.
    const real = realpathSync(found);
    readOnly.push(...outsideSystem(dirname(found)), ...outsideSystem(dirname(dirname(real))));
  }
  const scripts = npmBuildScripts(manager);
  const recipeEnv: Record<string, string> = { PATH: [...new Set(pathDirs), SYSTEM_PATH].join(':'), HOME: dir, LANG: 'C.UTF-8' };
  if (env.SOURCE_DATE_EPOCH !== undefined) recipeEnv.SOURCE_DATE_EPOCH = env.SOURCE_DATE_EPOCH;
  return {
    build: ['sh', '-e', '-c', scripts.build],
    test: target.hasTests ? ['sh', '-e', '-c', scripts.test] : null,
    env: recipeEnv,
    readOnly: [...new Set(readOnly)],
  };
}

export function buildRecipe(target: BuildTarget, dir: string, env: NodeJS.ProcessEnv): BuildRecipe {
  switch (target.ecosystem) {
    case 'cargo':
      return cargoRecipe(target, dir, env);
    case 'npm':
      return npmRecipe(target, dir, env);
  }
}
