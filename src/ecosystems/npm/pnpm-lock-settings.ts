import { createHash } from 'node:crypto';
import { basename, isAbsolute, join } from 'node:path';
import type { LockfileInput } from '../../core/ecosystem.js';
import { base32 } from '../../core/digest.js';
import { isRecord } from './lockfile-reading.js';
import { npmrcTopLevelSetting } from './registry.js';

/**
 * Settings that change what pnpm resolves, which pnpm-lock.yaml records only as a checksum:
 * `packageExtensionsChecksum` and `pnpmfileChecksum`. pnpm install --frozen-lockfile refuses a
 * lockfile whose checksum is not the one of the settings it reads (ERR_PNPM_LOCKFILE_CONFIG_MISMATCH),
 * and a plain pnpm install resolves anew with them: checked with pnpm 9.15.9 and 10.34.9, a
 * packageExtensions or a .pnpmfile.cjs readPackage hook adding minimist 0.0.8 to is-number after
 * locking, which the lockfile then lacks. Each checksum is accepted in any pnpm's form (pnpm 7 and
 * 9: md5, pnpm 10: `sha256-`).
 */

/** A changed setting: what it adds, as `name@spec (packageExtensions of SELECTOR)`, and the file that sets it. */
export interface ChangedSetting {
  unlocked: string[];
  file: string;
}

/**
 * The packageExtensions pnpm applies (`from`: the file that sets them) against the lockfile's
 * `packageExtensionsChecksum`: null when they agree. Extensions only the lockfile records are a
 * change too when `withRemoved` (every file pnpm reads is at hand).
 */
export function changedPackageExtensions(
  applied: { extensions: Record<string, unknown>; from: string },
  lockChecksum: unknown,
  withRemoved: boolean,
): ChangedSetting | null {
  const locked = typeof lockChecksum === 'string' ? lockChecksum : undefined;
  if (Object.keys(applied.extensions).length === 0) {
    return locked !== undefined && withRemoved ? { unlocked: ['packageExtensions (no longer set)'], file: applied.from } : null;
  }
  if (locked !== undefined && extensionChecksums(applied.extensions).includes(locked)) return null;
  const unlocked: string[] = [];
  for (const [selector, extension] of Object.entries(applied.extensions)) {
    let added = 0;
    for (const section of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
      const deps = isRecord(extension) ? extension[section] : undefined;
      if (!isRecord(deps)) continue;
      for (const [name, spec] of Object.entries(deps)) {
        unlocked.push(`${name}@${typeof spec === 'string' ? spec : String(spec)} (packageExtensions of ${selector})`);
        added++;
      }
    }
    if (added === 0) unlocked.push(`${selector} (packageExtensions)`);
  }
  return { unlocked, file: applied.from };
}

/**
 * The hooks file pnpm loads for a project whose lockfile is in `lockfileDir`, as the .npmrc there
 * (its text, when there is one) says: the `pnpmfile=` path (from that directory, unless absolute),
 * else .pnpmfile.cjs; `ignored` under `ignore-pnpmfile` (then pnpm loads none). Checked with pnpm
 * 9.15.9: `pnpmfile=hooks.cjs` locks hooks.cjs's checksum, and a change of hooks.cjs makes
 * install --frozen-lockfile refuse the lockfile (ERR_PNPM_LOCKFILE_CONFIG_MISMATCH) while a
 * plain install applies it, whatever a .pnpmfile.cjs beside it holds.
 */
export function pnpmfileSettings(npmrcText: string | undefined, lockfileDir: string): { path: string; ignored: boolean } {
  const named = npmrcText === undefined ? undefined : npmrcTopLevelSetting(npmrcText, 'pnpmfile');
  const path = named === undefined || named === '' ? join(lockfileDir, '.pnpmfile.cjs') : isAbsolute(named) ? named : join(lockfileDir, named);
  return { path, ignored: npmrcText !== undefined && npmrcFlag(npmrcTopLevelSetting(npmrcText, 'ignore-pnpmfile')) === true };
}

/**
 * A boolean setting of an .npmrc as pnpm 9.15.9 reads it: only `false` is false (`0`, `no`,
 * `null`, an empty value and a bare key are all true); undefined when it is not set.
 */
