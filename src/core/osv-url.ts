/**
 * A record's page on osv.dev. The id comes from a database, so it is one path segment,
 * percent-encoded: an id holding `/`, `?` or `#` does not make a link to another page. `.` and
 * `..` stay as they are when encoded, and a URL reads them as "this" and "the parent" directory
 * (encoded too): such an id gets osv.dev's search for it instead.
 */
export function osvRecordUrl(id: string): string {
  const segment = encodeURIComponent(id);
  return segment === '.' || segment === '..' ? `https://osv.dev/list?q=${segment}` : `https://osv.dev/vulnerability/${segment}`;
}
