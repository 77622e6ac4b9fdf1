import { join } from 'node:path';
import { ClowderClient } from '@terra-transfer/clowder';
import { topology } from '@terra-transfer/contracts';
import { AmqpClient, closeRedis, createRedis, createRegistry, type Redis, type Registry } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, drainQueue, queueDepth, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { buildIngestApp, type IngestApp } from '../src/app.js';
import type { SiteSettings } from '../src/config.js';
import { COMM_KEY, ingestedOutcomes, startSim, transferred } from './helpers.js';

/**
 * A private Clowder where TERRA's collections were made by someone else (the
 * original pipeline's account): the ingest reuses them, is refused (403)
 * when its key may not write there, holds consuming and alerts instead of
 * looping or dead-lettering, and resumes once it may.
 */
const OWNER = { id: '5a00000000000000000000a1', email: 'pipeline@terraref.org', fullName: 'TERRA pipeline', key: 'owner-key', admin: false };
const INGESTER = { id: '5a00000000000000000000a2', email: 'ingest@terraref.org', fullName: 'Ingest', key: 'ingest-key', admin: true };
const ROOT = '/terraref/sites/ua-mac';
const dest = (rel: string) => join(ROOT, rel);
const DAY = 'raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000';

type Sim = Awaited<ReturnType<typeof startSim>>;

