import { ownValue } from '../../core/own-value.js';
/**
 * Whether a Cargo platform key (`[target.'cfg(windows)'.dependencies]`, `[target.x86_64-pc-windows-msvc.dependencies]`)
 * can hold when building for Linux, on any architecture, any C library, with any features:
 * `false` only when it cannot (`cfg(windows)`, `cfg(target_os = "macos")`,
 * `cfg(not(unix))`, a triple of another system), else `true` or `null` (not known: it depends
 * on the architecture, a feature, a flag). Written by hand: the cfg grammar is Cargo's
 * (`all`, `any`, `not`, `name`, `name = "value"`) and small; what is evaluated is the part that
 * names the operating system, the rest is unknown, and unknown is never read as false.
 */

type Truth = boolean | null;

const LINUX_FACTS: Readonly<Record<string, Readonly<Record<string, boolean>>>> = {
  target_os: { linux: true },
  target_family: { unix: true },
};

/** Options that are set or not on every Linux target. */
const LINUX_FLAGS: Readonly<Record<string, boolean>> = { unix: true, windows: false };

/** Values of a key some Linux target has (target_vendor "unknown", "alpine", ...): only these say false. */
const NEVER_ON_LINUX: Readonly<Record<string, ReadonlySet<string>>> = {
  target_vendor: new Set(['apple', 'pc', 'fortanix', 'sun', 'nintendo', 'sony', 'espressif']),
  target_env: new Set(['msvc', 'sgx']),
};

export function platformHoldsOnLinux(platform: string): Truth {
  const key = platform.trim();
  if (!key.startsWith('cfg(')) {
    // A target triple: linux-android is Android, whose target_os is not linux.
    return /-linux(-|$)/.test(key) && !key.includes('android') ? true : false;
  }
  try {
    const parser = new CfgParser(key);
    const value = parser.expression();
    parser.end();
    return value;
  } catch {
    return null;
  }
}

class CfgParser {
  private at = 0;

  constructor(private readonly text: string) {}

  expression(): Truth {
    this.word('cfg');
    this.symbol('(');
    const value = this.predicate();
    this.symbol(')');
    return value;
  }

  end(): void {
    this.space();
    if (this.at !== this.text.length) throw new Error('trailing text');
  }

  private predicate(): Truth {
    const name = this.identifier();
    this.space();
    if (name === 'all' || name === 'any' || name === 'not') {
      this.symbol('(');
      const items: Truth[] = [];
      this.space();
      while (this.peek() !== ')') {
        items.push(this.predicate());
        this.space();
        if (this.peek() === ',') this.at++;
        this.space();
      }
      this.symbol(')');
      if (name === 'not') {
        if (items.length !== 1) throw new Error('not() takes one predicate');
        const [item] = items;
        return item === null || item === undefined ? null : !item;
      }
      if (name === 'all') return items.includes(false) ? false : items.every((i) => i === true) ? true : null;
      return items.includes(true) ? true : items.every((i) => i === false) ? false : null;
    }
    if (this.peek() === '=') {
      this.at++;
      const value = this.string();
      const facts = ownValue(LINUX_FACTS, name);
      if (facts !== undefined) return ownValue(facts, value) === true;
      return ownValue(NEVER_ON_LINUX, name)?.has(value) === true ? false : null;
    }
    return ownValue(LINUX_FLAGS, name) ?? null;
  }

  private identifier(): string {
    this.space();
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.at));
    if (match === null) throw new Error('identifier expected');
    this.at += match[0].length;
    return match[0];
  }

  private string(): string {
    this.space();
    const match = /^"([^"\\]*)"/.exec(this.text.slice(this.at));
    if (match === null) throw new Error('string expected');
    this.at += match[0].length;
    return match[1] as string;
  }

  private word(word: string): void {
    if (this.identifier() !== word) throw new Error(`${word} expected`);
  }

  private symbol(symbol: string): void {
    this.space();
    if (this.peek() !== symbol) throw new Error(`${symbol} expected`);
    this.at++;
  }

  private peek(): string | undefined {
    return this.text[this.at];
  }

  private space(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at] as string)) this.at++;
  }
}
