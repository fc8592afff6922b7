import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CandidateBuilder } from '../../src/campaign/candidate-builder.js';

/**
 * A small fleet for campaign tests: Rust applications (a directory each: Cargo.toml, Cargo.lock,
 * src/main.rs) that lock a crate a made-up advisory affects, and a cheap but real builder for
 * the queue's tests: it walks the pipeline's steps on the materialised source, really changes
 * the lockfile (the vulnerable version to the fixed one), writes the lockfile artifact, and
 * appends one line per application it ran to completion to a marker file.
 */

/** The pipeline's steps, in order. */
export const STEPS = ['plan', 'apply', 'audit', 'vendor', 'build', 'test', 'package'] as const;

export const VULNERABLE = { name: 'smallvec', from: '1.6.0', to: '1.6.1' };
export const ADVISORY_ID = 'RUSTSEC-2099-0101';

const CHECKSUM = 'a'.repeat(64);

export function cargoLock(app: string, version: string): string {
  return [
    'version = 3',
    '',
    '[[package]]',
    `name = "${app}"`,
    'version = "0.1.0"',
    'dependencies = [',
    ` "${VULNERABLE.name}",`,
    ']',
    '',
    '[[package]]',
    `name = "${VULNERABLE.name}"`,
    `version = "${version}"`,
    'source = "registry+https://github.com/rust-lang/crates.io-index"',
    `checksum = "${CHECKSUM}"`,
    '',
  ].join('\n');
}

/** An application directory NAME under `root`. */
export function writeRustApp(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'Cargo.toml'), `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n${VULNERABLE.name} = "1.6"\n`);
  writeFileSync(join(dir, 'Cargo.lock'), cargoLock(name, VULNERABLE.from));
  writeFileSync(join(dir, 'src', 'main.rs'), `fn main() { println!("${name}"); }\n`);
  return dir;
}

/**
 * The builder: `stepMs` per step; every finished application appends `app\n` to `markerFile`,
 * and every step started `app step\n` to `stepsFile`. Like the real pipeline it keeps its
 * progress in the work directory (`steps-done`) and skips the steps done there, so an attempt
 * resumed from a checkpoint goes on where the last one stopped. `hangAt`: that step never ends
 * (until the attempt is stopped), a worker to kill in the middle of it.
 */
export function cheapBuilder(options: { stepMs: number; markerFile: string; stepsFile?: string; hangAt?: string }): CandidateBuilder {
  return async (request, hooks) => {
    mkdirSync(request.workDir, { recursive: true });
    const progress = join(request.workDir, 'steps-done');
    const done = existsSync(progress) ? readFileSync(progress, 'utf8').split('\n') : [];
    for (const step of STEPS) {
      if (done.includes(step)) continue;
      await hooks.stepStarted(step);
      if (options.stepsFile !== undefined) appendFileSync(options.stepsFile, `${request.app} ${step}\n`);
      if (options.hangAt === step) {
        await new Promise((resolve) => hooks.signal.addEventListener('abort', resolve, { once: true }));
        await hooks.stepEnded(step, 'failed');
        return { state: 'failed', fix: [], blockedBy: null, failedStep: step, log: 'cancelled', artifacts: [] };
      }
      await new Promise((r) => setTimeout(r, options.stepMs));
      if (step === 'apply') {
        const lock = join(request.sourceDir, 'Cargo.lock');
        writeFileSync(lock, readFileSync(lock, 'utf8').replace(`version = "${VULNERABLE.from}"`, `version = "${VULNERABLE.to}"`));
      }
      if (step === 'package') copyFileSync(join(request.sourceDir, 'Cargo.lock'), join(request.workDir, 'Cargo.lock'));
      appendFileSync(progress, `${step}\n`);
      await hooks.stepEnded(step, 'done');
    }
    appendFileSync(options.markerFile, `${request.app}\n`);
    return {
      state: 'candidate',
      fix: [{ ecosystem: 'cargo', name: VULNERABLE.name, from: VULNERABLE.from, to: VULNERABLE.to, command: `cargo update -p ${VULNERABLE.name}@${VULNERABLE.from} --precise ${VULNERABLE.to}` }],
      blockedBy: null,
      failedStep: null,
      log: null,
      artifacts: [{ kind: 'lockfile', path: join(request.workDir, 'Cargo.lock') }],
    };
  };
}
