import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AffectedApp } from '../../src/fleet/affected.js';
import { renderAffected } from '../../src/fleet/affected-report.js';

/** `fleet affected NAME`'s closing line agrees with its count ("1 application embed atty" it said). */

function app(name: string): AffectedApp {
  return { name, revision: `sha256:${'a'.repeat(64)}`, seq: 1, appId: 1, packages: [{ ecosystem: 'cargo', name: 'atty', version: '0.2.14' }], findings: [] };
}

const style = { colour: false, width: 80 };
const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? '';

test('one application embeds a package, two embed it', () => {
  const query = { kind: 'package', name: 'atty', version: '0.2.14' } as const;
  assert.equal(lastLine(renderAffected(query, [app('ripgrep')], [], style)), '1 application embeds atty@0.2.14');
  assert.equal(lastLine(renderAffected(query, [app('ripgrep'), app('fd')], [], style)), '2 applications embed atty@0.2.14');
  assert.equal(lastLine(renderAffected({ kind: 'advisory', id: 'RUSTSEC-2021-0145' }, [app('ripgrep')], [], style)), '1 application affected by RUSTSEC-2021-0145');
});
