import { setTimeout as wait } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Globus meters Transfer API requests per *user* (the client identity):
 * 20 requests/s over 10-second windows. Every process that calls Globus with
 * that identity (batchers, watchers, every instance of each) spends one
 * budget. `acquire()` resolves when one request may go out.
 */
export interface RequestBudget {
  acquire(): Promise<void>;
}

/**
 * The identity's default budget, requests per second. Buckets are aligned
 * 1-second windows; Globus's 10-second window can start anywhere, so it
 * overlaps at most 11 of ours: 11 × 18 = 198 ≤ 200 (20/s × 10 s). A budget
 * of 20/s could let 220 through one Globus window.
 */
export const DEFAULT_IDENTITY_BUDGET_PER_SEC = 18;

export interface SharedBudgetOptions {
  redis: Redis;
  /** Key prefix (the service's REDIS_PREFIX): processes sharing a budget share it. */
  prefix: string;
  /** The Globus identity the budget belongs to (the client id; not a secret). */
  identity: string;
  perSecond: number;
  /**
   * While Redis does not answer, each process falls back to this local
   * budget (default: a quarter of the shared one, at least 1/s), so a Redis
   * outage slows Globus calls down instead of stopping them or bursting past the limit.
   */
  fallbackPerSecond?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * One budget across services and instances, kept in Redis by
 * rate-limiter-flexible (a fixed window per second, one atomic step per
 * request). A caller refused waits until the window turns (plus a little
 * jitter so the waiters do not stampede), never spins.
 */
export class SharedRequestBudget implements RequestBudget {
  private readonly limiter: RateLimiterRedis;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: SharedBudgetOptions) {
    const { points, duration } = windowOf(o.perSecond);
    const fallback = windowOf(o.fallbackPerSecond ?? Math.max(1, o.perSecond / 4));
    this.limiter = new RateLimiterRedis({
      storeClient: o.redis,
      keyPrefix: `${o.prefix}:globus-budget`,
      points,
      duration,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${o.prefix}:globus-budget-local`, points: fallback.points, duration: fallback.duration }),
    });
    this.sleep = o.sleep ?? ((ms) => wait(ms));
  }

  async acquire(): Promise<void> {
    for (;;) {
      try {
        await this.limiter.consume(this.o.identity, 1);
        return;
      } catch (rej) {
        if (!(rej instanceof RateLimiterRes)) throw rej;
        await this.sleep(Math.max(5, rej.msBeforeNext) + Math.random() * 20);
      }
    }
  }
}

/** rate-limiter-flexible counts whole points per whole-second window. */
function windowOf(perSecond: number): { points: number; duration: number } {
  if (perSecond >= 1) return { points: Math.floor(perSecond), duration: 1 };
  return { points: 1, duration: Math.ceil(1 / perSecond) };
}
