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
}

export type BodyRead = { bytes: Uint8Array } | { refused: 'too large' | 'too slow' | 'no room' };

/**
 * The body, or why reading stopped: past `maxBytes` or past `withinMs` (what came by then is
 * dropped). `keep` false: read and discarded (a refused request's), nothing held. `hold`, when
 * given, is asked for room before each chunk is kept (the bytes seen so far): false stops the
 * reading, 'no room' (upload-budget.ts).
 */
export async function readBodyWithin(body: ReadableStream<Uint8Array> | null, budget: BodyBudget, keep = true, hold?: (seen: number) => Promise<boolean>): Promise<BodyRead> {
  if (body === null) return { bytes: new Uint8Array(0) };
  const reader = body.getReader();
  let late = false;
  // Cancelling ends the read under way (it resolves done).
  const timer = Number.isFinite(budget.withinMs)
    ? setTimeout(() => {
        late = true;
        void reader.cancel().catch(() => undefined);
      }, budget.withinMs)
    : undefined;
  const chunks: Uint8Array[] = [];
  let seen = 0;
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
      if (hold !== undefined && !(await hold(seen))) {
        await reader.cancel().catch(() => undefined);
        return { refused: 'no room' };
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
