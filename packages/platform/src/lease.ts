import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { backoffDelay } from './backoff.js';
import type { Logger } from './logger.js';
import { sleep } from './sleep.js';

/*
 * lease — KEYS: the lease key. ARGV: holder, ttl ms.
 * Takes the lease when free, or extends it when `holder` has it.
 * Result: 1 held by holder (taken or extended), 0 held by another.
 */
const LEASE = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/* release — KEYS: the lease key. ARGV: holder. Deletes it only if `holder` has it (compare-and-delete). Result: 1 released, 0 not held. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/* extend — KEYS: the lease key. ARGV: holder, ttl ms. Extends it only if `holder` has it (never takes a lapsed one). Result: 1 extended, 0 not held. */
const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

interface LeaseCommands {
  terraLease(key: string, holder: string, ttlMs: number): Promise<number>;
  terraLeaseRelease(key: string, holder: string): Promise<number>;
  terraLeaseExtend(key: string, holder: string, ttlMs: number): Promise<number>;
}

function commands(redis: Redis): Redis & LeaseCommands {
  const r = redis as Redis & Partial<LeaseCommands>;
  if (!r.terraLease) {
    redis.defineCommand('terraLease', { numberOfKeys: 1, lua: LEASE });
    redis.defineCommand('terraLeaseRelease', { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand('terraLeaseExtend', { numberOfKeys: 1, lua: EXTEND });
  }
  return redis as Redis & LeaseCommands;
}

/** A name for this process among competing instances (leases). */
export function instanceName(service: string): string {
  return `${service}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * A lease in Redis that expires unless its holder renews it: who does a
 * piece of work among competing instances. One atomic step per take or
 * renewal (a Lua script), compare-and-delete on release.
 */
export class RedisLease {
  private readonly redis: Redis & LeaseCommands;

  constructor(redis: Redis, readonly key: string, readonly holder: string) {
    this.redis = commands(redis);
  }

  /** True when `holder` has the lease now (taken or extended by `ttlMs`). */
  async take(ttlMs: number): Promise<boolean> {
    return (await this.redis.terraLease(this.key, this.holder, Math.max(1, Math.round(ttlMs)))) === 1;
  }

  /** True when `holder` still had the lease and it was extended by `ttlMs`; a lapsed lease is not taken again. */
  async extend(ttlMs: number): Promise<boolean> {
    return (await this.redis.terraLeaseExtend(this.key, this.holder, Math.max(1, Math.round(ttlMs)))) === 1;
  }

  /** True when `holder` has the lease now. */
  async held(): Promise<boolean> {
    return (await this.redis.get(this.key)) === this.holder;
  }

  async release(): Promise<void> {
    await this.redis.terraLeaseRelease(this.key, this.holder);
  }
}

export interface RedisLockOptions {
  /** The lock lapses this long after its holder stopped renewing it (renewed every third of it while held). */
  ttlMs: number;
  /** How long `take` waits for a lock someone else holds (default 0: one try). */
  waitMs?: number;
  signal?: AbortSignal;
}

/**
 * The one mutual-exclusion lock of the tree: a RedisLease under a fresh token
 * (a fencing token per acquisition), renewed every third of its TTL while
 * held, so only a holder that died (or lost Redis for longer than the TTL)
 * frees it. A renewal that finds the token gone marks the lock `lost`; the
 * holder checks that between steps (the sweep) or asks `held()` before an
 * irreversible step (the ingest's creations).
 */
export class RedisLock {
  private lostFlag = false;
  private released = false;
  private readonly timer: NodeJS.Timeout;

  /** Use `RedisLocks.take`. */
  constructor(
    private readonly lease: RedisLease,
    ttlMs: number,
  ) {
    this.timer = setInterval(() => {
      lease.extend(ttlMs).then(
        (ok) => {
          if (!ok && !this.released) this.lostFlag = true;
        },
        () => undefined, // Redis does not answer: nobody can take the lock meanwhile; the TTL decides
      );
    }, Math.max(100, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  /** True once a renewal found the lock taken from this holder (expired, flushed, taken over). */
  get lost(): boolean {
    return this.lostFlag;
  }

  /** Asks Redis whether this holder still has the lock. */
  async held(): Promise<boolean> {
    return !this.released && (await this.lease.held());
  }

  /** Stops renewing and deletes the lock if this holder still has it. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await this.lease.release();
  }
}

/**
 * Takes `RedisLock`s on one Redis client. Made where the client is handed
 * over (a store's constructor): the scripts are registered with the client
 * before its first auto-pipelined command, as ioredis requires.
 */
export class RedisLocks {
  constructor(private readonly redis: Redis) {
    commands(redis);
  }

  /**
   * Takes the lock `key`, polling with a short jittered backoff (5 ms doubling
   * to 100 ms) for up to `waitMs`; null when another holder kept it that long
   * (or `signal` aborted).
   */
  async take(key: string, o: RedisLockOptions): Promise<RedisLock | null> {
    const lease = new RedisLease(this.redis, key, randomUUID());
    const deadline = Date.now() + (o.waitMs ?? 0);
    for (let n = 0; ; n++) {
      if (await lease.take(o.ttlMs)) return new RedisLock(lease, o.ttlMs);
      if (Date.now() >= deadline || o.signal?.aborted) return null;
      await sleep(backoffDelay(n, LOCK_POLL), o.signal);
    }
  }
}

/** Waits between tries for a held lock. */
const LOCK_POLL = { baseMs: 5, maxMs: 100, jitter: 0.5 };

export interface LeaderLeaseOptions {
  redis: Redis;
  key: string;
  holder: string;
  /** The lease lapses this long after its holder stopped renewing it (renewed every third of it). */
  ttlMs: number;
  logger: Logger;
  /** Another instance holds the lease now: stop the work at once. */
  onLost: () => void;
}

/**
 * Leadership of a job that two instances must never do at once (a source
 * that would send every file twice). `acquire()` waits as a standby until
 * the lease is free; a renewal that finds another holder calls `onLost`. A
 * renewal that fails because Redis does not answer keeps the work going
 * (nobody can take the lease meanwhile) and is logged.
 */
export class LeaderLease {
  private readonly lease: RedisLease;
  private timer: NodeJS.Timeout | undefined;
  private held = false;

  constructor(private readonly o: LeaderLeaseOptions) {
    this.lease = new RedisLease(o.redis, o.key, o.holder);
  }

  get isLeader(): boolean {
    return this.held;
  }

  /** Waits (standby) until this instance holds the lease, then keeps it. False if `signal` aborted first. */
  async acquire(signal?: AbortSignal): Promise<boolean> {
    let waiting = false;
    while (!signal?.aborted) {
      const got = await this.lease.take(this.o.ttlMs).catch((err: unknown) => {
        this.o.logger.warn({ key: this.o.key, err }, 'leader lease: Redis does not answer; trying again');
        return false;
      });
      if (got) {
        this.held = true;
        this.o.logger.info({ key: this.o.key, holder: this.o.holder }, 'leader lease taken: this instance does the work');
        this.timer = setInterval(() => void this.renew(), this.o.ttlMs / 3);
        this.timer.unref();
        return true;
      }
      if (!waiting) this.o.logger.info({ key: this.o.key }, 'another instance holds the leader lease: standing by');
      waiting = true;
      await sleep(this.o.ttlMs / 3, signal);
    }
    return false;
  }

  private async renew(): Promise<void> {
    try {
      if (await this.lease.take(this.o.ttlMs)) return;
      this.held = false;
      clearInterval(this.timer);
      this.o.logger.error({ key: this.o.key }, 'leader lease lost to another instance: stopping the work');
      this.o.onLost();
    } catch (err) {
      this.o.logger.warn({ key: this.o.key, err }, 'leader lease: renewal failed (Redis does not answer); still leading');
    }
  }

  /** Stops renewing and hands the lease over at once. Idempotent. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    if (!this.held) return;
    this.held = false;
    await this.lease.release().catch(() => undefined);
  }
}
