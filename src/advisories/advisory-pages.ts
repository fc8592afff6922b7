/**
 * Each advisory database's own page for the ids it issues, so a finding links to where its
 * database keeps it (fixes, affected functions, discussion), not only to NVD. The patterns are
 * exact: an id of another shape gets no link rather than a made-up one.
 */
const PAGES: readonly { id: RegExp; page: (id: string) => string }[] = [
  { id: /^RUSTSEC-\d{4}-\d{4}$/, page: (id) => `https://rustsec.org/advisories/${id}.html` },
  { id: /^GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}$/, page: (id) => `https://github.com/advisories/${id}` },
];

/** The database pages of these ids (an advisory's id, then its aliases), in that order. */
export function advisoryPages(ids: readonly string[]): string[] {
  const pages = ids.flatMap((id) => PAGES.filter((p) => p.id.test(id)).map((p) => p.page(id)));
  return [...new Set(pages)];
}