export function npmrcFlag(value: string | undefined): boolean | undefined {
  return value === undefined ? undefined : value !== 'false';
}

/**
 * The lockfile's `pnpmfileChecksum` against the hooks file pnpm loads (LockfileInput.pnpmfile):
 * null when they agree. A checksum without the file (absent, or ignored) is a change when
 * `withRemoved`; a file stowage may not read (outside an upload) always is.
 */
export function changedPnpmfile(pnpmfile: NonNullable<LockfileInput['pnpmfile']>, lockChecksum: unknown, withRemoved: boolean, npmrcPath: string): ChangedSetting | null {
  const locked = typeof lockChecksum === 'string' ? lockChecksum : undefined;
  const name = basename(pnpmfile.path);
  switch (pnpmfile.state) {
    case 'absent':
      return locked !== undefined && withRemoved ? { unlocked: [`the hooks of a ${name} no longer there`], file: pnpmfile.path } : null;
    case 'ignored':
      return locked !== undefined && withRemoved ? { unlocked: ['the hooks pnpm no longer runs (ignore-pnpmfile)'], file: npmrcPath } : null;
    case 'unread':
      return { unlocked: [`what the hooks of ${name} change (not read: it lies outside the upload)`], file: pnpmfile.path };
    case 'read':
      // pnpm 9.15.9 records no checksum for a file that exports no `hooks` (an empty file,
      // comments only, `module.exports = {}`): nothing to compare then, and nothing it changes.
      if (locked === undefined && exportsNoHooks(pnpmfile.text)) return null;
      break;
  }
  // pnpm hashes the file with its line ends made `\n`.
  const normalized = Buffer.from(pnpmfile.text.split('\r\n').join('\n'), 'utf8');
  const checksums = [base32(createHash('md5').update(normalized).digest()), `sha256-${createHash('sha256').update(normalized).digest('base64')}`];
  if (locked !== undefined && checksums.includes(locked)) return null;
  return { unlocked: [`what the hooks of ${name} change`], file: pnpmfile.path };
}

/**
 * Whether a hooks file certainly exports no hooks: once its comments are taken out, nothing is
 * left but an optional `'use strict'` and an optional `module.exports = {}`. Anything else (a
 * string, a regular expression, any other statement) may export hooks, and is compared by its
 * checksum. A `/*` or `//` inside a string or a regular expression would be taken for a comment
 * here, but that string's or expression's opening quote or slash is then left over, and the text
 * is not one of those forms.
 */
function exportsNoHooks(text: string): boolean {
  // Whitespace goes too, so `'use strict'` is `'usestrict'` here.
  const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n\r\u2028\u2029]*/g, ' ').replace(/^\uFEFF/, '').replace(/\s+/g, '');
  return /^(?:(?:'usestrict'|"usestrict");?)?(?:module\.exports=\{\};?)?$/.test(code);
}

/**
 * The checksums pnpm writes for these packageExtensions: pnpm 9's md5 hex of their JSON, keys
 * sorted at every depth, pnpm 7's of their JSON as written (the corpus' vite lockfile of
 * 2023-01-01, lockfileVersion 5.4, has it), and pnpm 10's `sha256-` object-hash (keys sorted, types not kept), which
 * is made here for objects, strings, numbers, booleans and null only (pnpm 10's form of a list is
 * not: an extension holding one is compared with pnpm 9's form alone).
 */
function extensionChecksums(extensions: Record<string, unknown>): string[] {
  const md5 = (json: string): string => createHash('md5').update(json).digest('hex');
  const sums = [md5(JSON.stringify(sortKeysDeep(extensions))), md5(JSON.stringify(extensions))];
  const hashed = objectHashText(extensions);
  if (hashed !== null) sums.push(`sha256-${createHash('sha256').update(hashed, 'utf8').digest('base64')}`);
  return sums;
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (!isRecord(value)) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeysDeep(value[key]);
  return sorted;
}

