import { TerraError, TransientError, sleep } from '@terra-transfer/platform';

/**
 * Runs a check-then-act step up to `attempts` times while it fails
 * transiently. Each attempt starts again from the check, so a creation whose
 * reply was lost (a 504 after Clowder did the work) is found, not repeated.
 */
export async function attempt<T>(attempts: number, baseMs: number, step: (n: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await step(n);
    } catch (err) {
      const retryable = err instanceof TerraError ? err.retryable : true;
      if (!retryable || n >= attempts || signal?.aborted) throw err instanceof TerraError ? err : new TransientError('UNEXPECTED', String(err), { cause: err });
      await sleep(Math.min(5_000, baseMs * 2 ** (n - 1)) * (0.5 + Math.random() / 2), signal);
    }
  }
}
