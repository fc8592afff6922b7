import { createHash } from 'node:crypto';
import type { Advisory } from '../../core/advisory.js';
import type { Finding } from '../../core/finding.js';

/**
 * How a finding is kept in the store: its advisory record once in `advisories`, under the
 * digest of its JSON text, and the finding's row as the finding's JSON with that digest in the
 * advisory's place. Half of a finding's text is its advisory's description, and most findings of
 * a fleet share a few hundred advisories: a row is a fifth of the whole finding's size.
 *
 * Read back, the digest is replaced by the record parsed, at the same place among the finding's
 * keys: the finding is the same object, key for key, as the one written, so every output made
 * from it is byte-identical.
 */

/** A finding's row text: the text a sync compares to know whether a stored finding changed (its advisory's text included, through its digest). */
export type FindingRowText = string & { readonly findingRowText: unique symbol };

export interface FindingRow {
  /** JSON of the finding with `advisory` as the digest of the advisory's record. */
  text: FindingRowText;
  /** The digest of the advisory's record: base64url of the SHA-256 of `record`. */
  digest: string;
  /** JSON of the advisory. */
  record: string;
}

/** Digests of the advisory records met lately, by record text: the findings of a fleet share a few hundred. */
const digests = new Map<string, string>();
const MAX_REMEMBERED = 10_000;

export function advisoryDigest(record: string): string {
  let digest = digests.get(record);
  if (digest === undefined) {
    digest = createHash('sha256').update(record).digest('base64url');
    if (digests.size >= MAX_REMEMBERED) digests.clear();
    digests.set(record, digest);
  }
  return digest;
}

/** An advisory object's record text and digest: the findings of one application or sync share a few hundred advisory objects. */
const advisoryRows = new WeakMap<Advisory, { record: string; digest: string }>();

/** An advisory's record (its JSON) and the record's digest, made once per advisory object. */
export function advisoryRecord(advisory: Advisory): { record: string; digest: string } {
  let known = advisoryRows.get(advisory);
  if (known === undefined) {
    const record = JSON.stringify(advisory);
    known = { record, digest: advisoryDigest(record) };
    advisoryRows.set(advisory, known);
  }
  return known;
}

export function findingRow(finding: Finding): FindingRow {
  const { record, digest } = advisoryRecord(finding.advisory);
  // A spread keeps the keys' order, and `advisory` keeps its place with the digest as its value.
  return { text: JSON.stringify({ ...finding, advisory: digest }) as FindingRowText, digest, record };
}

/** A row as read: the finding with its advisory's digest still in place, and the text it was parsed from. */
export interface ParsedFindingRow {
  text: FindingRowText;
  /** The finding, its `advisory` still the digest until `resolve` replaces it. */
  partial: Finding;
  digest: string;
}

export function parseFindingRow(text: string): ParsedFindingRow {
  const partial = JSON.parse(text) as Finding;
  const digest = partial.advisory as unknown;
  if (typeof digest !== 'string') throw new Error('a stored finding without its advisory digest (a store not migrated?)');
  return { text: text as FindingRowText, partial, digest };
}

/**
 * A row's advisory digest, without parsing the row: findingRow writes `target` first and
 * `advisory` second (a finding's keys in their order), so the digest is the second member's
 * string. A JSON string holds no unescaped quote, so the pattern cannot match inside the
 * target's text. A row written otherwise is parsed.
 */
const LEADING_DIGEST = /^\{"target":"(?:[^"\\]|\\.)*","advisory":"([^"\\]*)"/;

export function findingRowDigest(text: string): string {
  return LEADING_DIGEST.exec(text)?.[1] ?? parseFindingRow(text).digest;
}

/**
 * Parsed advisory records by digest. A record is what its digest says it is, forever, so a
 * cache shared by every transaction of a store is never stale; findings read through it share
 * one object per advisory (nothing downstream changes an advisory).
 */
export class AdvisoryRecords {
  private readonly parsed = new Map<string, Advisory>();

  constructor(private readonly limit = MAX_REMEMBERED) {}

  /**
   * The findings of `rows`, their advisories in place: those not parsed yet are read through
   * `read` (by digest, any order) once each.
   */
  async resolve(rows: readonly ParsedFindingRow[], read: (digests: string[]) => Promise<{ digest: string; record: string }[]>): Promise<Finding[]> {
    const wanted = await this.advisories(
      rows.map((r) => r.digest),
      read,
    );
    return rows.map((row) => {
      const advisory = wanted.get(row.digest);
      if (advisory === undefined) throw new Error(`the fleet store has no advisory record ${row.digest}`);
      row.partial.advisory = advisory;
      return row.partial;
    });
  }

  /**
   * The advisories of these digests (repeats allowed), by digest: those not parsed yet are read
   * through `read` (by digest, any order) once each. A digest the store does not hold is absent.
   */
  async advisories(digests: Iterable<string>, read: (digests: string[]) => Promise<{ digest: string; record: string }[]>): Promise<Map<string, Advisory | undefined>> {
    const wanted = new Map<string, Advisory | undefined>();
    for (const digest of digests) if (!wanted.has(digest)) wanted.set(digest, this.parsed.get(digest));
    const missing = [...wanted].filter(([, a]) => a === undefined).map(([d]) => d);
    if (missing.length > 0) {
      if (this.parsed.size + missing.length > this.limit) this.parsed.clear();
      for (const { digest, record } of await read(missing)) {
        const advisory = JSON.parse(record) as Advisory;
        wanted.set(digest, advisory);
        this.parsed.set(digest, advisory);
      }
    }
    return wanted;
  }
}
