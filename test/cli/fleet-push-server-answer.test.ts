import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeServer, pushSetup } from '../support/push-server.js';
import { join } from 'node:path';
import { runCliAsync, tempTree } from '../support/shared.js';

/**
 * `fleet push` against a server that is not a fleet server, or a hostile one: what it answers is
 * data, bounded in size, checked in shape, and shown with its terminal escapes made visible.
 */

test('fleet push stops reading an answer past its limit: a server streaming without end does not fill the memory', async () => {
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  const total = 256;
  const server = await fakeServer((res, counted) => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.write('{"apps": [');
    let written = 0;
    const more = (): void => {
      while (written < total) {
        written++;
        counted(chunk.length);
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end(']}');
    };
    res.on('close', () => (written = total));
    more();
  });
  try {
    const { app, tokenFile, cacheDir } = pushSetup();
    const run = await runCliAsync(['fleet', 'push', '--server', server.url, '--token-file', tokenFile, app], { cacheDir });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /^stowage: .*the fleet server's answer is over the 67108864-byte limit/);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.equal(run.stdout, '');
    assert.ok(server.sent() < total * chunk.length, `the client read all ${server.sent()} bytes`);
  } finally {
    await server.close();
  }
});

test("fleet push shows a server's strings with their escapes visible, and refuses an answer of the wrong shape in one line", async () => {
  const ESC = '\u001b';
  const hostile = {
    apps: [
      {
        name: 'rg',
        change: `${ESC}[2K${ESC}[1Aadded`,
        revision: `sha256:${ESC}]0;owned${ESC}\\abc`,
        seq: 1,
        findings: [
          {
            target: 'Cargo.lock',
            advisory: { id: 'RUSTSEC-2099-0001', kind: `vuln${ESC}[8m`, title: 'title', severity: { level: `high${ESC}[2J` } },
            package: { name: 'regex', version: '1.0.0' },
            paths: [['rg', 'regex']],
            fixedVersions: [],
            ignored: null,
            failsPolicy: false,
          },
        ],
      },
    ],
  };
  let body = JSON.stringify(hostile);
  const server = await fakeServer((res) => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(body);
  });
  try {
    const { app, tokenFile, cacheDir } = pushSetup();
    const shown = await runCliAsync(['fleet', 'push', '--server', server.url, '--token-file', tokenFile, app], { cacheDir });
    assert.equal(shown.status, 0, shown.stderr);
    assert.doesNotMatch(shown.stdout, new RegExp(ESC), 'an escape reached the terminal');
    assert.match(shown.stdout, /^\\x1b\[2K\\x1b\[1Aadded: rg sha256:\\x1b\]0;owned/m);
    assert.match(shown.stdout, /\(vuln\\x1b\[8m high\\x1b\[2J\)/);

    for (const [answer, says] of [
      [{ apps: [{ ...hostile.apps[0], findings: null }] }, /apps\[0\]\.findings is not a list/],
      [{ apps: [{ ...hostile.apps[0], findings: [{ ...hostile.apps[0]?.findings[0], failsPolicy: 'yes' }] }] }, /apps\[0\]\.findings\[0\] does not say whether it fails the policy/],
      [{ apps: 'none' }, /no "apps" list/],
    ] as const) {
      body = JSON.stringify(answer);
      const refused = await runCliAsync(['fleet', 'push', '--server', server.url, '--token-file', tokenFile, app], { cacheDir });
      assert.equal(refused.status, 2, refused.stderr);
      assert.match(refused.stderr, /^stowage: .*the fleet server's answer is not a push's answer: /);
      assert.match(refused.stderr, says);
      assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
      assert.equal(refused.stdout, '');
    }
  } finally {
    await server.close();
  }
});

test('fleet push says what reading the application warned of (a manifest nothing locks, a lockfile below the directory), as fleet add does: the answer carries findings only', async () => {
  const server = await fakeServer((res) => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apps: [{ name: 'app', change: 'added', revision: `sha256:${'0'.repeat(64)}`, seq: 1, findings: [] }] }));
  });
  try {
    const { tokenFile, cacheDir } = pushSetup();
    const dir = tempTree('push-warnings', {
      'Cargo.toml': '[package]\nname = "app"\nversion = "0.1.0"\n',
      'Cargo.lock': 'version = 4\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n',
      'package.json': '{"name":"app","version":"1.0.0","dependencies":{"lodash":"^4.17.0"}}\n',
      'web/package-lock.json': '{"name":"web","version":"1.0.0","lockfileVersion":3,"packages":{"":{"name":"web","version":"1.0.0"}}}\n',
    });
    const pushed = await runCliAsync(['fleet', 'push', '--server', server.url, '--token-file', tokenFile, dir], { cacheDir });
    // Before: exit 0, "added: app", and not a word of the package.json or of web/.
    assert.equal(pushed.status, 0, pushed.stderr);
    assert.match(pushed.stdout, /^added: app /m);
    assert.ok(pushed.stderr.includes(`stowage: warning: ${join(dir, 'package.json')}: NOT audited: no npm-shrinkwrap.json, package-lock.json, yarn.lock, pnpm-lock.yaml, bun.lock locks it`), pushed.stderr);
    assert.ok(pushed.stderr.includes(`stowage: warning: a lockfile below the directory given is NOT audited with it (a directory is one application; that one is another's, or one its package manager reads only there): ${join(dir, 'web/package-lock.json')}`), pushed.stderr);
  } finally {
    await server.close();
  }
});
