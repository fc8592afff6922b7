import { existsSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { LockfileFormat, LockfileInput } from '../core/ecosystem.js';
import { noteCodeKind } from '../core/code-kinds.js';
import { InputError, StowageError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import type { CargoConfig } from '../ecosystems/cargo/cargo-config.js';
import { LOCKFILE_FORMATS, SUPERSEDED } from '../ecosystems/formats.js';
import { readTextInput, readTextInputFile } from '../core/input-files.js';
import { parseManifestQuietly } from '../ecosystems/cargo/workspace-members.js';
import { foreignWorkspaceRoot } from '../ecosystems/cargo/workspace-root.js';

/** A lockfile found on disk, with the format that reads it and its manifest, if any. */
export interface LockfileLocation {
  path: string;
  format: LockfileFormat;
  manifestPath: string | null;
  /**
   * The directory the package manager runs in when it is not the lockfile's: a workspace
   * member's, built (Cargo) or installed (npm, yarn, pnpm, bun) with its root's lockfile, which
   * that manager found from there (workspaceRootLockfile, npmWorkspaceRootLockfiles). Cargo reads
   * its configuration from there and every parent.
   */
  buildDir?: string;
}

function formatForFile(file: string): { format: LockfileFormat; prefix: string } | null {
  const name = basename(file);
  for (const format of LOCKFILE_FORMATS) {
    // `app-2024.Cargo.lock` is read as a Cargo.lock, with `app-2024.Cargo.toml` as its manifest.
    if (name === format.fileName || name.endsWith(`.${format.fileName}`)) {
      return { format, prefix: name.slice(0, name.length - format.fileName.length) };
    }
  }
  return null;
}

const KNOWN_NAMES = LOCKFILE_FORMATS.map((f) => f.fileName).join(', ');

/**
 * The lockfiles PATH names: the file itself, or every lockfile in the directory (a directory
 * with a Cargo.lock and a package-lock.json is one application with two lockfiles), with the
 * workspace root's Cargo.lock of a Cargo member without one. `known`: PATH's stat, when the
 * caller has just taken it. `npmRoots`: for a directory, what npmWorkspaceRootLockfiles found
 * (asynchronous, its readers loaded on demand: readApplication asks it first).
 */
export function findLockfiles(path: string, known?: Stats, confineTo?: string, npmRoots: readonly LockfileLocation[] = []): LockfileLocation[] {
  const full = resolve(path);
  let st = known;
  try {
    st ??= statSync(full);
  } catch {
    throw new StowageError('no such file or directory', path);
  }
  if (st.isFile()) {
    const found = formatForFile(full);
    const unread = found ? undefined : UNREAD_LOCKFILES.find((u) => u.fileName === basename(full));
    if (unread !== undefined) throw new InputError(path, `${unread.what}, which stowage does not read${unread.advice === undefined ? '' : `: ${unread.advice}`}`);
    if (!found) throw new InputError(path, `not a lockfile stowage reads (expected one of ${KNOWN_NAMES})`);
    // npm installs from npm-shrinkwrap.json whenever there is one, and never reads
    // package-lock.json beside it: auditing the latter would check what is not installed.
    const superseder = SUPERSEDED[basename(full)];
    if (superseder !== undefined && existsSync(join(dirname(full), superseder))) {
      throw new InputError(path, `npm installs from the ${superseder} beside it and ignores this file: audit ${join(dirname(path), superseder)} or the directory`);
    }
    const manifest = join(dirname(full), found.prefix + found.format.manifestName);
    return [{ path, format: found.format, manifestPath: existsSync(manifest) ? manifest : null }];
  }
  if (!st.isDirectory()) throw new InputError(path, 'not a file or directory');
  const present = new Set(LOCKFILE_FORMATS.map((f) => f.fileName).filter((n) => existsSync(join(full, n))));
  const locations: LockfileLocation[] = [];
  const workspaceLockfile = present.has('Cargo.lock') ? null : workspaceRootLockfile(full, confineTo);
  if (workspaceLockfile !== null) locations.push(workspaceLockfile);
  locations.push(...npmRoots);
  for (const format of LOCKFILE_FORMATS) {
    if (!present.has(format.fileName)) continue;
    const superseder = SUPERSEDED[format.fileName];
    if (superseder && present.has(superseder)) continue;
    const manifest = join(full, format.manifestName);
    locations.push({
      path: join(path, format.fileName),
      format,
      manifestPath: existsSync(manifest) ? join(path, format.manifestName) : null,
    });
  }
  if (locations.length === 0) throw new InputError(path, `no lockfile found (looked for ${KNOWN_NAMES})`);
  return locations;
}

/**
 * Lockfiles of package managers stowage does not read: bun's binary lockfile (bun before 1.2;
 * bun reads it only when there is no bun.lock) and deno's. `advice`: what the user can do.
 */
const UNREAD_LOCKFILES: readonly { fileName: string; manager: string; what: string; unlessBeside?: string; advice?: string }[] = [
  {
    fileName: 'bun.lockb',
    manager: 'bun',
    what: "bun's binary lockfile",
    unlessBeside: 'bun.lock',
    advice: 'have bun write its text lockfile, bun.lock, with `bun install --save-text-lockfile --frozen-lockfile --lockfile-only` (bun 1.2 or later), and audit that',
  },
  { fileName: 'deno.lock', manager: 'deno', what: "deno's lockfile" },
];

/**
 * A directory holding a lockfile stowage does not read (bun.lockb without bun.lock, deno.lock)
 * is refused: that package manager installs from it, and auditing only the other lockfiles
 * beside it (or the node_modules it installed), or finding none, would pass what was never
 * checked. Nothing else can tell which lockfile the build uses, so the refusal names them all;
 * a lockfile named on its own is still audited alone.
 */
export function refuseUnreadLockfiles(dir: string): void {
  const full = resolve(dir);
  for (const unread of UNREAD_LOCKFILES) {
    if (!existsSync(join(full, unread.fileName)) || (unread.unlessBeside !== undefined && existsSync(join(full, unread.unlessBeside)))) continue;
    const others = LOCKFILE_FORMATS.map((f) => f.fileName).filter((n) => existsSync(join(full, n)));
    const beside =
      others.length === 0
        ? ''
        : ` (beside ${others.join(', ')}, which ${unread.manager} does not read: audit ${others.length === 1 ? 'that file' : 'one of those files'} by name if ${unread.manager} does not build this application)`;
    const advice = unread.advice === undefined ? '' : `; ${unread.advice}`;
    throw new InputError(join(dir, unread.fileName), `${unread.what}, which stowage does not read, so ${unread.manager}'s install cannot be audited${beside}${advice}`);
  }
}

/**
 * The lockfile Cargo builds the package in `dir` with, when `dir` holds a Cargo.toml and no
 * Cargo.lock but is a member of a workspace above it (`cargo build` there reads and writes the
 * workspace root's Cargo.lock): that root's Cargo.lock, read with its manifest as when its
 * directory is named, so the audit covers the whole workspace as `cargo audit` does. Null when
 * `dir` is no such member, or its root has no Cargo.lock either.
 */
export function workspaceRootLockfile(dir: string, confineTo?: string): LockfileLocation | null {
  const manifest = join(dir, 'Cargo.toml');
  if (!existsSync(manifest) || existsSync(join(dir, 'Cargo.lock'))) return null;
  const foreign = foreignWorkspaceRoot(manifest, parseManifestQuietly(readTextInput(manifest)), confineTo);
  if (foreign === null) return null;
  const lockfile = join(dirname(foreign.root), 'Cargo.lock');
  const format = LOCKFILE_FORMATS.find((f) => f.fileName === 'Cargo.lock');
  return format && existsSync(lockfile) ? { path: lockfile, format, manifestPath: foreign.root, buildDir: dir } : null;
}

/**
 * Manifests in directory DIR that no lockfile locks, one warning each: a Cargo.toml with no
 * Cargo.lock beside it nor at its workspace root, a package.json with no npm, yarn, pnpm or bun
 * lockfile beside it nor at the root of a workspace that lists it (npmWorkspaceRootLockfiles: a
 * lockfile in a directory above that does not is another project's). Cargo and npm would
 * resolve their dependencies anew, so nothing of them is audited: said, never silently skipped.
 * `locations`: the lockfiles findLockfiles found for DIR, its workspace roots' included.
 */
export function unlockedManifests(dir: string, locations: readonly LockfileLocation[]): string[] {
  const full = resolve(dir);
  const warnings: string[] = [];
  const manifests = [...new Set(LOCKFILE_FORMATS.map((f) => f.manifestName))];
  for (const manifestName of manifests) {
    const formats = LOCKFILE_FORMATS.filter((f) => f.manifestName === manifestName);
    if (!existsSync(join(full, manifestName)) || locations.some((l) => formats.includes(l.format))) continue;
    const names = formats.map((f) => f.fileName);
    const tool = formats[0]?.ecosystem === 'cargo' ? 'cargo' : 'npm';
    warnings.push(`${join(dir, manifestName)}: NOT audited: no ${names.join(', ')} locks it (${tool} would resolve its dependencies anew); lock it and audit again`);
  }
  return warnings;
}

/**
 * Directories the search for nested lockfiles does not enter: what package managers install or
 * build into (their lockfiles are the packages', not the application's) and hidden ones (.git).
 */
const NOT_SEARCHED = new Set(['node_modules', 'bower_components', 'target', 'vendor']);

/** Every lockfile name: those stowage reads and those it refuses (bun.lockb, deno.lock). */
const LOCKFILE_NAMES = new Set([...LOCKFILE_FORMATS.map((f) => f.fileName), ...UNREAD_LOCKFILES.map((u) => u.fileName)]);

/** How far below a directory given nestedLockfiles looks: directory levels below it, and directories read in all. */
export const NESTED_SEARCH = { levels: 3, directories: 2000 } as const;

/**
 * Lockfiles in the subdirectories of DIR, NESTED_SEARCH.levels deep (breadth first; symbolic
 * links not followed), as paths relative to it, sorted, and whether the search stopped at
 * NESTED_SEARCH.directories before it was done. A directory names one application: such a
 * lockfile is another's (a frontend's package-lock.json under a Cargo project, an example's
 * Cargo.lock), one the package manager installs a member with (pnpm's
 * `shared-workspace-lockfile=false`), or one it ignores there (a Cargo or npm workspace member's
 * own). None is audited with DIR, and saying so keeps an audit of a repository from passing in
 * silence over what it never read.
 */
export function nestedLockfiles(dir: string): { found: string[]; cut: boolean } {
  const found: string[] = [];
  let level = [''];
  let read = 0;
  for (let depth = 0; depth <= NESTED_SEARCH.levels && level.length > 0; depth++) {
    const next: string[] = [];
    for (const rel of level) {
      if (read++ >= NESTED_SEARCH.directories) return { found: found.sort(), cut: true };
      let entries;
      try {
        entries = readdirSync(join(dir, rel), { withFileTypes: true });
      } catch {
        continue;
      }
      for (const entry of entries) {
        const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (entry.isDirectory()) {
          if (depth < NESTED_SEARCH.levels && !entry.name.startsWith('.') && !NOT_SEARCHED.has(entry.name)) next.push(path);
        } else if (rel !== '' && entry.isFile() && LOCKFILE_NAMES.has(entry.name)) found.push(path);
      }
    }
    level = next.sort();
  }
  return { found: found.sort(), cut: false };
}

/**
 * nestedLockfiles of DIR as one warning (none: no warning), naming the first few by their paths
 * (an upload's are then said as uploaded: its directory is cut from every path).
 */
export function nestedLockfilesWarning(dir: string): string[] {
  const { found: nested, cut } = nestedLockfiles(dir);
  if (nested.length === 0) return [];
  const shown = nested.slice(0, 5).map((rel) => join(dir, rel)).join(', ') + (nested.length > 5 ? `, and ${nested.length - 5} more` : '');
  const one = nested.length === 1;
  const stopped = cut ? ` (the search stopped after ${NESTED_SEARCH.directories} directories: there may be more)` : '';
  return [
    `${one ? 'a lockfile' : `${nested.length} lockfiles`} below the directory given ${one ? 'is' : 'are'} NOT audited with it (a directory is one application; ${one ? 'that one is' : 'each is'} another's, or one its package manager reads only there): ${shown}${stopped}; audit ${one ? 'it' : 'each'} by naming it`,
  ];
}

/**
 * The lockfiles the package managers install the project in `dir` with, when `dir` holds a
 * package.json and is a workspace member whose root, above it, holds one: each manager finds its
 * root its own way (workspace-members.ts), whatever lockfiles of other managers `dir` holds (npm
 * 11 run in a member holding only a pnpm-lock.yaml installs from the root's package-lock.json), and
 * installs the member with that root's lockfile only (checked with npm 11.19, yarn 1.22.22,
 * yarn 4.9.2, pnpm 9.15.9): npm and bun the nearest package.json whose `workspaces` list it
 * (npm-shrinkwrap.json, else package-lock.json; bun.lock); yarn 1 the first package.json above
 * with `workspaces`, if they list it (a yarn 1 yarn.lock); yarn berry the nearest yarn.lock
 * above, if its project lists it, nested workspaces included (a berry yarn.lock); pnpm the
 * nearest pnpm-workspace.yaml, if its `packages` list it (pnpm-lock.yaml). Read with the root's
 * package.json, as when the root's directory is named, so the whole workspace is audited. A
 * lockfile above in a directory that does not list it is another project's, never this one's:
 * npm, yarn 1 and pnpm resolve the project anew, yarn berry refuses to install it. The search
 * stays inside `confineTo`.
 */
export async function npmWorkspaceRootLockfiles(dir: string, confineTo?: string): Promise<LockfileLocation[]> {
  const full = resolve(dir);
  const npmFormats = LOCKFILE_FORMATS.filter((f) => f.ecosystem === 'npm');
  // A manager's own lockfile in `dir` that it does not read is refused (refuseNpmMemberLockfile),
  // and yarn berry reads one beside the member (enclosingBerryProject): either way the root's is
  // the one more to read here.
  if (!existsSync(join(full, 'package.json'))) return [];
  const { enclosingBerryProject, enclosingPnpmWorkspace, enclosingWorkspaceRoot, isBerryLockfile } = await import('../ecosystems/npm/workspace-members.js');
  const found: string[] = [];
  const npmRoot = enclosingWorkspaceRoot(full, 'npm', confineTo);
  if (npmRoot !== null) {
    // What auditing the root refuses (bun's binary lockfile there, which bun installs the member with) is refused here too.
    refuseUnreadLockfiles(npmRoot);
    const shrinkwrap = join(npmRoot, 'npm-shrinkwrap.json');
    found.push(existsSync(shrinkwrap) ? shrinkwrap : join(npmRoot, 'package-lock.json'), join(npmRoot, 'bun.lock'));
  }
  const yarnRoot = enclosingWorkspaceRoot(full, 'yarn', confineTo);
  const yarnLock = yarnRoot === null ? null : join(yarnRoot, 'yarn.lock');
  if (yarnLock !== null && existsSync(yarnLock) && !isBerryLockfile(readTextInput(yarnLock))) found.push(yarnLock);
  const berryRoot = enclosingBerryProject(full, confineTo);
  if (berryRoot !== null) found.push(join(berryRoot, 'yarn.lock'));
  const pnpmRoot = enclosingPnpmWorkspace(full, confineTo);
  if (pnpmRoot !== null) found.push(join(pnpmRoot, 'pnpm-lock.yaml'));
  const locations: LockfileLocation[] = [];
  for (const format of npmFormats) {
    for (const path of new Set(found.filter((p) => basename(p) === format.fileName && existsSync(p)))) {
      const manifest = join(dirname(path), format.manifestName);
      locations.push({ path, format, manifestPath: existsSync(manifest) ? manifest : null, buildDir: realpathSync(full) });
    }
  }
  return locations;
}

/**
 * Told each file an application is read from, with its bytes as read (a text file's less a
 * byte-order mark): the fleet keeps exactly these documents with a revision, without reading a
 * file twice or encoding its text again.
 */
export type DocumentRecorder = (path: string, bytes: Buffer) => void;

/** readTextInput, telling `record` the bytes read (never encoded again from the text). */
function readRecordedText(path: string, record: DocumentRecorder | undefined): string {
  if (record === undefined) return readTextInput(path);
  const { text, bytes } = readTextInputFile(path);
  record(path, bytes);
  return text;
}

/**
 * A file of the project, read (and recorded) only when it is a file inside the lockfile's
 * directory, symbolic links followed; null otherwise. A manifest's path may name any file on the
 * machine, and what is read there shows in the warnings (a fleet server's upload would read other
 * files).
 */
function projectFile(lockfile: string, path: string, record: DocumentRecorder | undefined): { path: string; text: string } | null {
  let real: string;
  try {
    // Most such paths name nothing (a lone NAME.Cargo.toml's path dependencies, left behind):
    // a stat says so without realpathSync's thrown ENOENT, whose error object costs several times
    // the call (a bulk add asks it for each path dependency of every application).
    // The stat follows symbolic links: it is the file realpathSync names.
    if (statSync(path, { throwIfNoEntry: false })?.isFile() !== true) return null;
    real = realpathSync(path);
  } catch {
    return null;
  }
  if (!isInsideDirectory(dirname(lockfile), real)) return null;
  return { path, text: readRecordedText(path, record) };
}

/** Whether `path` is below `dir`, symbolic links of both followed (false when either cannot be resolved). */
function isInsideDirectory(dir: string, path: string): boolean {
  try {
    const inside = relative(realpathSync(dir), realpathSync(path));
    return inside !== '' && inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside);
  } catch {
    return false;
  }
}

/** Reads and parses one lockfile (with its manifest) into the shared dependency graph. */
export async function readDependencyGraph(location: LockfileLocation, record?: DocumentRecorder, confineTo?: string): Promise<DependencyGraph> {
  const input: LockfileInput = { path: location.path, text: readRecordedText(location.path, record) };
  // Workspace members outside `confineTo` (an upload's directory) are not read: a member glob may
  // name any directory (`../*`), and an upload would read, and keep, other files of the server.
  const confined = (paths: string[]): string[] => (confineTo === undefined ? paths : paths.filter((p) => isInsideDirectory(confineTo, p)));
  if (location.manifestPath) {
    input.manifest = { path: location.manifestPath, text: readRecordedText(location.manifestPath, record) };
    if (location.format.ecosystem === 'cargo') {
      // Parsed once here for both the workspace-root search and the member expansion.
      const { memberManifestPathsOf, parseManifestQuietly } = await import('../ecosystems/cargo/workspace-members.js');
      const doc = parseManifestQuietly(input.manifest.text);
      refuseMemberLockfile(location.path, input.manifest.path, doc, await import('../ecosystems/cargo/workspace-root.js'), confineTo);
      input.members = confined(memberManifestPathsOf(input.manifest.path, doc)).map((path) => ({ path, text: readRecordedText(path, record) }));
      // Read for the check of the lockfile against them only, and not recorded: that would give
      // every such application a new revision of unchanged content.
      input.readPathPackage = (path) => {
        try {
          return projectFile(location.path, path, undefined)?.text ?? null;
        } catch {
          // One that cannot be read only leaves its dependencies unchecked against the lockfile.
          return null;
        }
      };
    } else if (location.format.ecosystem === 'npm' && location.format.fileName !== 'pnpm-lock.yaml') {
      // yarn v1 locks what workspace members depend on, not the members: their manifests say.
      // npm ci reads each member's dependencies from its package.json too, not from its entry,
      // and bun compares each member's with its bun.lock workspace entry.
      const { isBerryLockfile, npmWorkspaceManifestPaths } = await import('../ecosystems/npm/workspace-members.js');
      // Each manager's reading of `!` patterns: npm's, yarn 1's install (which excludes nothing), the others'.
      const manager = location.format.manager;
      const negation = manager === 'npm' ? 'npm' : manager === 'yarn' && !isBerryLockfile(input.text) ? 'ignored' : 'any';
      input.members = confined(npmWorkspaceManifestPaths(input.manifest.path, input.manifest.text, negation)).map((path) => ({ path, text: readRecordedText(path, record) }));
    }
  }
  if (location.format.fileName === 'package-lock.json' || location.format.fileName === 'npm-shrinkwrap.json') input.projectManifest = (dir) => projectFile(location.path, join(dirname(location.path), dir, 'package.json'), record);
  // One a member's package manager found from the member (buildDir) is the one it reads, even
  // where that root is a workspace of another root in turn (npm and yarn 1 stop at the first root
  // listing the member).
  if (location.manifestPath && location.format.ecosystem === 'npm' && basename(location.path) === location.format.fileName && location.buildDir === undefined) {
    await refuseNpmMemberLockfile(location, input.text, confineTo);
  }
  if (location.format.fileName === 'pnpm-lock.yaml') {
    // pnpm's importers are the projects pnpm-workspace.yaml lists: their manifests name them.
    const workspaceFile = join(dirname(location.path), 'pnpm-workspace.yaml');
    if (existsSync(workspaceFile)) {
      const { pnpmWorkspaceManifestPaths } = await import('../ecosystems/npm/workspace-members.js');
      const workspaceText = readRecordedText(workspaceFile, record);
      input.pnpmWorkspace = { path: workspaceFile, text: workspaceText };
      input.members = confined(pnpmWorkspaceManifestPaths(workspaceFile, workspaceText)).map((path) => ({ path, text: readRecordedText(path, record) }));
    }
    // Read for its settings and not recorded: an .npmrc may hold credentials.
    const npmrc = join(dirname(location.path), '.npmrc');
    let npmrcText: string | undefined;
    if (existsSync(npmrc) && (confineTo === undefined || isInsideDirectory(confineTo, npmrc))) {
      npmrcText = readTextInput(npmrc);
      input.pnpmNpmrc = { path: npmrc, text: npmrcText };
    }
    // pnpm runs its readPackage hook on every manifest it resolves, and records the file's
    // checksum: the file `pnpmfile=` names in the .npmrc (from the lockfile's directory), else
    // .pnpmfile.cjs; none under `ignore-pnpmfile`.
    const { pnpmfileSettings } = await import('../ecosystems/npm/pnpm-lock-settings.js');
    const named = pnpmfileSettings(npmrcText, dirname(location.path));
    if (named.ignored) input.pnpmfile = { path: named.path, state: 'ignored' };
    else if (!existsSync(named.path) || !statSync(named.path).isFile()) input.pnpmfile = { path: named.path, state: 'absent' };
    else if (confineTo !== undefined && !isInsideDirectory(confineTo, named.path)) input.pnpmfile = { path: named.path, state: 'unread' };
    else {
      // The project's own file is recorded; one elsewhere (an absolute path, `../hooks.cjs`) is
      // the machine's, read but not kept.
      const own = isInsideDirectory(dirname(location.path), named.path);
      input.pnpmfile = { path: named.path, state: 'read', text: readRecordedText(named.path, own ? record : undefined) };
    }
  }
  if (location.format.fileName === 'yarn.lock') {
    // yarn berry adds .yarnrc.yml's packageExtensions to the packages they name, from the
    // project's file and every parent directory's (checked with yarn 4.9.2: a parent's
    // extension makes `yarn install --immutable` refuse a lockfile without it). Only the
    // project's own is recorded (a parent's is the machine's); an upload reads only its own.
    // A workspace member's install reads them from the member's directory up (buildDir).
    const own = dirname(resolve(location.path));
    input.yarnrcs = [];
    for (let dir = location.buildDir ?? own; ; dir = dirname(dir)) {
      const yarnrc = join(dir, '.yarnrc.yml');
      if (existsSync(yarnrc) && (confineTo === undefined || isInsideDirectory(confineTo, yarnrc))) {
        // A parent's is read as yarn reads it (readSettingsText): a Latin-1 comment does not stop yarn.
        const text = dir === own ? readRecordedText(yarnrc, record) : readSettingsText(yarnrc);
        if (text !== null) input.yarnrcs.push({ path: dir === own ? join(dirname(location.path), '.yarnrc.yml') : yarnrc, text });
      }
      if ((confineTo !== undefined && dir === own) || dirname(dir) === dir) break;
    }
    // And the home directory's, last (the farthest: any other file's entry wins), when it is
    // not one of those (checked with yarn 4.9.2: ~/.yarnrc.yml extending is-number with minimist
    // 0.0.8 makes `yarn install --immutable` refuse a lockfile without it). The machine's: never
    // recorded, never read for an upload.
    const home = join(homedir() || '/usr/local/share', '.yarnrc.yml');
    const homeText = confineTo === undefined && existsSync(home) && !input.yarnrcs.some((y) => resolve(y.path) === resolve(home)) ? readSettingsText(home) : null;
    if (homeText !== null) input.yarnrcs.push({ path: home, text: homeText });
  }
  if (location.format.ecosystem === 'npm' && location.format.fileName !== 'bun.lock') {
    const off = await lockfileOffSetting(location, confineTo, input);
    if (off !== null) input.lockfileOff = off;
  }
  if (location.format.ecosystem === 'cargo') Object.assign(input, await cargoConfigReaders(location.buildDir ?? dirname(location.path), confineTo, record));
  noteCodeKind(location.format.fileName);
  const parse = await location.format.loadParser();
  const graph = parse(input);
  if (location.format.ecosystem === 'npm') await (await import('../ecosystems/npm/local-tarball.js')).readLocalTarballs(graph, record);
  return graph;
}

/**
 * A setting that makes the package manager ignore this lockfile, from the files and environment
 * it reads (lockfile-off-settings.ts): npm's and pnpm's from the environment, the project's .npmrc
 * and the user's (`npm_config_userconfig`, else ~/.npmrc); yarn 1's from every .yarnrc it merges.
 * Read for their settings, never recorded (an .npmrc may hold credentials). An upload reads only
 * its own files: the server's environment and home directory are not the application's.
 */
async function lockfileOffSetting(location: LockfileLocation, confineTo: string | undefined, input: LockfileInput): Promise<LockfileInput['lockfileOff'] | null> {
  const { path: lockfile, format: { fileName } } = location;
  const { npmLockfileOff, pnpmLockfileOff, yarnV1LockfileOff } = await import('../ecosystems/npm/lockfile-off-settings.js');
  const own = dirname(resolve(lockfile));
  // The files readDependencyGraph has read already (the project's .npmrc for pnpm, every
  // .yarnrc.yml for yarn), by their resolved path: each file is read once, by one reader.
  const read = new Map<string, string>();
  for (const file of [...(input.pnpmNpmrc === undefined ? [] : [input.pnpmNpmrc]), ...(input.yarnrcs ?? [])]) read.set(resolve(file.path), file.text);
  const settingsFile = (path: string): { path: string; text: string }[] => {
    const known = read.get(resolve(path));
    if (known !== undefined) return [{ path, text: known }];
    if (confineTo !== undefined && !isInsideDirectory(confineTo, path)) return [];
    const text = readSettingsText(path);
    return text === null ? [] : [{ path, text }];
  };
  const env = confineTo === undefined ? process.env : {};
  const home = confineTo === undefined ? process.env.HOME || homedir() : undefined;
  if (fileName === 'yarn.lock') {
    const rcs: { path: string; text: string }[] = [];
    const dirs: string[] = [];
    // yarn 1 reads every .yarnrc from the directory it runs in up: a workspace member's own
    // too (checked with yarn 1.22.22: `--install.no-lockfile true` in packages/a/.yarnrc makes
    // `yarn install --frozen-lockfile` there install minimist 1.2.8 where the root's yarn.lock locks 1.2.0).
    for (let dir = location.buildDir ?? own; ; dir = dirname(dir)) {
      dirs.unshift(dir);
      if ((confineTo !== undefined && dir === own) || dirname(dir) === dir) break;
    }
    for (const dir of dirs) rcs.push(...settingsFile(join(dir, '.yarnrc')), ...settingsFile(join(dir, '.yarnrc.yml')));
    if (confineTo === undefined) {
      rcs.push(...settingsFile('/etc/yarn/config'), ...settingsFile('/etc/yarnrc'));
      if (home) {
        const configDir = process.env.XDG_CONFIG_HOME ? join(process.env.XDG_CONFIG_HOME, 'yarn') : join(home, '.config', 'yarn');
        for (const path of [configDir, join(home, '.config', 'yarn', 'config'), join(home, '.config', 'yarn'), join(home, '.yarn', 'config'), join(home, '.yarnrc'), join(home, '.yarnrc.yml')]) {
          rcs.push(...settingsFile(path));
        }
      }
      if (process.env.YARN_CONFIG) rcs.push(...settingsFile(resolve(process.env.YARN_CONFIG)));
    }
    return yarnV1LockfileOff(rcs);
  }
  const npmrcs = [...settingsFile(join(own, '.npmrc'))];
  const userconfig = confineTo === undefined ? (Object.entries(process.env).find(([name]) => name.toLowerCase() === 'npm_config_userconfig')?.[1] ?? (home ? join(home, '.npmrc') : undefined)) : undefined;
  const user = userconfig !== undefined && resolve(userconfig) !== join(own, '.npmrc') ? settingsFile(resolve(userconfig))[0] : undefined;
  if (user !== undefined) npmrcs.push(user);
  if (fileName !== 'pnpm-lock.yaml') return npmLockfileOff(npmrcs, env);
  // pnpm's other settings (auto-install-peers) are read from the same places, below the project's .npmrc.
  if (user !== undefined) input.npmUserConfig = user;
  const npmEnvironment = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => /^npm_config_/i.test(entry[0]) && entry[1] !== undefined));
  if (Object.keys(npmEnvironment).length > 0) input.npmEnvironment = npmEnvironment;
  return pnpmLockfileOff(npmrcs, env);
}

