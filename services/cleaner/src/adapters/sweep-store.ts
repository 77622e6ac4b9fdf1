import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SweepStatus } from '../core/sweep-status.js';

/*
 * refresh — KEYS[1]: lock key. ARGV: token, ttlMs.
 * Result: 1 if this token still holds the lock (TTL extended), 0 otherwise.
 */
const REFRESH = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/*
 * release — KEYS[1]: lock key. ARGV: token.
 * Result: 1 if this token held the lock and it was deleted, 0 otherwise.
 */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

interface LockCommands {
  cleanerLockRefresh(key: string, token: string, ttlMs: number): Promise<number>;
  cleanerLockRelease(key: string, token: string): Promise<number>;
}

/**
 * Sweep state shared by every cleaner replica: a lock so one sweep runs at a
 * time, the latest sweep's status (progress and result, for the HTTP API),
 * and when the last scheduled sweep started (so a restart keeps the schedule).
 */
export class SweepStore {
  private readonly redis: Redis & LockCommands;
  private readonly lockKey: string;
  private readonly latestKey: string;
  private readonly lastStartKey: string;
  private readonly lastSuccessKey: string;

  /** Keys are per site (`<prefix>:cleaner:<site>:sweep:*`): each site's cleaner sweeps its own cache under its own lock. */
  constructor(redis: Redis, prefix: string, site: string) {
    redis.defineCommand('cleanerLockRefresh', { numberOfKeys: 1, lua: REFRESH });
    redis.defineCommand('cleanerLockRelease', { numberOfKeys: 1, lua: RELEASE });
    this.redis = redis as Redis & LockCommands;
    this.lockKey = `${prefix}:cleaner:${site}:sweep:lock`;
    this.latestKey = `${prefix}:cleaner:${site}:sweep:latest`;
    this.lastStartKey = `${prefix}:cleaner:${site}:sweep:last-scheduled-start`;
    this.lastSuccessKey = `${prefix}:cleaner:${site}:sweep:last-success`;
  }

  /** Takes the lock; returns its token, or null when another sweep holds it. */
  async acquire(ttlMs: number): Promise<string | null> {
    const token = randomUUID();
    return (await this.redis.set(this.lockKey, token, 'PX', ttlMs, 'NX')) === 'OK' ? token : null;
  }

  async refresh(token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.cleanerLockRefresh(this.lockKey, token, ttlMs)) === 1;
  }

  async release(token: string): Promise<void> {
    await this.redis.cleanerLockRelease(this.lockKey, token);
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
