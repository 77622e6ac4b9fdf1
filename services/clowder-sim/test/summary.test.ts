import { ADMIN, COMM_KEY, sim } from './helpers.js';

type App = Awaited<ReturnType<typeof sim>>;
const post = (app: App, url: string, body: unknown) =>
  app.http.inject({ method: 'POST', url: `${url}?key=${COMM_KEY}`, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

// The summary's duplicates are what the original pipeline got wrong: the same collection or dataset made twice in
// one place. Two sites' spaces each holding a collection of the same name are two collections, not a duplicate.
it('counts a name twice in one place as a duplicate, and the same name in two spaces as two collections', async () => {
  const app = await sim();
  try {
    const a = (await post(app, '/api/spaces', { name: 'site-a', description: '' })).json().id as string;
    const b = (await post(app, '/api/spaces', { name: 'site-b', description: '' })).json().id as string;
    for (const space of [a, b]) expect((await post(app, '/api/collections/newCollectionWithParent', { name: 'drone - 2026-06', space })).statusCode).toBe(200);
    const summary = async () => (await app.http.inject({ method: 'GET', url: '/admin/summary', headers: { authorization: `Bearer ${ADMIN}` } })).json();
    expect((await summary()).duplicates.collections).toEqual([]);
    // The same name again in site-a's space: that one is a duplicate.
    expect((await post(app, '/api/collections/newCollectionWithParent', { name: 'drone - 2026-06', space: a })).statusCode).toBe(200);
    expect((await summary()).duplicates.collections).toEqual([{ name: 'drone - 2026-06', count: 2 }]);
  } finally {
    await app.http.close();
  }
});
