/**
 * The bytes of upload bodies the server holds at once, across requests. An upload is read whole
 * into memory and parsed there, costing a few times its size until it is answered (upload.ts), so
 * many at once (50 CI jobs pushing 64 MiB each) would take the server past its heap for every
 * client. A count of uploads would refuse 50 lockfiles of 100 KiB as it refuses 50 archives of
 * 64 MiB; a budget in bytes takes as many as fit.
 *
 * An upload reserves its declared size (Content-Length) before a byte of its body is read, or,
 * sent without one (chunked), each chunk as it comes. What does not fit waits, first come first
 * served, for at most a short while (what is held is given back as uploads are answered); still
 * not fitting, it is refused (503 with Retry-After: api.ts) and its body is never held. What is
 * reserved is given back once the upload is answered, however it ends (the client gone too, or
 * its body coming slower than the budget's minimum rate: 408).
 */

export interface UploadBudgetOptions {
  /** Bytes of upload bodies held at once (`fleet serve --upload-memory`): at least an upload's own limit, or the largest never fits. */
  bytes: number;
  /** How long an upload that does not fit waits for room before it is refused 503. */
  waitMs: number;
  /** What the 503 tells the client to wait (Retry-After): about the time a large upload takes to be answered. */
  retryAfterSeconds: number;
  /**
   * How slowly an upload holding a reservation may send its body: within `bodyWithinMs`, extended
   * by a second per `bodyBytesPerSecond` received (a minimum average rate). Slower, it is answered
   * 408 and what it holds is given back, rather than held for node's whole request timeout (300 s)
   * while others are refused 503.
   */
  bodyWithinMs: number;
  bodyBytesPerSecond: number;
}

/**
 * Four of the largest uploads (64 MiB) at once: each costs a few times its size while it is parsed
 * (up to some 650 MB for the worst that passes upload.ts's checks), well within node's default heap
 * of about 4 GiB on a 64-bit machine. An upload's body has 10 s (as long as node gives for the
 * headers) and then must come at 64 KiB/s (512 kbit/s) on average: a lockfile push is done within
 * the 10 s on any link, a 30 MiB vendor archive over a 1 Mbit/s uplink in its 240 s, while a client
 * dripping its body in holds its reservation some 10 s instead of 300.
 */
export const DEFAULT_UPLOAD_BUDGET: UploadBudgetOptions = { bytes: 256 * 1024 * 1024, waitMs: 5_000, retryAfterSeconds: 5, bodyWithinMs: 10_000, bodyBytesPerSecond: 64 * 1024 };

/** What a waiting reservation needs, and how it is told the outcome. */
interface Waiter {
  bytes: number;
  grant: (granted: boolean) => void;
}

/** The budget's state, as `until` hands it to its test. */
export interface BudgetState {
  /** Bytes reserved by uploads being read or processed. */
  held: number;
  /** Reservations waiting for room. */
  waiting: number;
}

/** Bytes held for one upload, until `release`. */
export interface Reservation {
  /** Reserves `bytes` more (a chunked body's next chunk), waiting as `reserve` does; false: they did not fit in time, nothing more held. */
  grow(bytes: number): Promise<boolean>;
  /** Gives everything reserved back (more than once is once). */
  release(): void;
}

export class UploadBudget {
  private heldBytes = 0;
  /** First come, first served: a large upload is not passed over for ever by smaller ones. */
  private readonly queue: Waiter[] = [];
  /** Reservations already holding bytes that wait for more: served before the queue (finishing them frees what they hold). */
  private readonly growing: Waiter[] = [];
  private watchers: { test: (state: BudgetState) => boolean; resolve: () => void }[] = [];

  constructor(readonly options: UploadBudgetOptions) {}

  get capacity(): number {
    return this.options.bytes;
  }

  get state(): BudgetState {
    return { held: this.heldBytes, waiting: this.queue.length + this.growing.length };
  }

  /**
   * Reserves `bytes` for an upload: at once when they fit and nobody waits before, else when
   * they come to fit within the budget's `waitMs`. Null: they did not, nothing is held (an upload
   * larger than the whole budget never fits).
   */
  async reserve(bytes: number): Promise<Reservation | null> {
    if (!(await this.take(bytes, this.queue))) return null;
    let reserved = bytes;
    let released = false;
    return {
      grow: async (more) => {
        if (released) return false;
        if (!(await this.take(more, this.growing))) return false;
        if (released) {
          this.give(more);
          return false;
        }
        reserved += more;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.give(reserved);
      },
    };
  }

  /** Resolves once `test` holds of the budget's state (tests: an upload is held, or waits, or all is given back). */
  until(test: (state: BudgetState) => boolean): Promise<void> {
    if (test(this.state)) return Promise.resolve();
    return new Promise((resolve) => this.watchers.push({ test, resolve }));
  }

  private fits(bytes: number): boolean {
    return this.heldBytes + bytes <= this.capacity;
  }

  private take(bytes: number, line: Waiter[]): Promise<boolean> {
    const { waitMs } = this.options;
    const first = line === this.growing ? this.growing.length === 0 : this.growing.length === 0 && this.queue.length === 0;
    if (first && this.fits(bytes)) {
      this.heldBytes += bytes;
      this.changed();
      return Promise.resolve(true);
    }
    if (bytes > this.capacity || waitMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const at = line.indexOf(waiter);
        if (at >= 0) line.splice(at, 1);
        resolve(false);
        // The head of the line gave up: those behind it may fit.
        this.serve();
      }, waitMs);
      const waiter: Waiter = {
        bytes,
        grant: (granted) => {
          clearTimeout(timer);
          resolve(granted);
        },
      };
      line.push(waiter);
      this.changed();
    });
  }

  private give(bytes: number): void {
    this.heldBytes -= bytes;
    this.serve();
  }

  /** Grants waiting reservations in order while the first of each line fits: growing ones first. */
  private serve(): void {
    for (const line of [this.growing, this.queue]) {
      while (line.length > 0 && this.fits((line[0] as Waiter).bytes)) {
        const waiter = line.shift() as Waiter;
        this.heldBytes += waiter.bytes;
        waiter.grant(true);
      }
      // The queue waits while a growing reservation waits: it is first to what is freed.
      if (line.length > 0) break;
    }
    this.changed();
  }

  private changed(): void {
    if (this.watchers.length === 0) return;
    const state = this.state;
    const met = this.watchers.filter((w) => w.test(state));
    this.watchers = this.watchers.filter((w) => !w.test(state));
    for (const w of met) w.resolve();
  }
}
