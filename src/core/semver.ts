/**
 * The parts of node-semver stowage uses, imported one file each: `import semver from 'semver'`
 * loads and initializes every function and range helper the package has, a measurable part of
 * a warm audit's start-up; the bundle then holds only these.
 */
export { default as parse } from 'semver/functions/parse.js';
export { default as valid } from 'semver/functions/valid.js';
export { default as eq } from 'semver/functions/eq.js';
export { default as lt } from 'semver/functions/lt.js';
export { default as gt } from 'semver/functions/gt.js';
export { default as gte } from 'semver/functions/gte.js';
export { default as compare } from 'semver/functions/compare.js';
export { default as satisfies } from 'semver/functions/satisfies.js';
export { default as validRange } from 'semver/ranges/valid.js';
export { default as minVersion } from 'semver/ranges/min-version.js';
export { default as intersects } from 'semver/ranges/intersects.js';
export { default as subset } from 'semver/ranges/subset.js';
export { default as Range } from 'semver/classes/range.js';
export type { SemVer } from 'semver';
