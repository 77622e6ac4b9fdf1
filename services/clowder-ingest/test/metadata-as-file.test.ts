/**
 * `clowder.metadataAsFile: false` (the site file's default, as TERRA did): a
 * dataset's `*metadata.json` is attached as the dataset's metadata and not
 * registered as one of its files; its file.ingested says so with a null file
 * id, and a redelivery attaches nothing twice and republishes the same event.
 * The site's other files are registered as usual. The setting comes from a
 * real site file (loader defaults, then the ingest's view of it).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ClowderClient } from '@terra-transfer/clowder';
import { topology } from '@terra-transfer/contracts';
import { AmqpClient, closeRedis, createRedis, createRegistry, type Redis } from '@terra-transfer/platform';
import { parseSites, stringifySites } from '@terra-transfer/sites';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, drainQueue, tempDir, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { buildIngestApp, type IngestApp } from '../src/app.js';
import { ingestSites } from '../src/sites.js';
import { COMM_KEY, ingestedOutcomes, startSim, transferred, type IngestedOutcome } from './helpers.js';

it('metadataAsFile false: metadata.json is attached to its dataset, not registered as a file', async () => {
  const prefix = uniquePrefix('ingest-mdfile');
  const t = topology(prefix, ['ua-mac']);
  const sim = await startSim();
  const dest = await tempDir('ingest-mdfile');
  const logger = testLogger();
  const registry = createRegistry();
  const root = join(dest.path, 'ua-mac');
  // The site file as an operator writes it: no metadataAsFile, so TERRA's default.
  const sites = parseSites(stringifySites([{
    name: 'ua-mac', source: { kind: 'xferlog', xferlog: '/var/log/xferlog', cacheRoot: '/cache' }, whitelist: ['MovingSensor/stereoTop'],
    globus: { sourceEndpoint: 'src' }, destinations: [{ name: 'hpc', endpoint: 'dst', root }],
    clowder: { space: { name: 'ua-mac' }, collectionRoot: '/home/clowder/sites/ua-mac' },
    deletion: { policy: 'delete-after-verified-transfer' },
  }]));
  expect(sites.sites[0]!.clowder.metadataAsFile).toBe(false);
  const amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'mdfile-test', logger, registry, deliveryLimit: 50, sites: ['ua-mac'] });
  const publisher = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'mdfile-pub', logger, registry: createRegistry(), deliveryLimit: 50, sites: ['ua-mac'] });
  const redis: Redis = createRedis({ url: REDIS_URL, connectionName: 'mdfile-test', logger });
  const clowder = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 6, retryBaseMs: 10, retryMaxMs: 100 });
  let app: IngestApp | undefined;
  const DS = 'raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000';
  const image = join(root, DS, 'left.bin');
  const meta = join(root, DS, '7f9c_metadata.json');
  const outcomes: IngestedOutcome[] = [];
  const collect = async (n: number) => waitFor(`${n} file.ingested`, async () => {
    outcomes.push(...ingestedOutcomes(await drainQueue(AMQP_URL, t.queue('outcomes'))));
    return outcomes.length >= n;
  }, 30_000, 100);
  try {
    await publisher.start();
    app = await buildIngestApp({
      settings: {
        sites: ingestSites(sites.sites),
        redisPrefix: prefix, clowderUrl: sim.url, agentUserId: '000000000000000000000000', metadataVocab: 'https://terraref.example/ctx#',
        extract: false, prefetch: 10, batchWindowMs: 50, batchMaxFiles: 100, lockTtlMs: 10_000, lockWaitMs: 20_000, attempts: 6, retryBaseMs: 10,
      },
      logger, registry, amqp, redis, clowder,
    });
    await app.start();
    await mkdir(dirname(image), { recursive: true });
    await writeFile(image, 'bin');
    const md = { lemnatec_measurement_metadata: { gantry_system_variable_metadata: { time: '06/01/2017 12:00:00' } } };
    await writeFile(meta, JSON.stringify(md));
    await publisher.publish(transferred('ua-mac', image, 'stereoTop'));
    await publisher.publish(transferred('ua-mac', meta, 'stereoTop'));
    await collect(2);
    const [ds] = await clowder.findDatasets('stereoTop - 2017-06-01__12-00-00-000');
    expect(ds).toBeDefined();
    expect((await clowder.listFiles(ds!.id)).map((f) => f.filename)).toEqual(['left.bin']);
    const records = await clowder.datasetMetadata(ds!.id);
    expect(records).toHaveLength(1);
    // Converted as terrautils did (gantry metadata): see gantry-metadata.test.ts.
    expect(records[0]!.content).toMatchObject({ gantry_variable_metadata: { date: '2017-06-01' }, terraref_cleaned_metadata: true });
    const byPath = new Map(outcomes.map((o) => [o.data.destinationPath, o]));
    expect(byPath.get(meta)?.data).toMatchObject({ fileId: null, datasetId: ds!.id });
    expect(byPath.get(image)?.data.fileId).toMatch(/^[0-9a-f]{24}$/);

    // A redelivery of the metadata.json: nothing attached twice, no file, the same event again.
    await publisher.publish(transferred('ua-mac', meta, 'stereoTop'));
    await collect(3);
    expect(outcomes[2]!.id).toBe(byPath.get(meta)!.id);
    expect(await clowder.datasetMetadata(ds!.id)).toHaveLength(1);
    expect(await clowder.listFiles(ds!.id)).toHaveLength(1);
  } finally {
    await app?.stop(2_000);
    await amqp.close(2_000);
    await publisher.close(1_000);
    clowder.close();
    await closeRedis(redis);
    await deleteTopology(prefix);
    await deleteKeys(prefix);
    await sim.close();
    await dest.remove();
  }
}, 120_000);
