/**
 * Work the server has under way (requests being answered, a scheduled sync, webhook deliveries
 * after a change): shutdown waits for it to settle before it closes the store, so no handler
 * finds the store closed under it.
 */
export class WorkUnderWay {
  private readonly pending = new Set<Promise<unknown>>();

  /** Tracks `work` until it settles; returns it unchanged. */
  track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    const forget = (): void => {
      this.pending.delete(work);
    };
    work.then(forget, forget);
    return work;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves when nothing is under way, including work started while waiting; never rejects. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Whether everything settled within `ms` (false: some work is still under way). */
  async settledWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([this.settled().then(() => true as const), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
