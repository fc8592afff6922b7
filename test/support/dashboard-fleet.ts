import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { rustsecAdvisoryDb } from './advisory-fixtures.js';
import { CARGO_CORPUS, advisoryDbCheckout, runCli, tempDir } from './shared.js';

/**
 * A small real fleet for the dashboard's tests, made with the command line: kanidm at two
 * revisions (2023-08, then 2024-08), ripgrep, and an application whose name is markup, over the
 * shared RustSec checkout and a made-up database whose advisory text is markup too.
 */

export const HOSTILE_APP = '<script>alert("app")<\\script><img src=x onerror=alert(1)>';
export const HOSTILE_ADVISORY = 'RUSTSEC-2099-0666';
export const HOSTILE_TITLE = '<script>alert("advisory")</script> in regex';

export function makeDashboardFleet(store: string): { cacheDir: string } {
  const cacheDir = tempDir('dashboard-cache');
  const dir = tempDir('dashboard-apps');
  const lock = (name: string): string => {
    const sub = join(dir, name);
    mkdirSync(sub, { recursive: true });
    copyFileSync(join(CARGO_CORPUS, `${name}.Cargo.lock`), join(sub, 'Cargo.lock'));
    copyFileSync(join(CARGO_CORPUS, `${name}.Cargo.toml`), join(sub, 'Cargo.toml'));
    return sub;
  };
  const madeUp = rustsecAdvisoryDb(tempDir('dashboard-db'), [{ id: HOSTILE_ADVISORY, package: 'regex', title: HOSTILE_TITLE }]);
  const fleet = (...args: string[]): void => {
    const r = runCli(['fleet', ...args, '--store', store], { cacheDir });
    if (r.status !== 0 && r.status !== 1) throw new Error(`stowage fleet ${args.join(' ')}: ${r.stderr}`);
  };
  fleet('init', '--db', advisoryDbCheckout(), '--db', madeUp);
  fleet('add', lock('kanidm-2023-08-01'), '--name', 'kanidm');
  fleet('add', lock('kanidm-2024-08-01'), '--name', 'kanidm');
  fleet('add', lock('ripgrep-2023-09-01'), '--name', 'ripgrep');
  fleet('add', lock('ripgrep-2017-09-01'), '--name', HOSTILE_APP);
  fleet('sync');
  return { cacheDir };
}
