/**
 * An `experiment` site (lemnatec, decision 0010): each snapshot's dataset goes
 * in its experiment's collection, named by the dataset's metadata.json, and in
 * no sensor/date collection. An image whose metadata.json has not arrived
 * makes nothing in Clowder (retried); metadata naming no experiment puts the
 * dataset in the sensor/date chain, counted.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ClowderClient } from '@terra-transfer/clowder';
import { AmqpClient, closeRedis, createRedis, createRegistry, type Redis } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, tempDir, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { buildIngestApp, type IngestApp } from '../src/app.js';
import { COMM_KEY, startSim, transferred } from './helpers.js';

const BROKER = process.env['TEST_AMQP_URL'] ?? AMQP_URL;

it('experiment collections: datasets in their experiment\'s collection, from metadata.json; none named: sensor/date, counted', async () => {
  const prefix = uniquePrefix('ingest-exp');
  const sim = await startSim();
  const dest = await tempDir('ingest-exp');
  const logger = testLogger();
  const registry = createRegistry();
  const amqp = new AmqpClient({ url: BROKER, prefix, connectionName: 'exp-test', logger, registry, deliveryLimit: 50, sites: ['danforth'] });
  const publisher = new AmqpClient({ url: BROKER, prefix, connectionName: 'exp-pub', logger, registry: createRegistry(), deliveryLimit: 50, sites: ['danforth'] });
  const redis: Redis = createRedis({ url: REDIS_URL, connectionName: 'exp-test', logger });
  const clowder = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 6, retryBaseMs: 10, retryMaxMs: 100 });
  let app: IngestApp | undefined;
  const root = join(dest.path, 'danforth');
  const snap = (time: string) => `ddpscIndoorSuite/2026-05-01/2026-05-01__${time}`;
  const write = async (rel: string, body: string) => {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), body);
    return join(root, rel);
  };
  const send = (abs: string) => publisher.publish(transferred('danforth', abs, 'ddpscIndoorSuite'));
  const datasetIn = async (name: string) => (await clowder.findDatasets(name))[0];
  try {
    await publisher.start();
    app = await buildIngestApp({
      settings: {
        sites: { danforth: { destinationRoot: root, clowderRoot: '/home/clowder/sites/danforth', space: 'danforth', metadataFirst: true, collections: 'experiment' } },
        redisPrefix: prefix, clowderUrl: sim.url, agentUserId: '000000000000000000000000', metadataVocab: 'https://terraref.example/ctx#',
        extract: false, prefetch: 10, batchWindowMs: 50, batchMaxFiles: 100, lockTtlMs: 10_000, lockWaitMs: 20_000, attempts: 6, retryBaseMs: 10,
      },
      logger, registry, amqp, redis, clowder,
    });
    await app.start();

    // An image first, its metadata.json not there: retried, and nothing made in Clowder (not even its dataset).
    const early = await write(`${snap('10-00-00-001')}/VIS_SV_0_z1_h1_g0_e82_1.png`, 'png');
    await send(early);
    await waitFor('the image retried', async () => /outcome="requeued"} [1-9]/.test(await registry.metrics()), 30_000, 100);
    expect(await datasetIn('ddpscIndoorSuite - 2026-05-01__10-00-00-001')).toBeUndefined();
    await send(await write(`${snap('10-00-00-001')}/metadata.json`, JSON.stringify({ experiment: 'Bellwether 2026', database: 'lt_bellwether' })));

    // Two more snapshots: one of another experiment (named by its database only), one naming none.
    await send(await write(`${snap('10-00-01-000')}/metadata.json`, JSON.stringify({ database: 'lt_drought' })));
    await send(await write(`${snap('10-00-01-000')}/NIR_SV_0_z1_h1_g0_e65_2.png`, 'png'));
    await send(await write(`${snap('10-00-02-000')}/metadata.json`, JSON.stringify({ title: 'no experiment named' })));
    await send(await write(`${snap('10-00-02-000')}/NIR_SV_0_z1_h1_g0_e65_3.png`, 'png'));

    const registered = async (name: string, n: number) => {
      const ds = await datasetIn(name);
      return !!ds && (await clowder.listFiles(ds.id)).length === n;
    };
    await waitFor('all three datasets complete', async () =>
      (await registered('ddpscIndoorSuite - 2026-05-01__10-00-00-001', 2)) && (await registered('ddpscIndoorSuite - 2026-05-01__10-00-01-000', 2)) && (await registered('ddpscIndoorSuite - 2026-05-01__10-00-02-000', 2)), 60_000, 100);

    const [bellwether] = await clowder.findCollections('Bellwether 2026');
    const [drought] = await clowder.findCollections('lt_drought');
    expect((await clowder.collectionDatasets(bellwether!.id)).map((d) => d.name)).toEqual(['ddpscIndoorSuite - 2026-05-01__10-00-00-001']);
    expect((await clowder.collectionDatasets(drought!.id)).map((d) => d.name)).toEqual(['ddpscIndoorSuite - 2026-05-01__10-00-01-000']);
    // The experiment collections are roots of the site's space; the sensor/date chain holds only the one naming no experiment.
    const [space] = await clowder.findSpaces('danforth');
    expect((await clowder.getCollection(bellwether!.id)).spaces).toEqual([space!.id]);
    expect((await clowder.getCollection(bellwether!.id)).parentCollectionIds).toEqual([]);
    const [day] = await clowder.findCollections('ddpscIndoorSuite - 2026-05-01');
    expect((await clowder.collectionDatasets(day!.id)).map((d) => d.name)).toEqual(['ddpscIndoorSuite - 2026-05-01__10-00-02-000']);
    expect(await registry.metrics()).toMatch(/terra_transfer_clowder_experiment_unknown_total [1-9]/);
  } finally {
    await app?.stop(2_000);
    await amqp.close(2_000);
    await publisher.close(1_000);
    clowder.close();
    await closeRedis(redis);
    await deleteTopology(prefix, BROKER);
    await deleteKeys(prefix);
    await sim.close();
    await dest.remove();
  }
}, 120_000);
