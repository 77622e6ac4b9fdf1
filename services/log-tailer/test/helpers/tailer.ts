import { join } from 'node:path';
import { AmqpClient, createRegistry, type Registry } from '@terra-transfer/platform';
import { AMQP_URL, testLogger } from '@terra-transfer/testkit';
import { Tailer } from '../../src/app.js';
import { CursorStore } from '../../src/adapters/cursor-store.js';
import { Resolver } from '../../src/adapters/resolver.js';
import { DEFAULT_ROTATED_SUFFIX, rotatedSuffixRegex } from '../../src/core/rotation.js';

export interface TestTailer {
  tailer: Tailer;
  amqp: AmqpClient;
  registry: Registry;
  store: CursorStore;
  rejectsQueue: string;
  uploadsQueue: string;
  stop: () => Promise<void>;
}

/** A tailer wired as main.ts wires it, against the real broker under `prefix`. */
export async function startTailer(opts: { prefix: string; logPath: string; cacheRoot: string; stateDir: string; whitelist: string[]; rotateWaitMs?: number; window?: number; timeZone?: string }): Promise<TestTailer> {
  const registry = createRegistry();
  const logger = testLogger();
  const amqp = new AmqpClient({ url: AMQP_URL, prefix: opts.prefix, connectionName: 'log-tailer-test', logger, registry, sites: ['ua-mac'] });
  await amqp.start();
  // Rejected lines are dead-lettered under this queue's name and land in its DLQ.
  const rejectsQueue = amqp.topology.deadLetterQueue('tailerRejects');
  const store = new CursorStore(join(opts.stateDir, 'cursor.json'));
  const tailer = new Tailer({
    site: 'ua-mac',
    timeZone: opts.timeZone ?? 'UTC',
    whitelist: opts.whitelist,
    follower: {
      logPath: opts.logPath,
      rotatedSuffix: rotatedSuffixRegex(DEFAULT_ROTATED_SUFFIX),
      pollIntervalMs: 50,
      rotateWaitMs: opts.rotateWaitMs ?? 2_000,
      maxLineBytes: 16 * 1024,
      readChunkBytes: 64 * 1024,
      startAtEnd: false,
    },
    publishWindow: opts.window ?? 200,
    sentVersionsMemory: 1000,
    checkpointIntervalMs: 50,
    checkpointEveryLines: 1000,
    amqp,
    rejectsQueue: amqp.topology.queue('tailerRejects'),
    resolver: new Resolver(opts.cacheRoot, { ftpRoot: '/', userRoots: {} }),
    store,
    logger,
    registry,
  });
  await tailer.start();
  let stopped = false;
  return {
    tailer, amqp, registry, store, rejectsQueue,
    uploadsQueue: amqp.topology.queue({ key: 'batcherUploads', site: 'ua-mac' }),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await tailer.stop(5_000);
      await amqp.close(1_000);
    },
  };
}

/** Value of a counter/gauge sample from the registry (0 when absent). */
export async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const { values } = await m.get();
  const v = values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v ? Number(v.value) : 0;
}
