import { Type } from '@sinclair/typebox';
import type { GlobusClient } from '@terra-transfer/globus';
import { FileLedger } from '@terra-transfer/ledger';
import { buildHttp, errorBody, type AmqpClient, type HttpApp, type Logger, type Redis, type Registry } from '@terra-transfer/platform';
import { BatchStore } from './adapters/batch-store.js';
import { CacheProbe } from './adapters/cache-probe.js';
import { WatcherNotifier } from './adapters/watcher-notifier.js';
import { Batcher, type BatcherOptions } from './batcher.js';

function probes(o: BatcherOptions): (site: string) => CacheProbe {
  const m = new Map(o.sites.map((s) => [s.name, new CacheProbe(s.cacheRoot)]));
  return (site) => m.get(site)!;
}
import { batcherTelemetry } from './telemetry.js';

export interface BatcherAppDeps {
  options: BatcherOptions;
  redisPrefix: string;
  amqp: AmqpClient;
  redis: Redis;
  globus: Pick<GlobusClient, 'submissionId' | 'submitTransfer' | 'taskList'>;
  logger: Logger;
  registry: Registry;
  watcher: { url: string; token: string } | undefined;
  apiToken: string | undefined;
}

/** Builds the batcher and its HTTP side from its dependencies; never listens. */
export async function buildBatcherApp(deps: BatcherAppDeps): Promise<{ batcher: Batcher; http: HttpApp; store: BatchStore }> {
  const telemetry = batcherTelemetry(deps.logger, deps.registry);
  const store = new BatchStore(deps.redis, deps.redisPrefix);
  const batcher = new Batcher(deps.options, {
    globus: deps.globus,
    store,
    ledger: new FileLedger(deps.redis, deps.redisPrefix),
    cache: probes(deps.options),
    amqp: deps.amqp,
    notifier: deps.watcher ? new WatcherNotifier(deps.watcher.url, deps.watcher.token) : undefined,
    telemetry,
    logger: deps.logger,
  });
  const http = await buildHttp({
    service: 'batcher',
    description: 'Groups file.uploaded events into Globus transfer tasks.',
    tags: [{ name: 'batches', description: 'Groups of files submitted together as one Globus transfer task.' }],
    logger: deps.logger,
    registry: deps.registry,
    authToken: deps.apiToken,
    checks: { amqp: () => deps.amqp.isConnected(), redis: () => deps.redis.status === 'ready', globus: () => batcher.upstreamReady() },
  });
  const BatchView = Type.Object({
    batchId: Type.String(), state: Type.String(), destination: Type.String(), taskId: Type.Union([Type.String(), Type.Null()]),
    files: Type.Integer(), createdAt: Type.String(), label: Type.String(),
  });
  http.get('/api/v1/batches/open', {
    schema: {
      operationId: 'listOpenBatches', tags: ['batches'], summary: 'Batches not yet closed',
      description: 'Batches not yet closed (being submitted, or waiting for recovery)', response: { 200: Type.Array(BatchView) } },
  }, async () => {
    const ids = await store.open();
    const out = [];
    for (const id of ids.slice(0, 1000)) {
      const m = await store.get(id);
      if (m) out.push({ batchId: id, state: m.state, destination: m.destination, taskId: m.taskId, files: m.files.length, createdAt: new Date(m.createdAt).toISOString(), label: m.label });
    }
    return out;
  });
  http.get('/api/v1/batches/:id', {
    schema: {
      operationId: 'getBatch', tags: ['batches'], summary: 'One batch by id', description: 'A batch and its state, by its id (a UUID).',
      params: Type.Object({ id: Type.String({ format: 'uuid' }) }), response: { 200: BatchView, 404: { $ref: 'ErrorBody#' } } },
  }, async (req, reply) => {
    const m = await store.get(req.params.id);
    if (!m) return reply.code(404).send(errorBody('NOT_FOUND', `no batch ${req.params.id}`));
    return { batchId: m.batchId, state: m.state, destination: m.destination, taskId: m.taskId, files: m.files.length, createdAt: new Date(m.createdAt).toISOString(), label: m.label };
  });
  return { batcher, http, store };
}
