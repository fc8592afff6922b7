import { readFileSync } from 'node:fs';
import type { FetchPolicy } from '../advisories/source.js';
import { findPolicyFile, readPolicyText } from '../audit/policy.js';
import { POLICY_DOCUMENT, revisionPolicy } from '../fleet/evaluate.js';
import type { ArtifactKind } from '../fleet/store/campaign-store.js';
import type { FleetSettings } from '../fleet/store/store.js';
import { blockerText } from '../fixes/report.js';
import type { CandidateArtifact, CandidateBuilder } from './candidate-builder.js';
import { buildCandidate, type CandidateArtifacts } from './candidate.js';
import type { SandboxMode } from './sandbox.js';

/**
 * The builder campaign jobs run: the candidate pipeline (./candidate.ts) for one application,
 * audited with the fleet's databases and the policy the application's source carries, its
 * answer turned into what the job records.
 */
export interface PipelineContext {
  settings: FleetSettings;
  /** Where the fleet's advisory databases are cached (the audit step reads them). */
  cacheRoot: string;
  fetch: FetchPolicy;
}

/** The end of a log: what `campaign show` keeps of a failed step's. */
const LOG_TAIL = 64 * 1024;

function readTail(file: string): string {
  const text = readFileSync(file, 'utf8');
  return text.length > LOG_TAIL ? text.slice(-LOG_TAIL) : text;
}

export function pipelineBuilder(context: PipelineContext): CandidateBuilder {
  return async (request, hooks) => {
    const policyFile = findPolicyFile(undefined, request.sourceDir);
    const policy = revisionPolicy(context.settings, policyFile === null ? null : readPolicyText(policyFile), policyFile ?? POLICY_DOCUMENT);
    const outcome = await buildCandidate(
      {
        workDir: request.workDir,
        advisory: request.advisory,
        audit: { policy, databases: context.settings.databases, fetch: context.fetch, cacheRoot: context.cacheRoot },
        sandbox: request.sandbox as SandboxMode,
        publish: true,
        allowedRegistries: context.settings.allowedRegistries ?? [],
      },
      {
        stepStarted: (step) => hooks.stepStarted(step),
        stepEnded: (step) => hooks.stepEnded(step.step, step.state === 'failed' ? 'failed' : 'done'),
        signal: hooks.signal,
      },
    );
    const files = outcome.artifacts as CandidateArtifacts;
    const artifacts: CandidateArtifact[] = [];
    for (const kind of ['lockfile', 'patch', 'vendor', 'srpm', 'sbom', 'log'] as const satisfies readonly ArtifactKind[]) {
      const path = files[kind];
      if (path !== null) artifacts.push({ kind, path });
    }
    const blockers = outcome.blockedBy.map((b, i) => blockerText(b, i === 0));
    return {
      state: outcome.state,
      fix: outcome.fix,
      blockedBy: outcome.state === 'needs-review' ? (blockers.length > 0 ? blockers.join('\n') : outcome.reason) : null,
      failedStep: outcome.failedStep,
      log: outcome.state === 'failed' ? `${outcome.reason ?? ''}\n${readTail(files.log)}` : null,
      artifacts: outcome.state === 'candidate' ? artifacts : [],
    };
  };
}
