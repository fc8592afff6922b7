/**
 * Variables through which git would act on another repository than the one stowage names:
 * set in the user's shell or by a git hook (hooks export GIT_DIR), they would point stowage's
 * fetch/reset at the user's own repository.
 */
const REPOSITORY_VARIABLES = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_CEILING_DIRECTORIES',
  'GIT_PREFIX',
];

/**
 * Settings of a repository's own configuration (`.git/config`, which comes with the application's
 * tree as any other file) that make git run a command for what stowage asks: `git ls-files` runs
 * core.fsmonitor, `git log` runs gpg.program on a signed commit when log.showSignature is set.
 * Given on git's command line (GIT_CONFIG_COUNT), they win over the repository's.
 */
const COMMAND_SETTINGS: [string, string][] = [
  ['core.fsmonitor', 'false'],
  ['log.showSignature', 'false'],
];

/**
 * The environment for stowage's git commands: the user's, minus repository overrides, no
 * prompts, and none of a repository's settings that run commands.
 */
export function isolatedGitEnvironment(base: NodeJS.ProcessEnv, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const name of REPOSITORY_VARIABLES) delete env[name];
  // After the user's own command-line settings, if any.
  const given = Number(env.GIT_CONFIG_COUNT ?? '0');
  const first = Number.isSafeInteger(given) && given > 0 ? given : 0;
  COMMAND_SETTINGS.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${first + i}`] = key;
    env[`GIT_CONFIG_VALUE_${first + i}`] = value;
  });
  env.GIT_CONFIG_COUNT = String(first + COMMAND_SETTINGS.length);
  return { ...env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C', ...extra };
}
