import { appendFileSync } from 'node:fs';

/**
 * The candidate's log: one file, each step's lines and each command's output appended as they
 * come. A command's output is capped: its first half-cap bytes are kept as written and its last
 * half-cap bytes at the end, with a line saying how much was left out between them (a runaway
 * test cannot fill the disk, and both the start and the failure at the end stay readable).
 */

/** Output kept per command, by default. */
export const DEFAULT_OUTPUT_CAP = 4 * 1024 * 1024;

export class StepLog {
  private head = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private dropped = 0;
  private headLast = 0x0a;

  constructor(
    readonly path: string,
    private readonly cap: number = DEFAULT_OUTPUT_CAP,
  ) {}

  line(text: string): void {
    appendFileSync(this.path, `${text}\n`);
  }

  /** A chunk of a command's output. */
  output(chunk: Buffer): void {
    const half = Math.floor(this.cap / 2);
    if (this.head < half) {
      const take = chunk.subarray(0, half - this.head);
      appendFileSync(this.path, take);
      this.head += take.length;
      if (take.length > 0) this.headLast = take[take.length - 1] as number;
      chunk = chunk.subarray(take.length);
      if (chunk.length === 0) return;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes > half && this.tail.length > 0) {
      const first = this.tail[0] as Buffer;
      const over = this.tailBytes - half;
      if (first.length <= over) {
        this.tail.shift();
        this.tailBytes -= first.length;
        this.dropped += first.length;
      } else {
        this.tail[0] = first.subarray(over);
        this.tailBytes -= over;
        this.dropped += over;
      }
    }
  }

  /** The command ended: its kept tail is written, and the counters start again for the next. */
  endOutput(): void {
    if (this.dropped > 0) appendFileSync(this.path, `\n[... ${this.dropped} bytes of output left out ...]\n`);
    if (this.tailBytes > 0) appendFileSync(this.path, Buffer.concat(this.tail));
    const last = this.tail.at(-1)?.at(-1) ?? this.headLast;
    if (last !== 0x0a) appendFileSync(this.path, '\n');
    this.head = 0;
    this.tail = [];
    this.tailBytes = 0;
    this.dropped = 0;
    this.headLast = 0x0a;
  }
}
