import { Store } from '../src/adapters/store.js';
import { tempDir } from '@terra-transfer/testkit';
import { ADMIN, COMM_KEY, USER, sim } from './helpers.js';

type App = Awaited<ReturnType<typeof sim>>;
const K = `key=${COMM_KEY}`;
const json = (payload: unknown) => ({ payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });

async function post(app: App, url: string, body: unknown, headers: Record<string, string> = {}) {
  const j = json(body);
  return app.http.inject({ method: 'POST', url, payload: j.payload, headers: { ...j.headers, ...headers } });
}

function multipart(fields: Array<{ name: string; value: string; filename?: string }>) {
  const boundary = '----terra-test-boundary';
  const chunks = fields.map(
    (f) => `--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"${f.filename ? `; filename="${f.filename}"` : ''}\r\n${f.filename ? 'Content-Type: application/octet-stream\r\n' : ''}\r\n${f.value}\r\n`,
  );
  return { payload: `${chunks.join('')}--${boundary}--\r\n`, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

async function space(app: App, name = 'ua-mac') {
  return (await post(app, `/api/spaces?${K}`, { name, description: '' })).json().id as string;
}

describe('clowder-sim: errors and authentication (§1)', () => {
  let app: App;
  beforeAll(async () => {
    app = await sim();
  });
  afterAll(() => app.http.close());

  it('answers unknown /api routes with the JSON not-found shape', async () => {
    const r = await app.http.inject({ method: 'GET', url: `/api/nothing/here?${K}` });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ status: 'not found', request: 'GET /api/nothing/here' });
  });

  it('rejects a malformed ObjectId and a malformed bool with 400 "Cannot parse parameter"', async () => {
    const r = await app.http.inject({ method: 'GET', url: `/api/datasets/not-an-id?${K}` });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ status: 'bad request', message: 'Cannot parse parameter id' });
    const b = await app.http.inject({ method: 'GET', url: `/api/datasets?${K}&exact=yes` });
    expect(b.json()).toMatchObject({ status: 'bad request', message: 'Cannot parse parameter exact' });
  });

  it('needs a JSON content type and valid JSON', async () => {
    const r = await app.http.inject({ method: 'POST', url: `/api/spaces?${K}`, payload: '{"name":"x","description":""}', headers: { 'content-type': 'text/plain' } });
    expect(r.json()).toMatchObject({ message: 'Expecting text/json or application/json body' });
    const t = await app.http.inject({ method: 'POST', url: `/api/spaces?${K}`, payload: '{"name":', headers: { 'content-type': 'text/json' } });
    expect(t.statusCode).toBe(400);
    expect(t.json()).toMatchObject({ message: 'Invalid Json' });
  });

  it('treats an unknown key as anonymous: 401 text/plain "Not authorized" on writes', async () => {
    const r = await post(app, '/api/spaces?key=wrong', { name: 'x', description: '' });
    expect(r.statusCode).toBe(401);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.body).toBe('Not authorized');
  });

  it('accepts X-API-Key, ?key= and Basic; a wrong Basic password falls through to the key', async () => {
    expect((await post(app, '/api/spaces', { name: 'a', description: '' }, { 'x-api-key': USER.key })).statusCode).toBe(200);
    expect((await post(app, `/api/spaces?key=${USER.key}`, { name: 'b', description: '' })).statusCode).toBe(200);
    const basic = (pw: string) => `Basic ${Buffer.from(`${USER.email}:${pw}`).toString('base64')}`;
    expect((await post(app, '/api/spaces', { name: 'c', description: '' }, { authorization: basic(USER.password) })).statusCode).toBe(200);
    expect((await post(app, '/api/spaces', { name: 'd', description: '' }, { authorization: basic('nope') })).statusCode).toBe(401);
    expect((await post(app, `/api/spaces?${K}`, { name: 'e', description: '' }, { authorization: basic('nope') })).statusCode).toBe(200);
  });

  it('gives a non-admin 401 and an admin 404 for a dataset that does not exist', async () => {
    const missing = 'aaaaaaaaaaaaaaaaaaaaaaaa';
    const user = await app.http.inject({ method: 'GET', url: `/api/datasets/${missing}`, headers: { 'x-api-key': USER.key } });
    expect(user.statusCode).toBe(401);
    const admin = await app.http.inject({ method: 'GET', url: `/api/datasets/${missing}?${K}` });
    expect(admin.statusCode).toBe(404);
    expect(admin.json()).toBe(`Could not find dataset with id [${missing}]`);
  });

  it('refuses a JSON body over the limit with 413', async () => {
    const small = await sim({ bodyLimit: 1024 });
    const r = await post(small, `/api/datasets/createempty?${K}`, { name: 'x'.repeat(2000) });
    expect(r.statusCode).toBe(413);
    await small.http.close();
  });

  it('in private mode refuses anonymous reads', async () => {
    const priv = await sim({ privateMode: true });
    expect((await priv.http.inject({ method: 'GET', url: '/api/datasets' })).statusCode).toBe(401);
    expect((await priv.http.inject({ method: 'GET', url: `/api/datasets?${K}` })).statusCode).toBe(200);
    await priv.http.close();
  });
});