/**
 * A settings file the package manager reads besides the project's (the user's ~/.npmrc, a parent
 * directory's or the home directory's .yarnrc, /etc/yarnrc): the machine's, not the
 * application's input, so read as npm and yarn read it, as UTF-8 with anything malformed
 * replaced (a Latin-1 comment does not stop them), and passed over, as they pass it over, when it
 * is not a regular file or cannot be read (null then; also one larger than any settings file).
 */
function readSettingsText(path: string): string | null {
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_SETTINGS_BYTES) return null;
    return new TextDecoder('utf-8').decode(readFileSync(path));
  } catch {
    return null;
  }
}

/** No settings file comes near this: a larger one is passed over rather than read into memory. */
const MAX_SETTINGS_BYTES = 16 * 1024 * 1024;

/**
 * The Cargo configuration as `cargo build` in the lockfile's directory reads it (the project's
 * `.cargo/config.toml`, each parent directory's, CARGO_HOME's), read on first use: a lockfile
 * source of another registry that it replaces with crates.io is crates.io's crates, and its
 * `paths` overrides and `[patch]` tables change what is built. In an upload (`confineTo`) only
 * the project's own file, when it lies inside the upload, is read.
 */
async function cargoConfigReaders(
  dir: string,
  confineTo: string | undefined,
  record: DocumentRecorder | undefined,
): Promise<Required<Pick<LockfileInput, 'cargoCratesIoReplacement' | 'cargoBuildOverrides'>>> {
  const { configFileIn, cratesIoReplacement, emptyConfig, readCargoConfig, readCargoFetchConfig } = await import('../ecosystems/cargo/cargo-config.js');
  // The project's own file is recorded (the fleet keeps it with the revision): what it replaces
  // decides which crates are audited as crates.io's, so a change in it is a new revision. A
  // parent directory's or CARGO_HOME's is the machine's, not the application's (an upload never
  // reads it, and `fleet push` could not send it): as with manifests, only files inside are kept.
  const own = record === undefined ? undefined : (path: string, bytes: Buffer): void => (isInsideDirectory(dir, path) ? record(path, bytes) : undefined);
  const read = (): CargoConfig => {
    if (confineTo === undefined) return readCargoFetchConfig(dir, own);
    const file = configFileIn(dir);
    return file !== null && isInsideDirectory(confineTo, file) ? readCargoConfig(dir, { readable: (f) => isInsideDirectory(confineTo, f), ...(own !== undefined ? { record: own } : {}) }) : emptyConfig();
  };
  let config: CargoConfig | undefined;
  return {
    cargoCratesIoReplacement: (source) => {
      config ??= read();
      const chain = cratesIoReplacement(config, source);
      return chain === null ? null : { file: config.path ?? '.cargo/config.toml', chain };
    },
    cargoBuildOverrides: () => {
      config ??= read();
      return { paths: config.pathOverrides, patches: config.patches };
    },
  };
}

