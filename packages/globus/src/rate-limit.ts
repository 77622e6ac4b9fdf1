import { setTimeout as wait } from 'node:timers/promises';
/**
 * Client-side rate limit: a token bucket of `perSecond` tokens that refills
 * continuously, so we stay under Globus's 20 requests/s per user (metered
 * over 10 s windows) instead of learning it from 429s. Callers wait in FIFO
 * order. `now`/`sleep` are injectable for tests.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => wait(ms),
  ) {
    this.tokens = perSecond;
    this.last = now();
  }

  /** Resolves when one request may go out. A limit of 0 or less means unlimited. */
  acquire(): Promise<void> {
    if (!(this.perSecond > 0)) return Promise.resolve();
    const turn = this.chain.then(() => this.take());
    this.chain = turn.catch(() => undefined);
    return turn;
  }

  private async take(): Promise<void> {
    for (;;) {
      const t = this.now();
      this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.last) / 1000) * this.perSecond);
      this.last = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
    }
  }
}
