import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { createEvent, QUEUES, transferredChunk, type FileUploaded, type Message, type QueueKey, type QueueRef } from '@terra-transfer/contracts';
import { GlobusClient } from '@terra-transfer/globus';
import { AmqpClient, createRegistry } from '@terra-transfer/platform';
import { ServiceProcess, serviceEntry } from '@terra-transfer/stack';
import { stringifySites, testSite } from '@terra-transfer/sites';
import { AMQP_URL, REDIS_URL, deleteKeys, deleteTopology, drainQueue, freePort, tempDir, testLogger, uniquePrefix } from '@terra-transfer/testkit';

export const SRC = 'aaaaaaaa-0000-4000-8000-00000000000a';
export const DST = 'bbbbbbbb-0000-4000-8000-00000000000b';
const CLIENT_ID = 'cccccccc-0000-4000-8000-00000000000c';
const CLIENT_SECRET = 'flow-test-secret-never-logged';
const IDENTITY = 'dddddddd-0000-4000-8000-00000000000d';
export const WATCHER_TOKEN = 'watcher-token-for-tests';

export interface Pipeline {
  prefix: string;
  cache: string;
  dest: string;
  sim: ServiceProcess;
  batcher: ServiceProcess;
  watcher: ServiceProcess;
  ports: { sim: number; batcher: number; watcher: number };
  amqp: AmqpClient;
  globus: GlobusClient;
  redis: Redis;
  /** Writes a file in the cache (sensor layout) and returns its file.uploaded event. */
  upload(n: number, opts?: { bytes?: number; create?: boolean }): Promise<FileUploaded>;
  startBatcher(env?: Record<string, string>): Promise<void>;
  startWatcher(env?: Record<string, string>): Promise<void>;
  /** All tasks the simulator holds for our identity. */
  tasks(): Promise<Array<{ task_id: string; status?: string; files_transferred?: number; label?: string | null }>>;
  /** A queue of the topology; per-site queues are the test site's (ua-mac). */
  queue(key: QueueKey): string;
  deadLetterQueue(key: QueueKey): string;
  drain(queue: 'cleanerTransfers' | 'failedFiles' | 'batcherUploads'): Promise<Array<{ body: Record<string, any>; headers: Record<string, unknown> }>>;
  md5(path: string): Promise<string>;
  /** Rewrites a cache file with `bytes` bytes and mtime `mtimeMs`, and returns the file.uploaded event of that version. */
  rewrite(e: FileUploaded, bytes: number, mtimeMs: number, over?: Partial<FileUploaded['data']>): Promise<FileUploaded>;
  /** Sum of a metric's samples (all label sets) matching `name{labels`. */
  metric(service: 'batcher' | 'watcher', name: string): Promise<number>;
  close(): Promise<void>;
}

