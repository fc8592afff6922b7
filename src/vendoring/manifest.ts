import { isAbsolute, relative, sep } from 'node:path';
import type { AuditResult } from '../audit/audit.js';
import type { ManifestFinding } from '../inputs/vendor-manifest.js';

/**
 * `projectDir` makes a policy file's path relative (`stowage.toml`), so the manifest does not
 * depend on where the application was checked out.
 */
export function manifestFindings(result: AuditResult, projectDir: string): ManifestFinding[] {
  const origin = (o: string): string => (isAbsolute(o) ? relative(projectDir, o).split(sep).join('/') : o);
  return result.findings.map((f) => ({
    id: f.advisory.id,
    aliases: f.advisory.aliases,
    kind: f.advisory.kind,
    package: f.package.name,
    version: f.package.version,
    severity: f.advisory.severity?.level ?? null,
    accepted: f.ignored ? { reason: f.ignored.reason, expires: f.ignored.expires, origin: origin(f.ignored.origin) } : null,
  }));
}
