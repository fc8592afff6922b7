import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readObjectFile, type ObjectFile } from '../../../src/inputs/binary/object-file.js';
import { unreadExecutableOf } from '../../../src/inputs/binary/unread-executables.js';
import { elfWithSection } from '../../support/object-files.js';

/*
 * The Mach-O and PE forms of `bun build --compile` and `deno compile`: the application is in a
 * section of its own (bun: `__BUN,__bun`, `.bun`; deno 2 through libsui: `__SUI,d3n0l4nd`, a
 * resource in `.rsrc`), where the runtime alone holds an empty one or none.
 */

const file = (format: ObjectFile['format'], sections: Record<string, string>): ObjectFile => ({
  format,
  description: format,
  sections: Object.entries(sections).map(([name, data]) => ({ name, data: Buffer.from(data, 'latin1'), slice: 0 })),
  slices: 1,
});
const bytes = Buffer.alloc(256);
const bunGraph = '\0\0\0\0// lodash.js\0\n---- Bun! ----\n\0\0\0\0';
const denoData = 'd3n0l4nd{"entrypoint_key":"file:///main.ts"}d3n0l4nd';

test('a Bun or Deno application in a Mach-O or PE section is told; the runtime with its section empty, or its strings elsewhere, is not', () => {
  assert.equal(unreadExecutableOf(bytes, file('Mach-O', { '__TEXT,__text': '', '__BUN,__bun': bunGraph })), 'Bun executable');
  assert.equal(unreadExecutableOf(bytes, file('PE', { '.text': '', '.bun': bunGraph })), 'Bun executable');
  assert.equal(unreadExecutableOf(bytes, file('Mach-O', { '__SUI,d3n0l4nd': denoData })), 'Deno executable');
  assert.equal(unreadExecutableOf(bytes, file('PE', { '.rsrc': `${Buffer.from('D3N0L4ND', 'utf16le').toString('latin1')}${denoData}` })), 'Deno executable');
  // bun itself: its placeholder section holds no graph, its trailer is a string among its code's.
  assert.equal(unreadExecutableOf(bytes, file('Mach-O', { '__BUN,__bun': '\0\0\0\0', '__TEXT,__cstring': '\n---- Bun! ----\n' })), null);
  // deno itself: the magic is among its strings, its resources hold none.
  assert.equal(unreadExecutableOf(bytes, file('PE', { '.rdata': 'd3n0l4nd', '.rsrc': 'icons' })), null);
});

/** The note deno 2.9's libsui writes into an ELF file (`.note.sui`, in a PT_NOTE segment): owner `SUI`, type 0x53554901, then the name's length, the name and the data. */
function suiNote(data: string): string {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(4, 0);
  head.writeUInt32LE(10 + data.length, 4);
  head.writeUInt32LE(0x53554901, 8);
  return `${head.toString('latin1')}SUI\0\x08\0d3n0l4nd${data}`;
}

test('a `deno compile` executable of Linux that keeps its data in an ELF note (deno 2.9: `.note.sui`) is told; deno itself, its magic among its strings, is not', () => {
  assert.equal(unreadExecutableOf(bytes, file('ELF', { '.text': '', '.note.sui': suiNote(denoData) })), 'Deno executable');
  assert.equal(unreadExecutableOf(bytes, file('ELF', { '.rodata': 'd3n0l4nd', '.note.gnu.build-id': 'GNU\0' })), null);
});

test('an AppImage whose runtime carries no `AI` mark (the runtime checks none: it mounts the squashfs where its ELF file ends) is told; an ELF with those bytes elsewhere is not', () => {
  for (const [is64, le] of [[true, true], [false, false]] as const) {
    const runtime = elfWithSection(is64, le, '.text', Buffer.from('hsqs in its code', 'latin1'));
    const appImage = Buffer.concat([runtime, Buffer.from('hsqs', 'latin1'), Buffer.alloc(96)]);
    assert.equal(unreadExecutableOf(appImage, readObjectFile(appImage, 'app')), 'AppImage');
    assert.equal(unreadExecutableOf(runtime, readObjectFile(runtime, 'runtime')), null);
    const padded = Buffer.concat([runtime, Buffer.alloc(16), Buffer.from('hsqs', 'latin1')]);
    assert.equal(unreadExecutableOf(padded, readObjectFile(padded, 'padded')), null);
  }
});
