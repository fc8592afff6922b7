import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { hostedGitRepository } from '../../../src/ecosystems/npm/hosted-git.js';

/*
 * The hosts and tarball URLs stowage derives, against npm's own reading: the hosted-git-info
 * that the installed npm carries (what pacote uses to decide between a tarball and a clone).
 */

interface HostedInfo {
  type: string;
  user: string;
  project: string;
  tarball: (opts?: { noCommittish?: boolean }) => string;
}
const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
const hostedGitInfo = createRequire(import.meta.url)(join(npmRoot, 'npm', 'node_modules', 'hosted-git-info')) as { fromUrl: (url: string) => HostedInfo | undefined };

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

test("each git specifier is read as npm's hosted-git-info reads it: host, owner, project and the tarball URL", () => {
  const specs = [
    'git+ssh://git@github.com/someone/left.git',
    'git+https://github.com/someone/left.git',
    'git://github.com/someone/left.git',
    'https://github.com/someone/left',
    'github:someone/left',
    'git@github.com:someone/left.git',
    'git+ssh://git@gitlab.com/group/sub/project.git',
    'gitlab:group/project',
    'git+https://bitbucket.org/team/repo.git',
    'bitbucket:team/repo',
  ];
  for (const spec of specs) {
    const ours = hostedGitRepository(spec);
    const npms = hostedGitInfo.fromUrl(`${spec}#${COMMIT}`);
    assert.ok(npms, spec);
    assert.ok(ours, spec);
    assert.deepEqual([ours.host, ours.user, ours.project, ours.tarballUrl(COMMIT)], [npms.type, npms.user, npms.project, npms.tarball()], spec);
  }
});

test('git URLs on no host npm knows are not hosted: npm clones them', () => {
  for (const spec of ['git+https://git.example.org/left.git', 'git+file:///srv/git/left.git', 'git+ssh://git@github.com.evil.example/someone/left.git', 'git+http://gitlab.com/group/project.git']) {
    assert.equal(hostedGitRepository(spec), null, spec);
    assert.equal(hostedGitInfo.fromUrl(`${spec}#${COMMIT}`), undefined, spec);
  }
});
