/**
 * The kinds of work a run loaded code for (one per lockfile format it parsed), so that the
 * launcher's code cache (src/cli/launcher.ts) is refreshed when a run needed code the cache was
 * not made with: a cache written after a Cargo audit lacks the npm parser, and the reverse.
 */
const kinds = new Set<string>();

export function noteCodeKind(kind: string): void {
  kinds.add(kind);
}

export function codeKinds(): string[] {
  return [...kinds].sort();
}
