// The floor for a Cargo audit: node reading and TOML-parsing the lockfile, nothing else.
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';

parse(readFileSync(process.argv[2] as string, 'utf8'));
