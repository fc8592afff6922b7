import { StowageError } from '../core/errors.js';
import type { FleetSettings } from '../fleet/store/store.js';
import type { CandidateBuilder } from './candidate-builder.js';

/**
 * The builder campaign jobs run by default: the candidate pipeline (plan → apply → audit →
 * vendor → build → test → package) for one application.
 */
export interface PipelineContext {
  settings: FleetSettings;
  /** Where the fleet's advisory databases are cached (the audit step reads them). */
  cacheRoot: string;
}

export function pipelineBuilder(_context: PipelineContext): CandidateBuilder {
  return () => Promise.reject(new StowageError('this stowage has no candidate pipeline yet: the campaign recorded the application as failed'));
}
