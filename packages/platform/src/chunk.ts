/**
 * Handling a chunk (a message that carries many items, each with its own
 * outcome: file.transferred carries a task's files, decision 0053). Each item
 * is handled on its own; what becomes of the delivery follows from all the
 * outcomes together (settleChunk, pure).
 */
import { classify } from './errors.js';
import type { ErrorCode } from './error-codes.js';
import { forEachLimit } from './limiter.js';

export type ItemResult<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface ChunkSettlement<I, R> {
  /** Items whose effect is durable (or will be once the chunk's outcome is recorded). */
  done: Array<{ item: I; value: R }>;
  /** Items to dead-letter one by one: a permanent failure, or a transient one on the delivery the limit would dead-letter. */
  deadLetter: Array<{ item: I; code: ErrorCode; detail: string; error: unknown }>;
  /**
   * Throw this once the done items' outcome is recorded: the chunk comes back
   * (a transient failure: requeued, counted; an unavailable upstream: held and
   * given back uncounted) and its done items are no-ops then.
   */
  rethrow: unknown;
}

/**
 * What becomes of a chunk, from its items' outcomes. One item never takes its
 * chunk-mates with it: a permanent failure is that item's own dead letter; a
 * transient one retries the chunk (the others are idempotent no-ops then)
 * until the delivery the queue's limit would dead-letter, where the items
 * still failing are dead-lettered alone instead. An unavailable upstream
 * (an outage) is not an item's fault: the chunk is held whatever the count.
 */
export function settleChunk<I, R>(items: readonly I[], results: ReadonlyArray<ItemResult<R>>, lastDelivery: boolean): ChunkSettlement<I, R> {
  const out: ChunkSettlement<I, R> = { done: [], deadLetter: [], rethrow: undefined };
  let transient: unknown;
  let unavailable: unknown;
  results.forEach((r, i) => {
    const item = items[i]!;
    if (r.ok) {
      out.done.push({ item, value: r.value });
      return;
    }
    const c = classify(r.error);
    if (c.unavailable) unavailable ??= r.error;
    else if (!c.retryable || lastDelivery) out.deadLetter.push({ item, code: c.code, detail: c.message, error: r.error });
    else transient ??= r.error;
  });
  out.rethrow = unavailable ?? transient;
  return out;
}

/** Runs `fn` over the items, at most `concurrency` at once, and collects each outcome without stopping at a failure. */
export async function mapSettled<I, R>(items: readonly I[], concurrency: number, fn: (item: I, index: number) => Promise<R>): Promise<Array<ItemResult<R>>> {
  const results = new Array<ItemResult<R>>(items.length);
  // forEachLimit stops at a failure; here none reaches it: each outcome is caught and kept.
  await forEachLimit(items.keys(), Math.max(1, concurrency), async (i) => {
    try {
      results[i] = { ok: true, value: await fn(items[i]!, i) };
    } catch (error) {
      results[i] = { ok: false, error };
    }
  });
  return results;
}
