/**
 * Every service's OpenAPI document, built from the service's own app (never listening), passes
 * Redocly's `recommended` rules (config: redocly.yaml beside this file) with no error and no warning.
 * The simulators are left out: their routes copy Globus's and Clowder's APIs, whose shape is theirs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AmqpClient, closeRedis, createRedis, createRegistry, loadConfig, type HttpApp, type Redis } from '@terra-transfer/platform';
import { parseSites, stringifySites, testSite } from '@terra-transfer/sites';
import { AMQP_URL, REDIS_URL, tempDir, testLogger, uniquePrefix } from '@terra-transfer/testkit';
import { buildBatcherApp } from '../../services/batcher/src/app.js';
import { buildCleaner } from '../../services/cleaner/src/app.js';
import { cleanerSettings, cleanerSite } from '../../services/cleaner/src/config.js';
import { buildIngestApp } from '../../services/clowder-ingest/src/app.js';
import { buildDirectorySourceHttp } from '../../services/directory-source/src/http.js';
import { buildLemnatecSourceHttp } from '../../services/lemnatec-source/src/http.js';
import { buildLogTailerHttp } from '../../services/log-tailer/src/http.js';
import { createPool } from '../../services/transfer-log/src/adapters/db.js';
import { buildTransferLog } from '../../services/transfer-log/src/app.js';
import { transferLogSettings } from '../../services/transfer-log/src/config.js';
import { buildWatcherApp } from '../../services/watcher/src/app.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..', '..');
const REDOCLY = join(ROOT, 'node_modules', '.bin', 'redocly');
const CONFIG = join(here, 'redocly.yaml');

interface Problem { ruleId: string; severity: string; message: string; location?: { pointer?: string }[] }

/** Lints one document; returns every problem (errors and warnings) the recommended rules found. */
async function lint(file: string): Promise<Problem[]> {
  const out = await run(REDOCLY, ['lint', '--config', CONFIG, '--format', 'json', file], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
    // No usage report and no update check: the linter reads a local file and asks nobody.
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  })
    // Exit 1 when an error is found: the JSON report is on stdout all the same.
    .catch((err: { stdout?: string; stderr?: string }) => {
      if (!err.stdout) throw new Error(`redocly failed: ${err.stderr ?? String(err)}`);
      return { stdout: err.stdout };
    });
  return (JSON.parse(out.stdout) as { problems: Problem[] }).problems;
}

const never = async () => { throw new Error('not called: the app is only built'); };
const logger = testLogger();
const prefix = uniquePrefix('openapi');
let redis: Redis;
let work: { path: string; remove: () => Promise<void> };
const apps: HttpApp[] = [];
const closers: (() => Promise<void>)[] = [];

/** The builders, each as its service wires it (real Redis; a broker client that is never started; a pool that is never queried). */
const services: Record<string, () => Promise<HttpApp>> = {
  async batcher() {
    const registry = createRegistry();
    const amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'openapi', logger, registry, deliveryLimit: 3, sites: [] });
    const { http } = await buildBatcherApp({
      options: { sites: [], maxConcurrentSubmits: 1, maxPendingTasks: 1, maxWaitingBatches: 1, deadlineHours: 1, skipSourceErrors: false },
      redisPrefix: prefix, amqp, redis, globus: { submissionId: never, submitTransfer: never, taskList: never }, logger, registry,
      watcher: undefined, apiToken: 'token',
    });
    return http;
  },
  async watcher() {
    const registry = createRegistry();
    const amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'openapi', logger, registry, deliveryLimit: 3, sites: [] });
    const { http, watcher } = await buildWatcherApp({
      options: { pollMinMs: 1000, pollMaxMs: 1000, stuckAfterMs: 60_000, maxAttempts: 1, completionConcurrency: 1, chunk: { files: 500, bytes: 2 ** 33 } },
      redisPrefix: prefix, amqp, redis, logger, registry, apiToken: 'token',
      globus: { tasksById: never, getTask: never, allSuccessfulTransfers: never, allSkippedErrors: never, cancelTask: never },
    });
    closers.push(() => watcher.close());
    return http;
  },
  async cleaner() {
    const registry = createRegistry();
    const root = join(work.path, 'cache');
    await mkdir(root, { recursive: true });
    const site = parseSites(stringifySites([testSite({ cacheRoot: root, whitelist: ['uploads'], sweep: { intervalMinutes: 0 } })])).get('ua-mac');
    const config = {
      ...loadConfig(cleanerSettings, { AMQP_URL, REDIS_URL, AMQP_PREFIX: prefix, REDIS_PREFIX: prefix, HTTP_PORT: '0', SITES_FILE: '/unused/sites.yaml', SITE: 'ua-mac', API_TOKEN: 'token' }),
      ...cleanerSite(site),
    };
    const amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'openapi', logger, registry, deliveryLimit: 3, sites: ['ua-mac'] });
    const cleaner = await buildCleaner({ config, amqp, redis, logger, registry });
    closers.push(() => cleaner.stop());
    return cleaner.http;
  },
  async 'clowder-ingest'() {
    const registry = createRegistry();
    const amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'openapi', logger, registry, deliveryLimit: 3, sites: [] });
    const clowder = { findSpaces: never } as unknown as Parameters<typeof buildIngestApp>[0]['clowder'];
    const app = await buildIngestApp({
      settings: {
        sites: {}, redisPrefix: prefix, clowderUrl: 'http://127.0.0.1:9', agentUserId: '000000000000000000000000', metadataVocab: 'https://terraref.example/ctx#',
        extract: false, prefetch: 1, batchWindowMs: 100, batchMaxFiles: 1, lockTtlMs: 1000, lockWaitMs: 1000, attempts: 1, retryBaseMs: 10,
      },
      logger, registry, amqp, redis, clowder,
    });
    return app.http;
  },
  'transfer-log': () => transferLog({}),
  // The same service with its read endpoints behind a token: another document.
  'transfer-log (READ_TOKEN set)': () => transferLog({ READ_TOKEN: 'token' }),
  'directory-source': () => buildDirectorySourceHttp({ logger, registry: createRegistry(), checks: {} }),
  'lemnatec-source': () => buildLemnatecSourceHttp({ logger, registry: createRegistry(), checks: {} }),
  'log-tailer': () => buildLogTailerHttp({ logger, registry: createRegistry(), checks: {} }),
};

