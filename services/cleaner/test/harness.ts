import { lstat, mkdir, writeFile, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createHash } from 'node:crypto';
import { validate, type FileTransferredV1, type Message } from '@terra-transfer/contracts';
import { FileLedger } from '@terra-transfer/ledger';
import { AmqpClient, closeRedis, createRedis, createRegistry, loadConfig, type Registry, type Redis } from '@terra-transfer/platform';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, drainQueue, tempDir, testLogger, uniquePrefix } from '@terra-transfer/testkit';
import { buildCleaner, type Cleaner } from '../src/app.js';
import { cleanerSettings, cleanerSite, type CleanerConfig } from '../src/config.js';
import { parseSites, stringifySites, testSite } from '@terra-transfer/sites';

/** A message read from a queue (amqplib's GetMessage, without importing amqplib here). */
type GetMessage = Awaited<ReturnType<typeof drainQueue>>[number];

export const WHITELIST = ['MovingSensor/stereoTop', 'LemnaTec/EnvironmentLogger'];
export const TOKEN = 'test-token-123';

export interface Harness {
  prefix: string;
  root: string;
  outside: string;
  cleaner: Cleaner;
  amqp: AmqpClient;
  redis: Redis;
  ledger: FileLedger;
  registry: Registry;
  /** Everything drained so far from a queue of the topology (drains again on each call). */
  messages(queue: 'outcomes' | 'batcherUploads' | 'cleanerDlq'): Promise<GetMessage[]>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}, opts: { start?: boolean } = {}): Promise<Harness> {
  const prefix = uniquePrefix('cleaner');
  const dir = await tempDir('cleaner');
  const root = `${dir.path}/cache`;
  const outside = `${dir.path}/outside`;
  await mkdir(root, { recursive: true });
  await mkdir(outside, { recursive: true });
  const { SWEEP_MIN_AGE_MINUTES, SWEEP_INTERVAL_MINUTES, WHITELIST: wl, DELETION_POLICY, ...rest } = env;
  // The site's facts come from a site file, as in production.
  const s = testSite({
    cacheRoot: root, whitelist: wl !== undefined ? wl.split(',').filter(Boolean) : WHITELIST,
    sweep: { intervalMinutes: Number(SWEEP_INTERVAL_MINUTES ?? 0), ...(SWEEP_MIN_AGE_MINUTES ? { minAgeMinutes: Number(SWEEP_MIN_AGE_MINUTES) } : {}) },
  });
  const site = parseSites(stringifySites([DELETION_POLICY === 'never' ? { ...s, deletion: { policy: 'never' } } : s])).get('ua-mac');
  const config: CleanerConfig = {
    ...loadConfig(cleanerSettings, {
      AMQP_URL,
      REDIS_URL,
      AMQP_PREFIX: prefix,
      REDIS_PREFIX: prefix,
      HTTP_PORT: '0',
      SITES_FILE: '/unused/sites.yaml',
      SITE: 'ua-mac',
      API_TOKEN: TOKEN,
      AMQP_DELIVERY_LIMIT: '3',
      ...rest,
    }),
    ...cleanerSite(site),
  };
  const logger = testLogger();
  const registry = createRegistry();
  const redis = createRedis({ url: REDIS_URL, connectionName: 'cleaner-test', logger });
  const amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'cleaner-test', logger, registry, deliveryLimit: 3, sites: ['ua-mac'] });
  await amqp.start();
  const cleaner = await buildCleaner({ config, amqp, redis, logger, registry });
  if (opts.start !== false) await cleaner.start();
  const seen: Record<string, GetMessage[]> = { outcomes: [], batcherUploads: [], cleanerDlq: [] };
  return {
    prefix,
    root,
    outside,
    cleaner,
    amqp,
    redis,
    registry,
    ledger: new FileLedger(redis, prefix, undefined, 'ua-mac'),
    async messages(q) {
      const name = q === 'cleanerDlq' ? amqp.topology.deadLetterQueue({ key: 'cleanerTransfers', site: 'ua-mac' }) : q === 'batcherUploads' ? amqp.topology.queue({ key: q, site: 'ua-mac' }) : amqp.topology.queue(q);
      seen[q]!.push(...(await drainQueue(AMQP_URL, name)));
      return seen[q]!;
    },
    async metric(name, labels = {}) {
      const m = await registry.getSingleMetric(name)?.get();
      const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => (x.labels as Record<string, unknown>)[k] === val));
      return v?.value ?? 0;
    },
    async close() {
      await cleaner.stop();
      await cleaner.http.close();
      await amqp.close(1000);
      await closeRedis(redis);
      await deleteTopology(prefix);
      await deleteKeys(prefix);
      await dir.remove();
    },
  };
}

/** Writes a file (creating its directories) and sets its mtime; returns size, mtime (as lstat reads it back, like the log-tailer would) and md5. */
export async function putFile(path: string, content: string, mtimeMs: number): Promise<{ size: number; mtimeMs: number; md5: string }> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  await utimes(path, mtimeMs / 1000, mtimeMs / 1000);
  const st = await lstat(path);
  return { size: st.size, mtimeMs: st.mtimeMs, md5: createHash('md5').update(content).digest('hex') };
}

/**
 * A message's body; a chunk of files (file.transferred, file.deleted, version 2) reads as its first
 * file with the chunk's site and task, so a test about one file reads the same either way.
 */
export const body = (m: GetMessage) => {
  const e = JSON.parse(m.content.toString()) as { id: string; type: string; version: number; data: Record<string, unknown> };
  const files = e.data['files'];
  if (Array.isArray(files) && files.length > 0) return { ...e, data: { ...e.data, ...(files[0] as Record<string, unknown>) } };
  return e;
};

/** A version-1 file.transferred (one file), as an old watcher published it: consumers still accept it (decision 0053). */
export function v1Transferred(id: string, data: FileTransferredV1['data']): Message<'file.transferred'> {
  return validate('file.transferred', { type: 'file.transferred', version: 1, id, time: new Date().toISOString(), data });
}
