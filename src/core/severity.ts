import cvssCalculator from 'ae-cvss-calculator';
import type { Severity, SeverityLevel } from './advisory.js';
import { ownValue } from './own-value.js';

/**
 * Qualitative severity from CVSS vectors (v2, v3.0, v3.1, v4.0) and from databases' own labels.
 *
 * v2 and v3.x base scores are computed with the FIRST formulas (short, stable, tested here
 * against NVD's published scores). v4.0 scores come from ae-cvss-calculator: they need the
 * specification's macrovector lookup table, which is not worth keeping by hand. Threat
 * metrics, when a v4 vector carries them (E:U), lower the score as the specification says.
 */

/** CVSS v3/v4 qualitative rating scale; applied to v2 scores as well. */
export function severityLevelOfScore(score: number): SeverityLevel {
  if (score === 0) return 'none';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9) return 'high';
  return 'critical';
}

/**
 * A database's own rating (GHSA `database_specific.severity`: LOW, MODERATE, HIGH, CRITICAL,
 * in any case). Null when the label is not one of the known ratings.
 */
export function severityFromLabel(label: string): Severity | null {
  const level = ownValue(LABELS, label.trim().toLowerCase());
  return level ? { level, score: null, vector: null } : null;
}

const LABELS: Record<string, SeverityLevel | undefined> = {
  none: 'none',
  low: 'low',
  moderate: 'medium',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
};

/** Severity of a CVSS vector. Throws an Error saying what is wrong with a malformed vector. */
export function severityFromCvss(vector: string): Severity {
  const text = vector.trim();
  if (text.startsWith('CVSS:3.0/') || text.startsWith('CVSS:3.1/')) {
    const score = scoreV3(text);
    return { level: severityLevelOfScore(score), score, vector: text };
  }
  if (text.startsWith('CVSS:4.0/')) return severityV4(text);
  if (text.startsWith('CVSS:')) {
    throw new Error(`unsupported CVSS version in vector "${vector}" (expected 2.0, 3.0, 3.1 or 4.0)`);
  }
  // v2 vectors carry no version prefix; NVD sometimes wraps them in parentheses.
  const v2 = text.replace(/^\((.*)\)$/, '$1');
  if (/(^|\/)Au:/.test(v2)) {
    const score = scoreV2(v2);
    return { level: severityLevelOfScore(score), score, vector: text };
  }
  throw new Error(`not a CVSS vector: "${vector}"`);
}

type MetricTable = Record<string, readonly string[]>;

