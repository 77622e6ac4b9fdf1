import { join } from 'node:path';
import { topology, type Message } from '@terra-transfer/contracts';
import { FileLedger } from '@terra-transfer/ledger';
import { AmqpClient, closeRedis, createRedis, createRegistry, type Redis, type Registry } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, drainQueue, testLogger, uniquePrefix } from '@terra-transfer/testkit';
import { LemnatecSource, type LemnatecSourceDeps } from '../src/app.js';
import { Scanalyzer } from '../src/adapters/scanalyzer.js';
import { Staging } from '../src/adapters/staging.js';
import { StateStore } from '../src/adapters/state-store.js';

/** The broker: the machine's, or another one (TEST_AMQP_URL, e.g. a private node while the shared one is unavailable). */
const BROKER = process.env['TEST_AMQP_URL'] ?? AMQP_URL;

export const SITE = 'danforth';
export const EXPERIMENT = { title: 'Bellwether 2026', sample: { barcode: { species: { Fp: 'Sorghum bicolor' }, genotypes: { Fp001: 'BTx642' }, treatments: { AB: '80%: 173.6 ml water' } } } };

/** One source process's worth of clients, on a fresh AMQP/Redis prefix (or a given one, to restart on the same state). */
export class SourceHarness {
  readonly t;
  readonly registry: Registry = createRegistry();
  amqp!: AmqpClient;
  redis!: Redis;
  scanalyzer!: Scanalyzer;
  source!: LemnatecSource;
  readonly uploads: Array<Message<'file.uploaded'>> = [];
  readonly failures: Array<Message<'file.failed'>> = [];

  constructor(readonly prefix = uniquePrefix('lemnatec')) {
    this.t = topology(prefix, [SITE]);
  }

  async start(o: { systemUrl: string; blobRoot: string; stagingRoot: string; experiments?: string[]; columns?: Record<string, string>; init?: boolean; publish?: LemnatecSourceDeps['amqp']['publish'] } & Partial<LemnatecSourceDeps>): Promise<LemnatecSource> {
    const { systemUrl, stagingRoot, columns, init, publish, ...deps } = o;
    const logger = testLogger();
    this.amqp = new AmqpClient({ url: BROKER, prefix: this.prefix, connectionName: 'lemnatec-test', logger, registry: createRegistry(), sites: [SITE] });
    await this.amqp.start();
    this.redis = createRedis({ url: REDIS_URL, connectionName: 'lemnatec-test', logger });
    this.scanalyzer = new Scanalyzer(systemUrl, columns ?? {}, { poolSize: 3, statementTimeoutMs: 10_000, connectTimeoutMs: 3_000 });
    const amqp = this.amqp;
    this.source = new LemnatecSource({
      site: SITE, sensor: 'ddpscIndoorSuite', experimentMetadata: EXPERIMENT,
      scanalyzer: this.scanalyzer, store: new StateStore(this.redis, this.prefix, SITE), staging: new Staging(stagingRoot),
      ledger: new FileLedger(this.redis, this.prefix), amqp: { publish: publish ?? ((e) => amqp.publish(e)) }, logger, registry: this.registry,
      pollMs: 100, databasesRefreshMs: 500, overlapMs: 60_000, pollLimit: 500, maxInFlight: 4, imagesInFlight: 4, stagingMaxBytes: 1024 ** 3,
      blobAttempts: 3, blobRetryMs: 300, pngCompression: 1, cleanIntervalMs: 200,
      ...deps,
    });
    if (init !== false) {
      await this.source.init();
      this.source.start();
    }
    return this.source;
  }

  /** Takes what the source published so far (the site's batcher queue and the give-ups tap). */
  async collect(): Promise<void> {
    for (const m of await drainQueue(BROKER, this.t.queue({ key: 'batcherUploads', site: SITE }))) this.uploads.push(JSON.parse(m.content.toString()));
    for (const m of await drainQueue(BROKER, this.t.queue('failedFiles'))) this.failures.push(JSON.parse(m.content.toString()));
  }

  byFolder(): Map<string, string[]> {
    const m = new Map<string, string[]>();
    for (const u of this.uploads) {
      const parts = u.data.path.split('/');
      const folder = parts.slice(-4, -1).join('/');
      m.set(folder, [...(m.get(folder) ?? []), parts[parts.length - 1]!]);
    }
    return m;
  }

  async metric(name: string, labels = ''): Promise<number> {
    const text = await this.registry.metrics();
    return text.split('\n').filter((l) => l.startsWith(`${name}{`) && l.includes(labels)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  }

  /** Stops the source and its clients (the state in Redis and the broker stays, for a restart). */
  async stop(): Promise<void> {
    await this.source?.stop(2_000);
    await this.scanalyzer?.close();
    await this.amqp?.close(1_000);
    if (this.redis) await closeRedis(this.redis);
  }

  async cleanup(): Promise<void> {
    await deleteTopology(this.prefix, BROKER).catch(() => undefined);
    await deleteKeys(this.prefix).catch(() => undefined);
  }
}

export const stagingOf = (dir: string) => join(dir, 'staging');
