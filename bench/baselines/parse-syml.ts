// The floor for a pnpm / yarn berry audit: node reading and parsing the lockfile with the
// parser stowage uses for them (@yarnpkg/parsers' parseSyml), nothing else.
import { readFileSync } from 'node:fs';
import { parseSyml } from '@yarnpkg/parsers';

parseSyml(readFileSync(process.argv[2] as string, 'utf8'));
