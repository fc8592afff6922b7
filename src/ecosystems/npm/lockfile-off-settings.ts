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
 * `--install.no-lockfile true`, `--*.no-lockfile true`, in any form yarn's parser reads: the key
 * quoted or not, a colon after it, several keys separated by commas): yarn 1 then neither reads
 * nor writes yarn.lock, even with --frozen-lockfile. `rcs` are the files in the order yarn 1.22
 * merges them (each key's last value wins): every directory's `.yarnrc` and `.yarnrc.yml` from
 * the root down to the project's, /etc's, the home directory's, $YARN_CONFIG. Only an unquoted
 * `true` turns the flag on (yarn passes a flag whose value is the boolean `true`); checked with
 * yarn 1.22.22, which installed lodash 4.18.1 with `yarn install --frozen-lockfile` from a
 * yarn.lock locking 4.17.20 under each of these forms, in the project's .yarnrc, a parent
 * directory's, ~/.yarnrc and $YARN_CONFIG, and kept the lockfile when ~/.yarnrc set
 * `--no-lockfile false` over the project's `true`.
 */
export function yarnV1LockfileOff(rcs: readonly SettingsFile[]): LockfileOff | null {
  const final = new Map<string, { on: boolean; file: string; line: number }>();
  for (const rc of rcs) {
    for (const entry of yarnRcTopLevel(rc.text)) {
      const command = /^--(?:([^.]+)\.)?no-lockfile$/.exec(entry.key);
      if (command === null || !(command[1] === undefined || command[1] === '*' || command[1] === 'install')) continue;
      final.set(entry.key, { on: entry.value === true, file: rc.path, line: entry.line });
    }
  }
  for (const [key, value] of final) if (value.on) return { setting: `${key} true`, file: value.file, line: value.line };
  return null;
}

type YarnToken = { type: 'newline' | 'indent' | 'string' | 'boolean' | 'number' | 'colon' | 'comma' | 'invalid' | 'eof'; line: number; value?: unknown };

/**
 * The tokens of yarn 1.22's lockfile/.yarnrc tokenizer (lib/cli.js `tokenise`), comments left
 * out: a key runs to a colon, space, comma or line end (a tab is part of it), the first line's
 * leading spaces are skipped, and a later line's are an indent (an odd count is an error).
 */
function yarnTokens(text: string): YarnToken[] {
  const tokens: YarnToken[] = [];
  let input = text;
  let line = 1;
  let lastNewline = false;
  while (input.length > 0) {
    let chop = 0;
    const c = input[0];
    if (c === '\n' || c === '\r') {
      chop = input[1] === '\n' ? 2 : 1;
      line++;
      tokens.push({ type: 'newline', line });
    } else if (c === '#') {
      const end = input.indexOf('\n', 1);
      chop = end === -1 ? input.length : end;
    } else if (c === ' ') {
      if (lastNewline) {
        let size = 1;
        while (input[size] === ' ') size++;
        if (size % 2 !== 0) throw new Error('Invalid number of spaces');
        chop = size;
        tokens.push({ type: 'indent', line, value: size / 2 });
      } else chop = 1;
    } else if (c === '"') {
      let i = 1;
      for (; i < input.length; i++) {
        if (input[i] === '"' && !(input[i - 1] === '\\' && input[i - 2] !== '\\')) {
          i++;
          break;
        }
      }
      chop = i;
      try {
        tokens.push({ type: 'string', line, value: JSON.parse(input.slice(0, i)) as unknown });
      } catch {
        tokens.push({ type: 'invalid', line });
      }
    } else if (/^[0-9]/.test(input)) {
      const digits = /^[0-9]+/.exec(input)?.[0] ?? '';
      chop = digits.length;
      tokens.push({ type: 'number', line, value: Number(digits) });
    } else if (input.startsWith('true')) {
      chop = 4;
      tokens.push({ type: 'boolean', line, value: true });
    } else if (input.startsWith('false')) {
      chop = 5;
      tokens.push({ type: 'boolean', line, value: false });
    } else if (c === ':' || c === ',') {
      chop = 1;
      tokens.push({ type: c === ':' ? 'colon' : 'comma', line });
    } else if (/^[a-zA-Z/.-]/.test(input)) {
      let i = 0;
      while (i < input.length && !':\n\r, '.includes(input[i] as string)) i++;
      chop = i;
      tokens.push({ type: 'string', line, value: input.slice(0, i) });
    } else {
      tokens.push({ type: 'invalid', line });
    }
    if (chop === 0) throw new Error('Invalid token');
    lastNewline = c === '\n' || (c === '\r' && input[1] === '\n');
    input = input.slice(chop);
  }
  tokens.push({ type: 'eof', line });
  return tokens;
}

/**
 * The top-level keys of a .yarnrc with their plain values (an object's value is null) and lines,
 * as yarn 1.22's Parser reads them. A file that parser refuses yarn reads as YAML with every value
 * a string, which never turns a flag on: none then.
 */
function yarnRcTopLevel(text: string): { key: string; value: unknown; line: number }[] {
  let tokens: YarnToken[];
  try {
    tokens = yarnTokens(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return [];
  }
  let at = 0;
  const token = (): YarnToken => tokens[at] as YarnToken;
  const next = (): YarnToken => tokens[Math.min(++at, tokens.length - 1)] as YarnToken;
  const fail = (): never => {
    throw new Error('unexpected token');
  };
  const parse = (indent: number, out: { key: string; value: unknown; line: number }[] | null): void => {
    for (;;) {
      const prop = token();
      if (prop.type === 'newline') {
        const after = next();
        if (indent === 0) continue;
        if (after.type !== 'indent' || after.value !== indent) break;
        next();
      } else if (prop.type === 'indent') {
        if (prop.value !== indent) break;
        next();
      } else if (prop.type === 'eof') {
        break;
      } else if (prop.type === 'string') {
        const keys = [String(prop.value)];
        next();
        while (token().type === 'comma') {
          const key = next();
          if (key.type !== 'string') fail();
          keys.push(String(key.value));
          next();
        }
        const wasColon = token().type === 'colon';
        if (wasColon) next();
        const value = token();
        if (value.type === 'boolean' || value.type === 'string' || value.type === 'number') {
          for (const key of keys) out?.push({ key, value: value.value, line: prop.line });
          next();
        } else if (wasColon) {
          parse(indent + 1, null);
          for (const key of keys) out?.push({ key, value: null, line: prop.line });
          if (indent !== 0 && token().type !== 'indent') break;
        } else fail();
      } else fail();
    }
  };
  const entries: { key: string; value: unknown; line: number }[] = [];
  try {
    parse(0, entries);
  } catch {
    return [];
  }
  return entries;
}