describe('clowder-sim: datasets, collections, spaces (§2, §3)', () => {
  let app: App;
  beforeAll(async () => {
    app = await sim();
  });
  afterAll(() => app.http.close());

  it('createempty ignores a plain-string space/collection, honours arrays, and enforces no unique names', async () => {
    const s = await space(app);
    const c = (await post(app, `/api/collections?${K}`, { name: 'stereoTop', space: s })).json().id;
    const asString = (await post(app, `/api/datasets/createempty?${K}`, { name: 'ds', space: s, collection: c })).json().id;
    const asArray = (await post(app, `/api/datasets/createempty?${K}`, { name: 'ds', space: [s, 'bbbbbbbbbbbbbbbbbbbbbbbb'], collection: [c] })).json().id;
    expect(asArray > asString).toBe(true);
    const d1 = (await app.http.inject({ method: 'GET', url: `/api/datasets/${asString}?${K}` })).json();
    const d2 = (await app.http.inject({ method: 'GET', url: `/api/datasets/${asArray}?${K}` })).json();
    expect(d1.spaces).toEqual([]);
    expect(d2).toMatchObject({ name: 'ds', spaces: [s], thumbnail: null, resource_type: 'dataset' });
    expect(d2.created).toMatch(/^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}$/);
    const inColl = (await app.http.inject({ method: 'GET', url: `/api/collections/${c}/datasets?${K}` })).json();
    expect(inColl.map((d: { id: string }) => d.id)).toEqual([asArray]);
    const missing = await post(app, `/api/datasets/createempty?${K}`, { description: 'no name' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toBe('Missing parameter [name]');
  });

  it('title search is a case-insensitive unanchored regex unless exact=true; limit defaults to 12', async () => {
    for (let i = 0; i < 14; i++) await post(app, `/api/datasets/createempty?${K}`, { name: `flirIrCamera - 2017-06-01__12-00-${String(i).padStart(2, '0')}-000` });
    await post(app, `/api/datasets/createempty?${K}`, { name: 'flirIrCamera - 2017-06-01' });
    const get = async (q: string) => (await app.http.inject({ method: 'GET', url: `/api/datasets?${K}&${q}` })).json() as Array<{ name: string }>;
    expect(await get('title=FLIRIRCAMERA - 2017-06-01')).toHaveLength(12);
    expect(await get('title=flirIrCamera - 2017-06-01&limit=0')).toHaveLength(15);
    expect((await get(`title=${encodeURIComponent('flirIrCamera - 2017-06-01')}&exact=true`)).map((d) => d.name)).toEqual(['flirIrCamera - 2017-06-01']);
    expect(await get('title=FLIRIRCAMERA - 2017-06-01&exact=true')).toHaveLength(0);
    // metacharacters are not escaped: "." matches any character
    expect(await get('title=flirIrCamera . 2017&limit=0')).toHaveLength(15);
    const bad = await app.http.inject({ method: 'GET', url: `/api/datasets?${K}&title=${encodeURIComponent('(unclosed')}` });
    expect(bad.statusCode).toBe(500);
    expect(bad.json()).toMatchObject({ status: 'error' });
  });

  it('collections: `collectionname` in lists, all-string jsonCollection, idempotent addSubCollection, "collection not found"', async () => {
    const s = await space(app, 'collections-space');
    const root = (await post(app, `/api/collections/newCollectionWithParent?${K}`, { name: 'VNIR', description: '', space: s })).json().id;
    const year = (await post(app, `/api/collections/newCollectionWithParent?${K}`, { name: 'VNIR - 2017', parentId: root })).json().id;
    const orphan = (await post(app, `/api/collections/newCollectionWithParent?${K}`, { name: 'VNIR - 2018', parentId: 'cccccccccccccccccccccccc' })).json().id;
    expect(orphan).toMatch(/^[0-9a-f]{24}$/);
    const list = (await app.http.inject({ method: 'GET', url: `/api/collections?${K}&title=VNIR - 2017&exact=true` })).json();
    expect(list).toEqual([expect.objectContaining({ id: year, collectionname: 'VNIR - 2017', resource_type: 'collection' })]);
    expect(list[0].name).toBeUndefined();
    for (let i = 0; i < 2; i++) {
      const r = await app.http.inject({ method: 'POST', url: `/api/collections/${root}/addSubCollection/${year}?${K}` });
      expect(r.statusCode).toBe(200);
      expect(r.json().childCollectionsCount).toBe('1');
    }
    const jc = (await app.http.inject({ method: 'GET', url: `/api/collections/${root}?${K}` })).json();
    expect(jc).toMatchObject({ name: 'VNIR', root_flag: 'true', child_collection_ids: `List(${year})`, parent_collection_ids: 'List()', childCollectionsCount: '1', datasetCount: '0', spaces: `List(${s})` });
    for (const v of Object.values(jc)) expect(typeof v).toBe('string');
    const child = (await app.http.inject({ method: 'GET', url: `/api/collections/${year}?${K}` })).json();
    expect(child).toMatchObject({ root_flag: 'false', parent_collection_ids: `List(${root})`, spaces: `List(${s})` });
    const children = (await app.http.inject({ method: 'GET', url: `/api/collections/${root}/getChildCollections?${K}` })).json();
    expect(children.map((c: { id: string }) => c.id)).toEqual([year]);
    const nf = await app.http.inject({ method: 'GET', url: `/api/collections/dddddddddddddddddddddddd?${K}` });
    expect(nf.statusCode).toBe(400);
    expect(nf.json()).toBe('collection not found');
    // POST /api/collections dereferences a missing space: 500
    expect((await post(app, `/api/collections?${K}`, { name: 'x', space: 'eeeeeeeeeeeeeeeeeeeeeeee' })).statusCode).toBe(500);
  });

  it('DELETE /collections/:id removes the collection and its links (children and datasets are only unlinked), also after a journal replay', async () => {
    const dir = await tempDir('clowder-sim');
    try {
      const a = await sim({ dataDir: dir.path });
      const s = await space(a, 'delete-space');
      const root = (await post(a, `/api/collections/newCollectionWithParent?${K}`, { name: 'RGB', space: s })).json().id as string;
      const dup = (await post(a, `/api/collections/newCollectionWithParent?${K}`, { name: 'RGB - 2017', parentId: root, space: s })).json().id as string;
      const kid = (await post(a, `/api/collections/newCollectionWithParent?${K}`, { name: 'RGB - 2017-06', parentId: dup })).json().id as string;
      const d = (await post(a, `/api/datasets/createempty?${K}`, { name: 'in-dup', space: [s], collection: [dup] })).json().id as string;
      const del = await a.http.inject({ method: 'DELETE', url: `/api/collections/${dup}?${K}` });
      expect({ status: del.statusCode, body: del.json() }).toEqual({ status: 200, body: { status: 'success' } });
      const check = async (app: App) => {
        expect((await app.http.inject({ method: 'GET', url: `/api/collections?${K}&title=RGB - 2017&exact=true` })).json()).toEqual([]);
        expect((await app.http.inject({ method: 'GET', url: `/api/collections/${dup}?${K}` })).statusCode).toBe(400);
        expect((await app.http.inject({ method: 'GET', url: `/api/collections/${root}/getChildCollections?${K}` })).json()).toEqual([]);
        expect((await app.http.inject({ method: 'GET', url: `/api/collections/${kid}?${K}` })).json()).toMatchObject({ parent_collection_ids: 'List()' });
        expect(app.store.datasets.get(d)?.collections).toEqual([]);
        expect(app.store.spaces.get(s)?.collections).toEqual([root, kid]);
      };
      await check(a);
      expect((await a.http.inject({ method: 'DELETE', url: `/api/collections/${dup}?${K}` })).statusCode).toBe(400);
      await a.http.close();
      a.store.close();
      const b = await sim({ store: new Store({ dataDir: dir.path }) });
      await check(b);
      await b.http.close();
      b.store.close();
    } finally {
      await dir.remove();
    }
  });

  it('spaces: both fields required, regex title only, owner rule on addCollectionToSpace', async () => {
    expect((await post(app, `/api/spaces?${K}`, { name: 'no description' })).json()).toBe('Missing required parameters');
    const s = (await post(app, '/api/spaces', { name: 'owned', description: '' }, { 'x-api-key': USER.key })).json().id;
    const mine = (await post(app, '/api/collections', { name: 'mine' }, { 'x-api-key': USER.key })).json().id;
    const r = await post(app, `/api/spaces/${s}/addCollectionToSpace/${mine}`, {}, { 'x-api-key': 'other-key' });
    expect(r.statusCode).toBe(403);
    const ok = await post(app, `/api/spaces/${s}/addCollectionToSpace/${mine}`, {}, { 'x-api-key': USER.key });
    expect(ok.json()).toEqual({ collectionInSpace: '1' });
    const list = (await app.http.inject({ method: 'GET', url: `/api/spaces?${K}&title=OWN&exact=true` })).json();
    expect(list.map((x: { name: string }) => x.name)).toEqual(['owned']);
  });
});

describe('clowder-sim: files by path (§4) and metadata (§5)', () => {
  let app: App;
  let ds: string;
  const root = '/home/clowder/sites/ua-mac/raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000';
  beforeAll(async () => {
    app = await sim();
    ds = (await post(app, `/api/datasets/createempty?${K}`, { name: 'stereoTop - 2017-06-01__12-00-00-000' })).json().id;
  });
  afterAll(() => app.http.close());
  const upload = (fields: Array<{ name: string; value: string; filename?: string }>, q = '') => {
    const m = multipart(fields);
    return app.http.inject({ method: 'POST', url: `/api/uploadToDataset/${ds}?${K}${q}`, ...m });
  };

  it('answers {"ids":[...]} for several files, {"id"} for one, skips non-whitelisted paths silently, 400 text when none', async () => {
    const many = await upload([
      { name: 'file', value: JSON.stringify({ path: `${root}/left.bin` }) },
      { name: 'file', value: JSON.stringify({ path: `${root}/right.bin` }) },
      { name: 'file', value: JSON.stringify({ path: '/etc/passwd' }) },
    ]);
    expect(many.statusCode).toBe(200);
    const ids = many.json().ids;
    expect(ids).toHaveLength(2);
    expect(ids[0]).toMatchObject({ name: 'left.bin', status: 'CREATED', thumbnail: null, resource_type: 'file' });
    const one = await upload([{ name: 'file', value: JSON.stringify({ path: `${root}/meta_metadata.json` }) }, { name: 'file', value: JSON.stringify({ path: '/tmp/x' }) }]);
    expect(Object.keys(one.json())).toEqual(['id']);
    const none = await upload([{ name: 'file', value: JSON.stringify({ path: '/tmp/x' }) }]);
    expect(none.statusCode).toBe(400);
    expect(none.body).toBe('No files uploaded');
    expect(none.headers['content-type']).toMatch(/^text\/plain/);
    // the same path again is a second file: Clowder does not de-duplicate
    await upload([{ name: 'file', value: JSON.stringify({ path: `${root}/left.bin` }) }]);
    const files = (await app.http.inject({ method: 'GET', url: `/api/datasets/${ds}/listFiles?${K}` })).json();
    expect(files.filter((f: { filepath?: string }) => f.filepath === `${root}/left.bin`)).toHaveLength(2);
    expect(files[0]).toMatchObject({ size: '0', contentType: 'application/octet-stream' });
    const asUser = (await app.http.inject({ method: 'GET', url: `/api/datasets/${ds}/listFiles`, headers: { 'x-api-key': USER.key } })).json();
    expect(asUser[0].filepath).toBeUndefined();
  });

  it('accepts uploaded bytes, records extraction events unless extract=false, 404 text for a missing dataset', async () => {
    const before = app.events.counts.get('clowder.dataset.file.added') ?? 0;
    const r = await upload([{ name: 'File', value: 'hello', filename: 'h.txt' }]);
    expect(r.statusCode).toBe(200);
    expect(app.events.counts.get('clowder.dataset.file.added')).toBe(before + 1);
    expect(app.events.counts.get('clowder.file.text.plain')).toBe(1);
    await upload([{ name: 'file', value: JSON.stringify({ path: `${root}/quiet.bin` }) }], '&extract=false');
    expect(app.events.counts.get('clowder.dataset.file.added')).toBe(before + 1);
    const m = multipart([{ name: 'file', value: JSON.stringify({ path: `${root}/x.bin` }) }]);
    const missing = await app.http.inject({ method: 'POST', url: `/api/uploadToDataset/ffffffffffffffffffffffff?${K}`, ...m });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toBe('Dataset with id=ffffffffffffffffffffffff does not exist');
  });

  it('validates the metadata agent, appends every post, drops an array @context on datasets, filters by extractor', async () => {
    const url = `/api/datasets/${ds}/metadata.jsonld?${K}`;
    expect((await post(app, url, { content: {}, agent: { user_id: 'http://x/api/users/1' } })).statusCode).toBe(500);
    const missing = await post(app, url, { content: {}, agent: { '@type': 'cat:user' } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toBe('Creator data is missing or incorrect.');
    expect((await post(app, url, { content: {}, agent: { '@type': 'cat:user', user_id: 'not a url' } })).statusCode).toBe(500);
    const body = {
      '@context': ['https://clowder.ncsa.illinois.edu/contexts/metadata.jsonld', { '@vocab': 'https://terraref.org/ctx' }],
      content: { lemnatec: 1 },
      agent: { '@type': 'cat:user', user_id: `http://x/api/users/${USER.id}` },
    };
    for (let i = 0; i < 2; i++) {
      const ok = await post(app, url, body);
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toBe('Metadata successfully added to db');
    }
    await post(app, url, { content: { ex: 1 }, agent: { '@type': 'cat:extractor', name: 'bin2tif', extractor_id: 'http://x/api/extractors/terra.bin2tif' } });
    const all = (await app.http.inject({ method: 'GET', url })).json();
    expect(all).toHaveLength(3);
    expect(all[0].content).toEqual({ ex: 1 });
    expect(all[1]).toMatchObject({ agent: { name: USER.fullName }, attached_to: { resource_type: 'cat:dataset' } });
    expect(all[1]['@context']).toBeUndefined();
    const filtered = (await app.http.inject({ method: 'GET', url: `${url}&extractor=terra.bin2tif` })).json();
    expect(filtered).toHaveLength(1);
  });
});

describe('clowder-sim: persistence and fault injection', () => {
  it('replays its journal: the state survives a restart and new ids keep growing', async () => {
    const dir = await tempDir('clowder-sim');
    try {
      const a = await sim({ dataDir: dir.path });
      const s = await space(a);
      const d = (await post(a, `/api/datasets/createempty?${K}`, { name: 'persisted', space: [s] })).json().id as string;
      const m = multipart([{ name: 'file', value: JSON.stringify({ path: '/home/clowder/sites/p/a.bin' }) }]);
      await a.http.inject({ method: 'POST', url: `/api/uploadToDataset/${d}?${K}`, ...m });
      await a.http.close();
      a.store.close();
      const b = await sim({ store: new Store({ dataDir: dir.path }) });
      expect(b.store.replay.ops).toBeGreaterThanOrEqual(3);
      const got = (await b.http.inject({ method: 'GET', url: `/api/datasets?${K}&title=persisted&exact=true` })).json();
      expect(got).toEqual([expect.objectContaining({ id: d, spaces: [s] })]);
      const files = (await b.http.inject({ method: 'GET', url: `/api/datasets/${d}/listFiles?${K}` })).json();
      expect(files).toHaveLength(1);
      const next = (await post(b, `/api/datasets/createempty?${K}`, { name: 'after restart' })).json().id as string;
      expect(next > files[0].id).toBe(true);
      await b.http.close();
      b.store.close();
    } finally {
      await dir.remove();
    }
  });

  it('injects 504s before the handler (nothing done) or after it (done, reply lost), changeable through /admin/faults', async () => {
    const app = await sim();
    const auth = { authorization: `Bearer ${ADMIN}` };
    expect((await app.http.inject({ method: 'PUT', url: '/admin/faults', payload: { rate: 1 } })).statusCode).toBe(401);
    await app.http.inject({ method: 'PUT', url: '/admin/faults', payload: { rate: 1, phase: 'before' }, headers: auth });
    const before = await post(app, `/api/datasets/createempty?${K}`, { name: 'f1' });
    expect(before.statusCode).toBe(504);
    expect(before.body).toContain('504 Gateway Time-out');
    await app.http.inject({ method: 'PUT', url: '/admin/faults', payload: { phase: 'after' }, headers: auth });
    expect((await post(app, `/api/datasets/createempty?${K}`, { name: 'f2' })).statusCode).toBe(504);
    await app.http.inject({ method: 'PUT', url: '/admin/faults', payload: { rate: 0, insertFailureRate: 1 }, headers: auth });
    const insertFailed = await post(app, `/api/datasets/createempty?${K}`, { name: 'f3' });
    expect(insertFailed.statusCode).toBe(200);
    expect(insertFailed.json()).toEqual({ status: 'error' });
    const summary = (await app.http.inject({ method: 'GET', url: '/admin/summary', headers: auth })).json();
    expect([...app.store.datasets.values()].map((d) => d.name)).toEqual(['f2']);
    expect(summary.counts.datasets).toBe(1);
    await app.http.close();
  });
});

describe('clowder-sim as a process', () => {
  it('keeps every acknowledged write across a SIGKILL and restart (journal written before the reply)', async () => {
    const { spawn } = await import('node:child_process');
    const { freePort, waitFor } = await import('@terra-transfer/testkit');
    const { fileURLToPath } = await import('node:url');
    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const dir = await tempDir('clowder-sim-kill');
    const port = await freePort();
    const start = () => {
      const p = spawn(process.execPath, [main], { env: { ...process.env, HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port), CLOWDER_SIM_DATA_DIR: dir.path, CLOWDER_SIM_LATENCY_MS: '0', LOG_LEVEL: 'error' }, stdio: 'ignore' });
      return waitFor('sim up', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok ?? false, 20_000, 50).then(() => p);
    };
    const api = `http://127.0.0.1:${port}/api`;
    let proc = await start();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 50; i++) {
        const r = await fetch(`${api}/datasets/createempty?${K}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `k-${i}` }) });
        ids.push(((await r.json()) as { id: string }).id);
      }
      const killed = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await killed;
      proc = await start();
      const list = (await (await fetch(`${api}/datasets?${K}&limit=0`)).json()) as Array<{ id: string }>;
      expect(list.map((d) => d.id).sort()).toEqual(ids.sort());
    } finally {
      proc.kill('SIGKILL');
      await dir.remove();
    }
  });
});