export async function startPipeline(opts: { sim?: Record<string, string>; batcher?: Record<string, string>; watcher?: Record<string, string>; startServices?: boolean } = {}): Promise<Pipeline> {
  const dir = await tempDir('flow');
  const cache = join(dir.path, 'cache');
  const dest = join(dir.path, 'dest');
  await mkdir(cache, { recursive: true });
  const prefix = uniquePrefix('flow');
  const ports = { sim: await freePort(), batcher: await freePort(), watcher: await freePort() };
  const simUrl = `http://127.0.0.1:${ports.sim}`;

  const sim = new ServiceProcess('globus-sim', serviceEntry('globus-sim'), {
    HTTP_PORT: String(ports.sim),
    GLOBUS_SIM_ENDPOINTS: JSON.stringify({ [SRC]: { root: cache, display_name: 'gantry cache' }, [DST]: { root: dest, display_name: 'hpc' } }),
    GLOBUS_SIM_CLIENTS: JSON.stringify({ [CLIENT_ID]: { secret: CLIENT_SECRET, identity: IDENTITY } }),
    GLOBUS_SIM_STATE_DIR: join(dir.path, 'sim-state'),
    GLOBUS_SIM_RETRY_INTERVAL_MS: '200',
    GLOBUS_SIM_TICK_MS: '100',
    GLOBUS_SIM_RATE_LIMIT_PER_SEC: '0',
    ...opts.sim,
  });
  sim.start();
  await sim.waitReady(ports.sim);

  const common = {
    AMQP_PREFIX: prefix, REDIS_PREFIX: prefix, GLOBUS_AUTH_URL: simUrl, GLOBUS_TRANSFER_URL: `${simUrl}/v0.10`,
    GLOBUS_CLIENT_ID: CLIENT_ID, GLOBUS_CLIENT_SECRET: CLIENT_SECRET, GLOBUS_RATE_LIMIT: '50', SHUTDOWN_DRAIN_MS: '3000',
  };
  // Bundling limits live in the site file; a test's BATCH_MAX_* override goes there.
  const { BATCH_MAX_FILES, BATCH_MAX_WAIT_MS, ...batcherEnv } = opts.batcher ?? {};
  const sitesFile = join(dir.path, 'sites.yaml');
  await writeFile(sitesFile, stringifySites([testSite({
    cacheRoot: cache, sourceEndpoint: SRC, destinationEndpoint: DST, destinationRoot: '/ua-mac',
    batch: { maxFiles: Number(BATCH_MAX_FILES ?? 10), maxAgeSeconds: Number(BATCH_MAX_WAIT_MS ?? 300) / 1000 },
  })]));
  const batcher = new ServiceProcess('batcher', serviceEntry('batcher'), {
    ...common, HTTP_PORT: String(ports.batcher), SITES_FILE: sitesFile,
    ...batcherEnv,
  });
  const watcher = new ServiceProcess('watcher', serviceEntry('watcher'), {
    ...common, HTTP_PORT: String(ports.watcher), SITES_FILE: sitesFile, API_TOKEN: WATCHER_TOKEN, POLL_MIN_MS: '1000', POLL_MAX_MS: '2000', MAX_ATTEMPTS: '2',
    // One file per file.transferred chunk: these tests count the cleaner queue's depth in files.
    CHUNK_FILES: '1',
    ...opts.watcher,
  });

  const amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: `test-${prefix}`, logger: testLogger(), registry: createRegistry(), sites: ['ua-mac'] });
  await amqp.start();
  const globus = new GlobusClient({ authUrl: simUrl, transferUrl: `${simUrl}/v0.10`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, rateLimitPerSec: 0 });
  const redis = new Redis(REDIS_URL);

  const ref = (key: QueueKey): QueueRef => ('perSite' in QUEUES[key] ? { key, site: 'ua-mac' } : key) as QueueRef;
  const p: Pipeline = {
    prefix, cache, dest, sim, batcher, watcher, ports, amqp, globus, redis,
    queue: (key) => amqp.topology.queue(ref(key)),
    deadLetterQueue: (key) => amqp.topology.deadLetterQueue(ref(key)),
    async upload(n, o = {}) {
      const rel = `MovingSensor/stereoTop/2026-11-24/2026-11-24__12-00-${String(n % 60).padStart(2, '0')}-000/f${n}.bin`;
      const path = join(cache, rel);
      let size = o.bytes ?? 64 + n;
      let mtimeMs: number;
      if (o.create !== false) {
        await mkdir(dirname(path), { recursive: true });
        const body = Buffer.alloc(size, `file ${n} `);
        await writeFile(path, body);
        // The event carries the version on disk, as the log-tailer's stat does (the batcher checks it).
        mtimeMs = (await lstat(path)).mtimeMs;
      } else {
        size = 123;
        mtimeMs = 1;
      }
      return createEvent('file.uploaded', `test:${path}`, {
        site: 'ua-mac', sensor: 'stereoTop', path, size, mtimeMs: Math.floor(mtimeMs), ftpTime: null, source: 'api', attempt: 1, uploadId: `test:${path}`,
      });
    },
    async startBatcher(env = {}) {
      batcher.start(env);
      await batcher.waitReady(ports.batcher);
    },
    async startWatcher(env = {}) {
      watcher.start(env);
      await watcher.waitReady(ports.watcher);
    },
    async tasks() {
      return (await globus.taskList({ fields: ['task_id', 'status', 'files_transferred', 'label'], limit: 1000 })).DATA;
    },
    async drain(queue) {
      // A file.transferred chunk reads as one entry per file (its data: the file with the chunk's site and task).
      return (await drainQueue(AMQP_URL, p.queue(queue))).flatMap((m) => {
        const body = JSON.parse(m.content.toString()) as Record<string, any>;
        const headers = m.properties.headers ?? {};
        if (body['type'] !== 'file.transferred') return [{ body, headers }];
        const { files, ...chunk } = transferredChunk(body as Message<'file.transferred'>);
        return files.map((f) => ({ body: { ...body, data: { ...chunk, ...f } }, headers }));
      });
    },
    async md5(path) {
      return createHash('md5').update(await readFile(path)).digest('hex');
    },
    async rewrite(e, bytes, mtimeMs, over = {}) {
      await writeFile(e.data.path, Buffer.alloc(bytes, 'v'));
      await utimes(e.data.path, mtimeMs / 1000, mtimeMs / 1000);
      const data = { ...e.data, size: bytes, mtimeMs: Math.floor((await lstat(e.data.path)).mtimeMs), ...over };
      return createEvent('file.uploaded', `${data.uploadId}:${data.attempt}`, data);
    },
    async metric(service, name) {
      const text = await (await fetch(`http://127.0.0.1:${service === 'batcher' ? ports.batcher : ports.watcher}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      return sum;
    },
    async close() {
      await Promise.all([batcher.kill9(), watcher.kill9(), sim.kill9()]);
      await amqp.close(0);
      redis.disconnect();
      await deleteTopology(prefix);
      await deleteKeys(prefix);
      await dir.remove();
    },
  };
  if (opts.startServices !== false) await Promise.all([p.startBatcher(), p.startWatcher()]);
  return p;
}

/** Rethrows with the services' last output, so a failure says what they were doing. */
export function failWith(pl: Pipeline) {
  return (err: unknown): never => {
    throw new Error(`${String(err)}\n--- batcher:\n${pl.batcher.output()}\n--- watcher:\n${pl.watcher.output()}`);
  };
}
