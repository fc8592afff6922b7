// The floor for `fleet add --from-file LIST`: one node process reading and parsing every
// lockfile LIST names (smol-toml for Cargo.lock, JSON.parse for package-lock.json), nothing else.
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';

for (const path of readFileSync(process.argv[2] as string, 'utf8').split('\n')) {
  if (path === '') continue;
  const text = readFileSync(path, 'utf8');
  if (path.endsWith('.json')) JSON.parse(text);
  else parse(text);
}