/** object-hash's text of a value (`unorderedObjects`, `respectType: false`), null for what it is not made for here. */
function objectHashText(value: unknown): string | null {
  if (value === null) return 'Null';
  if (typeof value === 'string') return `string:${value.length}:${value}`;
  if (typeof value === 'boolean') return `bool:${String(value)}`;
  if (typeof value === 'number') return `number:${String(value)}`;
  if (!isRecord(value)) return null;
  const keys = Object.keys(value).sort();
  let text = `object:${keys.length}:`;
  for (const key of keys) {
    const inner = objectHashText(value[key]);
    if (inner === null) return null;
    text += `string:${key.length}:${key}:${inner},`;
  }
  return text;
}

/**
 * The lockfile's `settings.autoInstallPeers` against the value pnpm installs with: pnpm 10's
 * pnpm-workspace.yaml `autoInstallPeers` (`workspace`, when the pnpm that installs reads it), else
 * `npm_config_auto_install_peers` (`machine.env`), else the project's .npmrc's `auto-install-peers`,
 * else the user's (`machine.user`), else true. pnpm install --frozen-lockfile refuses a lockfile
 * that records the other value (ERR_PNPM_LOCKFILE_CONFIG_MISMATCH "settings.autoInstallPeers") and a
 * plain install resolves anew: checked with pnpm 9.15.9, ajv-keywords 3.5.2 locked under
 * `auto-install-peers=false`, the setting then removed, installs its peer ajv 6 and ajv's four
 * dependencies, none of them in the lockfile; with pnpm 10.34.9, pnpm-workspace.yaml's value wins
 * over the .npmrc's. Unless `withDefault` (every file pnpm reads is at hand), a lockfile value is
 * compared only with one a file sets.
 */
export function changedAutoInstallPeers(
  lockSettings: unknown,
  npmrc: { path: string; text: string } | undefined,
  workspace: { path: string; value: unknown } | undefined,
  npmrcPath: string,
  withDefault: boolean,
  machine: { user?: { path: string; text: string } | undefined; env: Readonly<Record<string, string>> } = { env: {} },
): ChangedSetting | null {
  const locked = isRecord(lockSettings) ? lockSettings.autoInstallPeers : undefined;
  if (locked === undefined || locked === null || locked === '') return null;
  const fromWorkspace = workspace !== undefined && workspace.value !== undefined ? { value: yamlFlag(workspace.value), file: workspace.path } : undefined;
  // pnpm 9.15.9 reads it from npm_config_auto_install_peers, else the project's .npmrc, else the
  // user's: with auto-install-peers=false in ~/.npmrc, install --frozen-lockfile accepts a lockfile
  // locked with false (and refuses one locked with true).
  const envName = Object.keys(machine.env).find((name) => name.toLowerCase() === 'npm_config_auto_install_peers');
  const fromEnv = envName === undefined ? undefined : { value: npmrcFlag(machine.env[envName]) as boolean, file: `the environment (${envName})` };
  const fromFile = (file: { path: string; text: string } | undefined, shown: string): { value: boolean; file: string } | undefined => {
    const value = file === undefined ? undefined : npmrcFlag(npmrcTopLevelSetting(file.text, 'auto-install-peers'));
    return value === undefined ? undefined : { value, file: shown };
  };
  const applied =
    fromWorkspace ?? fromEnv ?? fromFile(npmrc, npmrcPath) ?? fromFile(machine.user, machine.user?.path ?? '') ?? (withDefault ? { value: true, file: npmrcPath } : undefined);
  if (applied === undefined || (applied.value !== null && applied.value === yamlFlag(locked))) return null;
  const shown = applied.value === null ? String(workspace?.value) : String(applied.value);
  return { unlocked: [`autoInstallPeers ${shown} (settings.autoInstallPeers is ${typeof locked === 'string' ? locked : JSON.stringify(locked)})`], file: applied.file };
}

/** A YAML boolean as the failsafe schema leaves it (`true`, `False`, …); null for any other value. */
function yamlFlag(value: unknown): boolean | null {
  if (typeof value !== 'string') return null;
  if (/^(true|True|TRUE)$/.test(value)) return true;
  if (/^(false|False|FALSE)$/.test(value)) return false;
  return null;
}
