import { ClowderClient, ClowderProtocolError, ClowderRejectedError, ClowderUnavailableError } from '@terra-transfer/clowder';
import { COMM_KEY, USER, sim } from './helpers.js';

type App = Awaited<ReturnType<typeof sim>>;

describe('@terra-transfer/clowder against the simulator', () => {
  let app: App;
  let url: string;
  let client: ClowderClient;
  const retries: Array<{ route: string; status?: number }> = [];

  beforeAll(async () => {
    app = await sim();
    await app.http.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.http.server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    client = new ClowderClient({ url, key: COMM_KEY, retries: 20, retryBaseMs: 5, retryMaxMs: 20, onRetry: (r) => retries.push(r) });
  });
  afterAll(async () => {
    client.close();
    await app.http.close();
  });
  afterEach(() => {
    Object.assign(app.faults, { rate: 0, insertFailureRate: 0, phase: 'either' });
  });

  it('builds a hierarchy with normalized shapes (collectionname, all-string jsonCollection, arrays for createempty)', async () => {
    const space = await client.createSpace('ua-mac', 'test site');
    expect((await client.findSpaces('ua-mac')).map((s) => s.id)).toEqual([space]);
    await client.createSpace('ua-mac-2', '');
    // /api/spaces has no exact: the client anchors and escapes, then compares
    expect(await client.findSpaces('ua-mac')).toHaveLength(1);
    const root = await client.createCollectionWithParent({ name: 'stereoTop', space });
    const year = await client.createCollectionWithParent({ name: 'stereoTop - 2017', parentId: root });
    await client.addSubCollection(root, year);
    const found = await client.findCollections('stereoTop');
    expect(found).toEqual([expect.objectContaining({ id: root, name: 'stereoTop' })]);
    const coll = await client.getCollection(root);
    expect(coll).toMatchObject({ root: true, childCollectionIds: [year], childCollectionsCount: 1, spaces: [space] });
    const ds = await client.createDataset({ name: 'stereoTop - 2017-06-01__12-00-00-000', spaces: [space], collections: [year] });
    expect(await client.getDataset(ds)).toMatchObject({ spaces: [space] });
    expect((await client.collectionDatasets(year)).map((d) => d.id)).toEqual([ds]);
    expect((await client.findDatasets('stereoTop - 2017-06-01__12-00-00-000')).map((d) => d.id)).toEqual([ds]);
    expect(await client.findDatasets('stereoTop - 2017-06-01')).toEqual([]);
  });

  it('registers paths in one request and normalizes {"ids"} and {"id"}; listFiles carries filepath for the commKey', async () => {
    const ds = await client.createDataset({ name: 'upload-test' });
    const p = '/home/clowder/sites/ua-mac/raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000';
    const two = await client.registerPaths(ds, [{ path: `${p}/left.bin` }, { path: `${p}/right.bin` }], { extract: false });
    expect(two.map((f) => f.name)).toEqual(['left.bin', 'right.bin']);
    const one = await client.registerPaths(ds, [{ path: `${p}/meta_metadata.json` }, { path: '/not/whitelisted' }]);
    expect(one).toEqual([{ id: expect.stringMatching(/^[0-9a-f]{24}$/) }]);
    const files = await client.listFiles(ds);
    expect(files.map((f) => f.filepath).sort()).toEqual([`${p}/left.bin`, `${p}/meta_metadata.json`, `${p}/right.bin`]);
    expect(typeof files[0]!.size).toBe('number');
    await expect(client.registerPaths(ds, [{ path: '/nowhere' }])).rejects.toMatchObject({ code: 'CLOWDER_BAD_REQUEST', status: 400, detail: 'No files uploaded' });
  });

  it('classifies: 4xx permanent with the text or JSON-string message, 401 for a non-admin and an unknown id', async () => {
    const user = new ClowderClient({ url, key: USER.key, retries: 0 });
    try {
      const err = await user.getDataset('aaaaaaaaaaaaaaaaaaaaaaaa').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClowderRejectedError);
      expect(err).toMatchObject({ code: 'CLOWDER_UNAUTHORIZED', status: 401, detail: 'Not authorized', retryable: false });
    } finally {
      user.close();
    }
    const nf = await client.getDataset('aaaaaaaaaaaaaaaaaaaaaaaa').catch((e: unknown) => e);
    expect(nf).toMatchObject({ code: 'CLOWDER_NOT_FOUND', detail: 'Could not find dataset with id [aaaaaaaaaaaaaaaaaaaaaaaa]' });
    await expect(client.getDataset('nope')).rejects.toBeInstanceOf(ClowderProtocolError);
  });

  it('retries idempotent calls on 504 with backoff, never blindly retries a creation, and treats 200 {"status":"error"} as transient', async () => {
    const ds = await client.createDataset({ name: 'retry-test' });
    // Half the calls fail at random: with 21 attempts a call gives up with odds 0.5^21 (20 calls: about 1e-5),
    // where 9 attempts made this test fail about one run in 25.
    Object.assign(app.faults, { rate: 0.5, phase: 'before' });
    retries.length = 0;
    for (let i = 0; i < 20; i++) expect((await client.getDataset(ds)).id).toBe(ds);
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((r) => r.status === 504 && r.route === 'GET /datasets/:id')).toBe(true);
    Object.assign(app.faults, { rate: 1, phase: 'after' });
    retries.length = 0;
    const before = app.store.datasets.size;
    const err = await client.createDataset({ name: 'lost reply' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClowderUnavailableError);
    expect(err).toMatchObject({ code: 'CLOWDER_5XX', status: 504, retryable: true });
    expect(retries).toHaveLength(0);
    // the dataset exists although the reply was lost: that is why callers re-check before repeating
    expect(app.store.datasets.size).toBe(before + 1);
    Object.assign(app.faults, { rate: 0, insertFailureRate: 1 });
    await expect(client.createDataset({ name: 'insert fails' })).rejects.toMatchObject({ code: 'CLOWDER_STATUS_ERROR', retryable: true });
  });

  it('reports a connection error as transient CLOWDER_UNREACHABLE', async () => {
    const dead = new ClowderClient({ url: 'http://127.0.0.1:9', key: COMM_KEY, retries: 1, retryBaseMs: 1 });
    await expect(dead.findDatasets('x')).rejects.toMatchObject({ code: 'CLOWDER_UNREACHABLE', retryable: true });
    dead.close();
  });

  it('posts dataset metadata and reads it back (the JSON-string success answer)', async () => {
    const ds = await client.createDataset({ name: 'md-test' });
    await client.addDatasetMetadata(ds, { content: { a: 1 }, agent: { '@type': 'cat:user', user_id: `${url}/api/users/000000000000000000000000` } });
    const md = await client.datasetMetadata(ds);
    expect(md).toHaveLength(1);
    expect(md[0]).toMatchObject({ content: { a: 1 }, agent: { name: 'Anonymous User' } });
    await expect(client.addDatasetMetadata(ds, { content: {}, agent: { '@type': 'cat:user' } })).rejects.toMatchObject({ code: 'CLOWDER_BAD_REQUEST', detail: 'Creator data is missing or incorrect.' });
  });
});
