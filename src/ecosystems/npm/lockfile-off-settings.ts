import { npmrcTopLevelSetting } from './registry.js';

/*
 * Settings that make a package manager ignore the lockfile altogether and resolve every
 * dependency afresh from the registry: the audit of the lockfile then says nothing of what is
 * installed. Each is read from the files the package manager reads, in its order (the settings
 * files are given by lockfiles.ts, the environment here by the caller).
 */

/** A settings file, as read. */
export interface SettingsFile {
  path: string;
  text: string;
}

/** Where a lockfile-ignoring setting comes from: `file` is a path or `the environment (NAME)`. */
export interface LockfileOff {
  setting: string;
  file: string;
  line?: number;
}

/**
 * npm's `package-lock` setting (and its deprecated alias `shrinkwrap`, which wins over it
 * whenever any layer sets it): `false` (also `null`, `undefined`) makes `npm install` ignore
 * package-lock.json and npm-shrinkwrap.json and resolve everything anew from package.json
 * (`npm ci` forces it on). Checked with npm 11.19.1: with `package-lock=false` in the project's
 * .npmrc, in ~/.npmrc, or `npm_config_package_lock=false` in the environment, `npm install`
 * installed lodash 4.18.1 where the lockfile locks 4.17.20, leaving the lockfile as it was;
 * `package-lock=0`, `=FALSE` and an empty value keep the lockfile. `npmrcs` are the .npmrc files
 * from the highest precedence down (the project's, then the user's), `env` the environment
 * (npm_config_* names, any case, `_` for `-`), which wins over every file.
 */
export function npmLockfileOff(npmrcs: readonly SettingsFile[], env: Readonly<Record<string, string | undefined>>): LockfileOff | null {
  const valueOf = (key: string): { value: string; file: string } | undefined => {
    const envName = Object.keys(env).find((name) => name.toLowerCase() === `npm_config_${key.replace(/-/g, '_')}`);
    if (envName !== undefined && env[envName] !== undefined) return { value: env[envName], file: `the environment (${envName})` };
    for (const npmrc of npmrcs) {
      const value = npmrcTopLevelSetting(npmrc.text, key);
      if (value !== undefined) return { value, file: npmrc.path };
    }
    return undefined;
  };
  const key = valueOf('shrinkwrap') !== undefined ? 'shrinkwrap' : 'package-lock';
  const set = valueOf(key);
  if (set === undefined || !['false', 'null', 'undefined'].includes(set.value.trim())) return null;
  return { setting: `${key}=${set.value.trim()}`, file: set.file };
}

/**
 * pnpm's `lockfile` setting: `false` makes pnpm neither read nor write pnpm-lock.yaml (install
 * --frozen-lockfile refuses to run, ERR_PNPM_NO_LOCKFILE, and a plain install resolves everything
 * anew). Checked with pnpm 9.15.9: `lockfile=false` in the project's .npmrc, in ~/.npmrc, or
 * `npm_config_lockfile=false` (any case) in the environment each installed lodash 4.18.1 where
 * the lockfile locks 4.17.20; `pnpm_config_lockfile=false` did not. Only `false` is false.
 */
export function pnpmLockfileOff(npmrcs: readonly SettingsFile[], env: Readonly<Record<string, string | undefined>>): LockfileOff | null {
  const envName = Object.keys(env).find((name) => name.toLowerCase() === 'npm_config_lockfile');
  if (envName !== undefined && env[envName] !== undefined) return env[envName] === 'false' ? { setting: 'lockfile=false', file: `the environment (${envName})` } : null;
  for (const npmrc of npmrcs) {
    const value = npmrcTopLevelSetting(npmrc.text, 'lockfile');
    if (value !== undefined) return value === 'false' ? { setting: 'lockfile=false', file: npmrc.path } : null;
  }
  return null;
}

/**
 * yarn 1's `--no-lockfile` as its .yarnrc files set it (`--no-lockfile true`,
 * `--install.no-lockfile true`, `--*.no-lockfile true`, the key quoted or not): yarn 1 then
 * neither reads nor writes yarn.lock, even with --frozen-lockfile. `rcs` are the files in the
 * order yarn 1.22 merges them (each key's last value wins): every directory's `.yarnrc` and
 * `.yarnrc.yml` from the root down to the project's, /etc's, the home directory's, $YARN_CONFIG.
 * Only an unquoted `true` turns the flag on (yarn passes a flag whose value is the boolean
 * `true`); checked with yarn 1.22.22, which installed lodash 4.18.1 with `yarn install
 * --frozen-lockfile` from a yarn.lock locking 4.17.20 under each of these forms, in the
 * project's .yarnrc, a parent directory's, ~/.yarnrc and $YARN_CONFIG, and kept the lockfile
 * when ~/.yarnrc set `--no-lockfile false` over the project's `true`.
 */
export function yarnV1LockfileOff(rcs: readonly SettingsFile[]): LockfileOff | null {
  const final = new Map<string, { on: boolean; file: string; line: number }>();
  for (const rc of rcs) {
    const lines = rc.text.split(/\r?\n/);
    lines.forEach((raw, index) => {
      if (raw === '' || /^\s/.test(raw) || raw.startsWith('#')) return;
      const m = /^(?:"((?:[^"\\]|\\.)*)"|([^\s,:"]+))[ \t]+(.*)$/.exec(raw);
      if (m === null) return;
      let key = m[2];
      if (key === undefined) {
        try {
          key = JSON.parse(`"${m[1] ?? ''}"`) as string;
        } catch {
          return;
        }
      }
      const command = /^--(?:([^.]+)\.)?no-lockfile$/.exec(key);
      if (command === null || !(command[1] === undefined || command[1] === '*' || command[1] === 'install')) return;
      final.set(key, { on: /^true[ \t]*(#.*)?$/.test(m[3] ?? ''), file: rc.path, line: index + 1 });
    });
  }
  for (const [key, value] of final) if (value.on) return { setting: `${key} true`, file: value.file, line: value.line };
  return null;
}
