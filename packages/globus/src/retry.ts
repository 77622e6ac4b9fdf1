/**
 * The official SDK's retry policy (globus-sdk-python `retry_config.py`,
 * `default_retry_checks.py`, transfer `transport.py`), as a pure function.
 * Checks run in order and the first decision wins:
 *  1. 401 → renew the token and retry, once per request (handled by the client);
 *  2. network error or timeout → retry;
 *  3. 429 or 503 → retry, sleeping Retry-After when it is an integer;
 *  4. 500, 502, 504 → retry unless the body code contains ExternalError or EndpointError.
 * At most `maxRetries` retries; sleep = min((0.25 + 0.5·rand)·2^attempt, maxSleep).
 */

import { backoffDelay } from '@terra-transfer/platform';

export interface RetryPolicy {
  maxRetries: number;
  maxSleepMs: number;
}

export const SDK_RETRY_POLICY: RetryPolicy = { maxRetries: 5, maxSleepMs: 10_000 };

export interface AttemptOutcome {
  /** 0 = no response (network error or timeout). */
  status: number;
  /** Globus error code from the body, if any. */
  code?: string | undefined;
  /** Raw Retry-After header. */
  retryAfter?: string | undefined;
}

export type RetryDecision = { retry: false } | { retry: true; delayMs: number };

export function backoffMs(attempt: number, policy: RetryPolicy, rand: number): number {
  // The platform's exponential; the SDK jitters before it caps (so a long outage always waits the cap).
  return Math.min(backoffDelay(attempt, { baseMs: 1000, maxMs: Infinity }) * (0.25 + 0.5 * rand), policy.maxSleepMs);
}

/** `attempt` counts from 0 for the first try. */
export function decideRetry(outcome: AttemptOutcome, attempt: number, policy: RetryPolicy = SDK_RETRY_POLICY, rand: number = Math.random()): RetryDecision {
  if (attempt >= policy.maxRetries) return { retry: false };
  const { status } = outcome;
  const backoff = { retry: true as const, delayMs: backoffMs(attempt, policy, rand) };
  if (status === 0) return backoff;
  if (status === 429 || status === 503) {
    const after = outcome.retryAfter !== undefined && /^\s*\d+\s*$/.test(outcome.retryAfter) ? Number(outcome.retryAfter) : undefined;
    // The SDK sleeps exactly Retry-After (capped like any other sleep so a hostile header cannot stall us).
    return after !== undefined ? { retry: true, delayMs: Math.min(after * 1000, policy.maxSleepMs) } : backoff;
  }
  if (status === 500 || status === 502 || status === 504) {
    if (outcome.code && /ExternalError|EndpointError/.test(outcome.code)) return { retry: false };
    return backoff;
  }
  return { retry: false };
}
