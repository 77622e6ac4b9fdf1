import { Redis } from 'ioredis';
import { LeaderLease, RedisLease, RedisLocks } from '../src/lease.js';
import { REDIS_URL, deleteKeys, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';

const prefix = uniquePrefix('lease');
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  await deleteKeys(prefix);
  redis.disconnect();
});

describe('RedisLease', () => {
  it('one holder at a time: taken, extended by its holder, refused to another, released only by its holder, lapses', async () => {
    const a = new RedisLease(redis, `${prefix}:l1`, 'a');
    const b = new RedisLease(redis, `${prefix}:l1`, 'b');
    expect(await a.take(1_000)).toBe(true);
    expect(await b.take(1_000)).toBe(false);
    expect(await a.take(300)).toBe(true);
    await b.release(); // not b's: nothing happens
    expect(await b.take(300)).toBe(false);
    await new Promise((r) => setTimeout(r, 450));
    expect(await b.take(5_000)).toBe(true);
    await b.release();
    expect(await a.take(1_000)).toBe(true);
  });
});

describe('LeaderLease', () => {
  it('a standby waits, takes over when the leader stops renewing, and the old leader learns it lost', async () => {
    const lost: string[] = [];
    const key = `${prefix}:leader`;
    const mk = (holder: string) => new LeaderLease({ redis, key, holder, ttlMs: 600, logger: testLogger(), onLost: () => lost.push(holder) });
    const a = mk('a');
    expect(await a.acquire()).toBe(true);
    const b = mk('b');
    let bLeads = false;
    void b.acquire().then((ok) => (bLeads = ok));
    await new Promise((r) => setTimeout(r, 1_000));
    // a renews every 200 ms: b stands by.
    expect(bLeads).toBe(false);
    expect(a.isLeader).toBe(true);
    // a's lease is taken from it (as when it stalled past the TTL and b took over): a learns at its next renewal.
    await redis.set(key, 'c', 'PX', 60_000);
    await waitFor('a learns it lost', () => lost.includes('a'), 5_000);
    expect(a.isLeader).toBe(false);
    await redis.del(key);
    await waitFor('b takes over', () => bLeads, 5_000);
    expect(b.isLeader).toBe(true);
    await b.release();
    expect(await redis.exists(key)).toBe(0);
    await a.release();
  });
});

describe('RedisLock (RedisLocks.take)', () => {
  const locks = new RedisLocks(redis);

  it('one holder at a time; a waiter gets it once released; release is idempotent and only the holder\'s', async () => {
    const key = `${prefix}:lock1`;
    const a = await locks.take(key, { ttlMs: 5_000 });
    expect(a).not.toBeNull();
    expect(await locks.take(key, { ttlMs: 5_000 })).toBeNull();
    const waiter = locks.take(key, { ttlMs: 5_000, waitMs: 3_000 });
    await new Promise((r) => setTimeout(r, 50));
    await a!.release();
    await a!.release();
    const b = await waiter;
    expect(b).not.toBeNull();
    expect(await a!.held()).toBe(false);
    expect(await b!.held()).toBe(true);
    await b!.release();
    expect(await redis.exists(key)).toBe(0);
  });

  it('is renewed while held (outlives its TTL) and knows when it was taken from it', async () => {
    const key = `${prefix}:lock2`;
    const a = await locks.take(key, { ttlMs: 300 });
    await new Promise((r) => setTimeout(r, 700));
    expect(await a!.held()).toBe(true);
    expect(a!.lost).toBe(false);
    // Taken over (as after a stall past the TTL): the next renewal finds another token and does not take it back.
    await redis.set(key, 'other', 'PX', 60_000);
    await waitFor('a learns it lost the lock', () => a!.lost, 3_000);
    expect(await redis.get(key)).toBe('other');
    await a!.release();
    expect(await redis.get(key)).toBe('other');
  });

  it('gives up waiting after waitMs, or when its signal aborts', async () => {
    const key = `${prefix}:lock3`;
    const a = await locks.take(key, { ttlMs: 5_000 });
    const t0 = Date.now();
    expect(await locks.take(key, { ttlMs: 5_000, waitMs: 200 })).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    const ac = new AbortController();
    const waiting = locks.take(key, { ttlMs: 5_000, waitMs: 60_000, signal: ac.signal });
    ac.abort();
    expect(await waiting).toBeNull();
    await a!.release();
  });
});
