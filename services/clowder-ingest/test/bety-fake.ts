/**
 * A small stand-in for BETYdb's api/beta (an external HTTP service that
 * cannot be reached here), answering in the shape terrautils read:
 * `{data: [{experiment}]}` and `{data: [{site}]}`. Its records match
 * test/fixtures/*.case.json (decision 0027: the shape is terrautils'
 * reading, not checked against a live BETYdb).
 */
import Fastify, { type FastifyInstance } from 'fastify';

export const BETY_KEY = 'bety-test-key';

/** BETYdb's api/beta: experiments (optionally at a point) and sites containing a point, with their experiments. */
export async function fakeBety(opts: { failSites?: boolean } = {}): Promise<{ url: string; app: FastifyInstance; queries: { path: string; query: Record<string, string> }[] }> {
  const app = Fastify();
  const queries: { path: string; query: Record<string, string> }[] = [];
  app.addHook('onRequest', async (req, reply) => {
    const query = req.query as Record<string, string>;
    queries.push({ path: req.url.split('?')[0]!, query });
    if (query['key'] !== BETY_KEY) await reply.code(401).send({ errors: 'invalid key' });
  });
  app.get('/bety/api/beta/experiments', async () => ({
    metadata: { count: 2 },
    data: [
      { experiment: { id: 6000000008, name: 'MAC Season 4: Sorghum BAP', start_date: '2017-04-13', end_date: '2017-09-21', view_url: 'https://terraref.ncsa.illinois.edu/bety/experiments/6000000008' } },
      { experiment: { id: 6000000007, name: 'MAC Season 3: Durum Wheat', start_date: '2017-01-01', end_date: '2017-04-01', view_url: 'https://terraref.ncsa.illinois.edu/bety/experiments/6000000007' } },
    ],
  }));
  app.get('/bety/api/beta/sites', async (req, reply) => {
    if (opts.failSites) return reply.code(502).send('bad gateway');
    const q = req.query as Record<string, string>;
    // BETYdb tests the point against the plots' polygons; the fake answers the same two plots for any point.
    if (!q['containing']) return { data: [] };
    return {
      data: [
        { site: { id: 6000005001, sitename: 'MAC Field Scanner Season 4 Range 2 Column 3', view_url: 'https://terraref.ncsa.illinois.edu/bety/sites/6000005001', experiments: [{ experiment: { id: 6000000008, name: 'MAC Season 4: Sorghum BAP' } }] } },
        { site: { id: 6000005002, sitename: 'MAC Field Scanner Season 4 Range 2 Column 3 E', view_url: 'https://terraref.ncsa.illinois.edu/bety/sites/6000005002', experiments: [{ experiment: { id: 6000000008, name: 'MAC Season 4: Sorghum BAP' } }] } },
      ],
    };
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url: `${url}/bety`, app, queries };
}
