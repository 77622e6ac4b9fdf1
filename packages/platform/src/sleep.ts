import { setTimeout as wait } from 'node:timers/promises';

/**
 * node:timers/promises' sleep, ending early without an error when `signal`
 * aborts: a consumer's back-off or a drain wait returns at shutdown instead of
 * throwing AbortError. (Node removes its abort listener when the timer fires,
 * so a long-lived signal does not collect one per sleep.)
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  await wait(ms, undefined, signal ? { signal } : undefined).catch((err: unknown) => {
    if (!signal?.aborted) throw err;
  });
}
