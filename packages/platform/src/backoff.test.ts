import { backoffDelay, retry } from './backoff.js';
import { TransientError, PermanentError } from './errors.js';

describe('backoffDelay', () => {
  it('doubles from the base, caps, then jitters down by the given fraction', () => {
    const b = { baseMs: 100, maxMs: 5_000 };
    expect([0, 1, 2, 5, 6, 60, 10_000].map((n) => backoffDelay(n, b))).toEqual([100, 200, 400, 3_200, 5_000, 5_000, 5_000]);
    expect(backoffDelay(3, { ...b, jitter: 0.5 }, () => 0)).toBe(800);
    expect(backoffDelay(3, { ...b, jitter: 0.5 }, () => 1)).toBe(400);
    expect(backoffDelay(10, { ...b, jitter: 0.5 }, () => 1)).toBe(2_500);
    expect(backoffDelay(2, { baseMs: 10, maxMs: 1_000, factor: 3 })).toBe(90);
    expect(backoffDelay(5, { baseMs: 0, maxMs: 1_000 })).toBe(0);
  });
});

describe('retry', () => {
  it('retries what the catalogue says to retry, with the backoff, and reports each failed try', async () => {
    const seen: Array<[number, number]> = [];
    let n = 0;
    const out = await retry(
      async (attempt) => {
        n = attempt;
        if (attempt < 3) throw new TransientError('UNEXPECTED', 'not yet');
        return 'done';
      },
      { backoff: { baseMs: 1, maxMs: 10 }, onRetry: (_e, attempt, ms) => seen.push([attempt, ms]) },
    );
    expect(out).toBe('done');
    expect(n).toBe(3);
    expect(seen).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('throws at once what is not retryable, and the last error when the tries are spent', async () => {
    let tries = 0;
    const permanent = new PermanentError('CONTRACT', 'no');
    await expect(retry(() => Promise.reject(permanent).finally(() => tries++), { backoff: { baseMs: 1, maxMs: 1 } })).rejects.toBe(permanent);
    expect(tries).toBe(1);
    tries = 0;
    await expect(retry(() => Promise.reject(new Error(`try ${++tries}`)), { backoff: { baseMs: 1, maxMs: 1 }, attempts: 3 })).rejects.toThrow('try 3');
  });

  it('an abort ends the wait at once and no try starts after it', async () => {
    const ac = new AbortController();
    let tries = 0;
    const t0 = Date.now();
    const p = retry(() => Promise.reject(new Error(`try ${++tries}`)), { backoff: { baseMs: 60_000, maxMs: 60_000 }, retryable: () => true, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toThrow('try 1');
    expect(tries).toBe(1);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
