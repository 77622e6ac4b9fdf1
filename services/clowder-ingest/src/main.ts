import { ClowderClient } from '@terra-transfer/clowder';
import { AmqpClient, Lifecycle, closeRedis, createLogger, createRedis, createRegistry, loadConfig, runMain, waitForFile } from '@terra-transfer/platform';
import { buildIngestApp } from './app.js';
import { configSpec } from './config.js';
import { ingestSites } from './sites.js';
import { loadSites, selectSites } from '@terra-transfer/sites';
import { ingestTelemetry } from './telemetry.js';

runMain('clowder-ingest', async () => {
  const config = loadConfig(configSpec);
  // A site file not there yet (a ConfigMap or volume mounted late): wait, probes answering, instead of exiting.
  await waitForFile(config.SITES_FILE, { key: 'SITES_FILE', host: config.HTTP_HOST, port: config.HTTP_PORT, onWait: (m) => process.stderr.write(`clowder-ingest: ${m}\n`) });
  const siteFile = loadSites(config.SITES_FILE);
  const logger = createLogger({ service: 'clowder-ingest', level: config.LOG_LEVEL });
  const registry = createRegistry();
  const telemetry = ingestTelemetry(logger, registry);
  const lifecycle = new Lifecycle(logger);
  const amqp = new AmqpClient({
    url: config.AMQP_URL,
    prefix: config.AMQP_PREFIX, side: config.AMQP_SIDE,
    connectionName: 'clowder-ingest',
    logger,
    registry,
    sites: siteFile.names(),
    deliveryLimit: config.AMQP_DELIVERY_LIMIT,
  });
  lifecycle.onShutdown('amqp', () => amqp.close(config.SHUTDOWN_DRAIN_MS));
  const redis = createRedis({ url: config.REDIS_URL, connectionName: 'clowder-ingest', logger });
  lifecycle.onShutdown('redis', () => closeRedis(redis));
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
      sites: ingestSites(selectSites(siteFile, config.SITES, () => true, 'a site')),
      redisPrefix: config.REDIS_PREFIX,
      clowderUrl: config.CLOWDER_URL,
      agentUserId: config.CLOWDER_AGENT_USER_ID,
      metadataVocab: config.CLOWDER_METADATA_VOCAB,
      extract: config.CLOWDER_EXTRACT,
      prefetch: config.INGEST_PREFETCH,
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
    telemetry,
  });
  lifecycle.onShutdown('http', () => app.http.close());
  lifecycle.onShutdown('consumer', () => app.stop(config.SHUTDOWN_DRAIN_MS));
  lifecycle.handleSignals();
  await app.http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  await app.start();
});
