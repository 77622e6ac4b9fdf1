import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { createEvent, type Message, type MessageType } from '@terra-transfer/contracts';
import { AmqpClient, createRegistry, loadConfig, type Logger, type Registry } from '@terra-transfer/platform';
import { AMQP_URL, deleteTopology, testLogger, uniquePrefix } from '@terra-transfer/testkit';
import { createDatabaseIfMissing, createPool, migrate, type Pool } from '../src/adapters/db.js';
import { buildTransferLog, type TransferLog } from '../src/app.js';
import { transferLogSettings } from '../src/config.js';

/** A TCP relay to the real PostgreSQL that can be taken down (port closed, connections cut) and brought back. */
export function pgRelay(port: number) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  return {
    url: (db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    async up() {
      server = createServer((client) => {
        const upstream = createConnection({ host: '127.0.0.1', port: 5432 });
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      });
      await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
    },
    async down() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      server = undefined;
    },
  };
}

export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database per test file: terra_tlog_<random>, dropped by `drop`. */
export async function freshDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `terra_tlog_${randomBytes(6).toString('hex')}`;
  const url = `postgres://postgres@127.0.0.1:5432/${name}`;
  await createDatabaseIfMissing(url);
  return {
    url,
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export interface Harness {
  prefix: string;
  log: TransferLog;
  amqp: AmqpClient;
  pool: Pool;
  registry: Registry;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  get<T = any>(url: string, headers?: Record<string, string>): Promise<{ status: number; body: T; text: string; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** The service built on a real broker (fresh prefix) and a real PostgreSQL database (migrated unless `migrateFirst` is false). */
/** The sites of the tests' events: the log's queue binds their site-routed keys (as a site file would name them). */
export const TEST_SITES = ['ua-mac', 'ksu'] as const;

export async function startHarness(dbUrl: string, env: Record<string, string> = {}, opts: { start?: boolean; poolUrl?: string; logger?: Logger } = {}): Promise<Harness> {
  const prefix = env['AMQP_PREFIX'] ?? uniquePrefix('tlog');
  // SITES_FILE is required by the config; the harness builds the service from its parts and passes the sites itself.
  const config = loadConfig(transferLogSettings, { AMQP_URL, AMQP_PREFIX: prefix, HTTP_PORT: '0', DATABASE_URL: dbUrl, BATCH_MAX_WAIT_MS: '50', AMQP_DELIVERY_LIMIT: '3', SITES_FILE: '/nonexistent/sites.yaml', ...env });
  const logger = opts.logger ?? testLogger();
  const registry = createRegistry();
  await migrate(dbUrl, logger);
  const pool = createPool({ url: opts.poolUrl ?? dbUrl, max: 4, statementTimeoutMs: 10_000, connectTimeoutMs: 1_000 }, logger);
  const amqp = new AmqpClient({ url: AMQP_URL, prefix, side: config.AMQP_SIDE, connectionName: 'tlog-test', logger, registry, deliveryLimit: 3, sites: TEST_SITES });
  await amqp.start();
  const log = await buildTransferLog({ config, amqp, pool, logger, registry, ...(opts.poolUrl ? { writerDatabaseUrl: opts.poolUrl } : {}) });
  if (opts.start !== false) await log.start();
  return {
    prefix,
    log,
    amqp,
    pool,
    registry,
    async metric(name, labels = {}) {
      const m = await registry.getSingleMetric(name)?.get();
      const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => String(x.labels[k]) === val));
      return v?.value ?? 0;
    },
    async get(url, headers = {}) {
      const res = await log.http.inject({ method: 'GET', url, headers });
      let body: any;
      try {
        body = JSON.parse(res.body);
      } catch {
        body = undefined;
      }
      return { status: res.statusCode, body, text: res.body, headers: res.headers };
    },
    async close() {
      await log.stop();
      await amqp.close(1_000);
      await log.http.close();
      await pool.end();
      await deleteTopology(prefix);
    },
  };
}

const DEFAULT_SITE = 'ua-mac';
/** Today's events happen an hour before the test run (or at midnight UTC when that was earlier): in the past, on today's date, the same on every call. */
const TODAY_BASE = Math.max(Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`), Math.floor((Date.now() - 3_600_000) / 1000) * 1000);

/** The events of one file's life, in the pipeline's order (ids stable per n, so publishing again is a redelivery). */
export function lifeOf(n: number, opts: { sensor?: string; size?: number; day?: string; path?: string; site?: string } = {}) {
  const SITE = opts.site ?? DEFAULT_SITE;
  const sensor = opts.sensor ?? 'stereoTop';
  const size = opts.size ?? 1000 + n;
  const path = opts.path ?? `/cache/MovingSensor/${sensor}/2026-01-05/f${n}.bin`;
  const uploadId = `xferlog:abc:${n}`;
  const taskId = `task-${n}`;
  const base = opts.day ? Date.parse(`${opts.day}T08:00:00Z`) : TODAY_BASE;
  const at = (s: number) => new Date(base + s * 1000);
  const file = { path, sourcePath: `/src${path}`, destinationPath: `/dest${path}`, size, mtimeMs: 1_767_600_000_000, site: SITE, sensor, uploadId, attempt: 1 };
  return {
    uploaded: createEvent('file.uploaded', `up-${n}`, { site: SITE, sensor, path, size, mtimeMs: file.mtimeMs, ftpTime: at(0).toISOString(), source: 'xferlog', attempt: 1, uploadId }, at(1)),
    submitted: createEvent('task.submitted', `sub-${n}`, { taskId, submissionId: `s-${n}`, batchId: `b-${n}`, label: 'l', sourceEndpoint: 'src', destinationEndpoint: 'dst', submittedAt: at(2).toISOString(), files: [file] }, at(2)),
    transferred: createEvent('file.transferred', `tr-${n}`, { site: SITE, taskId, chunk: 0, files: [{ sensor, path, sourcePath: file.sourcePath, destinationPath: file.destinationPath, size, mtimeMs: file.mtimeMs, checksum: 'abc123', checksumAlgorithm: 'MD5', uploadId, attempt: 1 }] }, at(30)),
    deleted: createEvent('file.deleted', `del-${n}`, { site: SITE, taskId, files: [{ path, bytesFreed: size, uploadId }], failed: [] }, at(40)),
    ingested: createEvent('file.ingested', `ing-${n}`, { site: SITE, taskId, files: [{ sensor, destinationPath: file.destinationPath, clowderPath: file.destinationPath, fileId: 'a'.repeat(24), datasetId: 'b'.repeat(24), datasetName: `ds-${n}`, collectionIds: [], spaceId: null, uploadId }], failed: [] }, at(50)),
    failed: createEvent('file.failed', `fail-${n}`, { site: SITE, sensor, path, size, uploadId, attempts: 3, reason: 'FILE_NOT_FOUND', detail: 'gone', lastTaskId: taskId }, at(60)),
  };
}

export async function publishAll(amqp: AmqpClient, events: ReadonlyArray<Message<MessageType>>): Promise<void> {
  await Promise.all(events.map((e) => amqp.publish(e)));
}
