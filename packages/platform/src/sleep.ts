/**
 * A sleep that ends early, without an error, when `signal` aborts: a consumer's back-off or a drain wait
 * returns at shutdown instead of throwing (node:timers/promises' setTimeout rejects with AbortError).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    // The listener goes with the timer: a long-lived signal (a consumer's) must not collect one per sleep.
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
