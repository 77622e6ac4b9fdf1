import { Redis } from 'ioredis';
import { LeaderLease, RedisLease } from '../src/lease.js';
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
