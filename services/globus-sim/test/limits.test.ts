import { GlobusClient, SharedRequestBudget, TASK_IDS_PER_FILTER, globusClientFromConfig } from '@terra-transfer/globus';
import { closeRedis, createRedis, createRegistry } from '@terra-transfer/platform';
import { REDIS_URL, deleteKeys, testLogger, uniquePrefix } from '@terra-transfer/testkit';
import { CLIENT_ID, CLIENT_SECRET, DST, SRC, item, startSim, type Harness } from './harness.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

describe('task_id filters: at most 50 ids per request', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSim();
    await h.write('a.bin', 'a');
  });
  afterAll(() => h.close());

  async function rawTaskList(filter: string) {
    const token = (await (await fetch(`${h.url}/v2/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=urn:globus:auth:scope:transfer.api.globus.org:all',
    })).json() as { access_token: string }).access_token;
    return fetch(`${h.url}/v0.10/task_list?${new URLSearchParams({ filter, fields: 'task_id' })}`, { headers: { authorization: `Bearer ${token}` } });
  }

  it('the simulator answers 50 ids and refuses 51 with a Transfer API error document', async () => {
    expect(TASK_IDS_PER_FILTER).toBe(50);
    expect((await rawTaskList(`task_id:${ids(50).join(',')}`)).status).toBe(200);
    const res = await rawTaskList(`task_id:${ids(51).join(',')}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({ code: 'ClientError.BadRequest', resource: '/v0.10/task_list' });
    expect(body['message']).toContain('at most 50');
    expect(body['request_id']).toMatch(/^[A-Za-z0-9]{9}$/);
  });

  it('the client (and so the watcher) asks in batches of 50: 120 ids are 3 calls, and the tasks at both ends are found', async () => {
    const statuses: number[] = [];
    const c = h.client({ onCall: (endpoint, _o, info) => endpoint === 'task_list' && statuses.push(info.status) });
    const a = await c.submitTransfer({ source_endpoint: SRC, destination_endpoint: DST, label: 'first', DATA: [item('/a.bin', '/first/a.bin')] });
    const b = await c.submitTransfer({ source_endpoint: SRC, destination_endpoint: DST, label: 'last', DATA: [item('/a.bin', '/last/a.bin')] });
    const wanted = [a.taskId, ...ids(118), b.taskId];
    const found = await c.tasksById(wanted, ['status']);
    expect(found.map((t) => t.task_id).sort()).toEqual([a.taskId, b.taskId].sort());
    expect(statuses).toEqual([200, 200, 200]);
  });
});

/**
 * One request budget per Globus identity. The simulator meters 20 requests/s
 * per owner over 10-second windows (as Globus documents) and answers 429
 * beyond. Several processes of one identity hammer it for longer than a window.
 */
describe('one request budget per Globus identity', () => {
  const RUN_MS = 11_000;

  /** Calls task_list in `loops` sequential loops per client until the time is up; counts 429s and successes. */
  async function hammer(clients: GlobusClient[], loops: number, ms: number) {
    const end = Date.now() + ms;
    let ok = 0;
    await Promise.all(clients.flatMap((c) => Array.from({ length: loops }, async () => {
      while (Date.now() < end) {
        await c.taskList({ limit: 1 }).then(() => ok++, () => undefined);
      }
    })));
    return ok;
  }

  it('separate per-service limits that sum past the identity’s 20/s get 429s, counted in terra_transfer_globus_rate_limited_total', async () => {
    const h = await startSim({ GLOBUS_SIM_RATE_LIMIT_PER_SEC: '20' });
    try {
      const registry = createRegistry();
      const base = { GLOBUS_AUTH_URL: h.url, GLOBUS_TRANSFER_URL: `${h.url}/v0.10`, GLOBUS_CLIENT_ID: CLIENT_ID, GLOBUS_CLIENT_SECRET: CLIENT_SECRET, GLOBUS_SCOPES: ['urn:globus:auth:scope:transfer.api.globus.org:all'], GLOBUS_RATE_LIMIT_SHARED: false };
      // The old split: batcher 20/s + watcher 10/s on one identity.
      const batcher = globusClientFromConfig({ ...base, GLOBUS_RATE_LIMIT: 20 }, testLogger(), registry);
      const watcher = globusClientFromConfig({ ...base, GLOBUS_RATE_LIMIT: 10 }, testLogger(), registry);
      await hammer([batcher, watcher], 3, RUN_MS);
      const limited = (await registry.getSingleMetricAsString('terra_transfer_globus_rate_limited_total')).split('\n').filter((l) => l.startsWith('terra_transfer_globus_rate_limited_total{'));
      const total = limited.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      expect(total).toBeGreaterThan(0);
      expect(limited.join('\n')).toContain('endpoint="task_list"');
    } finally {
      await h.close();
    }
  }, 60_000);

  it('batchers and watchers (3 processes) spending one Redis-kept budget never see a 429, and still use most of it', async () => {
    const h = await startSim({ GLOBUS_SIM_RATE_LIMIT_PER_SEC: '20' });
    const prefix = uniquePrefix('budget');
    const redises = [0, 1, 2].map((i) => createRedis({ url: REDIS_URL, connectionName: `${prefix}-${i}`, logger: testLogger() }));
    try {
      let tooMany = 0;
      // Each process has its own Redis connection and its own budget object, as separate services would.
      const clients = redises.map((redis) => h.client({
        budget: new SharedRequestBudget({ redis, prefix, identity: CLIENT_ID, perSecond: 18 }),
        onCall: (_e, _o, info) => { if (info.status === 429) tooMany++; },
      }));
      const ok = await hammer(clients, 3, RUN_MS);
      expect(tooMany).toBe(0);
      // 18/s for 11 s is 198; a loaded machine may not keep up, but most of the budget is used.
      expect(ok).toBeGreaterThan(120);
      expect(ok).toBeLessThanOrEqual(18 * Math.ceil(RUN_MS / 1000) + 18);
    } finally {
      await Promise.all(redises.map((r) => closeRedis(r)));
      await deleteKeys(prefix);
      await h.close();
    }
  }, 60_000);
});