/** Splits `prefix/K:V/K:V`, checking every metric name, value, and that base metrics are all there. */
function parseMetrics(
  vector: string,
  parts: string[],
  base: MetricTable,
  optional: MetricTable,
): Map<string, string> {
  const metrics = new Map<string, string>();
  for (const part of parts) {
    const colon = part.indexOf(':');
    if (colon <= 0) throw new Error(`malformed CVSS vector "${vector}": "${part}" is not METRIC:VALUE`);
    const name = part.slice(0, colon);
    const value = part.slice(colon + 1);
    const allowed = ownValue(base, name) ?? ownValue(optional, name);
    if (!allowed) throw new Error(`malformed CVSS vector "${vector}": unknown metric "${name}"`);
    if (!allowed.includes(value)) {
      throw new Error(
        `malformed CVSS vector "${vector}": ${name}:${value} is not one of ${allowed.map((v) => `${name}:${v}`).join(', ')}`,
      );
    }
    if (metrics.has(name)) throw new Error(`malformed CVSS vector "${vector}": metric ${name} given twice`);
    metrics.set(name, value);
  }
  const missing = Object.keys(base).filter((name) => !metrics.has(name));
  if (missing.length > 0) {
    throw new Error(`malformed CVSS vector "${vector}": missing base metric${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  return metrics;
}

/** Value of a base metric that parseMetrics has verified to be present. */
function get(metrics: Map<string, string>, name: string): string {
  const value = metrics.get(name);
  if (value === undefined) throw new Error(`CVSS metric ${name} missing`);
  return value;
}

function weight(table: Record<string, number>, value: string): number {
  const w = table[value];
  if (w === undefined) throw new Error(`no CVSS weight for ${value}`);
  return w;
}

// ---------------------------------------------------------------------------------------
// CVSS v3.0 / v3.1 (specification sections 7.1 and 7.4, Appendix A for Roundup).

const V3_BASE: MetricTable = {
  AV: ['N', 'A', 'L', 'P'],
  AC: ['L', 'H'],
  PR: ['N', 'L', 'H'],
  UI: ['N', 'R'],
  S: ['U', 'C'],
  C: ['H', 'L', 'N'],
  I: ['H', 'L', 'N'],
  A: ['H', 'L', 'N'],
};

const V3_OPTIONAL: MetricTable = {
  E: ['X', 'U', 'P', 'F', 'H'],
  RL: ['X', 'O', 'T', 'W', 'U'],
  RC: ['X', 'U', 'R', 'C'],
  CR: ['X', 'L', 'M', 'H'],
  IR: ['X', 'L', 'M', 'H'],
  AR: ['X', 'L', 'M', 'H'],
  MAV: ['X', 'N', 'A', 'L', 'P'],
  MAC: ['X', 'L', 'H'],
  MPR: ['X', 'N', 'L', 'H'],
  MUI: ['X', 'N', 'R'],
  MS: ['X', 'U', 'C'],
  MC: ['X', 'N', 'L', 'H'],
  MI: ['X', 'N', 'L', 'H'],
  MA: ['X', 'N', 'L', 'H'],
};

const V3_AV = { N: 0.85, A: 0.62, L: 0.55, P: 0.2 };
const V3_AC = { L: 0.77, H: 0.44 };
const V3_PR_UNCHANGED = { N: 0.85, L: 0.62, H: 0.27 };
const V3_PR_CHANGED = { N: 0.85, L: 0.68, H: 0.5 };
const V3_UI = { N: 0.85, R: 0.62 };
const V3_CIA = { H: 0.56, L: 0.22, N: 0 };

interface V3Base {
  AV: string;
  AC: string;
  PR: string;
  UI: string;
  S: string;
  C: string;
  I: string;
  A: string;
}

/** The v3 base score; `version31` selects the 3.1 Roundup that avoids floating-point error. */
function baseScoreV3(m: V3Base, version31: boolean): number {
  const changed = m.S === 'C';
  const iss = 1 - (1 - weight(V3_CIA, m.C)) * (1 - weight(V3_CIA, m.I)) * (1 - weight(V3_CIA, m.A));
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const exploitability =
    8.22 *
    weight(V3_AV, m.AV) *
    weight(V3_AC, m.AC) *
    weight(changed ? V3_PR_CHANGED : V3_PR_UNCHANGED, m.PR) *
    weight(V3_UI, m.UI);
  if (impact <= 0) return 0;
  const raw = changed ? Math.min(1.08 * (impact + exploitability), 10) : Math.min(impact + exploitability, 10);
  return version31 ? roundUp31(raw) : Math.ceil(raw * 10) / 10;
}

/** CVSS 3.1 Appendix A: the smallest one-decimal number >= x, computed on integers. */
function roundUp31(x: number): number {
  const scaled = Math.round(x * 100000);
  if (scaled % 10000 === 0) return scaled / 100000;
  return (Math.floor(scaled / 10000) + 1) / 10;
}

function scoreV3(vector: string): number {
  const [prefix, ...parts] = vector.split('/');
  const m = parseMetrics(vector, parts, V3_BASE, V3_OPTIONAL);
  const base: V3Base = {
    AV: get(m, 'AV'),
    AC: get(m, 'AC'),
    PR: get(m, 'PR'),
    UI: get(m, 'UI'),
    S: get(m, 'S'),
    C: get(m, 'C'),
    I: get(m, 'I'),
    A: get(m, 'A'),
  };
  return baseScoreV3(base, prefix === 'CVSS:3.1');
}

// ---------------------------------------------------------------------------------------
// CVSS v2 (specification section 3.2.1).

const V2_BASE: MetricTable = {
  AV: ['L', 'A', 'N'],
  AC: ['H', 'M', 'L'],
  Au: ['M', 'S', 'N'],
  C: ['N', 'P', 'C'],
  I: ['N', 'P', 'C'],
  A: ['N', 'P', 'C'],
};

const V2_OPTIONAL: MetricTable = {
  E: ['U', 'POC', 'F', 'H', 'ND'],
  RL: ['OF', 'TF', 'W', 'U', 'ND'],
  RC: ['UC', 'UR', 'C', 'ND'],
  CDP: ['N', 'L', 'LM', 'MH', 'H', 'ND'],
  TD: ['N', 'L', 'M', 'H', 'ND'],
  CR: ['L', 'M', 'H', 'ND'],
  IR: ['L', 'M', 'H', 'ND'],
  AR: ['L', 'M', 'H', 'ND'],
};

function scoreV2(vector: string): number {
  const m = parseMetrics(vector, vector.split('/'), V2_BASE, V2_OPTIONAL);
  const cia = { N: 0, P: 0.275, C: 0.66 };
  const impact =
    10.41 *
    (1 - (1 - weight(cia, get(m, 'C'))) * (1 - weight(cia, get(m, 'I'))) * (1 - weight(cia, get(m, 'A'))));
  const exploitability =
    20 *
    weight({ L: 0.395, A: 0.646, N: 1 }, get(m, 'AV')) *
    weight({ H: 0.35, M: 0.61, L: 0.71 }, get(m, 'AC')) *
    weight({ M: 0.45, S: 0.56, N: 0.704 }, get(m, 'Au'));
  const f = impact === 0 ? 0 : 1.176;
  const raw = (0.6 * impact + 0.4 * exploitability - 1.5) * f;
  // round_to_1_decimal; the epsilon keeps 4.35 (stored as 4.3499999...) rounding up as the spec intends.
  return Math.max(0, Math.round(raw * 10 + 1e-9) / 10);
}

// ---------------------------------------------------------------------------------------
// CVSS v4.0: vector validation here; scoring by ae-cvss-calculator.

const V4_BASE: MetricTable = {
  AV: ['N', 'A', 'L', 'P'],
  AC: ['L', 'H'],
  AT: ['N', 'P'],
  PR: ['N', 'L', 'H'],
  UI: ['N', 'P', 'A'],
  VC: ['H', 'L', 'N'],
  VI: ['H', 'L', 'N'],
  VA: ['H', 'L', 'N'],
  SC: ['H', 'L', 'N'],
  SI: ['H', 'L', 'N'],
  SA: ['H', 'L', 'N'],
};

const V4_OPTIONAL: MetricTable = {
  E: ['X', 'A', 'P', 'U'],
  CR: ['X', 'H', 'M', 'L'],
  IR: ['X', 'H', 'M', 'L'],
  AR: ['X', 'H', 'M', 'L'],
  MAV: ['X', 'N', 'A', 'L', 'P'],
  MAC: ['X', 'L', 'H'],
  MAT: ['X', 'N', 'P'],
  MPR: ['X', 'N', 'L', 'H'],
  MUI: ['X', 'N', 'P', 'A'],
  MVC: ['X', 'H', 'L', 'N'],
  MVI: ['X', 'H', 'L', 'N'],
  MVA: ['X', 'H', 'L', 'N'],
  MSC: ['X', 'H', 'L', 'N'],
  MSI: ['X', 'S', 'H', 'L', 'N'],
  MSA: ['X', 'S', 'H', 'L', 'N'],
  S: ['X', 'N', 'P'],
  AU: ['X', 'N', 'Y'],
  R: ['X', 'A', 'U', 'I'],
  V: ['X', 'D', 'C'],
  RE: ['X', 'L', 'M', 'H'],
  U: ['X', 'Clear', 'Green', 'Amber', 'Red'],
};

function severityV4(vector: string): Severity {
  // Validation stays ours (exact messages); the score needs the specification's macrovector
  // table, which ae-cvss-calculator implements and keeps current.
  parseMetrics(vector, vector.split('/').slice(1), V4_BASE, V4_OPTIONAL);
  const score = new cvssCalculator.Cvss4P0(vector).calculateScores().overall;
  if (typeof score !== 'number' || Number.isNaN(score)) throw new Error(`CVSS v4.0 vector ${vector} could not be scored`);
  return { level: severityLevelOfScore(score), score, vector };
}
