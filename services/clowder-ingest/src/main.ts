import { ClowderClient } from '@terra-transfer/clowder';
import { bootService, loadConfig, runMain } from '@terra-transfer/platform';
import { buildIngestApp } from './app.js';
import { BetyClient } from './adapters/betydb.js';
import { checkSpec, configSpec } from './config.js';
import { ingestSites } from './sites.js';
import { loadSites, selectSites } from '@terra-transfer/sites';
import { ingestTelemetry } from './telemetry.js';

runMain('clowder-ingest', async () => {
  const config = loadConfig(configSpec, process.env, checkSpec);
  const { logger, registry, lifecycle, redis, amqp, prepared: sites, serve } = await bootService({
    service: 'clowder-ingest', config, requiredFile: { key: 'SITES_FILE', path: config.SITES_FILE },
    prepare: () => {
      const siteFile = loadSites(config.SITES_FILE);
      return { all: siteFile.names(), served: ingestSites(selectSites(siteFile, config.SITES, () => true, 'a site')) };
    },
    redis: true, amqp: (sites) => ({ sites: sites.all }),
  });
  const telemetry = ingestTelemetry(logger, registry);
  const clowder = new ClowderClient({
    url: config.CLOWDER_URL,
    key: config.CLOWDER_KEY,
    superAdmin: config.CLOWDER_SUPERADMIN,
    timeoutMs: config.CLOWDER_TIMEOUT_MS,
    retries: config.CLOWDER_RETRIES,
    retryBaseMs: config.CLOWDER_RETRY_BASE_MS,
    maxSockets: config.CLOWDER_MAX_SOCKETS,
    onRetry: (r) => telemetry.retry(r.route, r.attempt, r.status, r.code),
  });
  lifecycle.onShutdown('clowder', () => clowder.close());
  const app = await buildIngestApp({
    settings: {
      sites: sites.served,
      redisPrefix: config.REDIS_PREFIX,
      clowderUrl: config.CLOWDER_URL,
      agentUserId: config.CLOWDER_AGENT_USER_ID,
      metadataVocab: config.CLOWDER_METADATA_VOCAB,
      fixedMetadataTtlMs: config.INGEST_FIXED_METADATA_TTL_MS,
      extract: config.CLOWDER_EXTRACT,
      prefetch: config.INGEST_PREFETCH,
      chunkConcurrency: config.INGEST_CHUNK_CONCURRENCY,
      batchWindowMs: config.INGEST_BATCH_WINDOW_MS,
      batchMaxFiles: config.INGEST_BATCH_MAX_FILES,
      lockTtlMs: config.INGEST_LOCK_TTL_MS,
      lockWaitMs: config.INGEST_LOCK_WAIT_MS,
      attempts: config.INGEST_ATTEMPTS,
      retryBaseMs: config.CLOWDER_RETRY_BASE_MS,
      probeMinMs: config.INGEST_UPSTREAM_PROBE_MIN_MS,
      probeMaxMs: config.INGEST_UPSTREAM_PROBE_MAX_MS,
      outageHoldMs: config.INGEST_OUTAGE_HOLD_MS,
    },
    logger,
    registry,
    amqp,
    redis,
    clowder,
    ...(config.BETYDB_URL && config.BETYDB_KEY ? { bety: new BetyClient({ url: config.BETYDB_URL, key: config.BETYDB_KEY, timeoutMs: config.BETYDB_TIMEOUT_MS }) } : {}),
    telemetry,
  });
  await serve(app.http);
  lifecycle.onShutdown('consumer', () => app.stop(config.SHUTDOWN_DRAIN_MS));
  await app.start();
});
