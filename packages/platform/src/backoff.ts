import { classify } from './errors.js';
import { sleep } from './sleep.js';

/**
 * The one backoff of the tree: every retry loop, reconnection and requeue
 * waits `backoffDelay(n)` before its next try. Exponential from `baseMs`,
 * capped at `maxMs`, then jittered down: the wait is uniform in
 * [(1 − jitter)·d, d], so replicas that failed together do not retry together.
 */
export interface Backoff {
  /** The wait before the first retry (n = 0). */
  baseMs: number;
  /** The longest wait (before jitter). */
  maxMs: number;
  /** Fraction of the wait that is random, 0 (none) to 1; most loops use 0.5. */
  jitter?: number;
  /** Growth per retry (default 2). */
  factor?: number;
}

/** The wait before retry `n` (0 for the first retry). `random` is injectable for tests. */
export function backoffDelay(n: number, b: Backoff, random: () => number = Math.random): number {
  // The exponent is bounded so a long outage cannot turn the product into Infinity × 0.
  const d = Math.min(b.maxMs, b.baseMs * (b.factor ?? 2) ** Math.min(Math.max(0, n), 64));
  const jitter = b.jitter ?? 0;
  return jitter > 0 ? d * (1 - jitter * random()) : d;
}

export interface RetryOptions {
  /** The waits; a function when the error decides (a longer cap for an endpoint that is down). */
  backoff: Backoff | ((err: unknown) => Backoff);
  /** Tries in all, the first included (default: no limit). */
  attempts?: number;
  /** Stops the retrying: a wait ends at once and the last error is thrown. */
  signal?: AbortSignal;
  /** Whether a failure is worth another try (default: the error catalogue's decision, `classify(err).retryable`). */
  retryable?: (err: unknown) => boolean;
  /** Called before each wait, with the failed try's number (from 1) and the wait (telemetry). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `fn` until it succeeds. Throws the last error when it is not
 * retryable, when the tries are spent, or when `signal` aborts (before or
 * during a wait: no try starts after an abort).
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const retryable = o.retryable ?? ((err: unknown) => classify(err).retryable);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (o.signal?.aborted || attempt >= (o.attempts ?? Infinity) || !retryable(err)) throw err;
      const delayMs = backoffDelay(attempt - 1, typeof o.backoff === 'function' ? o.backoff(err) : o.backoff);
      o.onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, o.signal);
      if (o.signal?.aborted) throw err;
    }
  }
}
