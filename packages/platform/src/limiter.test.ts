import { setTimeout as sleep } from 'node:timers/promises';
import { Limiter, forEachLimit } from './limiter.js';

describe('Limiter', () => {
  it('runs at most `concurrency` tasks; a producer that waits for room never queues any', async () => {
    const l = new Limiter(3);
    let running = 0;
    let peak = 0;
    let queuedPeak = 0;
    for (let i = 0; i < 50; i++) {
      await l.room();
      void l.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(1);
        running--;
      });
      queuedPeak = Math.max(queuedPeak, l.size - running);
    }
    await l.idle();
    expect(peak).toBe(3);
    expect(queuedPeak).toBe(0);
    expect(l.size).toBe(0);
  });

  it('room() answers false once its signal aborts', async () => {
    const l = new Limiter(1);
    void l.run(() => sleep(200));
    const ac = new AbortController();
    const waiting = l.room(ac.signal);
    ac.abort();
    expect(await waiting).toBe(false);
    await l.idle();
  });
});

describe('forEachLimit', () => {
  it('visits every item at most `concurrency` at once', async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachLimit([1, 2, 3, 4, 5, 6, 7], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(1);
      seen.push(n);
      running--;
    });
    expect(peak).toBe(2);
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('starts nothing after a failure and rejects with the first one', async () => {
    const started: number[] = [];
    await expect(
      forEachLimit([1, 2, 3, 4, 5], 1, async (n) => {
        started.push(n);
        if (n === 2) throw new Error('two');
      }),
    ).rejects.toThrow('two');
    expect(started).toEqual([1, 2]);
  });
});
