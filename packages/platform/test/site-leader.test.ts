import { Redis } from 'ioredis';
import { Lifecycle } from '../src/lifecycle.js';
import { createRegistry, type Registry } from '../src/metrics.js';
import { siteLeader, siteLeaderKey } from '../src/site-leader.js';
import { REDIS_URL, deleteKeys, testLogger, uniquePrefix } from '@terra-transfer/testkit';

const prefix = uniquePrefix('site-leader');
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  await deleteKeys(prefix);
  redis.disconnect();
});

const held = async (registry: Registry) => (await registry.getSingleMetric('terra_transfer_leader_lease_held')!.get()).values[0]!.value;

describe('siteLeader', () => {
  it('off: no readiness check, no key, leads at once', async () => {
    const lifecycle = new Lifecycle(testLogger());
    const leader = siteLeader({ enabled: false, service: 'svc', site: 'off', prefix, ttlMs: 1_000, redis: undefined, logger: testLogger(), lifecycle, registry: createRegistry() });
    expect(leader.checks).toEqual({});
    expect(await leader.acquire()).toBe(true);
    expect(await redis.exists(siteLeaderKey(prefix, 'svc', 'off'))).toBe(0);
  });

  it('on: one leads per site; a standby stopped while waiting leads never; a leader\'s shutdown hands the lease over at once', async () => {
    const mk = () => {
      const lifecycle = new Lifecycle(testLogger());
      const registry = createRegistry();
      const leader = siteLeader({ enabled: true, service: 'svc', site: 'on', prefix, ttlMs: 30_000, redis, logger: testLogger(), lifecycle, registry });
      return { lifecycle, registry, leader };
    };
    const a = mk();
    expect(await a.leader.acquire()).toBe(true);
    expect(a.leader.checks['leader']!()).toBe(true);
    expect(await held(a.registry)).toBe(1);
    expect(await redis.get(siteLeaderKey(prefix, 'svc', 'on'))).toMatch(/^svc-/);

    // A standby stopped (SIGTERM) while it waits: acquire answers false at once, the leader keeps the lease.
    const b = mk();
    const waiting = b.leader.acquire();
    await new Promise((r) => setTimeout(r, 200));
    expect(b.leader.checks['leader']!()).toBe(false);
    expect(await held(b.registry)).toBe(0);
    const t0 = Date.now();
    await b.lifecycle.shutdown('test');
    expect(await waiting).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(a.leader.checks['leader']!()).toBe(true);

    // The leader's shutdown releases the lease: the next instance leads without waiting for the 30 s lease.
    await a.lifecycle.shutdown('test');
    expect(await held(a.registry)).toBe(0);
    const c = mk();
    const t1 = Date.now();
    expect(await c.leader.acquire()).toBe(true);
    expect(Date.now() - t1).toBeLessThan(1_000);
    await c.lifecycle.shutdown('test');
    expect(await redis.exists(siteLeaderKey(prefix, 'svc', 'on'))).toBe(0);
  });
});
