/**
 * Gantry metadata arrives in Clowder as TERRA's pipeline cleaned it
 * (terrautils 1.1.0 lemnatec.clean): the sensor from the site's naming
 * rules, its fixed metadata read from the Clowder dataset the site file
 * names (clowder.fixedMetadata), experiments and sites from BETYdb (a small
 * stand-in: an external service). Without a fixed-metadata id or BETYdb the
 * record is still attached, without those parts, and the gaps are counted.
 * Real RabbitMQ and Redis, the Clowder simulator.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClowderClient } from '@terra-transfer/clowder';
import { topology } from '@terra-transfer/contracts';
import { AmqpClient, closeRedis, createRedis, createRegistry, type Redis, type Registry } from '@terra-transfer/platform';
import { parseSites, stringifySites } from '@terra-transfer/sites';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, drainQueue, tempDir, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { BetyClient } from '../src/adapters/betydb.js';
import { MetadataConverter } from '../src/adapters/metadata-conversion.js';
import { buildIngestApp, type IngestApp } from '../src/app.js';
import { ingestSites } from '../src/sites.js';
import { ingestTelemetry } from '../src/telemetry.js';
import { BETY_KEY, fakeBety } from './bety-fake.js';
import { expectClose } from './expect-close.js';
import { COMM_KEY, ingestedOutcomes, startSim, transferred } from './helpers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const AGENT = '000000000000000000000000';
type Obj = Record<string, unknown>;
const fixture = async (name: string) => JSON.parse(await readFile(join(FIXTURES, name), 'utf8')) as Obj;
const metricValue = (metrics: string, series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN);

/** One ingest over the simulator, for one test; `fixedMetadata` and `betyUrl` as the test configures them. */
async function harness(name: string, opts: { fixedMetadata?: (clowder: ClowderClient) => Promise<Record<string, string>>; betyUrl?: string }) {
  const prefix = uniquePrefix(name);
  const t = topology(prefix, ['ua-mac']);
  const sim = await startSim();
  const dest = await tempDir(name);
  const logger = testLogger();
  const registry: Registry = createRegistry();
  const root = join(dest.path, 'ua-mac');
  const clowder = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 6, retryBaseMs: 10, retryMaxMs: 100 });
  const fixedMetadata = opts.fixedMetadata ? await opts.fixedMetadata(clowder) : undefined;
  // The site file as an operator writes it.
  const sites = parseSites(stringifySites([{
    name: 'ua-mac', source: { kind: 'xferlog', xferlog: '/var/log/xferlog', cacheRoot: '/cache' }, whitelist: ['MovingSensor'],
    globus: { sourceEndpoint: 'src' }, destinations: [{ name: 'hpc', endpoint: 'dst', root }],
    clowder: { space: { name: 'ua-mac' }, collectionRoot: '/home/clowder/sites/ua-mac', ...(fixedMetadata ? { fixedMetadata } : {}) },
    deletion: { policy: 'delete-after-verified-transfer' },
  }]));
  const amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: `${name}-test`, logger, registry, deliveryLimit: 50, sites: ['ua-mac'] });
  const publisher = new AmqpClient({ url: AMQP_URL, prefix, connectionName: `${name}-pub`, logger, registry: createRegistry(), deliveryLimit: 50, sites: ['ua-mac'] });
  const redis: Redis = createRedis({ url: REDIS_URL, connectionName: `${name}-test`, logger });
  await publisher.start();
  const app: IngestApp = await buildIngestApp({
    settings: {
      sites: ingestSites(sites.sites), redisPrefix: prefix, clowderUrl: sim.url, agentUserId: AGENT, metadataVocab: 'https://terraref.example/ctx#',
      extract: false, prefetch: 10, batchWindowMs: 50, batchMaxFiles: 100, lockTtlMs: 10_000, lockWaitMs: 20_000, attempts: 6, retryBaseMs: 10,
    },
    logger, registry, amqp, redis, clowder,
    ...(opts.betyUrl ? { bety: new BetyClient({ url: opts.betyUrl, key: BETY_KEY, timeoutMs: 5_000 }) } : {}),
  });
  await app.start();
  let seen = 0;
  return {
    sim, clowder, registry,
    /** Writes a dataset's metadata.json, publishes its file.transferred and waits for its file.ingested. */
    async send(sensor: string, timestamp: string, content: unknown): Promise<string> {
      const path = join(root, 'raw_data', sensor, timestamp.slice(0, 10), timestamp, '6ba6f62b_metadata.json');
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, JSON.stringify(content));
      await publisher.publish(transferred('ua-mac', path, sensor));
      await waitFor('file.ingested', async () => {
        seen += ingestedOutcomes(await drainQueue(AMQP_URL, t.queue('outcomes'))).length;
        return seen > 0;
      }, 30_000, 100);
      seen = 0;
      const [ds] = await clowder.findDatasets(`${sensor} - ${timestamp}`);
      return ds!.id;
    },
    async close() {
      await app.stop(2_000);
      await amqp.close(2_000);
      await publisher.close(1_000);
      clowder.close();
      await closeRedis(redis);
      await deleteTopology(prefix);
      await deleteKeys(prefix);
      await sim.close();
      await dest.remove();
    },
  };
}

