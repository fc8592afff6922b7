import { existsSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parse, TomlError, type TomlTable } from 'smol-toml';
import { ancestors } from '../../core/ancestors.js';
import { InputError } from '../../core/errors.js';
import { isTomlTable, tomlStrings } from '../../core/toml-values.js';
import { readTextInput } from '../../core/input-files.js';

/*
 * Which Cargo.lock Cargo reads for a package: its workspace root's, never one beside a member.
 * Cargo's `Workspace::find_root` (rust-lang/cargo, workspace.rs), followed step by step:
 *
 * 1. The package's own manifest: `[workspace]` makes it its own root; `package.workspace = P`
 *    points at `P/Cargo.toml` (lexically normalised).
 * 2. Otherwise each `Cargo.toml` above it, nearest first, starting at its parent directory and
 *    stopping at a directory ending in `target/package` or once `CARGO_HOME` has been looked at:
 *    a `[workspace]` there is the root unless its `exclude` names the package's path and its
 *    `members` do not (both compared literally, path components as prefixes: a glob in
 *    `members` un-excludes nothing); a `package.workspace` there is followed. One Cargo cannot
 *    read fails Cargo, and so fails here.
 *
 * Paths are the physical ones: Cargo starts from the working directory, which has its
 * symbolic links resolved.
 */

export interface ForeignWorkspace {
  /** The package's own manifest, as Cargo sees it. */
  manifest: string;
  /** The workspace root's manifest, whose directory holds the Cargo.lock Cargo reads. */
  root: string;
}

/**
 * The workspace root whose lockfile Cargo uses for the package at `manifestPath`, when that is
 * not the package itself; null when Cargo reads the Cargo.lock beside it. A manifest that is
 * not TOML (`own` null) is left to the lockfile parser, which reports it; one above it fails here, as it
 * fails Cargo.
 */
export function foreignWorkspaceRoot(manifestPath: string, own: TomlTable | null, confineTo?: string): ForeignWorkspace | null {
  if (own === null) return null;
  const dir = realpathSync(dirname(manifestPath));
  const manifest = join(dir, 'Cargo.toml');
  const declared = workspaceRoot(own, dir, manifest);
  if (declared !== null) return declared === manifest ? null : { manifest, root: declared };

  const home = cargoHome();
  let previous: string | null = null;
  for (const current of ancestors(dir, confineTo)) {
    if (endsWithTargetPackage(current) || (previous !== null && previous === home)) return null;
    const candidate = join(current, 'Cargo.toml');
    if (existsSync(candidate)) {
      const root = workspaceRoot(readAncestor(candidate, manifest), current, manifest);
      if (root !== null) return { manifest, root };
    }
    previous = current;
  }
  return null;
}

/** `WorkspaceConfig::get_ws_root` for the manifest in `dir`, looked at from `lookFrom`. */
function workspaceRoot(doc: TomlTable, dir: string, lookFrom: string): string | null {
  const workspace = doc.workspace;
  if (isTomlTable(workspace)) {
    const members = workspace.members === undefined ? null : tomlStrings(workspace.members);
    return isExcluded(dir, tomlStrings(workspace.exclude), members, lookFrom) ? null : join(dir, 'Cargo.toml');
  }
  const pkg = doc.package ?? doc.project;
  if (isTomlTable(pkg) && typeof pkg.workspace === 'string') return resolve(dir, pkg.workspace, 'Cargo.toml');
  return null;
}

/** `WorkspaceRootConfig::is_excluded`: excluded, and not an explicit member. */
function isExcluded(rootDir: string, exclude: string[], members: string[] | null, manifest: string): boolean {
  const under = (entry: string): boolean => startsWithComponents(manifest, entry.startsWith('/') ? entry : `${rootDir}/${entry}`);
  return exclude.some(under) && !(members ?? []).some(under);
}

/** Rust's `Path::starts_with`: whole components, `.` and empty ones ignored, `..` kept as written. */
function startsWithComponents(path: string, prefix: string): boolean {
  const parts = components(path);
  const head = components(prefix);
  return head.length <= parts.length && head.every((part, i) => part === parts[i]);
}

function components(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

function endsWithTargetPackage(dir: string): boolean {
  const parts = components(dir);
  return parts[parts.length - 2] === 'target' && parts[parts.length - 1] === 'package';
}

/**
 * Cargo's home, as Cargo finds it: `CARGO_HOME` (relative to the working directory), or
 * `~/.cargo`; null when there is no home directory to find (no HOME, a user without a passwd
 * entry: cargo itself stops there, and a machine's configuration cannot be read from it).
 */
export function cargoHome(): string | null {
  const env = process.env.CARGO_HOME;
  if (env) return resolve(env);
  try {
    return join(homedir(), '.cargo');
  } catch {
    return null;
  }
}

function readAncestor(path: string, lookingFrom: string): TomlTable {
  const why = `Cargo reads it looking for the workspace of ${lookingFrom}, and fails`;
  let text: string;
  try {
    text = readTextInput(path);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(path, `${err.message}; ${why}`);
    throw err;
  }
  try {
    return parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw new InputError(path, `invalid TOML; ${why}`);
    const reason = (err.message.split('\n', 1)[0] ?? '').replace(/^Invalid TOML document: /, '');
    throw new InputError(path, `invalid TOML: ${reason}; ${why}`, { line: err.line, column: err.column });
  }
}

/** Whether Cargo can read the lockfile at `path` at all: only a file named exactly `Cargo.lock`. */
export function isCargoLockName(path: string): boolean {
  return basename(path) === 'Cargo.lock';
}