async function transferLog(env: Record<string, string>): Promise<HttpApp> {
  const registry = createRegistry();
  const url = 'postgres://postgres@127.0.0.1:5432/openapi_never_queried';
  const config = loadConfig(transferLogSettings, { AMQP_URL, AMQP_PREFIX: prefix, HTTP_PORT: '0', DATABASE_URL: url, SITES_FILE: '/unused/sites.yaml', ...env });
  const pool = createPool({ url, max: 1, statementTimeoutMs: 1000, connectTimeoutMs: 1000 }, logger);
  closers.push(() => pool.end());
  const amqp = new AmqpClient({ url: AMQP_URL, prefix, connectionName: 'openapi', logger, registry, deliveryLimit: 3, sites: [] });
  const log = await buildTransferLog({ config, amqp, pool, logger, registry });
  return log.http;
}

beforeAll(async () => {
  redis = createRedis({ url: REDIS_URL, connectionName: 'openapi-test', logger });
  work = await tempDir('openapi');
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  for (const close of closers) await close();
  await closeRedis(redis);
  await work.remove();
});

describe('OpenAPI documents', () => {
  it.each(Object.keys(services))('%s: documented routes, and no problem under the recommended rules', async (name) => {
    const app = await services[name]!();
    apps.push(app);
    await app.ready();
    const doc = app.swagger() as unknown as { paths: Record<string, Record<string, { operationId?: string; tags?: string[]; parameters?: unknown[]; requestBody?: unknown; responses: Record<string, unknown> }>> };

    // Probes and metrics are documented, not hidden.
    for (const path of ['/healthz', '/readyz', '/metrics']) expect(doc.paths[path]?.get?.operationId).toBeTruthy();
    // Every operation has a tag (its resource) and an operation id; one with input declares the 400 of its validation.
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops)) {
        expect([op.tags?.length, Boolean(op.operationId)]).toEqual([1, true]);
        if (op.parameters?.length || op.requestBody) expect(op.responses['400']).toBeDefined();
      }
    }

    const file = join(work.path, `${name.replace(/\W+/g, '-')}.openapi.json`);
    await writeFile(file, JSON.stringify(doc, null, 2));
    const problems = await lint(file);
    const described = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer ?? '?'}`);
    expect(described).toEqual([]);
  }, 60_000);

  it('declares the bearer token on guarded routes and no security on the others', async () => {
    const app = await services.cleaner!();
    apps.push(app);
    await app.ready();
    const doc = app.swagger() as unknown as { paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>> };
    expect(doc.paths['/api/v1/sweeps']!.post!.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/v1/sweeps']!.post!.responses['401']).toBeDefined();
    expect(doc.paths['/api/v1/sweeps/latest']!.get!.security).toEqual([]);
    expect(doc.paths['/healthz']!.get!.security).toEqual([]);
    // The transfer log's read endpoints: open without READ_TOKEN, guarded (and declared so) with it.
    const open = await services['transfer-log']!();
    const guarded = await services['transfer-log (READ_TOKEN set)']!();
    apps.push(open, guarded);
    await Promise.all([open.ready(), guarded.ready()]);
    const security = (a: HttpApp) => (a.swagger() as unknown as typeof doc).paths['/api/v1/status']!.get!.security;
    expect([security(open), security(guarded)]).toEqual([[], [{ bearer: [] }]]);
    expect((await guarded.inject({ method: 'GET', url: '/api/v1/status' })).statusCode).toBe(401);
    // The declaration follows the guard: the guarded route refuses a request without the token.
    const refused = await app.inject({ method: 'POST', url: '/api/v1/sweeps' });
    expect(refused.statusCode).toBe(401);
    // Documenting the probes changed none of their answers.
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect([metrics.statusCode, metrics.headers['content-type']]).toEqual([200, 'text/plain; version=0.0.4; charset=utf-8']);
    expect(metrics.body).toContain('# TYPE terra_transfer_http_requests_total counter');
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503); // the broker client was never started
    expect(ready.json()).toMatchObject({ ready: false, checks: { broker: false } });
  });
});
