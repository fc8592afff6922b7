/**
 * Reading a request's body within a budget of bytes and time. A body the server reads before it
 * knows who sent it (a sign-in form, the rest of a refused upload) is bounded in both: node's own
 * limit is the whole request's 300 s, so a client that has shown no credential could otherwise
 * hold a connection five minutes by dripping a small body.
 */

export interface BodyBudget {
  maxBytes: number;
  /** Infinity: node's own request timeout alone. */
  withinMs: number;
  /**
   * A minimum rate (Apache's mod_reqtimeout MinRate): each byte received extends `withinMs` by
   * 1/bytesPerSecond s, so a body of any size may take its time while it keeps coming, and one
   * dripped in is cut soon. Absent: `withinMs` is the whole body's.
   */
  bytesPerSecond?: number;
}

export type BodyRead = { bytes: Uint8Array } | { refused: 'too large' | 'too slow' | 'no room' };

/**
 * The body, or why reading stopped: past `maxBytes` or past `withinMs` and its `bytesPerSecond`
 * (what came by then is dropped). `keep` false: read and discarded (a refused request's), nothing
 * held. `hold`, when given, is asked for room before each chunk is kept (the bytes seen so far):
 * false stops the reading, 'no room' (upload-budget.ts); the time it takes is not the client's.
 */
export async function readBodyWithin(body: ReadableStream<Uint8Array> | null, budget: BodyBudget, keep = true, hold?: (seen: number) => Promise<boolean>): Promise<BodyRead> {
  if (body === null) return { bytes: new Uint8Array(0) };
  const reader = body.getReader();
  let late = false;
  let seen = 0;
  // Time spent waiting on `hold`, past and under way: the deadline moves past it.
  let heldUpMs = 0;
  let holdingSince: number | null = null;
  const started = Date.now();
  const deadline = (): number =>
    started + heldUpMs + (holdingSince === null ? 0 : Date.now() - holdingSince) + budget.withinMs + (budget.bytesPerSecond === undefined ? 0 : (seen * 1000) / budget.bytesPerSecond);
  let timer: NodeJS.Timeout | undefined;
  // Cancelling ends the read under way (it resolves done). Bytes received since the timer was set move the deadline: it is set again.
  const watch = (): void => {
    const left = deadline() - Date.now();
    if (left > 0) {
      timer = setTimeout(watch, left);
      return;
    }
    late = true;
    void reader.cancel().catch(() => undefined);
  };
  if (Number.isFinite(budget.withinMs)) timer = setTimeout(watch, budget.withinMs);
  const chunks: Uint8Array[] = [];
  try {
    for (;;) {
      const chunk = await reader.read();
      if (late) return { refused: 'too slow' };
      if (chunk.done) break;
      seen += chunk.value.byteLength;
      if (seen > budget.maxBytes) {
        await reader.cancel().catch(() => undefined);
        return { refused: 'too large' };
      }
      if (hold !== undefined) {
        holdingSince = Date.now();
        const room = await hold(seen);
        heldUpMs += Date.now() - holdingSince;
        holdingSince = null;
        if (!room) {
          await reader.cancel().catch(() => undefined);
          return { refused: 'no room' };
        }
      }
      if (keep) chunks.push(chunk.value);
    }
  } catch {
    // The client went away: nobody reads the answer.
    return { refused: late ? 'too slow' : 'too large' };
  } finally {
    clearTimeout(timer);
  }
  return { bytes: Buffer.concat(chunks) };
}