async function as(sim: Sim, key: string, method: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(`${sim.url}/api/${path}${path.includes('?') ? '&' : '?'}key=${key}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

/** The original pipeline's objects, made as terrautils made them (every level with parentId and space). */
async function originalHierarchy(sim: Sim) {
  const space = (await as(sim, OWNER.key, 'POST', 'spaces', { name: 'ua-mac', description: '' })).id as string;
  const ids: string[] = [];
  for (const name of ['stereoTop', 'stereoTop - 2017', 'stereoTop - 2017-06', 'stereoTop - 2017-06-01']) {
    const parent = ids[ids.length - 1];
    ids.push((await as(sim, OWNER.key, 'POST', 'collections/newCollectionWithParent', { name, description: '', space, ...(parent ? { parentId: parent } : {}) })).id);
  }
  const dataset = (await as(sim, OWNER.key, 'POST', 'datasets/createempty', { name: 'stereoTop - 2017-06-01__12-00-00-000', description: '', space: [space], collection: [ids[3]] })).id as string;
  return { space, collections: ids, dataset };
}

interface Rig {
  app: IngestApp;
  amqp: AmqpClient;
  registry: Registry;
  clowder: ClowderClient;
}

describe('clowder-ingest on a private Clowder whose collections belong to someone else', () => {
  const prefix = uniquePrefix('ingest-perm');
  const t = topology(prefix);
  let sim: Sim;
  let redis: Redis;
  let publisher: AmqpClient;
  const rigs: Rig[] = [];

  async function rig(key: string, sites: Record<string, SiteSettings>, over: { superAdmin?: boolean; consume?: boolean } = {}): Promise<Rig> {
    const logger = testLogger();
    const registry = createRegistry();
    const amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'perm-test', logger, registry, deliveryLimit: 2, sites: ['ua-mac'] });
    const clowder = new ClowderClient({ url: sim.url, key, retries: 1, retryBaseMs: 10, retryMaxMs: 20, timeoutMs: 5_000, ...(over.superAdmin ? { superAdmin: true } : {}) });
    const app = await buildIngestApp({
      settings: {
        sites,
        redisPrefix: `${prefix}:${rigs.length}`,
        clowderUrl: sim.url,
        agentUserId: '000000000000000000000000',
        metadataVocab: 'https://terraref.example/ctx#',
        extract: false,
        prefetch: 20,
        batchWindowMs: 50,
        batchMaxFiles: 50,
        lockTtlMs: 10_000,
        lockWaitMs: 20_000,
        attempts: 3,
        retryBaseMs: 10,
        probeMinMs: 200,
        probeMaxMs: 1_000,
        outageHoldMs: 1_000,
      },
      logger,
      registry,
      amqp,
      redis,
      clowder,
    });
    const r = { app, amqp, registry, clowder };
    rigs.push(r);
    return r;
  }

  beforeAll(async () => {
    sim = await startSim({ CLOWDER_SIM_USERS: JSON.stringify([OWNER, INGESTER]), CLOWDER_SIM_PRIVATE: 'true' });
    redis = createRedis({ url: REDIS_URL, connectionName: 'perm-test', logger: testLogger() });
    publisher = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'perm-pub', logger: testLogger(), registry: createRegistry(), deliveryLimit: 2, sites: ['ua-mac'] });
    await publisher.start();
  });

  afterAll(async () => {
    for (const r of rigs) {
      await r.app.stop(2_000).catch(() => undefined);
      await r.amqp.close(2_000).catch(() => undefined);
      r.clowder.close();
    }
    await publisher?.close(1_000);
    if (redis) await closeRedis(redis);
    await deleteTopology(prefix);
    await deleteKeys(prefix);
    await sim?.close();
  });

  it('fails loudly at start when the configured space id is unknown to Clowder, and creates nothing', async () => {
    const before = (await sim.summary()).counts;
    const r = await rig(COMM_KEY, { 'ua-mac': { destinationRoot: ROOT, clowderRoot: '/home/clowder/sites/ua-mac', space: 'ua-mac', spaceId: '5a00000000000000000000ff' } });
    await expect(r.app.start()).rejects.toMatchObject({ code: 'CLOWDER_SPACE_UNKNOWN' });
    expect(await r.registry.metrics()).toMatch(/terra_transfer_clowder_space_unknown_total 1/);
    expect((await sim.summary()).counts).toEqual(before);
  }, 30_000);

  it('reuses the hierarchy the original pipeline built, holds consuming on a 403 without dead-lettering, and resumes once allowed', async () => {
    const orig = await originalHierarchy(sim);
    const sites = { 'ua-mac': { destinationRoot: ROOT, clowderRoot: '/home/clowder/sites/ua-mac', space: 'ua-mac', spaceId: orig.space } };
    // An admin user key without super-admin mode: an ordinary user for permissions.
    const r = await rig(INGESTER.key, sites);
    await r.app.start();
    const events = ['a.bin', 'b.bin'].map((f) => transferred('ua-mac', dest(`${DAY}/${f}`), 'stereoTop'));
    for (const e of events) await publisher.publish(e);

    await waitFor('not ready, refused', async () => {
      const res = await r.app.http.inject({ method: 'GET', url: '/readyz' });
      return res.statusCode === 503 && (res.json() as { checks: Record<string, boolean> }).checks['clowder'] === false;
    }, 20_000, 100);
    // Far longer than two deliveries would take with the consumer's retry backoff: nothing is dead-lettered or lost.
    await new Promise((res) => setTimeout(res, 5_000));
    expect(await queueDepth(AMQP_URL, t.deadLetterQueue('ingestTransfers'))).toBe(0);
    const metrics = await r.registry.metrics();
    const refusals = Number(/terra_transfer_clowder_forbidden_total\{site="ua-mac"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    expect(refusals).toBeGreaterThanOrEqual(1);
    // Probed with a backoff (200 ms doubling to 1 s over 5 s), not a hot loop: a handful of refusals, not hundreds.
    expect(refusals).toBeLessThan(40);
    expect((await sim.summary()).counts.files).toBe(0);

    // The operator gives the ingest's user an Editor role in the space: consuming resumes on its own.
    await as(sim, OWNER.key, 'POST', `spaces/${orig.space}/updateUsers`, { rolesandusers: { Editor: INGESTER.id } });
    await waitFor('both ingested', async () => (await queueDepth(AMQP_URL, t.queue('outcomes'))) >= 2, 30_000, 100);
    await waitFor('ready again', async () => (await r.app.http.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 10_000, 100);
    expect(await queueDepth(AMQP_URL, t.deadLetterQueue('ingestTransfers'))).toBe(0);

    const s = await sim.summary();
    // The original collections and dataset were reused: none created, none duplicated.
    expect(s.counts).toMatchObject({ spaces: 1, collections: 4, datasets: 1, files: 2, distinctFilePaths: 2 });
    expect(s.duplicates).toEqual({ spaces: [], collections: [], datasets: [], filePaths: [], datasetMetadata: [] });
    const outcomes = ingestedOutcomes(await drainQueue(AMQP_URL, t.queue('outcomes')));
    for (const o of outcomes) {
      expect(o.data.collectionIds).toEqual(orig.collections);
      expect(o.data.datasetId).toBe(orig.dataset);
      expect(o.data.spaceId).toBe(orig.space);
    }
    await r.app.stop(2_000);
  }, 90_000);

  it('writes into someone else\'s collections with an admin key when CLOWDER_SUPERADMIN asks for super-admin mode', async () => {
    const before = (await sim.summary()).counts;
    const space = (await as(sim, OWNER.key, 'POST', 'spaces', { name: 'ua-mac-2', description: '' })).id as string;
    await as(sim, OWNER.key, 'POST', 'collections/newCollectionWithParent', { name: 'flirIrCamera', description: '', space });
    const sites = { 'ua-mac': { destinationRoot: ROOT, clowderRoot: '/home/clowder/sites/ua-mac', space: 'ua-mac-2', spaceId: space } };
    const r = await rig(INGESTER.key, sites, { superAdmin: true });
    await r.amqp.start();
    await r.app.handle(transferred('ua-mac', dest('raw_data/flirIrCamera/2017-06-02/2017-06-02__08-00-00-000/c.bin'), 'flirIrCamera'));
    const s = await sim.summary();
    expect(s.counts.files).toBe(before.files + 1);
    // The owner's sensor collection was reused; year, month, day and the dataset were created.
    expect(s.counts.collections).toBe(before.collections + 1 + 3);
    // No 403 at all: the per-site series exists from the start and reads 0.
    expect(await r.registry.metrics()).toMatch(/terra_transfer_clowder_forbidden_total\{site="ua-mac"\} 0\n/);
  }, 30_000);
});
