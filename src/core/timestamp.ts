/**
 * An advisory's date as an instant (milliseconds since the epoch): an RFC 3339 timestamp, its
 * offset and fraction applied, or a calendar date YYYY-MM-DD (midnight UTC); NaN when it is
 * neither. RFC 3339 allows a leap second (`23:59:60Z`), which Date.parse refuses: it is read as
 * the second after :59, the instant the next minute starts.
 */
export function timestampMs(text: string): number {
  const leap = /^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:)60(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(text);
  if (leap === null) return Date.parse(text);
  const before = Date.parse(`${leap[1]}59${leap[2]}`);
  return Number.isNaN(before) ? NaN : before + 1000;
}
