import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ClowderClient } from '@terra-transfer/clowder';
import { topology, transferredChunk, type Message } from '@terra-transfer/contracts';
import { AmqpClient, DEAD_LETTER_HEADERS, closeRedis, createRedis, createRegistry, type Redis } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, drainQueue, tempDir, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { buildIngestApp, type IngestApp } from '../src/app.js';
import { COMM_KEY, ingestedOutcomes, startSim, transferred, type IngestedOutcome } from './helpers.js';

type Sim = Awaited<ReturnType<typeof startSim>>;

describe('clowder-ingest against the simulator, RabbitMQ and Redis', () => {
  const prefix = uniquePrefix('clowder-ingest');
  const t = topology(prefix);
  let sim: Sim;
  let dest: Awaited<ReturnType<typeof tempDir>>;
  let app: IngestApp;
  let amqp: AmqpClient;
  let publisher: AmqpClient;
  let redis: Redis;
  let clowder: ClowderClient;
  const outcomes: IngestedOutcome[] = [];

  const root = () => join(dest.path, 'ua-mac');
  const destPath = (rel: string) => join(root(), rel);
  const clowderPath = (rel: string) => `/home/clowder/sites/ua-mac/${rel}`;

  beforeAll(async () => {
    sim = await startSim();
    dest = await tempDir('ingest-dest');
    const logger = testLogger();
    const registry = createRegistry();
    amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'ingest-test', logger, registry, deliveryLimit: 5, sites: ['ua-mac', 'elsewhere'] });
    publisher = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'ingest-test-publisher', logger, registry: createRegistry(), deliveryLimit: 5, sites: ['ua-mac', 'elsewhere'] });
    await publisher.start();
    redis = createRedis({ url: REDIS_URL, connectionName: 'ingest-test', logger });
    clowder = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 6, retryBaseMs: 10, retryMaxMs: 100 });
    app = await buildIngestApp({
      settings: {
        sites: {
          'ua-mac': { destinationRoot: root(), clowderRoot: '/home/clowder/sites/ua-mac', space: 'ua-mac', skipPathContains: ['@Recycle'] },
          // Clowder's filesystem.sourcepaths does not cover this root: registrations are silently skipped.
          elsewhere: { destinationRoot: join(dest.path, 'elsewhere'), clowderRoot: '/mnt/not-whitelisted', space: 'elsewhere' },
        },
        redisPrefix: prefix,
        clowderUrl: sim.url,
        agentUserId: '000000000000000000000000',
        metadataVocab: 'https://terraref.example/ctx#',
        extract: true,
        prefetch: 100,
        batchWindowMs: 200,
        batchMaxFiles: 100,
        lockTtlMs: 10_000,
        lockWaitMs: 20_000,
        attempts: 6,
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

  async function publish(rels: string[], site = 'ua-mac') {
    for (const rel of rels) await publisher.publish(transferred(site, site === 'ua-mac' ? destPath(rel) : join(dest.path, site, rel)));
  }
  async function collect(n: number) {
    await waitFor(`${n} file.ingested`, async () => {
      outcomes.push(...ingestedOutcomes(await drainQueue(AMQP_URL, t.queue('outcomes'))));
      return outcomes.length >= n;
    }, 30_000, 100);
  }
  /** Requests the simulator answered on a route, from its Prometheus metrics. */
  async function simRequests(route: string): Promise<number> {
    const text = await (await fetch(`${sim.url}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('terra_transfer_http_requests_total{') && l.includes(`route="${route}"`))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  }
  async function deadLetters() {
    return (await drainQueue(AMQP_URL, t.deadLetterQueue('ingestTransfers'))).map((m) => ({
      code: m.properties.headers?.[DEAD_LETTER_HEADERS.code] as string,
      detail: m.properties.headers?.[DEAD_LETTER_HEADERS.detail] as string,
      path: transferredChunk(JSON.parse(m.content.toString()) as Message<'file.transferred'>).files[0]!.destinationPath,
    }));
  }

  const TS = 'raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000';
  const TS2 = 'raw_data/stereoTop/2017-06-01/2017-06-01__12-00-05-000';
  const ENV = 'raw_data/EnvironmentLogger/2016-04-05';
  const files = [
    `${TS}/left.bin`,
    `${TS}/right.bin`,
    `${TS}/7f9c_metadata.json`,
    `${TS2}/left.bin`,
    `${ENV}/2016-04-05_12-34-56_environmentlogger.json`,
    'raw_data/EnviromentLogger/2016-04-05/2016-04-05_12-35-56_environmentlogger.json',
  ];

  it('builds the space, the sensor → year → month → day chain and one dataset per timestamp, registers by path, attaches metadata.json once', async () => {
    const md = { lemnatec_measurement_metadata: { gantry_system_variable_metadata: { time: '06/01/2017 12:00:00' } } };
    await mkdir(dirname(destPath(files[2]!)), { recursive: true });
    await writeFile(destPath(files[2]!), JSON.stringify(md));
    await publish(files);
    await collect(files.length);

    const [space] = await clowder.findSpaces('ua-mac');
    expect(space).toBeDefined();
    const chain = async (names: string[]) => {
      const ids: string[] = [];
      for (const n of names) {
        const found = await clowder.findCollections(n);
        expect(found).toHaveLength(1);
        ids.push(found[0]!.id);
      }
      for (let i = 0; i + 1 < ids.length; i++) expect((await clowder.getCollection(ids[i]!)).childCollectionIds).toEqual([ids[i + 1]]);
      expect(await clowder.getCollection(ids[0]!)).toMatchObject({ root: true, spaces: [space!.id] });
      return ids;
    };
    const st = await chain(['stereoTop', 'stereoTop - 2017', 'stereoTop - 2017-06', 'stereoTop - 2017-06-01']);
    const dayDatasets = (await clowder.collectionDatasets(st[3]!)).map((d) => d.name).sort();
    expect(dayDatasets).toEqual(['stereoTop - 2017-06-01__12-00-00-000', 'stereoTop - 2017-06-01__12-00-05-000']);
    const env = await chain(['EnvironmentLogger', 'EnvironmentLogger - 2016', 'EnvironmentLogger - 2016-04']);
    expect(await clowder.findCollections('EnvironmentLogger - 2016-04-05')).toEqual([]);
    expect((await clowder.collectionDatasets(env[2]!)).map((d) => d.name)).toEqual(['EnvironmentLogger - 2016-04-05']);

    const [ds] = await clowder.findDatasets('stereoTop - 2017-06-01__12-00-00-000');
    expect(ds!.spaces).toEqual([space!.id]);
    const listed = await clowder.listFiles(ds!.id);
    expect(listed.map((f) => f.filepath).sort()).toEqual(files.slice(0, 3).map(clowderPath).sort());
    const metadata = await clowder.datasetMetadata(ds!.id);
    expect(metadata).toHaveLength(1);
    // Cleaned as TERRA's uploader did (terrautils clean_metadata → lemnatec.clean): no fixed metadata configured, no BETYdb.
    expect(metadata[0]!.content).toEqual({
      gantry_variable_metadata: { datetime: '2017-06-01T12:00:00-07:00', date: '2017-06-01' }, sensor_variable_metadata: {}, terraref_cleaned_metadata: true,
    });
    expect(metadata[0]!.agent.user_id).toBe(`${sim.url}/api/users/000000000000000000000000`);

    const ev = outcomes.find((o) => o.data.clowderPath === clowderPath(files[0]!))!;
    expect(ev.data).toMatchObject({ site: 'ua-mac', sensor: 'stereoTop', datasetId: ds!.id, datasetName: ds!.name, collectionIds: st, spaceId: space!.id });
    expect(listed.find((f) => f.filepath === clowderPath(files[0]!))!.id).toBe(ev.data.fileId);
    // files of one dataset that arrived together went in one request: 3 datasets, 3 uploadToDataset requests
    expect(await simRequests('/api/uploadToDataset/:id')).toBe(3);
    const envFiles = await clowder.listFiles((await clowder.findDatasets('EnvironmentLogger - 2016-04-05'))[0]!.id);
    expect(envFiles).toHaveLength(2);
    const s = await sim.summary();
    expect(s.counts).toMatchObject({ spaces: 1, collections: 7, datasets: 3, files: 6, metadata: 1 });
  });

  it('is idempotent: redelivered events create no second file, dataset, collection or metadata record, and republish the same file.ingested', async () => {
    const before = await sim.summary();
    outcomes.length = 0;
    await publish(files);
    await publish(files);
    await collect(files.length * 2);
    const after = await sim.summary();
    expect(after.counts).toEqual(before.counts);
    expect(after.duplicates).toEqual({ spaces: [], collections: [], datasets: [], filePaths: [], datasetMetadata: [] });
    expect(new Set(outcomes.map((o) => o.id)).size).toBe(files.length);
  });

  it('does not duplicate what Clowder already has but Redis does not know (crash between Clowder and Redis, or Redis lost)', async () => {
    const [space] = await clowder.findSpaces('ua-mac');
    const [day] = await clowder.findCollections('stereoTop - 2017-06-01');
    const rel = 'raw_data/stereoTop/2017-06-01/2017-06-01__13-00-00-000';
    const ds = await clowder.createDataset({ name: 'stereoTop - 2017-06-01__13-00-00-000', spaces: [space!.id], collections: [day!.id] });
    const [pre] = await clowder.registerPaths(ds, [{ path: clowderPath(`${rel}/left.bin`) }]);
    // And Redis forgets everything it knew about the hierarchy.
    await deleteKeys(`${prefix}:clowder-ingest:ids`);
    outcomes.length = 0;
    await publish([`${rel}/left.bin`, `${rel}/right.bin`]);
    await collect(2);
    expect(outcomes.find((o) => o.data.clowderPath.endsWith('13-00-00-000/left.bin'))!.data).toMatchObject({ fileId: pre!.id, datasetId: ds });
    const s = await sim.summary();
    expect(s.duplicates).toEqual({ spaces: [], collections: [], datasets: [], filePaths: [], datasetMetadata: [] });
    expect((await clowder.listFiles(ds)).map((f) => f.filepath).sort()).toEqual([clowderPath(`${rel}/left.bin`), clowderPath(`${rel}/right.bin`)]);
  });

  it('survives 504s before and after Clowder did the work (30% of requests) without duplicates', async () => {
    await sim.setFaults({ rate: 0.3, phase: 'either' });
    try {
      outcomes.length = 0;
      const many = Array.from({ length: 30 }, (_, i) => `raw_data/flirIrCamera/2017-07-0${1 + (i % 3)}/2017-07-0${1 + (i % 3)}__10-00-0${i % 5}-000/f${i}.bin`);
      await publish(many);
      await collect(many.length);
    } finally {
      await sim.setFaults({ rate: 0 });
    }
    const s = await sim.summary();
    expect(s.duplicates).toEqual({ spaces: [], collections: [], datasets: [], filePaths: [], datasetMetadata: [] });
    expect((await clowder.findCollections('flirIrCamera'))).toHaveLength(1);
  });

  it('dead-letters permanent failures with the reason: bad layout, path Clowder will not accept, missing metadata.json', async () => {
    await publish(['raw_data/stereoTop/not-a-date/x.bin', 'raw_data/stereoTop/2017-08-01/2017-08-01__00-00-00-000/gone_metadata.json']);
    await publish(['raw_data/VNIR/2017-08-02/2017-08-02__00-00-00-000/a.bin'], 'elsewhere');
    let dl: Awaited<ReturnType<typeof deadLetters>> = [];
    await waitFor('3 dead letters', async () => {
      dl = [...dl, ...(await deadLetters())];
      return dl.length >= 3;
    }, 30_000, 200);
    const byCode = Object.fromEntries(dl.map((d) => [d.code, d]));
    expect(Object.keys(byCode).sort()).toEqual(['METADATA_UNREADABLE', 'NOT_REGISTERED', 'PATH_LAYOUT']);
    expect(byCode['PATH_LAYOUT']!.detail).toContain('not-a-date');
    expect(byCode['NOT_REGISTERED']!.detail).toContain('/mnt/not-whitelisted/raw_data/VNIR');
  });
});
