import { TerraError, TransientError, retry } from '@terra-transfer/platform';

/**
 * Runs a check-then-act step up to `attempts` times while it fails
 * transiently. Each attempt starts again from the check, so a creation whose
 * reply was lost (a 504 after Clowder did the work) is found, not repeated.
 */
export async function attempt<T>(attempts: number, baseMs: number, step: (n: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
  try {
    return await retry(step, {
      attempts,
      backoff: { baseMs, maxMs: 5_000, jitter: 0.5 },
      retryable: (err) => (err instanceof TerraError ? err.retryable : true),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    throw err instanceof TerraError ? err : new TransientError('UNEXPECTED', String(err), { cause: err });
  }
}
