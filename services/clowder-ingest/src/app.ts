import { dirname, join } from 'node:path';
import { ClowderClient } from '@terra-transfer/clowder';
import { createEvent, type Message } from '@terra-transfer/contracts';
import { AmqpClient, DEFAULT_PROBE_BACKOFF, PermanentError, buildHttp, sleep, waitUntilAvailable, type Consumer, type DeliveryContext, type HttpApp, type Logger, type Redis, type Registry } from '@terra-transfer/platform';
import { FileRegistrar } from './adapters/file-registrar.js';
import { Hierarchy } from './adapters/hierarchy.js';
import { Ledger } from './adapters/ledger.js';
import { MetadataAttacher } from './adapters/metadata.js';
import type { SiteSettings } from './config.js';
import { agentUserUrl } from './core/metadata.js';
import { planFile } from './core/plan.js';
import { encodeVersion } from './core/versions.js';
import { ingestTelemetry, type IngestTelemetry } from './telemetry.js';

export interface IngestSettings {
  sites: Readonly<Record<string, SiteSettings>>;
  redisPrefix: string;
  clowderUrl: string;
  agentUserId: string;
  metadataVocab: string;
  extract: boolean;
  prefetch: number;
  batchWindowMs: number;
  batchMaxFiles: number;
  lockTtlMs: number;
  lockWaitMs: number;
  attempts: number;
  retryBaseMs: number;
  /** Waits between probes of an unavailable Clowder (at start, and while consuming is held for an outage). */
  probeMinMs?: number;
  probeMaxMs?: number;
  /** During an outage, how long a delivery waits before it is given back uncounted (platform default when absent). */
  outageHoldMs?: number;
}

export interface IngestDeps {
  settings: IngestSettings;
  logger: Logger;
  registry: Registry;
  amqp: AmqpClient;
  redis: Redis;
  clowder: ClowderClient;
  telemetry?: IngestTelemetry;
}

export interface IngestApp {
  http: HttpApp;
  /**
   * Waits for the broker, Redis and Clowder to answer (for as long as it
   * takes: an outage is not a reason to exit), then consumes file.transferred.
   * Resolves without consuming when stop() is called while it waits.
   */
  start(): Promise<void>;
  /** Stops consuming and sends the batches in progress. Idempotent. */
  stop(drainMs?: number): Promise<void>;
  handle(event: Message<'file.transferred'>, ctx?: Partial<DeliveryContext>): Promise<void>;
}

