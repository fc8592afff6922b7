import { resolve } from 'node:path';
import { checkOutputPath, writeFileAtomically } from '../core/atomic-write.js';
import { EXIT_FINDINGS, EXIT_OK } from '../core/errors.js';
import { locatePackages } from '../core/graph.js';
import { devOnlyOfFailing, renderHuman, styleFor, type ColourChoice } from '../audit/report/human.js';
import { renderJson } from '../audit/report/json.js';
import { renderSarif } from '../audit/report/sarif.js';
import { auditApplication } from '../audit/run.js';
import { auditSettings, noteGivenInputs, type AuditFlags } from './audit-options.js';
import { outputFile, stdoutStream, warn, writeStdout } from './output.js';

export interface AuditOptions extends AuditFlags {
  format: 'human' | 'json' | 'sarif';
  output?: string;
  fixAdvice?: boolean;
  color: ColourChoice;
}

/** The report's last line when failing findings are reached only through development dependencies. */
function omitDevHint(failing: readonly { devOnly: boolean }[]): string {
  const which = devOnlyOfFailing(failing);
  return which === undefined ? '' : `  ${which} reached only through development dependencies: --omit dev audits what ships (vendor and package rpm take it too)\n`;
}

export async function auditCommand(paths: string[], opts: AuditOptions): Promise<number> {
  const targets = paths.length > 0 ? paths : ['.'];
  const output = outputFile(opts.output);
  noteGivenInputs(targets, opts);
  if (output !== undefined) checkOutputPath(resolve(output));
  const settings = auditSettings(targets[0] as string, opts);
  const { result, graphs } = await auditApplication({ paths: targets, ...settings, fixAdvice: opts.fixAdvice === true });
  // SARIF points each result at its package's entry in the lockfile: placed only for it.
  if (opts.format === 'sarif') for (const graph of graphs) locatePackages(graph);
  const text =
    opts.format === 'json'
      ? renderJson(result)
      : opts.format === 'sarif'
        ? renderSarif(result)
        : renderHuman(result, output !== undefined ? { colour: opts.color === 'always', width: 80 } : styleFor(stdoutStream(), process.env, opts.color)) +
          omitDevHint(result.findings.filter((f) => f.failsPolicy));
  if (output !== undefined) writeFileAtomically(resolve(output), Buffer.from(text, 'utf8'));
  else writeStdout(text);
  if (opts.format !== 'human' || output !== undefined) {
    for (const w of result.warnings) warn(w);
  }
  return result.findings.some((f) => f.failsPolicy) ? EXIT_FINDINGS : EXIT_OK;
}
