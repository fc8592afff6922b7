// The floor for a package-lock audit: node reading and JSON-parsing the lockfile, nothing else.
import { readFileSync } from 'node:fs';

JSON.parse(readFileSync(process.argv[2] as string, 'utf8'));
