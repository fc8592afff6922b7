import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { commitFiles, initRepository } from './git-repository.js';
import { PROJECT_ROOT, tempDir } from './shared.js';
import { debianCrate, type PublishedCrate } from './sparse-registry.js';

/**
 * The small real Rust application of test/fixtures/rust-app, set up against a local sparse
 * registry (crates-io replaced by it in `.cargo/config.toml`) and a local git repository,
 * locked by cargo itself. Cargo runs with a CARGO_HOME of its own, so nothing is read from or
 * left in the user's, and the only places it can fetch from are 127.0.0.1 and file:// URLs.
 */

export const RUST_APP_FIXTURE = join(PROJECT_ROOT, 'test', 'fixtures', 'rust-app');

/** The cargo binary: on PATH, or where rustup installs it. */
export function cargoBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'cargo'))) return join(dir, 'cargo');
  }
  const rustup = join(join(homedir(), '.cargo'), 'bin', 'cargo');
  if (existsSync(rustup)) return rustup;
  throw new Error('cargo is not installed (not on PATH, not in ~/.cargo/bin)');
}

export interface CargoRun {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs cargo in `cwd` with `cargoHome` as CARGO_HOME; rejects with cargo's output unless
 * `allowFailure`. Asynchronous, so a registry served from this same process keeps answering.
 */
export async function runCargo(args: string[], options: { cwd: string; cargoHome: string; allowFailure?: boolean }): Promise<CargoRun> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CARGO_HOME: options.cargoHome,
    CARGO_TERM_COLOR: 'never',
    CARGO_TERM_PROGRESS_WHEN: 'never',
    CARGO_HTTP_TIMEOUT: '30',
    CARGO_NET_RETRY: '0',
    CARGO_TARGET_DIR: join(options.cwd, 'target'),
    // No proxy may redirect a request off this machine.
    http_proxy: '',
    https_proxy: '',
    HTTP_PROXY: '',
    HTTPS_PROXY: '',
  };
  // rustup's proxy finds its toolchains through RUSTUP_HOME, not CARGO_HOME.
  env.RUSTUP_HOME ??= join(homedir(), '.rustup');
  const child = spawn(cargoBinary(), args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  const status = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
  });
  const run = { status, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
  if (run.status !== 0 && !options.allowFailure) {
    throw new Error(`cargo ${args.join(' ')} failed in ${options.cwd} (exit ${run.status}):\n${run.stderr}`);
  }
  return run;
}

/**
 * The registry the application is locked against: real crate sources from Debian (itertools
 * depends on either), plus a second, semver-incompatible `itoa` (0.4.8, made from 1.0.1's
 * sources) so vendor/ holds both `itoa` and `itoa-0.4.8`. `fnv` carries the files whose
 * treatment cargo vendor defines: an executable script, git files, a stray `.cargo-ok`.
 */
export function rustAppCrates(): PublishedCrate[] {
  const crates = ['cfg-if-1.0.0', 'either-1.6.1', 'hex-0.4.3', 'itertools-0.10.3', 'itoa-1.0.1'].map((dir) => debianCrate(dir));
  crates.push(
    debianCrate('fnv-1.0.7', (files) => {
      files.push({ path: 'ci/run.sh', data: Buffer.from('#!/bin/sh\nexec cargo test\n'), executable: true });
      files.push({ path: 'src/.gitignore', data: Buffer.from('*.log\n') });
      files.push({ path: 'src/debug.log', data: Buffer.from('kept: .gitignore rules are not applied\n') });
      files.push({ path: 'docs/.cargo-ok', data: Buffer.from('{"v":1}') });
      files.push({ path: 'notes.orig', data: Buffer.from('kept since cargo 1.89\n') });
    }),
  );
  crates.push(
    debianCrate('itoa-1.0.1', (files) => {
      for (const f of files) {
        if (f.path === 'Cargo.toml' || f.path === 'Cargo.toml.orig') f.data = Buffer.from(f.data.toString('utf8').replace('version = "1.0.1"', 'version = "0.4.8"'));
      }
    }),
  );
  return crates;
}

export interface GitRepo {
  dir: string;
  /** `file://` URL of the repository. */
  url: string;
  /** The commit `main` points at. */
  rev: string;
}

/** A git repository (branch `main`, one commit) holding the fixture's `git-repo` workspace. */
export function createGitRepo(): GitRepo {
  const dir = join(tempDir('git-dep'), 'repo');
  cpSync(join(RUST_APP_FIXTURE, 'git-repo'), dir, { recursive: true });
  initRepository(dir);
  return { dir, url: pathToFileURL(dir).href, rev: commitFiles(dir, {}, 'greeting workspace') };
}

/** `.cargo/config.toml` that points crates-io at the sparse index `indexUrl`. */
export function registryConfigToml(indexUrl: string): string {
  return ['[source.crates-io]', 'replace-with = "local-sparse"', '', '[source.local-sparse]', `registry = "sparse+${indexUrl}"`, ''].join('\n');
}

export interface RustApp {
  /** The application's directory: Cargo.toml, src/, Cargo.lock, .cargo/config.toml. */
  dir: string;
  /** The CARGO_HOME cargo used to lock it (an empty one of its own). */
  cargoHome: string;
  git: GitRepo;
  lockfile: string;
}

/** Copies the application's sources (with the git dependency's URL filled in) into a new directory. */
export function copyAppSources(git: GitRepo): string {
  const dir = join(tempDir('rust-app'), 'app');
  cpSync(join(RUST_APP_FIXTURE, 'app'), dir, { recursive: true });
  const manifest = join(dir, 'Cargo.toml');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('@GREETING_GIT_URL@', git.url));
  return dir;
}

/** The application, locked against the registry at `indexUrl` by `cargo generate-lockfile`. */
export async function createRustApp(indexUrl: string, git: GitRepo = createGitRepo()): Promise<RustApp> {
  const dir = copyAppSources(git);
  mkdirSync(join(dir, '.cargo'), { recursive: true });
  writeFileSync(join(dir, '.cargo', 'config.toml'), registryConfigToml(indexUrl));
  const cargoHome = tempDir('cargo-home');
  await runCargo(['generate-lockfile'], { cwd: dir, cargoHome });
  const lockfile = join(dir, 'Cargo.lock');
  return { dir, cargoHome, git, lockfile };
}
