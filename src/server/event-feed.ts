import { EVENT_READ_BYTES } from '../fleet/store/event-bodies.js';
import type { FleetEventRecord, FleetStore } from '../fleet/store/store.js';

/**
 * The events the store records (the same ones webhooks get: sync, add, triage), for GET
 * /api/v1/events. Read from the store rather than passed in memory, so events of the command
 * line and of other servers on the same store reach subscribers too: polled while someone
 * listens, and at once after this server records one (`nudge`).
 */
export class EventFeed {
  private readonly listeners = new Set<(event: FleetEventRecord) => void>();
  private readonly closeListeners = new Set<() => void>();
  private last = 0;
  private timer: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly store: FleetStore,
    private readonly pollMs = 1000,
  ) {}

  /** The newest event id now (subscribers start after it unless they resume from an earlier id). */
  latest(): Promise<number> {
    return this.store.lastEventId();
  }

  /**
   * Events after `afterId`, oldest first (a subscriber resuming with Last-Event-ID), at most
   * `limit` and as many as EVENT_READ_BYTES of stored bodies hold (always one): fewer than
   * `limit` does not mean the last ones, none does.
   */
  since(afterId: number, limit: number): Promise<FleetEventRecord[]> {
    return this.store.eventsAfter(afterId, limit, EVENT_READ_BYTES);
  }

  /** Calls `listener` with every event recorded from now on; returns the unsubscribe function. */
  async subscribe(listener: (event: FleetEventRecord) => void): Promise<() => void> {
    if (this.listeners.size === 0) {
      this.last = await this.store.lastEventId();
      this.timer = setInterval(() => this.nudge(), this.pollMs);
      this.timer.unref();
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer !== null) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  /** Reads new events now (after a change this server made). */
  nudge(): void {
    if (this.listeners.size === 0) return;
    if (this.reading !== null) {
      this.again = true;
      return;
    }
    this.reading = this.read().finally(() => {
      this.reading = null;
      if (this.again) {
        this.again = false;
        this.nudge();
      }
    });
  }

  private async read(): Promise<void> {
    for (;;) {
      let events: FleetEventRecord[];
      try {
        events = await this.store.eventsAfter(this.last, 100, EVENT_READ_BYTES);
      } catch {
        return; // the store closed (shutdown) or is briefly unreachable: the next poll retries
      }
      for (const event of events) {
        this.last = event.id;
        for (const listener of this.listeners) listener(event);
      }
      if (events.length === 0) return;
    }
  }

  /**
   * `listener` is called when the feed closes (the server shuts down): streams end. Returns
   * what removes it, which a stream ending before then calls: else every stream ever opened
   * would stay referenced until shutdown.
   */
  onClose(listener: () => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): void {
    for (const listener of this.closeListeners) listener();
    this.closeListeners.clear();
    this.listeners.clear();
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
