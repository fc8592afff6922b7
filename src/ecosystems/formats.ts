import type { LockfileFormat, VersionScheme } from '../core/ecosystem.js';
import type { Ecosystem } from '../core/package.js';
import type { EcosystemVendor } from '../vendor/vendor-tree.js';

/**
 * Every lockfile stowage reads, in the order they are tried for a directory. npm reads
 * npm-shrinkwrap.json in preference to package-lock.json, and so does stowage.
 */
export const LOCKFILE_FORMATS: readonly LockfileFormat[] = [
  {
    ecosystem: 'cargo',
    fileName: 'Cargo.lock',
    manifestName: 'Cargo.toml',
    loadParser: async () => (await import('./cargo/lockfile.js')).parseCargoLock,
  },
  {
    ecosystem: 'npm',
    fileName: 'npm-shrinkwrap.json',
    manifestName: 'package.json',
    loadParser: async () => (await import('./npm/package-lock.js')).parsePackageLock,
  },
  {
    ecosystem: 'npm',
    fileName: 'package-lock.json',
    manifestName: 'package.json',
    loadParser: async () => (await import('./npm/package-lock.js')).parsePackageLock,
  },
  {
    ecosystem: 'npm',
    fileName: 'yarn.lock',
    manifestName: 'package.json',
    loadParser: async () => (await import('./npm/yarn-lock.js')).parseYarnLock,
  },
  {
    ecosystem: 'npm',
    fileName: 'pnpm-lock.yaml',
    manifestName: 'package.json',
    loadParser: async () => (await import('./npm/pnpm-lock.js')).parsePnpmLock,
  },
];

/** A lockfile name that another one supersedes when both are present. */
export const SUPERSEDED: Readonly<Record<string, string>> = { 'package-lock.json': 'npm-shrinkwrap.json' };

export async function loadVersionScheme(ecosystem: Ecosystem): Promise<VersionScheme> {
  switch (ecosystem) {
    case 'cargo':
      return (await import('./cargo/version.js')).cargoVersionScheme;
    case 'npm':
      return (await import('./npm/version.js')).npmVersionScheme;
  }
}

export async function loadEcosystemVendor(ecosystem: Ecosystem): Promise<EcosystemVendor> {
  switch (ecosystem) {
    case 'cargo':
      return (await import('./cargo/vendor.js')).vendorCargo;
    case 'npm':
      return (await import('./npm/vendor.js')).vendorNpm;
  }
}
