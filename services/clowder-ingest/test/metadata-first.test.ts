/**
 * A `metadataFirst` site (lemnatec): an image whose dataset's metadata.json has
 * not arrived is not registered (retried after a backoff); once metadata.json
 * is there, the metadata is attached before the image is registered, and the
 * metadata.json's own delivery attaches nothing twice.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ClowderClient } from '@terra-transfer/clowder';
import { topology } from '@terra-transfer/contracts';
import { AmqpClient, closeRedis, createRedis, createRegistry, type Redis } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, drainQueue, tempDir, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { buildIngestApp, type IngestApp } from '../src/app.js';
import { COMM_KEY, ingestedOutcomes, startSim, transferred, type IngestedOutcome } from './helpers.js';

/** The broker: the machine's, or another (TEST_AMQP_URL, e.g. a private node while the shared one is unavailable). */
const BROKER = process.env['TEST_AMQP_URL'] ?? AMQP_URL;

it('metadataFirst: an image waits for its dataset metadata, which is attached before the image is registered', async () => {
  const prefix = uniquePrefix('ingest-mdfirst');
  const t = topology(prefix, ['danforth']);
  const sim = await startSim();
  const dest = await tempDir('ingest-mdfirst');
  const logger = testLogger();
  const registry = createRegistry();
  const amqp = new AmqpClient({ url: BROKER, prefix, connectionName: 'mdfirst-test', logger, registry, deliveryLimit: 50, sites: ['danforth'] });
  const publisher = new AmqpClient({ url: BROKER, prefix, connectionName: 'mdfirst-pub', logger, registry: createRegistry(), deliveryLimit: 50, sites: ['danforth'] });
  const redis: Redis = createRedis({ url: REDIS_URL, connectionName: 'mdfirst-test', logger });
  const clowder = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 6, retryBaseMs: 10, retryMaxMs: 100 });
  let app: IngestApp | undefined;
  const root = join(dest.path, 'danforth');
  const DS = 'ddpscIndoorSuite/2026-05-01/2026-05-01__10-00-00-123_2';
  const image = join(root, DS, 'VIS_SV_90_z1_h1_g0_e82_1001.png');
  const meta = join(root, DS, 'metadata.json');
  try {
    await publisher.start();
    app = await buildIngestApp({
      settings: {
        sites: { danforth: { destinationRoot: root, clowderRoot: '/home/clowder/sites/danforth', space: 'danforth', metadataFirst: true } },
        redisPrefix: prefix, clowderUrl: sim.url, agentUserId: '000000000000000000000000', metadataVocab: 'https://terraref.example/ctx#',
        extract: false, prefetch: 10, batchWindowMs: 50, batchMaxFiles: 100, lockTtlMs: 10_000, lockWaitMs: 20_000, attempts: 6, retryBaseMs: 10,
      },
      logger, registry, amqp, redis, clowder,
    });
    await app.start();
    await mkdir(dirname(image), { recursive: true });
    await writeFile(image, 'png');
    await publisher.publish(transferred('danforth', image, 'ddpscIndoorSuite'));
    // The image is retried (METADATA_NOT_ARRIVED) and not registered while metadata.json is missing.
    await waitFor('the image retried', async () => /outcome="requeued"} [1-9]/.test(await registry.metrics()), 30_000, 100);
    const [ds] = await clowder.findDatasets('ddpscIndoorSuite - 2026-05-01__10-00-00-123_2');
    expect(ds).toBeDefined();
    expect(await clowder.listFiles(ds!.id)).toEqual([]);
    expect(await clowder.datasetMetadata(ds!.id)).toEqual([]);

    // metadata.json arrives (its own event comes after the image's retry): metadata first, then the image.
    const md = { title: 'Bellwether', snapshot: { id: 7 } };
    await writeFile(meta, JSON.stringify(md));
    const outcomes: IngestedOutcome[] = [];
    // Whenever the image is seen registered, the metadata is already there.
    await waitFor('the image registered', async () => {
      const files = await clowder.listFiles(ds!.id);
      if (files.length > 0) expect(await clowder.datasetMetadata(ds!.id)).toHaveLength(1);
      return files.length === 1;
    }, 60_000, 20);
    await waitFor('its file.ingested', async () => {
      outcomes.push(...ingestedOutcomes(await drainQueue(BROKER, t.queue('outcomes'))));
      return outcomes.length >= 1;
    }, 30_000, 100);
    const records = await clowder.datasetMetadata(ds!.id);
    expect(records).toHaveLength(1);
    expect(records[0]!.content).toEqual(md);
    await publisher.publish(transferred('danforth', meta, 'ddpscIndoorSuite'));
    await waitFor('metadata.json registered', async () => {
      outcomes.push(...ingestedOutcomes(await drainQueue(BROKER, t.queue('outcomes'))));
      return outcomes.length >= 2;
    }, 30_000, 100);
    expect(await clowder.datasetMetadata(ds!.id)).toHaveLength(1);
    expect((await clowder.listFiles(ds!.id)).map((f) => f.filename).sort()).toEqual(['VIS_SV_90_z1_h1_g0_e82_1001.png', 'metadata.json']);
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
