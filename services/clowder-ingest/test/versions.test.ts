import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ClowderClient } from '@terra-transfer/clowder';
import { topology, transferredChunk } from '@terra-transfer/contracts';
import { AmqpClient, closeRedis, createRedis, createRegistry, type Redis } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, drainQueue, queueDepth, tempDir, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { buildIngestApp, type IngestApp } from '../src/app.js';
import { COMM_KEY, ingestedOutcomes, startSim, transferred, type IngestedOutcome } from './helpers.js';

/**
 * A file rewritten in place at the destination after it was registered (a
 * new version, sent again): Clowder ends with one file for the path, the new
 * one. Clowder reads the path itself here (its sourcepaths cover the
 * destination tree), so a file's `size` in Clowder is the size on disk at
 * registration, as `File(path).length()` is in Clowder.
 */
describe('clowder-ingest: a new version of a registered path', () => {
  const prefix = uniquePrefix('ingest-versions');
  const t = topology(prefix);
  let sim: Awaited<ReturnType<typeof startSim>>;
  let dest: Awaited<ReturnType<typeof tempDir>>;
  let app: IngestApp;
  let amqp: AmqpClient;
  let publisher: AmqpClient;
  let redis: Redis;
  let clowder: ClowderClient;
  const outcomes: IngestedOutcome[] = [];

  beforeAll(async () => {
    dest = await tempDir('ingest-versions');
    sim = await startSim({ CLOWDER_SIM_SOURCEPATHS: dest.path });
    const logger = testLogger();
    const registry = createRegistry();
    amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'versions-test', logger, registry, deliveryLimit: 5, sites: ['ua-mac'] });
    publisher = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'versions-test-pub', logger, registry: createRegistry(), deliveryLimit: 5, sites: ['ua-mac'] });
    await publisher.start();
    redis = createRedis({ url: REDIS_URL, connectionName: 'versions-test', logger });
    clowder = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 3, retryBaseMs: 10, retryMaxMs: 100 });
    app = await buildIngestApp({
      settings: {
        sites: { 'ua-mac': { destinationRoot: join(dest.path, 'ua-mac'), clowderRoot: join(dest.path, 'ua-mac'), space: 'ua-mac' } },
        redisPrefix: prefix,
        clowderUrl: sim.url,
        agentUserId: '000000000000000000000000',
        metadataVocab: 'https://terraref.example/ctx#',
        extract: false,
        prefetch: 50,
        batchWindowMs: 100,
        batchMaxFiles: 50,
        lockTtlMs: 10_000,
        lockWaitMs: 20_000,
        attempts: 4,
        retryBaseMs: 10,
      },
      logger,
      registry,
      amqp,
      redis,
      clowder,
    });
    await app.start();
  });

  afterAll(async () => {
    await app?.stop(2_000);
    await amqp?.close(2_000);
    await publisher?.close(1_000);
    clowder?.close();
    if (redis) await closeRedis(redis);
    await deleteTopology(prefix);
    await deleteKeys(prefix);
    await sim?.close();
    await dest?.remove();
  });

  const DS = 'raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000';
  const abs = (rel: string) => join(dest.path, 'ua-mac', rel);

  /** Writes `bytes` bytes at the path with the given mtime, and returns the event that says so. */
  async function version(rel: string, bytes: number, mtimeMs: number) {
    const p = abs(rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, Buffer.alloc(bytes, 7));
    await utimes(p, mtimeMs / 1000, mtimeMs / 1000);
    return transferred('ua-mac', p, 'stereoTop', { size: bytes, mtimeMs });
  }
  async function collect(n: number) {
    await waitFor(`${n} file.ingested`, async () => {
      outcomes.push(...ingestedOutcomes(await drainQueue(AMQP_URL, t.queue('outcomes'))));
      return outcomes.length >= n;
    }, 30_000, 100);
  }
  async function filesFor(rel: string) {
    const [ds] = await clowder.findDatasets('stereoTop - 2017-06-01__12-00-00-000');
    return (await clowder.listFiles(ds!.id)).filter((f) => f.filepath === abs(rel));
  }

  it('replaces the Clowder file of a path rewritten in place: one file, the new size; file.ingested for the new file', async () => {
    const rel = `${DS}/left.bin`;
    const v1 = await version(rel, 10, 1_700_000_000_000);
    await publisher.publish(v1);
    await collect(1);
    const [first] = await filesFor(rel);
    expect(first).toMatchObject({ size: 10 });
    expect(outcomes[0]!.data.fileId).toBe(first!.id);

    const v2 = await version(rel, 25, 1_700_000_060_000);
    outcomes.length = 0;
    await publisher.publish(v2);
    await collect(1);
    const after = await filesFor(rel);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ size: 25 });
    expect(after[0]!.id).not.toBe(first!.id);
    expect(outcomes[0]!.data.fileId).toBe(after[0]!.id);
    const ingestedId = outcomes[0]!.id;

    // The same version again (a redelivery): nothing sent to Clowder, the same file.ingested.
    outcomes.length = 0;
    await publisher.publish({ ...v2, id: `${v2.id}-again` });
    await collect(1);
    expect(outcomes[0]!.id).toBe(ingestedId);
    expect((await filesFor(rel)).map((f) => f.id)).toEqual([after[0]!.id]);
    expect((await sim.summary()).duplicates.filePaths).toEqual([]);
  });

  it('keeps the newer version when an older one arrives after it (out of order)', async () => {
    const rel = `${DS}/right.bin`;
    const newer = await version(rel, 30, 1_700_000_120_000);
    const older = transferred('ua-mac', abs(rel), 'stereoTop', { size: 12, mtimeMs: 1_700_000_000_000 });
    outcomes.length = 0;
    await publisher.publish(newer);
    await collect(1);
    const [registered] = await filesFor(rel);
    await publisher.publish(older);
    await collect(2);
    expect((await filesFor(rel)).map((f) => f.id)).toEqual([registered!.id]);
    expect(outcomes[1]!.data.fileId).toBe(registered!.id);
    expect(await queueDepth(AMQP_URL, t.deadLetterQueue('ingestTransfers'))).toBe(0);
  });

  it('registers a metadata.json that does not parse (a killed upload\'s truncated copy) without dead-lettering it, and attaches the metadata when the complete version arrives', async () => {
    const rel = `${DS}/2017-06-01__12-00-00-000_metadata.json`;
    const full = JSON.stringify({ lemnatec_measurement_metadata: { gantry_system_variable_metadata: { time: '06/01/2017 12:00:00' } } });
    const p = abs(rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, full.slice(0, 20));
    await utimes(p, 1_700_000_000, 1_700_000_000);
    outcomes.length = 0;
    await publisher.publish(transferred('ua-mac', p, 'stereoTop', { size: 20, mtimeMs: 1_700_000_000_000 }));
    await collect(1);
    const datasetId = outcomes[0]!.data.datasetId;
    expect(await filesFor(rel)).toHaveLength(1);
    expect(await clowder.datasetMetadata(datasetId)).toEqual([]);
    expect(await queueDepth(AMQP_URL, t.deadLetterQueue('ingestTransfers'))).toBe(0);

    await writeFile(p, full);
    await utimes(p, 1_700_000_060, 1_700_000_060);
    outcomes.length = 0;
    await publisher.publish(transferred('ua-mac', p, 'stereoTop', { size: full.length, mtimeMs: 1_700_000_060_000 }));
    await collect(1);
    expect(await filesFor(rel)).toHaveLength(1);
    expect(await clowder.datasetMetadata(datasetId)).toHaveLength(1);
    expect(await queueDepth(AMQP_URL, t.deadLetterQueue('ingestTransfers'))).toBe(0);
  });

  it('finishes a replacement a crashed worker left half done (new version registered, old not yet deleted): no second registration', async () => {
    const rel = `${DS}/crash.bin`;
    outcomes.length = 0;
    await publisher.publish(await version(rel, 5, 1_700_000_000_000));
    await collect(1);
    const [old] = await filesFor(rel);
    const v2 = await version(rel, 50, 1_700_000_200_000);
    // The crashed worker wrote its intent and registered the new version; it never deleted the old file or recorded the new one.
    const datasetId = outcomes[0]!.data.datasetId;
    const [registered] = await clowder.registerPaths(datasetId, [{ path: abs(rel) }]);
    await redis.hset(`${prefix}:clowder-ingest:replace:${datasetId}`, abs(rel), JSON.stringify({ oldId: old!.id, version: JSON.stringify({ mtimeMs: transferredChunk(v2).files[0]!.mtimeMs, size: 50, checksum: null }) }));
    expect(await filesFor(rel)).toHaveLength(2);
    outcomes.length = 0;
    await publisher.publish(v2);
    await collect(1);
    expect((await filesFor(rel)).map((f) => f.id)).toEqual([registered!.id]);
    expect(outcomes[0]!.data.fileId).toBe(registered!.id);
    expect(await redis.exists(`${prefix}:clowder-ingest:replace:${datasetId}`)).toBe(0);
  });
});
