import { RedisLocks, type RedisLock } from '@terra-transfer/platform';
import type { Redis } from 'ioredis';
import type { SweepStatus } from '../core/sweep-status.js';

/**
 * Sweep state shared by every cleaner replica: a lock so one sweep runs at a
 * time, the latest sweep's status (progress and result, for the HTTP API),
 * and when the last scheduled sweep started (so a restart keeps the schedule).
 */
export class SweepStore {
  private readonly redis: Redis;
  private readonly locks: RedisLocks;
  private readonly lockKey: string;
  private readonly latestKey: string;
  private readonly lastStartKey: string;
  private readonly lastSuccessKey: string;

  /** Keys are per site (`<prefix>:cleaner:<site>:sweep:*`): each site's cleaner sweeps its own cache under its own lock. */
  constructor(redis: Redis, prefix: string, site: string) {
    this.redis = redis;
    this.locks = new RedisLocks(redis);
    this.lockKey = `${prefix}:cleaner:${site}:sweep:lock`;
    this.latestKey = `${prefix}:cleaner:${site}:sweep:latest`;
    this.lastStartKey = `${prefix}:cleaner:${site}:sweep:last-scheduled-start`;
    this.lastSuccessKey = `${prefix}:cleaner:${site}:sweep:last-success`;
  }

  /** Takes the sweep lock (renewed while held; `lost` once taken from us); null when another sweep holds it. */
  acquire(ttlMs: number): Promise<RedisLock | null> {
    return this.locks.take(this.lockKey, { ttlMs });
  }

  /** Saves the latest sweep's status; a successful one is also kept as the last success (a later failure does not hide it). */
  async saveStatus(s: SweepStatus): Promise<void> {
    const json = JSON.stringify(s);
    if (s.state === 'succeeded') await this.redis.multi().set(this.latestKey, json).set(this.lastSuccessKey, json).exec();
    else await this.redis.set(this.latestKey, json);
  }

  async lastSuccess(): Promise<SweepStatus | null> {
    const raw = await this.redis.get(this.lastSuccessKey);
    return raw ? (JSON.parse(raw) as SweepStatus) : null;
  }

  async latest(): Promise<SweepStatus | null> {
    const raw = await this.redis.get(this.latestKey);
    return raw ? (JSON.parse(raw) as SweepStatus) : null;
  }

  async lastScheduledStart(): Promise<number | null> {
    const raw = await this.redis.get(this.lastStartKey);
    return raw ? Number(raw) : null;
  }

  async noteScheduledStart(at: number): Promise<void> {
    await this.redis.set(this.lastStartKey, String(at));
  }
}
