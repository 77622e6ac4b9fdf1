import { AmqpClient, Redis, createRegistry, type Registry } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, drainQueue, testLogger } from '@terra-transfer/testkit';
import { DirectorySource, type DirectorySourceDeps } from '../src/app.js';
import { SentStore } from '../src/adapters/sent-store.js';

export const SITE = 'seq-lab';

export interface Uploaded {
  path: string;
  size: number;
  mtimeMs: number;
  uploadId: string;
  source: string;
  site: string;
}

export interface TestSource {
  source: DirectorySource;
  registry: Registry;
  sent: SentStore;
  stop: () => Promise<void>;
}

/** The infrastructure a test's sources share: one broker connection, one Redis client, and everything published so far. */
export class Harness {
  readonly uploads: Uploaded[] = [];
  amqp!: AmqpClient;
  redis!: Redis;
  private readonly sources: TestSource[] = [];

  constructor(readonly prefix: string) {}

  async start(): Promise<void> {
    this.amqp = new AmqpClient({ url: AMQP_URL, prefix: this.prefix, connectionName: 'directory-source-test', logger: testLogger(), registry: createRegistry(), sites: [SITE] });
    await this.amqp.start();
    this.redis = new Redis(REDIS_URL);
  }

  /** Reads what reached the batcher's queue since the last call (and keeps it in `uploads`). */
  async collect(): Promise<Uploaded[]> {
    const got = await drainQueue(AMQP_URL, this.amqp.topology.queue({ key: 'batcherUploads', site: SITE }));
    const fresh = got.map((m) => (JSON.parse(m.content.toString()) as { data: Uploaded }).data);
    this.uploads.push(...fresh);
    return fresh;
  }

  /** A source wired as main.ts wires it (the root's full scan at start, then `tick` drives it: no timer unless `run`). */
  source(o: Partial<DirectorySourceDeps> & { root: string }, sent?: SentStore): TestSource {
    const registry = createRegistry();
    const store = sent ?? new SentStore(this.redis, this.prefix, SITE);
    const source = new DirectorySource({
      site: SITE,
      settleMs: 300,
      poll: false,
      pollIntervalMs: 100,
      whitelist: ['runs'],
      exclude: [],
      fullScanIntervalMs: 3_600_000,
      tickMs: 50,
      maxSettling: 10_000,
      maxHints: 10_000,
      chunk: 200,
      publishWindow: 64,
      amqp: this.amqp,
      sent: store,
      logger: testLogger(),
      registry,
      ...o,
    });
    let stopped = false;
    const t: TestSource = {
      source, registry, sent: store,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await source.stop(5_000);
      },
    };
    this.sources.push(t);
    return t;
  }

  async close(): Promise<void> {
    for (const s of this.sources) await s.stop();
    await this.amqp.close(1_000);
    this.redis.disconnect();
  }
}

export async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  return values.filter((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + Number(x.value), 0);
}

export const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));
