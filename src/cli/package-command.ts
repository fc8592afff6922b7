import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT_FINDINGS, EXIT_OK, StowageError } from '../core/errors.js';
import { plural, renderHuman } from '../audit/report/human.js';
import { applicationSourceDateEpoch } from '../core/source-date-epoch.js';
import { VendorRefused, projectDirOf } from '../vendoring/vendor-app.js';
import { packageRpm, sha256 } from '../package/rpm-package.js';
import { writeRpmOutputs } from '../package/rpm-outputs.js';
import type { RpmFlavor } from '../package/rpm-flavor.js';
import { auditSettings, noteGivenInputs, type AuditFlags } from './audit-options.js';
import { progressReporter } from './progress.js';
import { terminalText } from '../core/terminal-text.js';
import { stderrStream, warn, writeStderr, writeStdout } from './output.js';

export interface PackageRpmOptions extends AuditFlags {
  output?: string;
  srpm?: boolean;
  flavor: RpmFlavor;
  vendor?: string;
  license?: string[];
  release: string;
  jobs?: string;
}

/**
 * The output directory is made if missing; what exists must be a directory (a link to one is
 * followed: the files are made inside it, the link itself is not replaced).
 */
function checkOutputDirectory(dir: string): void {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st !== undefined && !st.isDirectory()) throw new StowageError('refusing to write: not a directory (-o names the output directory)', dir);
}

export async function packageRpmCommand(path: string | undefined, opts: PackageRpmOptions): Promise<number> {
  const target = path ?? '.';
  const outDir = resolve(opts.output ?? join(projectDirOf(target), 'rpm'));
  noteGivenInputs([target], opts);
  checkOutputDirectory(outDir);
  const jobs = opts.jobs === undefined ? 8 : Number(opts.jobs);
  const progress = progressReporter('package', stderrStream());
  let result;
  try {
    result = await packageRpm({
      path: target,
      outDir,
      flavor: opts.flavor,
      release: opts.release,
      licenses: opts.license ?? [],
      ...(opts.vendor !== undefined ? { vendorArchive: opts.vendor } : {}),
      audit: auditSettings(target, opts),
      sourceDateEpoch: applicationSourceDateEpoch(projectDirOf(target), process.env),
      srpm: opts.srpm === true,
      env: process.env,
      concurrency: Number.isInteger(jobs) && jobs >= 1 && jobs <= 64 ? jobs : 8,
      onProgress: progress.update,
      warn,
    });
  } catch (err) {
    if (err instanceof VendorRefused) {
      progress.stop();
      writeStderr(renderHuman(err.audit, { colour: false, width: 80 }));
      writeStderr(`stowage: ${terminalText(err.message)}\n`);
      return EXIT_FINDINGS;
    }
    throw err;
  } finally {
    progress.stop();
  }
  for (const w of result.audit.warnings) warn(w);
  writeRpmOutputs(outDir, result.outputs);
  const lines = [
    `${join(outDir, result.specName)}: ${result.rpmName} ${result.rpmVersion}-${opts.release}, ${plural(result.bundled.length, 'bundled library', 'bundled libraries')}`,
    `  License: ${result.license}`,
    `  source: ${result.fromGit ? 'git-tracked files' : 'the directory (no git checkout)'}`,
  ];
  for (const output of result.outputs.slice(1)) lines.push(`  ${output.name}  sha256 ${sha256(output.data)}`);
  // Names and paths come from the application's manifest: each line shown as one line.
  writeStdout(`${lines.map(terminalText).join('\n')}\n`);
  return EXIT_OK;
}
