import assert from 'node:assert/strict';
import { test } from 'node:test';
import { installsOnLinux, rpmArchCondition } from '../../src/package/rpm-arch.js';

test('an npm package whose cpu list admits no CPU is installed nowhere, so never bundled (no empty %ifarch)', () => {
  // npm-install-checks: cpu ["x64", "!x64"] fails on x64 (negated) and on every other CPU (no match);
  // the spec got `%ifarch ` with no arguments before, which rpmbuild refuses ("Argument expected for %ifarch").
  const nowhere = { os: [], cpu: ['x64', '!x64'], libc: [] };
  assert.equal(installsOnLinux(nowhere), false);
  assert.equal(installsOnLinux({ os: [], cpu: ['x64', '!arm64'], libc: [] }), true);
  assert.equal(installsOnLinux({ os: [], cpu: ['!arm64'], libc: [] }), true);
  assert.equal(installsOnLinux({ os: [], cpu: ['any'], libc: [] }), true);
  assert.deepEqual(rpmArchCondition(['x64', '!arm64']), { only: 'x86_64' });
});

test('cpu ["any", "!x64"] admits no CPU either ("any" means every CPU only when alone), so is never bundled', () => {
  // npm 11's npm-install-checks: checkPlatform({ cpu: ['any', '!x64'] }) throws EBADPLATFORM for
  // cpu x64 and arm64 alike; installsOnLinux said true and the package was bundled for every architecture.
  assert.equal(installsOnLinux({ os: [], cpu: ['any', '!x64'], libc: [] }), false);
  assert.equal(installsOnLinux({ os: [], cpu: ['sparc'], libc: [] }), false);
  assert.equal(installsOnLinux({ os: [], cpu: ['!sparc'], libc: [] }), true);
  assert.equal(installsOnLinux({ os: [], cpu: ['x64', 'sparc'], libc: [] }), true);
});
