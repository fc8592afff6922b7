import type { DependencyGraph } from '../core/graph.js';
import type { Downloader } from './download.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import type { VendoredPackage } from '../inputs/vendor-layout.js';
import type { RegistryAllowance } from '../core/registry-allowance.js';


/** What an ecosystem's vendoring step adds to the archive. */
export interface VendorResult {
  files: ArchiveFile[];
  packages: VendoredPackage[];
}

export interface VendorContext {
  /** The application's directory (where the lockfile is). */
  projectDir: string;
  downloader: Downloader;
  /** Non-fatal notes for the user (e.g. a package skipped because it is the application's own). */
  warn: (message: string) => void;
  /** Extra environment (tests point registries at 127.0.0.1). */
  env: NodeJS.ProcessEnv;
  /** A campaign's: the only places downloads and git fetches may reach (registry-allowance.ts); absent: anywhere. */
  registries?: RegistryAllowance;
}

/** Each ecosystem turns its graph into archive files: src/ecosystems/<name>/vendor.ts. */
export type EcosystemVendor = (graph: DependencyGraph, context: VendorContext) => Promise<VendorResult>;