/**
 * npm, yarn 1, pnpm and bun, run in a workspace member, install it with the workspace root's lockfile
 * and never read one beside the member: auditing that one would check what is not installed.
 * Refused, naming the root to audit. (yarn berry finds its project otherwise: not asked.)
 */
async function refuseNpmMemberLockfile(location: LockfileLocation, text: string, confineTo: string | undefined): Promise<void> {
  // bun, run in a member, installs with the root's bun.lock as npm does (checked with bun 1.4.5).
  const manager = location.format.manager;
  const { enclosingPnpmWorkspace, enclosingWorkspaceRoot, isBerryLockfile } = await import('../ecosystems/npm/workspace-members.js');
  if (manager === 'yarn' && isBerryLockfile(text)) return;
  const dir = dirname(resolve(location.path));
  const root = manager === 'pnpm' ? enclosingPnpmWorkspace(dir, confineTo) : enclosingWorkspaceRoot(dir, manager === 'yarn' ? 'yarn' : 'npm', confineTo);
  if (root === null) return;
  throw new InputError(
    location.path,
    `${manager} does not read this lockfile: ${dir} is a workspace of ${join(root, manager === 'pnpm' ? 'pnpm-workspace.yaml' : 'package.json')}, and ${manager} installs it with the lockfile there; audit ${root}`,
  );
}

/**
 * Cargo builds a workspace member with its workspace root's Cargo.lock and never reads one
 * beside the member: auditing that one would check what is not built. Refused, naming the
 * lockfile Cargo does read. (`NAME.Cargo.lock` is stowage's own naming, never Cargo's: not asked.)
 */
function refuseMemberLockfile(
  path: string,
  manifestPath: string,
  manifest: import('smol-toml').TomlTable | null,
  roots: typeof import('../ecosystems/cargo/workspace-root.js'),
  confineTo: string | undefined,
): void {
  if (!roots.isCargoLockName(path)) return;
  const foreign = roots.foreignWorkspaceRoot(manifestPath, manifest, confineTo);
  if (foreign === null) return;
  const rootDir = dirname(foreign.root);
  throw new InputError(
    path,
    `Cargo does not read this lockfile: ${foreign.manifest} is in the workspace of ${foreign.root}, and Cargo builds it with ${join(rootDir, 'Cargo.lock')}; audit ${rootDir}`,
  );
}
