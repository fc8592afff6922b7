import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { EXIT_FINDINGS, EXIT_OK } from '../core/errors.js';
import { plural, renderHuman } from '../audit/report/human.js';
import { checkOutputPath, writeFileAtomically } from '../core/atomic-write.js';
import { compressionForPath } from '../core/archive.js';
import { applicationSourceDateEpoch } from '../core/source-date-epoch.js';
import { VendorRefused, archiveBytes, buildVendorTree, defaultArchivePath, projectDirOf } from '../vendoring/vendor-app.js';
import { verifyArchive } from '../vendoring/verify.js';
import { auditSettings, noteGivenInputs, type AuditFlags } from './audit-options.js';
import { cacheDir } from '../core/cache-dir.js';
import { progressReporter } from './progress.js';
import { terminalText } from '../core/terminal-text.js';
import { shellWord } from '../core/shell-word.js';
import { formatBytes, stderrStream, warn, writeStderr, writeStdout } from './output.js';

export interface VendorOptions extends AuditFlags {
  output?: string;
  jobs?: string;
}

function jobs(value: string | undefined): number {
  const n = value === undefined ? 8 : Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : 8;
}

export async function vendorCommand(path: string | undefined, opts: VendorOptions): Promise<number> {
  const target = path ?? '.';
  const output = resolve(opts.output ?? defaultArchivePath(projectDirOf(target)));
  compressionForPath(output); // a bad name is reported before any work
  noteGivenInputs([target], opts);
  checkOutputPath(output);
  const epoch = applicationSourceDateEpoch(projectDirOf(target), process.env);
  const progress = progressReporter('vendor', stderrStream());
  const audit = auditSettings(target, opts);
  let build;
  try {
    build = await buildVendorTree({
      path: target,
      audit,
      sourceDateEpoch: epoch,
      env: process.env,
      concurrency: jobs(opts.jobs),
      onProgress: progress.update,
      warn,
    });
  } catch (err) {
    progress.stop();
    if (err instanceof VendorRefused) {
      writeStderr(renderHuman(err.audit, { colour: false, width: 80 }));
      writeStderr(`stowage: ${terminalText(err.message)}\n`);
      return EXIT_FINDINGS;
    }
    throw err;
  }
  progress.stop();
  for (const w of build.audit.warnings) warn(w);
  const { bytes, entries } = await archiveBytes(build.files, build.manifest, output);
  writeFileAtomically(output, bytes);
  const accepted = build.manifest.audit.findings.filter((f) => f.accepted).length;
  const omitted = audit.policy.omit;
  writeStdout(
    `${terminalText(output)}: ${plural(build.manifest.packages.length, 'package')}, ${plural(entries, 'file')}, ${formatBytes(bytes.length)}\n` +
      `  sha256 ${createHash('sha256').update(bytes).digest('hex')}\n` +
      `  downloaded ${build.downloads.done - build.downloads.fromCache} (${formatBytes(build.downloads.bytes)}), ${build.downloads.fromCache} from the cache\n` +
      `  audit: ${plural(build.manifest.audit.findings.length, 'finding')}, none failing the policy` +
      (accepted > 0 ? `, ${accepted} accepted (reasons in stowage-manifest.json)` : '') +
      '\n' +
      (omitted.length > 0
        ? `  audit: judged what ships (--omit ${omitted.join(', ')}): packages only ${omitted.join(' or ')} dependencies bring in were not audited; the archive still holds them for the build\n`
        : ''),
  );
  return EXIT_OK;
}

export async function verifyCommand(archive: string, path: string | undefined, opts: { cacheDir?: string; jobs?: string }): Promise<number> {
  const progress = progressReporter('verify', stderrStream());
  const outcome = await verifyArchive({
    archive,
    path: path ?? projectDirOf(archive),
    cacheRoot: opts.cacheDir ?? cacheDir(),
    env: process.env,
    concurrency: jobs(opts.jobs),
    onProgress: progress.update,
    warn,
  }).finally(() => progress.stop());
  if (outcome.problems.length > 0) {
    writeStdout(`${terminalText(archive)}: does NOT match the lockfile\n`);
    for (const p of outcome.problems) writeStdout(`  ${terminalText(p)}\n`);
    return EXIT_FINDINGS;
  }
  writeStdout(
    `${terminalText(archive)}: verified: ${plural(outcome.manifest.packages.length, 'package')}, ${plural(outcome.files, 'file')}; ` +
      `every checksum holds and a rebuild reproduces the archive byte for byte\n  sha256 ${outcome.sha256}\n` +
      // The manifest's audit section is copied into the rebuild, not rebuilt (no database is
      // read here): what it says is the archive maker's claim, never this verification's.
      `  not checked: its manifest's audit record (${plural(outcome.manifest.audit.findings.length, 'finding')}) is the archive's own claim; ` +
      `\`stowage audit ${terminalText(shellWord(archive))}\` audits what it holds\n`,
  );
  return EXIT_OK;
}
