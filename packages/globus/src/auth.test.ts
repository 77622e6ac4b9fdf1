import { TokenSource, transferScope, TRANSFER_SCOPE } from './auth.js';

it('renews 60 s before expiry, shares one renewal between concurrent callers, and renews after invalidate', async () => {
  let now = 1_000_000;
  let issued = 0;
  const src = new TokenSource(async () => {
    issued++;
    await new Promise((r) => setTimeout(r, 5));
    return { access_token: `t${issued}`, expires_in: 3600 };
  }, () => now);
  const [a, b] = await Promise.all([src.token(), src.token()]);
  expect([a, b, issued]).toEqual(['t1', 't1', 1]);
  now += (3600 - 61) * 1000;
  expect(await src.token()).toBe('t1');
  now += 2000; // inside the last 60 s
  expect(await src.token()).toBe('t2');
  src.invalidate('t1'); // stale: ignored
  expect(await src.token()).toBe('t2');
  src.invalidate('t2');
  expect(await src.token()).toBe('t3');
});

it('refuses a token response without exactly one token', async () => {
  const src = new TokenSource(async () => ({ access_token: 'x', expires_in: 10, other_tokens: [{}] }));
  await expect(src.token()).rejects.toMatchObject({ code: 'GLOBUS_BAD_RESULT', upstreamCode: 'AUTH.BadTokenResponse', retryable: false });
});

it('builds the data_access dependent scope', () => {
  expect(transferScope()).toBe(TRANSFER_SCOPE);
  expect(transferScope(['c1', 'c2'])).toBe(`${TRANSFER_SCOPE}[*https://auth.globus.org/scopes/c1/data_access *https://auth.globus.org/scopes/c2/data_access]`);
});
