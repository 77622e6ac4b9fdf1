import { RateLimiter } from './rate-limit.js';

it('lets a burst of `perSecond` through, then spaces requests at the rate', async () => {
  let clock = 0;
  const limiter = new RateLimiter(20, () => clock, async (ms) => {
    clock += ms;
  });
  const times: number[] = [];
  for (let i = 0; i < 60; i++) {
    await limiter.acquire();
    times.push(clock);
  }
  expect(times.slice(0, 20).every((t) => t === 0)).toBe(true);
  // 40 more need 2 s of refill at 20/s.
  expect(times[59]).toBeGreaterThanOrEqual(1950);
  expect(times[59]).toBeLessThanOrEqual(2100);
  // Never more than 20 + 20·t requests by time t.
  for (let i = 0; i < times.length; i++) expect(i + 1).toBeLessThanOrEqual(20 + Math.floor((times[i]! / 1000) * 20) + 1);
});

it('is unlimited at 0', async () => {
  const limiter = new RateLimiter(0, () => 0, async () => {
    throw new Error('must not sleep');
  });
  for (let i = 0; i < 100; i++) await limiter.acquire();
});
