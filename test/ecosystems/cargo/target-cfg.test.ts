import { test } from 'node:test';
import assert from 'node:assert/strict';
import { platformHoldsOnLinux } from '../../../src/ecosystems/cargo/target-cfg.js';

test('a Cargo platform key is false on Linux only when no Linux build can match it', () => {
  const cases: [string, boolean | null][] = [
    ['cfg(windows)', false],
    ['cfg(unix)', true],
    ['cfg(not(unix))', false],
    ['cfg(not(windows))', true],
    ['cfg(target_os = "linux")', true],
    ['cfg(target_os = "macos")', false],
    ['cfg(target_os = "android")', false],
    ['cfg(any(target_os = "macos", target_os = "ios"))', false],
    ['cfg(any(windows, target_arch = "wasm32"))', null],
    ['cfg(all(unix, not(target_os = "macos")))', true],
    ['cfg(all(windows, target_arch = "x86_64"))', false],
    ['cfg(target_arch = "x86_64")', null],
    ['cfg(target_family = "wasm")', false],
    ['cfg(target_vendor = "apple")', false],
    ['cfg(target_env = "msvc")', false],
    ['cfg(target_env = "musl")', null],
    ['cfg(feature = "x")', null],
    ['cfg(not(target_env = "musl"))', null],
    ['x86_64-pc-windows-msvc', false],
    ['aarch64-apple-darwin', false],
    ['x86_64-unknown-linux-gnu', true],
    ['aarch64-linux-android', false],
    ['wasm32-unknown-unknown', false],
    // Not understood: never read as false.
    ['cfg(windows', null],
    ['cfg(something(odd))', null],
  ];
  for (const [key, expected] of cases) assert.equal(platformHoldsOnLinux(key), expected, key);
});
