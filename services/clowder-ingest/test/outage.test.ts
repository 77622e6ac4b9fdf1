import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { ClowderClient } from '@terra-transfer/clowder';
import { topology, type QueueRef } from '@terra-transfer/contracts';
import { AmqpClient, closeRedis, createRedis, createRegistry, type ConsumerOptions, type Handler, type Redis } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, drainQueue, freePort, queueDepth, tempDir, testLogger, uniquePrefix, waitFor } from '@terra-transfer/testkit';
import { buildIngestApp, type IngestApp } from '../src/app.js';
import { COMM_KEY, INGEST_MAIN, ingestedOutcomes, startProcess, startSim, transferred, type Proc } from './helpers.js';

const SITES = { 'ua-mac': { destinationRoot: '/terraref/sites/ua-mac', clowderRoot: '/home/clowder/sites/ua-mac', space: 'ua-mac' } };
const dest = (rel: string) => join('/terraref/sites/ua-mac', rel);

describe('clowder-ingest started while Clowder is down (a process)', () => {
  const prefix = uniquePrefix('ingest-cold');
  const t = topology(prefix);
  let sim: Awaited<ReturnType<typeof startSim>> | undefined;
  let ingest: Proc | undefined;
  let publisher: AmqpClient | undefined;

  afterAll(async () => {
    await ingest?.stop('SIGKILL');
    await publisher?.close(1_000);
    await sim?.close();
    await deleteTopology(prefix);
    await deleteKeys(prefix);
  });

  it('does not exit: /readyz answers 503 naming Clowder, then it consumes on its own once Clowder answers', async () => {
    const clowderPort = await freePort();
    // Nothing listens on clowderPort yet: Clowder is down when the ingest starts. Readiness is what the probe waits for, so wait on /healthz.
    ingest = await startProcess(INGEST_MAIN, {
      AMQP_PREFIX: prefix,
      REDIS_PREFIX: prefix,
      CLOWDER_URL: `http://127.0.0.1:${clowderPort}`,
      CLOWDER_KEY: COMM_KEY,
      CLOWDER_RETRIES: '1',
      CLOWDER_RETRY_BASE_MS: '10',
      INGEST_UPSTREAM_PROBE_MIN_MS: '100',
      INGEST_UPSTREAM_PROBE_MAX_MS: '500',
      SITES_FILE: await sitesFile(),
      LOG_LEVEL: 'info',
    });
    publisher = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'cold-pub', logger: testLogger(), registry: createRegistry(), sites: ['ua-mac'] });
    await publisher.start();
    const rels = ['raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000/a.bin', 'raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000/b.bin'];
    for (const rel of rels) await publisher.publish(transferred('ua-mac', dest(rel)));

    // Several probe rounds with Clowder down: still running, not ready, Clowder named, nothing consumed.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(ingest.proc.exitCode).toBeNull();
    const notReady = await fetch(`${ingest.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { checks: Record<string, boolean> }).checks).toMatchObject({ clowder: false, broker: true, redis: true });
    expect(await queueDepth(AMQP_URL, t.queue('ingestTransfers'))).toBe(2);
    // The outage is logged once when seen, not once per probe.
    expect(ingest.output().split('\n').filter((l) => l.includes('"upstream unavailable"')).length).toBe(1);

    sim = await startSim({}, clowderPort);
    await waitFor('ready', async () => (await fetch(`${ingest!.url}/readyz`)).ok, 15_000, 100);
    await waitFor('both file.ingested', async () => (await queueDepth(AMQP_URL, t.queue('outcomes'))) >= 2, 15_000, 100);
    expect((await sim.summary()).counts).toMatchObject({ files: 2, distinctFilePaths: 2 });
    expect(ingest.output()).toContain('"upstream available again"');
    expect(await ingest.stop('SIGTERM')).toBe(0);
  }, 60_000);
});

describe('clowder-ingest while Clowder goes down and comes back (delivery limit 2)', () => {
  const prefix = uniquePrefix('ingest-outage');
  const t = topology(prefix);
  let sim: Awaited<ReturnType<typeof startSim>>;
  let app: IngestApp;
  let amqp: AmqpClient;
  let publisher: AmqpClient;
  let redis: Redis;
  let clowder: ClowderClient;
  const registry = createRegistry();
  /** x-delivery-count + 1 of each delivery the handler saw, by event id. */
  const deliveries = new Map<string, number[]>();

  beforeAll(async () => {
    sim = await startSim();
    const logger = testLogger();
    amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'outage-test', logger, registry, deliveryLimit: 2, sites: ['ua-mac'] });
    // Records what each delivery carried (a spy around the real consumer; nothing is replaced).
    const consume = amqp.consume.bind(amqp);
    amqp.consume = ((queue: QueueRef, types: 'file.transferred', handler: Handler<'file.transferred'>, options?: ConsumerOptions) =>
      consume(queue, types, async (event, ctx) => {
        deliveries.set(event.id, [...(deliveries.get(event.id) ?? []), ctx.deliveryCount]);
        await handler(event, ctx);
      }, options)) as typeof amqp.consume;
    publisher = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'outage-pub', logger, registry: createRegistry(), deliveryLimit: 2, sites: ['ua-mac'] });
    await publisher.start();
    redis = createRedis({ url: REDIS_URL, connectionName: 'outage-test', logger });
    // Few, fast client retries: the consumer's own retries (delivery limit 2) would be spent in about a second.
    clowder = new ClowderClient({ url: sim.url, key: COMM_KEY, retries: 1, retryBaseMs: 10, retryMaxMs: 20, timeoutMs: 2_000 });
    app = await buildIngestApp({
      settings: {
        sites: SITES,
        redisPrefix: prefix,
        clowderUrl: sim.url,
        agentUserId: '000000000000000000000000',
        metadataVocab: 'https://terraref.example/ctx#',
        extract: false,
        prefetch: 50,
        batchWindowMs: 200,
        batchMaxFiles: 50,
        lockTtlMs: 10_000,
        lockWaitMs: 20_000,
        attempts: 3,
        retryBaseMs: 10,
        probeMinMs: 100,
        probeMaxMs: 500,
        outageHoldMs: 1_000,
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
  });

  it('spends no delivery attempt on the outage, dead-letters nothing, holds no delivery, and registers everything once when Clowder returns', async () => {
    const warm = 'raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000/warm.bin';
    await publisher.publish(transferred('ua-mac', dest(warm)));
    await waitFor('warm-up ingested', async () => (await queueDepth(AMQP_URL, t.queue('outcomes'))) >= 1, 15_000, 100);
    deliveries.clear();

    await sim.down();
    // Files of a known dataset (one batch), of new datasets, and of a new collection chain.
    const rels = [
      ...['a', 'b', 'c'].map((n) => `raw_data/stereoTop/2017-06-01/2017-06-01__12-00-00-000/${n}.bin`),
      'raw_data/stereoTop/2017-06-01/2017-06-01__12-00-05-000/d.bin',
      'raw_data/flirIrCamera/2017-06-02/2017-06-02__08-00-00-000/e.bin',
    ];
    const events = rels.map((rel) => transferred('ua-mac', dest(rel)));
    for (const e of events) await publisher.publish(e);
    await waitFor('not ready, naming Clowder', async () => {
      const r = await app.http.inject({ method: 'GET', url: '/readyz' });
      return r.statusCode === 503 && (r.json() as { checks: Record<string, boolean> }).checks['clowder'] === false;
    }, 15_000, 100);
    // An outage far longer than two deliveries with the consumer's backoff would take.
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await queueDepth(AMQP_URL, t.deadLetterQueue('ingestTransfers'))).toBe(0);
    // Held deliveries were given back uncounted (the hold is short here) and came round again.
    expect(Number(/terra_transfer_messages_consumed_total\{queue="[^"]+",outcome="given_back"\} (\d+)/.exec(await registry.metrics())?.[1] ?? 0)).toBeGreaterThanOrEqual(events.length);

    await sim.up();
    await waitFor('all ingested', async () => (await queueDepth(AMQP_URL, t.queue('outcomes'))) >= 1 + events.length, 30_000, 100);
    await waitFor('ready again', async () => (await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 10_000, 100);
    expect(await queueDepth(AMQP_URL, t.deadLetterQueue('ingestTransfers'))).toBe(0);
    const s = await sim.summary();
    expect(s.counts).toMatchObject({ files: 1 + events.length, distinctFilePaths: 1 + events.length });
    expect(s.duplicates).toEqual({ spaces: [], collections: [], datasets: [], filePaths: [], datasetMetadata: [] });
    // Each event was seen at least once during the outage and once after; the broker never counted a second delivery.
    for (const e of events) {
      const seen = deliveries.get(e.id) ?? [];
      expect(seen.length).toBeGreaterThanOrEqual(1);
      expect(seen.every((n) => n === 1)).toBe(true);
    }
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/terra_transfer_upstream_outages_total\{upstream="clowder"\} 1/);
    expect(metrics).not.toMatch(/outcome="requeued"/);
    const outcomes = ingestedOutcomes(await drainQueue(AMQP_URL, t.queue('outcomes')));
    expect(new Set(outcomes.map((o) => o.data.destinationPath))).toEqual(new Set([dest(warm), ...rels.map(dest)]));
  }, 90_000);
});

/** The site file of SITES, for the ingest started as a process. */
async function sitesFile(): Promise<string> {
  const d = await tempDir('ingest-sites');
  const file = join(d.path, 'sites.yaml');
  await writeFile(file, stringifySites([testSite({ cacheRoot: '/gantry/cache', destinationRoot: SITES['ua-mac'].destinationRoot, clowderRoot: SITES['ua-mac'].clowderRoot })]));
  return file;
}
