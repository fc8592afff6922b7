import type { Finding } from '../../core/finding.js';
import { advisoryPages } from '../../advisories/advisory-pages.js';

/**
 * `10.1.2 (in 10.x, the installed line); other lines: 13.1.2, 15.0.1`: a compatible update
 * first, so a fix on another branch never reads as one for the installed version.
 */
export function fixedText(f: Finding): string {
  const fix = f.fixedVersions;
  if (fix === null) return f.advisory.patched.length > 0 ? f.advisory.patched.join(', ') : 'no fixed release';
  if (fix.inLine.length === 0 && fix.otherLines.length === 0) return 'no fixed release';
  const own = fix.inLine.length > 0 ? `${fix.inLine.join(', ')} (in ${fix.line}, the installed line)` : `none in ${fix.line}, the installed line`;
  return fix.otherLines.length > 0 ? `${own}; other lines: ${fix.otherLines.join(', ')}` : own;
}

/** Which direct dependency to move: the package itself, or those that bring it in. */
export function moveText(f: Finding): string | null {
  const direct = f.directDependencies;
  if (direct.length === 0) return null;
  const self = `${f.package.name}@${f.package.version}`;
  if (direct.length === 1 && direct[0] === self) return `${f.package.name} (a direct dependency)`;
  const more = f.morePaths > 0 ? ` and ${f.morePaths} more` : '';
  return `${direct.map((d) => (d === self ? `${d} itself` : d)).join(', ')}${more} (the direct ${direct.length + f.morePaths === 1 ? 'dependency' : 'dependencies'} bringing it in)`;
}

/** The advisory's pages in its databases, then its own URL (often NVD's), each once. */
export function advisoryLinks(f: Finding): string[] {
  const a = f.advisory;
  return [...new Set([...advisoryPages([a.id, ...a.aliases]), ...(a.url ? [a.url] : [])])];
}

/** RustSec's affected functions, `path (versions)`: where the flaw is, when the advisory says. */
export function affectedFunctions(f: Pick<Finding, 'advisory'>): { path: string; versions: string[] }[] {
  return Object.entries(f.advisory.functions).map(([path, versions]) => ({ path, versions }));
}
