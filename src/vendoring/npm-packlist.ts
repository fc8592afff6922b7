import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { StowageError } from '../core/errors.js';
import { vendorPathProblem, type ArchiveFile } from '../core/untrusted-tar.js';

/*
 * The files `npm pack` would put in a package, by npm's own rules (npm-packlist: package.json's
 * `files`, .npmignore or else .gitignore in every directory, the files always included and
 * always left out). Package managers pack a git dependency so before installing it (pnpm's
 * git fetchers run npm-packlist on the checkout), and stowage cannot reproduce those rules
 * exactly without npm-packlist itself: so npm is asked, in a directory holding the files and
 * nothing else, with `--dry-run` (it only reads the tree), `--ignore-scripts` and `--offline`.
 * `.npmrc` files are left out of that directory: npm never packs them, and the top one would be
 * read as npm's settings (a repository's text is not configuration).
 */

const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** The paths of `files` that `npm pack` packs; `label` names the package in errors. */
export async function npmPackList(files: readonly ArchiveFile[], label: string, env: NodeJS.ProcessEnv): Promise<Set<string>> {
  const work = await mkdtemp(join(tmpdir(), 'stowage-npm-pack-'));
  try {
    const dir = join(work, 'package');
    for (const file of files) {
      const problem = vendorPathProblem(file.path);
      if (problem !== null) throw new StowageError(`${label}: ${JSON.stringify(file.path)}: ${problem}`);
      if (file.path === '.npmrc' || file.path.endsWith('/.npmrc')) continue;
      await mkdir(dirname(join(dir, file.path)), { recursive: true });
      await writeFile(join(dir, file.path), file.data, { mode: file.mode });
    }
    const home = join(work, 'home');
    await mkdir(home);
    // No user or global settings: npm reads both, and refuses one file for the two.
    const userConfig = join(work, 'user-npmrc');
    const globalConfig = join(work, 'global-npmrc');
    await writeFile(userConfig, '');
    await writeFile(globalConfig, '');
    const cleanEnv: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(env)) if (!/^npm_/i.test(key)) cleanEnv[key] = value;
    const output = await run(['pack', '--dry-run', '--json', '--ignore-scripts', '--offline', '--loglevel=error'], dir, {
      ...cleanEnv,
      HOME: home,
      npm_config_userconfig: userConfig,
      npm_config_globalconfig: globalConfig,
      npm_config_cache: join(home, 'cache'),
      npm_config_update_notifier: 'false',
    });
    let listed: unknown;
    try {
      listed = JSON.parse(output);
    } catch {
      throw new StowageError(`${label}: npm pack --dry-run --json printed no JSON`);
    }
    const first = Array.isArray(listed) ? (listed[0] as { files?: unknown } | undefined) : undefined;
    if (!Array.isArray(first?.files)) throw new StowageError(`${label}: npm pack --dry-run --json listed no files`);
    return new Set((first.files as Array<{ path?: unknown }>).map((f) => String(f.path)));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_OUTPUT_BYTES) out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => reject(new StowageError(`cannot run npm (needed to list what npm pack packs): ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0 && size <= MAX_OUTPUT_BYTES) resolve(Buffer.concat(out).toString('utf8'));
      else {
        const message = Buffer.concat(err).toString('utf8').trim().split('\n').filter(Boolean).pop() ?? `exit ${code}`;
        reject(new StowageError(`npm pack --dry-run failed: ${message}`));
      }
    });
  });
}
