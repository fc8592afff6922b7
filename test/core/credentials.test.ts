import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactCredentials, withoutUserInfo } from '../../src/core/credentials.js';

test('user-info in any scheme becomes ***, a token given as the user name too', () => {
  const cases: [string, string][] = [
    ['https://user:s3cret@host/repo.git', 'https://***@host/repo.git'],
    ['https://ghp_token@github.com/org/repo.git#osv', 'https://***@github.com/org/repo.git#osv'],
    ['git+https://user:s3cret@host:8443/repo', 'git+https://***@host:8443/repo'],
    ['http://user:p%40ss@host/x', 'http://***@host/x'],
    // An unencoded @ in the password: the user-info runs to the authority's last @.
    ['https://user:p@ss@host/x', 'https://***@host/x'],
    ['file://user:pw@/srv/db', 'file://***@/srv/db'],
    ['ssh://user:pw@host/x', 'ssh://***@host/x'],
    ['HTTPS://U:P@HOST/X', 'HTTPS://***@HOST/X'],
  ];
  for (const [url, shown] of cases) assert.equal(redactCredentials(url), shown, url);
});

test('query parameters that carry secrets keep their name, not their value', () => {
  assert.equal(redactCredentials('https://host/x.git?private_token=abc&ref=main'), 'https://host/x.git?private_token=***&ref=main');
  assert.equal(redactCredentials('https://host/db.zip?X-Amz-Signature=f00&X-Amz-Credential=k1'), 'https://host/db.zip?X-Amz-Signature=***&X-Amz-Credential=***');
  assert.equal(redactCredentials('https://host/x?access_token=t&sig=s;apikey=k'), 'https://host/x?access_token=***&sig=***;apikey=***');
});

test('what carries no credentials is unchanged, and redaction is idempotent', () => {
  for (const text of [
    'https://github.com/rustsec/advisory-db.git',
    'ssh://git@github.com/rustsec/advisory-db.git',
    'git@github.com:rustsec/advisory-db.git',
    'https://registry.npmjs.org/@scope/name/-/name-1.0.0.tgz',
    '/home/user/db#main',
    'mail a@b.example, see https://example.com/x?q=1&page=2',
  ]) {
    assert.equal(redactCredentials(text), text);
  }
  const once = redactCredentials("unable to access 'https://u:p@h/x?token=t': and https://v@h2/");
  assert.equal(once, "unable to access 'https://***@h/x?token=***': and https://***@h2/");
  assert.equal(redactCredentials(once), once);
});

test('withoutUserInfo: the URL still usable, its user-info gone (git and npm cache keys do the same)', () => {
  assert.equal(withoutUserInfo('https://ci:s3cret@npm.corp.example/'), 'https://npm.corp.example/');
  assert.equal(withoutUserInfo('https://${NPM_USER}:${NPM_PASS}@npm.corp.example/x'), 'https://npm.corp.example/x');
  assert.equal(withoutUserInfo('ssh://git@github.com/o/r.git'), 'ssh://git@github.com/o/r.git');
  assert.equal(withoutUserInfo('https://registry.npmjs.org/@scope/x/-/x-1.0.0.tgz'), 'https://registry.npmjs.org/@scope/x/-/x-1.0.0.tgz');
});
