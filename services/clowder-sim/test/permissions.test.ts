import { COMM_KEY, OTHER, USER, sim } from './helpers.js';

/**
 * Clowder 1.x permissions (Permission.checkPermission): a user writes into
 * what it owns or what is in a space where it is Admin or Editor; only the
 * commKey, or a server admin asking for super-admin mode, bypasses that.
 */
type App = Awaited<ReturnType<typeof sim>>;
const ADMIN_USER = { email: 'admin@terraref.org', fullName: 'Server Admin', key: 'admin-key', admin: true, id: '5a0000000000000000000003' };

async function call(app: App, method: 'POST' | 'GET', url: string, body?: unknown) {
  return app.http.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
}
const byPath = (path: string) => ({
  payload: `------b\r\nContent-Disposition: form-data; name="file"\r\n\r\n${JSON.stringify({ path })}\r\n------b--\r\n`,
  headers: { 'content-type': 'multipart/form-data; boundary=----b' },
});

describe('clowder-sim: ownership and space roles', () => {
  let app: App;
  let spaceId: string;
  let rootId: string;
  let datasetId: string;
  beforeAll(async () => {
    app = await sim({ users: [USER, OTHER, ADMIN_USER] });
    // USER owns the space, a collection and a dataset in it (like TERRA's collections on a private server).
    spaceId = (await call(app, 'POST', `/api/spaces?key=${USER.key}`, { name: 'terra', description: '' })).json().id;
    rootId = (await call(app, 'POST', `/api/collections/newCollectionWithParent?key=${USER.key}`, { name: 'stereoTop', space: spaceId })).json().id;
    datasetId = (await call(app, 'POST', `/api/datasets/createempty?key=${USER.key}`, { name: 'stereoTop - 2017-06-01__12-00-00-000', space: [spaceId], collection: [rootId] })).json().id;
  });
  afterAll(() => app.http.close());

  const upload = (key: string, extra = '') =>
    app.http.inject({ method: 'POST', url: `/api/uploadToDataset/${datasetId}?key=${key}${extra}`, ...byPath('/home/clowder/sites/ua-mac/x.bin') });

  it('lets the owner write, and answers 403 "Not authorized" to another user', async () => {
    expect((await upload(USER.key)).statusCode).toBe(200);
    const r = await upload(OTHER.key);
    expect(r.statusCode).toBe(403);
    expect(r.body).toBe('Not authorized');
    const sub = (await call(app, 'POST', `/api/collections/newCollectionWithParent?key=${OTHER.key}`, { name: 'stereoTop - 2017' })).json().id as string;
    expect((await call(app, 'POST', `/api/collections/${rootId}/addSubCollection/${sub}?key=${OTHER.key}`)).statusCode).toBe(403);
    expect((await call(app, 'POST', `/api/collections/${rootId}/datasets/${datasetId}?key=${OTHER.key}`)).statusCode).toBe(403);
    const md = { '@context': 'https://clowder.ncsa.illinois.edu/contexts/metadata.jsonld', content: { a: 1 }, agent: { '@type': 'cat:user', user_id: 'http://h/api/users/5a0000000000000000000002' } };
    expect((await call(app, 'POST', `/api/datasets/${datasetId}/metadata.jsonld?key=${OTHER.key}`, md)).statusCode).toBe(403);
    expect((await call(app, 'POST', `/api/spaces/${spaceId}/addCollectionToSpace/${sub}?key=${OTHER.key}`)).statusCode).toBe(403);
  });

  it('treats a server admin as an ordinary user unless the request asks for superAdmin=true', async () => {
    expect((await upload(ADMIN_USER.key)).statusCode).toBe(403);
    expect((await upload(ADMIN_USER.key, '&superAdmin=true')).statusCode).toBe(200);
    // superAdmin=true from a non-admin changes nothing.
    expect((await upload(OTHER.key, '&superAdmin=true')).statusCode).toBe(403);
    expect((await upload(COMM_KEY)).statusCode).toBe(200);
  });

  it('lets an Editor of the space write into what is in it, and not a Viewer', async () => {
    // Only the space's owner (or an Admin of it) hands out roles.
    expect((await call(app, 'POST', `/api/spaces/${spaceId}/updateUsers?key=${OTHER.key}`, { rolesandusers: { Editor: OTHER.id } })).statusCode).toBe(403);
    expect((await call(app, 'POST', `/api/spaces/${spaceId}/updateUsers?key=${USER.key}`, { rolesandusers: { Viewer: OTHER.id } })).statusCode).toBe(200);
    expect((await upload(OTHER.key)).statusCode).toBe(403);
    expect((await call(app, 'POST', `/api/spaces/${spaceId}/updateUsers?key=${USER.key}`, { rolesandusers: { Editor: OTHER.id } })).statusCode).toBe(200);
    expect((await upload(OTHER.key)).statusCode).toBe(200);
    const sub = (await call(app, 'POST', `/api/collections/newCollectionWithParent?key=${OTHER.key}`, { name: 'stereoTop - 2018' })).json().id as string;
    expect((await call(app, 'POST', `/api/collections/${rootId}/addSubCollection/${sub}?key=${OTHER.key}`)).statusCode).toBe(200);
  });

  it('answers 500 to newCollectionWithParent with an unknown space, and creates nothing', async () => {
    const before = app.store.collections.size;
    const r = await call(app, 'POST', `/api/collections/newCollectionWithParent?key=${USER.key}`, { name: 'stereoTop', space: '5a00000000000000000000ff' });
    expect(r.statusCode).toBe(500);
    expect(r.json()).toMatchObject({ status: 'error' });
    expect(app.store.collections.size).toBe(before);
  });

  it('answers a space by id, and 404 for an unknown id (admin caller)', async () => {
    expect((await call(app, 'GET', `/api/spaces/${spaceId}?key=${COMM_KEY}`)).json()).toMatchObject({ id: spaceId, name: 'terra' });
    expect((await call(app, 'GET', `/api/spaces/5a00000000000000000000ff?key=${COMM_KEY}`)).statusCode).toBe(404);
  });
});
