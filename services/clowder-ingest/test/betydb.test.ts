/**
 * The BETYdb adapter against a small HTTP server answering in the shape
 * terrautils read (`{data: [{experiment}]}`, `{data: [{site}]}`): BETYdb is
 * an external service that cannot be reached here, so it is faked in the
 * test (the broker, Redis and the database never are). The shape is
 * terrautils' reading, not checked against a live BETYdb (decision 0027).
 */
import { BetyClient, BetyError, point } from '../src/adapters/betydb.js';
import { BETY_KEY as KEY, fakeBety } from './bety-fake.js';

describe('BetyClient (terrautils betydb.py queries)', () => {
  it('queries api/beta with the key, the point as Python printed it, and full associations for sites', async () => {
    const bety = await fakeBety();
    try {
      const client = new BetyClient({ url: bety.url, key: KEY, timeoutMs: 5_000 });
      const all = await client.experiments();
      expect(all.map((e) => e.id)).toEqual([6000000008, 6000000007]);
      const at: [number, number] = [33.07541129411162, -111.97491280233641];
      await client.experiments(at);
      const sites = await client.sitesContaining(at);
      expect(sites.map((s) => s.sitename)).toEqual(['MAC Field Scanner Season 4 Range 2 Column 3', 'MAC Field Scanner Season 4 Range 2 Column 3 E']);
      expect(bety.queries).toEqual([
        { path: '/bety/api/beta/experiments', query: { key: KEY } },
        { path: '/bety/api/beta/experiments', query: { key: KEY, containing: '33.0754112941,-111.974912802' } },
        { path: '/bety/api/beta/sites', query: { key: KEY, associations_mode: 'full_info', limit: 'none', containing: '33.0754112941,-111.974912802' } },
      ]);
    } finally {
      await bety.app.close();
    }
  });

  it('an error status, a wrong key or another shape is a BetyError', async () => {
    const bety = await fakeBety({ failSites: true });
    try {
      await expect(new BetyClient({ url: bety.url, key: KEY, timeoutMs: 5_000 }).sitesContaining([33, -111])).rejects.toThrow(BetyError);
      await expect(new BetyClient({ url: bety.url, key: 'wrong', timeoutMs: 5_000 }).experiments()).rejects.toThrow(/HTTP 401/);
      await expect(new BetyClient({ url: `${bety.url}/nowhere`, key: KEY, timeoutMs: 5_000 }).experiments()).rejects.toThrow(BetyError);
    } finally {
      await bety.app.close();
    }
    await expect(new BetyClient({ url: bety.url, key: KEY, timeoutMs: 2_000 }).experiments()).rejects.toThrow(BetyError);
  });

  it('prints a point with 12 significant digits, as Python 2 str(float)', () => {
    expect(point([33.07541129411162, -111.9749128023364])).toBe('33.0754112941,-111.974912802');
    expect(point([33.5, -111])).toBe('33.5,-111');
  });
});