/** A dataset holding a sensor's fixed metadata as TERRA kept it: one metadata record whose content is the metadata. */
async function fixedDataset(clowder: ClowderClient, name: string, content: unknown): Promise<string> {
  const id = await clowder.createDataset({ name });
  await clowder.addDatasetMetadata(id, { content, agent: { '@type': 'cat:user', user_id: `http://clowder.example/api/users/${AGENT}` } });
  return id;
}

it('a stereoTop metadata.json is attached as terrautils cleaned it: links, spatial, experiments and sites', async () => {
  const c = await fixture('stereoTop.case.json');
  const bety = await fakeBety();
  const ids: Record<string, string> = {};
  const h = await harness('ingest-gantry', {
    betyUrl: bety.url,
    fixedMetadata: async (clowder) => {
      ids['scanalyzer'] = await fixedDataset(clowder, 'scanalyzer fixed metadata', { platform: 'scanalyzer' });
      ids['stereoTop'] = await fixedDataset(clowder, 'stereoTop fixed metadata', Object.values(c['fixed'] as Obj)[0]);
      return { ...ids };
    },
  });
  try {
    const datasetId = await h.send('stereoTop', '2017-05-13__12-29-21-202', c['metadata']);
    const records = await h.clowder.datasetMetadata(datasetId);
    expect(records).toHaveLength(1);
    const expected = await fixture('stereoTop.expected.json');
    // The links name this Clowder (the fixture was made with TERRA's public address and TERRA's dataset ids).
    expected['gantry_fixed_metadata'] = { url: `${h.sim.url}/api/datasets/${ids['scanalyzer']}/metadata.jsonld` };
    expected['sensor_fixed_metadata'] = { url: `${h.sim.url}/api/datasets/${ids['stereoTop']}/metadata.jsonld` };
    expectClose(records[0]!.content, expected);
    expect(records[0]!.agent?.user_id).toBe(`${h.sim.url}/api/users/${AGENT}`);
    // BETYdb was asked for every experiment and, at each of the two centroids, the experiments and sites there.
    expect(bety.queries.map((q) => q.path)).toEqual(['/bety/api/beta/experiments', ...Array(2).fill(['/bety/api/beta/experiments', '/bety/api/beta/sites']).flat()]);
    const metrics = await h.registry.metrics();
    expect(metricValue(metrics, 'terra_transfer_clowder_metadata_converted_total{result="lemnatec"}')).toBe(1);
    expect(metrics).not.toMatch(/terra_transfer_clowder_metadata_parts_missing_total\{/);

    // A second dataset of the sensor: the fixed metadata is not read again (kept in memory), so the
    // record is complete even though its dataset is gone from Clowder meanwhile.
    await h.clowder.deleteDataset(ids['stereoTop']!);
    const second = await h.send('stereoTop', '2017-05-13__12-30-00-000', c['metadata']);
    expectClose(((await h.clowder.datasetMetadata(second))[0]!.content as Obj)['spatial_metadata'], expected['spatial_metadata']);
  } finally {
    await h.close();
    await bety.app.close();
  }
}, 120_000);

it('no fixed-metadata id and no BETYdb: still attached, without those parts, each gap counted', async () => {
  const c = await fixture('scanner3DTop.case.json');
  const h = await harness('ingest-gantry-bare', {});
  try {
    const datasetId = await h.send('scanner3DTop', '2017-07-01__00-00-54-000', c['metadata']);
    const records = await h.clowder.datasetMetadata(datasetId);
    expect(records).toHaveLength(1);
    const content = records[0]!.content as Obj;
    const expected = await fixture('scanner3DTop.expected.json');
    expect(Object.keys(content).sort()).toEqual(['gantry_variable_metadata', 'sensor_variable_metadata', 'terraref_cleaned_metadata']);
    expect(content['gantry_variable_metadata']).toEqual(expected['gantry_variable_metadata']);
    // The point cloud origin needs the scanners' places in the camera box (fixed metadata): empty sides.
    expect(content['sensor_variable_metadata']).toEqual({ ...(expected['sensor_variable_metadata'] as Obj), point_cloud_origin_m: { east: {}, west: {} } });
    expect(content['terraref_cleaned_metadata']).toBe(true);

    // Danforth-style metadata (no lemnatec_measurement_metadata) is attached as it is.
    const snapshot = { experiment: { title: 'Danforth snapshot' }, snapshot_id: '12345' };
    const other = await h.send('ddpscIndoorSuite', '2016-10-01__09-00-00-000', snapshot);
    expect((await h.clowder.datasetMetadata(other))[0]!.content).toEqual(snapshot);

    const metrics = await h.registry.metrics();
    const missing = (part: string, reason: string) => metricValue(metrics, `terra_transfer_clowder_metadata_parts_missing_total{part="${part}",reason="${reason}"}`);
    expect(missing('gantry_fixed_metadata', 'gantry_fixed_metadata_unconfigured')).toBe(1);
    expect(missing('sensor_fixed_metadata', 'sensor_fixed_metadata_unconfigured')).toBe(1);
    expect(missing('experiment_metadata', 'betydb_unset')).toBe(1);
    expect(missing('site_metadata', 'betydb_unset')).toBe(1);
    expect(metricValue(metrics, 'terra_transfer_clowder_metadata_converted_total{result="lemnatec"}')).toBe(1);
    // Nothing was dead-lettered for it.
    expect(metrics).toMatch(/terra_transfer_messages_consumed_total\{queue="[^"]+",outcome="acked"\} 2/);
    expect(metrics).not.toMatch(/outcome="dead_lettered"\} [1-9]/);
  } finally {
    await h.close();
  }
}, 120_000);

it('fixed metadata is read again once its time in memory is over; a dataset gone from Clowder leaves the spatial part out', async () => {
  const c = await fixture('stereoTop.case.json');
  const sim = await startSim();
  const clowder = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 2, retryBaseMs: 10, retryMaxMs: 100 });
  const registry = createRegistry();
  try {
    const id = await fixedDataset(clowder, 'stereoTop fixed metadata', Object.values(c['fixed'] as Obj)[0]);
    let now = 1_000_000;
    const converter = new MetadataConverter(clowder, ingestTelemetry(testLogger(), registry), { clowderUrl: sim.url, fixedTtlMs: 60_000, now: () => now });
    const convert = async () => (await converter.convert(c['metadata'], 'stereoTop', { stereoTop: id })) as Obj;
    expect(await convert()).toHaveProperty('spatial_metadata');
    await clowder.deleteDataset(id);
    now += 59_000;
    expect(await convert()).toHaveProperty('spatial_metadata');
    now += 2_000;
    const after = await convert();
    expect(after).not.toHaveProperty('spatial_metadata');
    expect(after['sensor_fixed_metadata']).toEqual({ url: `${sim.url}/api/datasets/${id}/metadata.jsonld` });
    expect(metricValue(await registry.metrics(), 'terra_transfer_clowder_metadata_parts_missing_total{part="spatial_metadata",reason="sensor_fixed_metadata_absent"}')).toBe(1);
  } finally {
    clowder.close();
    await sim.close();
  }
}, 60_000);
