/**
 * The shared RustSec bundle's main branch as it stood at the end of 2024-12-28 (RUSTSEC-2024-0431
 * assigned): the fleet's "old" database revision, 799 commits before the bundle's head, from
 * which tests and the bench move the database forward.
 */
export const RUSTSEC_2024_12_28 = '3c6d3186ab06737d1defd2b5ae556d0ecd161603';
