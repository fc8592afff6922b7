import { spawnSync } from 'node:child_process';
import { DEFAULT_SOURCE_DATE_EPOCH, sourceDateEpoch } from './archive.js';
import { isolatedGitEnvironment } from './git-environment.js';

/**
 * The timestamp every output of an application carries (archive mtimes, the SRPM's build time,
 * SBOM timestamps), so that the same checkout gives the same bytes with no variable set:
 * `SOURCE_DATE_EPOCH` when given; else the last commit's time when `projectDir` is in a git
 * checkout (as reproducible-builds.org advises); else DEFAULT_SOURCE_DATE_EPOCH (1980-01-01).
 * Never the clock.
 */
export function applicationSourceDateEpoch(projectDir: string, env: NodeJS.ProcessEnv): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw !== undefined && raw !== '') return sourceDateEpoch(env);
  const log = spawnSync('git', ['log', '-1', '--format=%ct', '--', '.'], { cwd: projectDir, env: isolatedGitEnvironment(env), encoding: 'utf8' });
  // Not a checkout, no commit yet, or no git: the fixed epoch, the same on every machine.
  const committed = log.status === 0 ? log.stdout.trim() : '';
  return /^[0-9]+$/.test(committed) ? sourceDateEpoch({ SOURCE_DATE_EPOCH: committed }) : DEFAULT_SOURCE_DATE_EPOCH;
}
