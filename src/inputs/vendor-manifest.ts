import type { Finding } from '../core/finding.js';
import { InputError } from '../core/errors.js';
import { MANIFEST_PATH } from '../core/archive.js';
import type { VendoredPackage } from './vendor-layout.js';

/*
 * `stowage-manifest.json`, the manifest of a vendor archive: written by `stowage vendor`, read
 * back by `vendor verify`, `package` and the audit of an archive.
 */

export const MANIFEST_SCHEMA_VERSION = 1;

export interface ManifestLockfile {
  /** Relative to the application root, as it lies beside the extracted archive. */
  path: string;
  ecosystem: VendoredPackage['ecosystem'];
  format: string;
  sha256: string;
}

export interface ManifestFinding {
  id: string;
  aliases: string[];
  kind: Finding['advisory']['kind'];
  package: string;
  version: string;
  severity: string | null;
  /** Set when the finding is an accepted risk. */
  accepted: { reason: string; expires: string | null; origin: string } | null;
}

/**
 * `stowage-manifest.json`: what the archive holds and what was known about it when it was
 * made. Everything in it derives from the inputs (no clock, no host), so it reproduces.
 */
export interface VendorManifest {
  schemaVersion: number;
  tool: { name: string; version: string };
  sourceDateEpoch: number;
  lockfiles: ManifestLockfile[];
  packages: VendoredPackage[];
  audit: {
    databases: { source: string; revision: string; revisionDate: string | null; advisories: number }[];
    /** Every finding at vendoring time; none of them fails the policy, or there would be no archive. */
    findings: ManifestFinding[];
  };
}

/** Stable serialisation: the archive's bytes depend on it. */
export function renderManifest(manifest: VendorManifest): Buffer {
  return Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a manifest from an archive (untrusted): shape-checked, one error line when wrong. */
export function parseManifest(bytes: Buffer, archive: string): VendorManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new InputError(archive, `${MANIFEST_PATH} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(doc)) throw new InputError(archive, `${MANIFEST_PATH} is not a JSON object`);
  if (doc.schemaVersion !== MANIFEST_SCHEMA_VERSION) {
    throw new InputError(archive, `${MANIFEST_PATH} has schemaVersion ${JSON.stringify(doc.schemaVersion)}; this stowage reads ${MANIFEST_SCHEMA_VERSION}`);
  }
  if (typeof doc.sourceDateEpoch !== 'number' || !Array.isArray(doc.lockfiles) || !Array.isArray(doc.packages) || !isRecord(doc.audit)) {
    throw new InputError(archive, `${MANIFEST_PATH} lacks sourceDateEpoch, lockfiles, packages or audit`);
  }
  for (const [i, p] of (doc.packages as unknown[]).entries()) {
    if (!isRecord(p) || (p.ecosystem !== 'cargo' && p.ecosystem !== 'npm') || typeof p.name !== 'string' || typeof p.version !== 'string' || typeof p.path !== 'string') {
      throw new InputError(archive, `${MANIFEST_PATH}: packages[${i}] is malformed`);
    }
  }
  for (const [i, l] of (doc.lockfiles as unknown[]).entries()) {
    if (!isRecord(l) || typeof l.path !== 'string' || typeof l.sha256 !== 'string') {
      throw new InputError(archive, `${MANIFEST_PATH}: lockfiles[${i}] is malformed`);
    }
  }
  return doc as unknown as VendorManifest;
}
