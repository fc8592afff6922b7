/**
 * The distributions whose conventions a spec follows (rpm-spec.ts says how they differ). A
 * module of its own: the command line lists them at start-up, and the spec writer's imports
 * (the archive code, with its native zstd addon) must not load for every command.
 */
export type RpmFlavor = 'fedora' | 'opensuse';
export const RPM_FLAVORS: readonly RpmFlavor[] = ['fedora', 'opensuse'];
