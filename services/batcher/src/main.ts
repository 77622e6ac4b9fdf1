import { globusClientFromConfig } from '@terra-transfer/globus';
import { AmqpClient, Lifecycle, closeRedis, createLogger, createRedis, createRegistry, loadConfig, runMain } from '@terra-transfer/platform';
import { buildBatcherApp } from './app.js';
import { spec } from './config.js';

runMain('batcher', async () => {
  const config = loadConfig(spec);
  const logger = createLogger({ service: 'batcher', level: config.LOG_LEVEL });
  const registry = createRegistry();
  const lifecycle = new Lifecycle(logger);
  lifecycle.handleSignals();

  const globus = globusClientFromConfig(config, logger, registry);
  const redis = createRedis({ url: config.REDIS_URL, connectionName: 'batcher', logger });
  lifecycle.onShutdown('redis', () => closeRedis(redis));
  const amqp = new AmqpClient({ url: config.AMQP_URL, prefix: config.AMQP_PREFIX, deliveryLimit: config.AMQP_DELIVERY_LIMIT, connectionName: 'batcher', logger, registry });

  const { batcher, http } = await buildBatcherApp({
    options: {
      site: config.SITE, cacheRoot: config.CACHE_ROOT, sourceEndpoint: config.SOURCE_ENDPOINT, sourceRoot: config.SOURCE_ROOT,
      destinations: config.DESTINATIONS, rules: config.PATH_RULES, maxFiles: config.BATCH_MAX_FILES, maxBytes: config.BATCH_MAX_BYTES,
      maxWaitMs: config.BATCH_MAX_WAIT_MS, maxConcurrentSubmits: config.MAX_CONCURRENT_SUBMITS, maxPendingTasks: config.MAX_PENDING_TASKS,
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