/** Builds clowder-ingest from its dependencies (never listens, never reads the environment). */
export async function buildIngestApp(deps: IngestDeps): Promise<IngestApp> {
  const { settings: s, amqp, redis, clowder } = deps;
  const telemetry = deps.telemetry ?? ingestTelemetry(deps.logger, deps.registry);
  const ledger = new Ledger(redis, s.redisPrefix, s.lockTtlMs, s.lockWaitMs);
  const hierarchy = new Hierarchy(clowder, ledger, telemetry, { attempts: s.attempts, retryBaseMs: s.retryBaseMs });
  const registrar = new FileRegistrar(clowder, ledger, telemetry, {
    windowMs: s.batchWindowMs,
    maxFiles: s.batchMaxFiles,
    extract: s.extract,
    attempts: s.attempts,
    retryBaseMs: s.retryBaseMs,
    takeFresh: (id) => hierarchy.takeFresh('files', id),
  });
  const agentUrl = agentUserUrl(s.clowderUrl, s.agentUserId);
  const metadata = new MetadataAttacher(clowder, ledger, telemetry, {
    agentUserUrl: agentUrl,
    vocab: s.metadataVocab,
    attempts: s.attempts,
    retryBaseMs: s.retryBaseMs,
    takeFresh: (id) => hierarchy.takeFresh('metadata', id),
  });
  let clowderUp = false;
  const firstSpace = Object.values(s.sites)[0]?.space ?? 'terra';
  // The probe is the lookup every delivery starts with: Clowder answers it only when it can serve the ingest.
  const probeClowder = async () => {
    await clowder.findSpaces(firstSpace);
  };
  const probeBackoff = { minMs: s.probeMinMs ?? DEFAULT_PROBE_BACKOFF.minMs, maxMs: s.probeMaxMs ?? DEFAULT_PROBE_BACKOFF.maxMs };
  const starting = new AbortController();

  const handle = async (event: Message<'file.transferred'>, ctx: Partial<DeliveryContext> = {}): Promise<void> => {
    const d = event.data;
    const planned = planFile(s.sites, d.site, d.destinationPath);
    if (planned.kind === 'invalid') throw new PermanentError(planned.code, planned.message);
    if (planned.kind === 'skip') {
      telemetry.skipped(planned.reason, d.destinationPath);
      return;
    }
    const plan = planned.plan;
    const spaceId = plan.spaceId ?? (await hierarchy.space(plan.spaceName, ctx.signal));
    const collectionIds = await hierarchy.collections(plan.chain, spaceId, ctx.signal);
    const datasetId = await hierarchy.dataset(plan.datasetName, collectionIds[collectionIds.length - 1]!, spaceId, ctx.signal);
    if (s.sites[d.site]?.metadataFirst && !plan.isDatasetMetadata) await metadata.attachFirst(datasetId, join(dirname(plan.localPath), 'metadata.json'), ctx.signal);
    const fileId = await registrar.register(datasetId, plan.clowderPath, encodeVersion({ mtimeMs: d.mtimeMs, size: d.size, checksum: d.checksum }));
    if (plan.isDatasetMetadata) await metadata.attachOnce(datasetId, plan.localPath, ctx.signal);
    // The event id is derived from the file id: a redelivery republishes the same event, which consumers de-duplicate.
    await amqp.publish(
      createEvent('file.ingested', `file.ingested:${fileId}`, {
        site: d.site,
        sensor: plan.sensor,
        destinationPath: d.destinationPath,
        clowderPath: plan.clowderPath,
        fileId,
        datasetId,
        datasetName: plan.datasetName,
        collectionIds,
        spaceId,
        uploadId: d.uploadId,
      }),
    );
    telemetry.ingested(d.site, plan.datasetName, fileId);
  };

  const http = await buildHttp({
    service: 'clowder-ingest',
    description: 'Registers transferred files in Clowder (file.transferred → file.ingested).',
    logger: deps.logger,
    registry: deps.registry,
    checks: {
      broker: () => amqp.isConnected(),
      redis: () => redis.status === 'ready',
      // Asks Clowder for real (the same lookup the ingest does), bounded so a slow Clowder reads as not ready.
      // Not ready while waiting for Clowder at start, or while consuming is held for a Clowder outage.
      clowder: async () =>
        clowderUp &&
        consumer?.unavailable === undefined &&
        (await Promise.race([clowder.findSpaces(firstSpace).then(() => true, () => false), sleep(2_000).then(() => false)])),
    },
  });

  let consumer: Consumer<'file.transferred'> | undefined;
  let stopped: Promise<void> | undefined;
  return {
    http,
    handle,
    async start() {
      await amqp.start();
      await redis.ping();
      // Readiness before consumption: the Clowder API must answer. Down (unreachable, 502/503/504) is waited out;
      // a refusal (401: the key is not accepted) is a configuration error and fails the start.
      const answered = await waitUntilAvailable(() => probeClowder(), probeBackoff, starting.signal, {
        down: (e) => amqp.telemetry.upstreamDown('clowder', e.code, e.message),
        up: (ms, probes) => amqp.telemetry.upstreamUp('clowder', ms, probes),
      });
      if (!answered || stopped) return;
      amqp.telemetry.upstreamAnswering('clowder');
      clowderUp = true;
      consumer = amqp.consume('ingestTransfers', 'file.transferred', (event, ctx) => handle(event, ctx), {
        prefetch: s.prefetch,
        // A Clowder outage while consuming: hold deliveries (giving back uncounted those held too long), probe, resume (platform Consumer).
        probe: () => probeClowder(),
        probeBackoff,
        ...(s.outageHoldMs !== undefined ? { outageHoldMs: s.outageHoldMs } : {}),
      });
      telemetry.ready(Object.keys(s.sites));
    },
    stop(drainMs = 10_000) {
      stopped ??= (async () => {
        starting.abort();
        // Stop intake first; the consumer waits for in-flight handlers, which need their batches sent.
        const stopping = consumer?.stop(drainMs);
        await registrar.drain();
        await stopping;
        await registrar.drain();
      })();
      return stopped;
    },
  };
}
