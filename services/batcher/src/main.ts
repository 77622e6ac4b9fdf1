import { globusClientFromConfig } from '@terra-transfer/globus';
import { AmqpClient, Lifecycle, closeRedis, createLogger, createRedis, createRegistry, loadConfig, runMain, waitForFile } from '@terra-transfer/platform';
import { loadSites, ownedRoot, selectSites, type Site } from '@terra-transfer/sites';
import { buildBatcherApp } from './app.js';
import { spec } from './config.js';
import type { BatcherSite } from './batcher.js';

/** A site of the site file as the batcher needs it. */
function batcherSite(s: Site): BatcherSite {
  return {
    name: s.name, cacheRoot: ownedRoot(s.source).root, sourceEndpoint: s.globus.sourceEndpoint, sourceRoot: s.globus.sourceRoot, rules: s.pathRules,
    destinations: s.destinations.map((d) => ({
      name: d.name, endpoint: d.endpoint, root: d.root, ...(d.include ? { include: [...d.include] } : {}),
      limits: { maxFiles: d.batch.maxFiles, maxBytes: d.batch.maxBytes, maxWaitMs: Math.round(d.batch.maxAgeSeconds * 1000) },
    })),
  };
}

runMain('batcher', async () => {
  const config = loadConfig(spec);
  // Every site has a Globus source; a site this batcher does not serve is another batcher's.
  // A site file not there yet (a ConfigMap or volume mounted late): wait, probes answering, instead of exiting.
  await waitForFile(config.SITES_FILE, { key: 'SITES_FILE', host: config.HTTP_HOST, port: config.HTTP_PORT, onWait: (m) => process.stderr.write(`batcher: ${m}\n`) });
  const siteFile = loadSites(config.SITES_FILE);
  const sites = selectSites(siteFile, config.SITES, () => true, 'a site');
  const logger = createLogger({ service: 'batcher', level: config.LOG_LEVEL });
  const registry = createRegistry();
  const lifecycle = new Lifecycle(logger);
  lifecycle.handleSignals();

  const redis = createRedis({ url: config.REDIS_URL, connectionName: 'batcher', logger });
  // One request budget per Globus identity, shared through Redis with the batchers and watchers of that identity.
  const globus = globusClientFromConfig(config, logger, registry, { redis, prefix: config.REDIS_PREFIX });
  lifecycle.onShutdown('redis', () => closeRedis(redis));
  const amqp = new AmqpClient({ url: config.AMQP_URL, prefix: config.AMQP_PREFIX, side: config.AMQP_SIDE, deliveryLimit: config.AMQP_DELIVERY_LIMIT, connectionName: 'batcher', logger, registry, sites: siteFile.names() });

  const { batcher, http } = await buildBatcherApp({
    options: {
      sites: sites.map(batcherSite), maxConcurrentSubmits: config.MAX_CONCURRENT_SUBMITS, maxPendingTasks: config.MAX_PENDING_TASKS,
      maxWaitingBatches: config.MAX_WAITING_BATCHES,
      deadlineHours: config.TASK_DEADLINE_HOURS, skipSourceErrors: config.SKIP_SOURCE_ERRORS, crashAt: config.CRASH_AT,
    },
    redisPrefix: config.REDIS_PREFIX,
    amqp,
    redis,
    globus,
    logger,
    registry,
    watcher: config.WATCHER_URL !== '-' ? { url: config.WATCHER_URL, token: config.WATCHER_TOKEN } : undefined,
    apiToken: config.API_TOKEN !== '-' ? config.API_TOKEN : undefined,
  });
  // Shutdown runs these in reverse: stop HTTP, drain the consumer (open batches are submitted now), then stop retry loops, then Redis.
  lifecycle.onShutdown('batcher', () => batcher.close());
  lifecycle.onShutdown('amqp', () => amqp.close(config.SHUTDOWN_DRAIN_MS));
  await http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  lifecycle.onShutdown('http', () => http.close());

  // Readiness before consumption: broker, Redis and Globus answer; every batch an earlier run left open is handed to the driver.
  await amqp.start();
  await batcher.checkUpstream();
  await batcher.recover();
  batcher.start();
  logger.info({ port: config.HTTP_PORT }, 'batcher consuming');
});
