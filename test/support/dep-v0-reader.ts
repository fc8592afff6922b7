import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './shared.js';

/**
 * An independent reader of cargo-auditable's `.dep-v0` section, as its PARSING.md describes
 * one: binutils' objcopy dumps the section, Python's zlib and json decode it. Nothing of
 * stowage's reader is used, so a test that compares the two proves the format, not the code.
 */

export interface DepV0Json {
  format?: number;
  packages: { name: string; version: string; source: string; kind?: 'build' | 'runtime'; dependencies?: number[]; root?: boolean }[];
}

const DECODE = 'import sys, zlib, json; sys.stdout.write(json.dumps(json.loads(zlib.decompress(open(sys.argv[1], "rb").read()))))';

/** The section's JSON, or null when the binary has no `.dep-v0` section. */
export function dumpDepV0(binary: string): DepV0Json | null {
  const dir = tempDir('dep-v0-dump');
  try {
    const section = join(dir, 'section.z');
    const sections = execFileSync('objdump', ['-h', binary], { encoding: 'utf8' });
    if (!/\s\.dep-v0\s/.test(sections)) return null;
    execFileSync('objcopy', ['--dump-section', `.dep-v0=${section}`, binary, join(dir, 'copy')]);
    return JSON.parse(execFileSync('python3', ['-c', DECODE, section], { encoding: 'utf8' })) as DepV0Json;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Adds `json`, zlib-compressed by Python, as the `.dep-v0` section of a copy of `binary`, as cargo-auditable's linker step does. */
export function addDepV0Section(binary: string, json: string, output: string): void {
  const dir = tempDir('dep-v0-add');
  try {
    const section = join(dir, 'section.z');
    execFileSync('python3', ['-c', 'import sys, zlib; open(sys.argv[1], "wb").write(zlib.compress(sys.stdin.buffer.read(), 9))', section], { input: json });
    execFileSync('objcopy', ['--add-section', `.dep-v0=${section}`, binary, output]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
