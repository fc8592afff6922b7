/**
 * stowage's git commands over an application's directory (its commit time, its tracked files)
 * read the repository's own configuration, which comes with the application's tree: the
 * settings through which git would run a command of the repository's choosing are overridden.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isolatedGitEnvironment } from '../../src/core/git-environment.js';
import { applicationSourceDateEpoch } from '../../src/core/source-date-epoch.js';
import { tempDir } from '../support/shared.js';

test("the commit time of a checkout whose .git/config has git log run its gpg.program: the time, and the program never runs", () => {
  const dir = tempDir('git-env-signed');
  const ran = join(tempDir('git-env-ran'), 'ran.txt');
  const env = { ...process.env, GIT_DIR: undefined, SOURCE_DATE_EPOCH: undefined } as NodeJS.ProcessEnv;
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' }).trim();
  git('init', '--quiet');
  writeFileSync(join(dir, 'main.rs'), 'fn main() {}\n');
  git('add', 'main.rs');
  // A signed commit (its signature is not checked here: any gpgsig header has git log call the program).
  const commit = [
    `tree ${git('write-tree')}`,
    'author a <a@example.org> 1700000000 +0000',
    'committer a <a@example.org> 1700000000 +0000',
    'gpgsig -----BEGIN PGP SIGNATURE-----',
    ' ',
    ' AAAA',
    ' -----END PGP SIGNATURE-----',
    '',
    'signed',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'commit.txt'), commit);
  git('update-ref', 'HEAD', git('hash-object', '-t', 'commit', '-w', 'commit.txt'));
  writeFileSync(join(dir, 'program.sh'), `#!/bin/sh\necho "$0 $*" >> ${JSON.stringify(ran)}\ncat > /dev/null\n`, { mode: 0o755 });
  git('config', 'log.showSignature', 'true');
  git('config', 'gpg.program', join(dir, 'program.sh'));
  git('config', 'core.fsmonitor', join(dir, 'program.sh'));

  assert.equal(applicationSourceDateEpoch(dir, env), 1700000000);
  const listed = spawnSync('git', ['ls-files'], { cwd: dir, env: isolatedGitEnvironment(env), encoding: 'utf8' });
  assert.equal(listed.stdout, 'main.rs\n');
  assert.equal(existsSync(ran) ? readFileSync(ran, 'utf8') : 'nothing ran', 'nothing ran');
});

test("the user's own command-line settings (GIT_CONFIG_COUNT) are kept beside stowage's", () => {
  const env = isolatedGitEnvironment({ GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.proxy', GIT_CONFIG_VALUE_0: 'http://proxy.example:3128' });
  const shown = spawnSync('git', ['config', '--get-regexp', '^(http\\.proxy|core\\.fsmonitor)$'], { env: { ...process.env, ...env }, encoding: 'utf8', cwd: tempDir('git-env-config') });
  assert.equal(shown.stdout, 'http.proxy http://proxy.example:3128\ncore.fsmonitor false\n');
});
