/**
 * What went wrong, from git's stderr: its `fatal:`/`error:` lines and those of the programs it
 * ran (`ssh: Could not resolve hostname ...`), without hints and boilerplate. The last line
 * alone is often advice ("and the repository exists.") rather than the reason.
 */
export function gitFailureReason(stderr: string, fallback: string): string {
  const boilerplate = /^(Please make sure you have the correct access rights|and the repository exists\.)$/;
  const lines = stderr
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(hint|warning):/i.test(l) && !boilerplate.test(l))
    .map((l) => l.replace(/^(fatal|error): /, ''));
  const unique = [...new Set(lines)];
  const reason = unique.join('; ');
  if (reason === '') return fallback;
  return reason.length > 400 ? `${reason.slice(0, 400)}...` : reason;
}
